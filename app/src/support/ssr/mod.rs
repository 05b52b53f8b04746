//! Tickets, server side. Visibility is decided here, once, for every path:
//! staff see every ticket; a customer with Support Portal access sees the
//! tickets they opened, the ones they follow, and all of their
//! organization's when it shares tickets. Anything else answers 404, exactly
//! like a ticket that does not exist. Internal notes never leave staff hands.

use chrono::{DateTime, Duration, Utc};
use entity::{
    canned_reply, contact, covered_server, level, organization, sla_target, ticket,
    ticket_attachment, ticket_comment, ticket_event, ticket_follower, ticket_server, ticket_sla,
    user, StaffRole,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::sla::{self, BusinessHours, Calendar, Run};
use super::*;
use crate::core::actor::{Actor, ActorRole};
use crate::core::authz::{self, Capability};
use crate::core::db::begin_write;
use crate::core::state::AppState;
use crate::core::web::{
    app_state, is_plain_form_post, redirect_back_with, request_parts, require_actor,
};
use crate::mail::ssr::{enqueue, Mail};
use crate::validate::{self, Problems};
use entity::Severity;

mod clocks;
mod comments;
mod demo;
mod opening;
mod policy;
pub mod queue;
mod reading;
mod replies;
mod staffing;
mod sweep;
use clocks::*;
pub use comments::{add_comment, post_attachment, post_comment, post_mail, StoredFile};
pub use demo::load_demo_tickets;
use opening::*;
pub use opening::{
    open_ticket, open_ticket_as, open_ticket_counted, ticket_releases, ticket_servers,
};
pub use policy::{condition, reach, scope, visible, Access, Reach};
pub use queue::sync_queue;
pub use reading::{
    comment_tail, comments_after, comments_after_except, list_tickets, live_snapshot, load_ticket,
};
pub use replies::{delete_canned_reply, list_canned_replies, merge_ticket, save_canned_reply};
pub use staffing::{add_follower, assign_ticket, change_severity};
pub use sweep::{sweep, sweep_with, SWEEP_BATCH};

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A clock target in words ("First response").
pub fn target_label(t: &str) -> &'static str {
    match t {
        "first_response" => "First response",
        "next_response" => "Next response",
        _ => "Resolution",
    }
}

fn minutes_text(m: i32) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// The assignee `user_id`, if they may still work tickets: ticket mail goes
/// only to people whose role opens the ticket (a role can change after assignment).
async fn works_tickets<C: ConnectionTrait>(
    db: &C,
    user_id: Option<i32>,
) -> Result<Option<user::Model>, AppError> {
    let Some(id) = user_id else { return Ok(None) };
    Ok(user::Entity::find_by_id(id).one(db).await?.filter(|u| {
        u.active
            && u.staff_role
                .is_some_and(|r| authz::allows(r, Capability::TicketsWork))
    }))
}

async fn current(id: i32) -> Result<(AppState, Actor, ticket::Model, bool), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (t, staff) = visible(&state.db, &actor, id).await?;
    Ok((state, actor, t, staff))
}

/// The severity label, e.g. "1 — Critical".
pub fn severity_label(s: i16) -> String {
    Severity::text_of(s)
}
