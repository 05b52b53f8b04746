//! Tickets, server side. Visibility is decided here, once, for every path:
//! staff see every ticket; a customer with Support Portal access sees the
//! tickets they opened, the ones they follow, and all of their
//! organization's when it shares tickets. Anything else answers 404, exactly
//! like a ticket that does not exist. Internal notes never leave staff hands.

use chrono::{DateTime, Duration, Utc};
use entity::{
    canned_reply, contact, covered_server, level, organization, sla_target, subscription, ticket,
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
use crate::auth::ssr::{
    app_state, is_plain_form_post, redirect_back_with, request_parts, require_actor, Actor,
    ActorRole,
};
use crate::core::authz::{self, Capability};
use crate::customers::SEVERITIES;
use crate::mail::ssr::{enqueue, Mail};
use crate::state::{begin_write, AppState};
use crate::validate::{self, Problems};

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn target_label(t: &str) -> &'static str {
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

// ---- who may see a ticket -------------------------------------------------------

/// Loads ticket `id` if `actor` may see it. Returns it and whether the actor is staff.
pub async fn visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i32,
) -> Result<(ticket::Model, bool), AppError> {
    match &actor.role {
        ActorRole::Staff(r) if !authz::allows(*r, Capability::TicketsWork) => {
            Err(AppError::Forbidden)
        }
        ActorRole::Staff(_) => Ok((
            ticket::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?,
            true,
        )),
        ActorRole::Customer(c) => {
            if !actor.can_use_support() {
                return Err(AppError::Forbidden);
            }
            let t = ticket::Entity::find_by_id(id)
                .one(db)
                .await?
                .filter(|t| t.organization_id == c.organization_id)
                .ok_or(AppError::NotFound)?;
            if t.requester_contact_id == c.contact_id {
                return Ok((t, false));
            }
            let shared = organization::Entity::find_by_id(c.organization_id)
                .one(db)
                .await?
                .is_some_and(|o| o.shared_tickets);
            let follows = ticket_follower::Entity::find_by_id((t.id, c.contact_id))
                .one(db)
                .await?
                .is_some();
            if shared || follows {
                Ok((t, false))
            } else {
                Err(AppError::NotFound)
            }
        }
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

// ---- SLA clocks ------------------------------------------------------------------------

fn runs_of(s: &ticket_sla::Model) -> Vec<Run> {
    serde_json::from_str::<Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>>(&s.runs)
        .unwrap_or_default()
        .into_iter()
        .map(|(start, end)| Run { start, end })
        .collect()
}

fn runs_json(runs: &[Run]) -> String {
    serde_json::to_string(&runs.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

async fn calendar<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    around: bool,
) -> Result<Calendar, AppError> {
    if around {
        return Ok(Calendar::AroundTheClock);
    }
    let found = match t.level_id {
        Some(id) => level::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let Some(l) = found else {
        return Ok(Calendar::AroundTheClock);
    };
    Ok(BusinessHours::parse(
        &l.timezone,
        &l.business_days,
        &l.business_hours_start,
        &l.business_hours_end,
        &l.holidays,
    )
    .map(Calendar::BusinessHours)
    .unwrap_or_else(|e| {
        tracing::warn!(level = l.id, error = %e, "level calendar unreadable; counting 24x7");
        Calendar::AroundTheClock
    }))
}

async fn event<C: ConnectionTrait>(
    db: &C,
    ticket_id: i32,
    kind: &str,
    actor: &str,
    detail: Option<String>,
    staff_only: bool,
) -> Result<(), AppError> {
    ticket_event::ActiveModel {
        ticket_id: Set(ticket_id),
        kind: Set(kind.to_owned()),
        actor: Set(actor.to_owned()),
        detail: Set(detail),
        staff_only: Set(staff_only),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn target_for<C: ConnectionTrait>(
    db: &C,
    level_id: Option<i32>,
    severity: i16,
) -> Result<Option<sla_target::Model>, AppError> {
    let Some(level_id) = level_id else {
        return Ok(None);
    };
    Ok(sla_target::Entity::find()
        .filter(sla_target::Column::LevelId.eq(level_id))
        .filter(sla_target::Column::Severity.eq(severity))
        .one(db)
        .await?)
}

async fn start_clock(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    target: &str,
    minutes: i32,
    around: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let cal = calendar(txn, t, around).await?;
    let runs = vec![Run {
        start: now,
        end: None,
    }];
    let due = sla::due(&cal, &runs, Duration::minutes(i64::from(minutes)), now);
    ticket_sla::ActiveModel {
        ticket_id: Set(t.id),
        target: Set(target.to_owned()),
        minutes: Set(minutes),
        around_the_clock: Set(around),
        runs: Set(runs_json(&runs)),
        due_at: Set(due),
        fulfilled_at: Set(None),
        breached_at: Set(None),
        warned_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    event(
        txn,
        t.id,
        "sla.start",
        "Portico",
        Some(format!(
            "{}: {}{}",
            target_label(target),
            minutes_text(minutes),
            due.map(|d| format!(", due {}", stamp(d)))
                .unwrap_or_default()
        )),
        false,
    )
    .await
}

/// A solved ticket reopens: its resolution target is owed again (paused
/// until `resume_clocks` starts a new run).
async fn reopen_resolution(txn: &DatabaseTransaction, ticket_id: i32) -> Result<(), AppError> {
    ticket_sla::Entity::update_many()
        .col_expr(
            ticket_sla::Column::FulfilledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(ticket_sla::Column::TicketId.eq(ticket_id))
        .filter(ticket_sla::Column::Target.eq("resolution"))
        .exec(txn)
        .await?;
    Ok(())
}

async fn open_clocks(
    txn: &DatabaseTransaction,
    ticket_id: i32,
) -> Result<Vec<ticket_sla::Model>, AppError> {
    Ok(ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(ticket_id))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .all(txn)
        .await?)
}

/// Stops the running clocks (the ticket waits on the customer).
async fn pause_clocks(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        let mut runs = runs_of(&s);
        if let Some(last) = runs.last_mut().filter(|r| r.end.is_none()) {
            last.end = Some(now);
            let label = target_label(&s.target);
            let mut a = s.into_active_model();
            a.runs = Set(runs_json(&runs));
            a.due_at = Set(None);
            a.update(txn).await?;
            event(txn, t.id, "sla.pause", who, Some(label.to_string()), false).await?;
        }
    }
    Ok(())
}

/// Restarts paused clocks (the customer answered).
async fn resume_clocks(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        let mut runs = runs_of(&s);
        if runs.last().is_some_and(|r| r.end.is_some()) {
            runs.push(Run {
                start: now,
                end: None,
            });
            let cal = calendar(txn, t, s.around_the_clock).await?;
            let due = sla::due(&cal, &runs, Duration::minutes(i64::from(s.minutes)), now);
            let label = target_label(&s.target);
            let mut a = s.into_active_model();
            a.runs = Set(runs_json(&runs));
            a.due_at = Set(due);
            a.update(txn).await?;
            event(
                txn,
                t.id,
                "sla.resume",
                who,
                Some(format!(
                    "{label}{}",
                    due.map(|d| format!(", due {}", stamp(d)))
                        .unwrap_or_default()
                )),
                false,
            )
            .await?;
        }
    }
    Ok(())
}

/// Marks `targets` met now (recording a breach first when they are late).
async fn fulfil(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    targets: &[&str],
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        if !targets.contains(&s.target.as_str()) {
            continue;
        }
        let mut runs = runs_of(&s);
        let cal = calendar(txn, t, s.around_the_clock).await?;
        let late = sla::elapsed(&cal, &runs, now) > Duration::minutes(i64::from(s.minutes));
        if let Some(last) = runs.last_mut().filter(|r| r.end.is_none()) {
            last.end = Some(now);
        }
        let label = target_label(&s.target);
        let breached = s.breached_at.is_none() && late;
        let mut a = s.into_active_model();
        a.runs = Set(runs_json(&runs));
        a.due_at = Set(None);
        a.fulfilled_at = Set(Some(now));
        if breached {
            a.breached_at = Set(Some(now));
        }
        a.update(txn).await?;
        if breached {
            event(
                txn,
                t.id,
                "sla.breach",
                "Portico",
                Some(label.to_string()),
                false,
            )
            .await?;
        }
        event(txn, t.id, "sla.fulfil", who, Some(label.to_string()), false).await?;
    }
    Ok(())
}

// ---- reading -------------------------------------------------------------------------

/// The comments of ticket `id` after comment `after`, oldest first; internal
/// notes only when `staff`. Bodies rendered and sanitised.
pub async fn comments_after<C: ConnectionTrait>(
    db: &C,
    id: i32,
    after: i32,
    staff: bool,
) -> Result<Vec<CommentView>, AppError> {
    comments_after_except(db, id, after, staff, &Default::default()).await
}

/// Like [`comments_after`], leaving out (and not rendering) the ids in `skip`.
pub async fn comments_after_except<C: ConnectionTrait>(
    db: &C,
    id: i32,
    after: i32,
    staff: bool,
    skip: &std::collections::BTreeSet<i32>,
) -> Result<Vec<CommentView>, AppError> {
    let mut q = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(id))
        .filter(ticket_comment::Column::Id.gt(after));
    if !staff {
        // Internal notes never reach a customer: not here, not live, not by e-mail.
        q = q.filter(ticket_comment::Column::Internal.eq(false));
    }
    Ok(q.order_by_asc(ticket_comment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|c| !skip.contains(&c.id))
        .map(comment_view)
        .collect())
}

/// The newest `n` comments of ticket `id`, oldest first, internal notes
/// included (for staff eyes, or to be filtered: see `live`), and whether
/// they are all the ticket has.
pub async fn comment_tail<C: ConnectionTrait>(
    db: &C,
    id: i32,
    n: u64,
) -> Result<(Vec<CommentView>, bool), AppError> {
    let mut rows = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(id))
        .order_by_desc(ticket_comment::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let complete = (rows.len() as u64) < n;
    rows.reverse();
    Ok((rows.into_iter().map(comment_view).collect(), complete))
}

/// A comment as pages show it: the body rendered and sanitised.
fn comment_view(c: ticket_comment::Model) -> CommentView {
    CommentView {
        id: c.id,
        author: c.author_name,
        by_staff: c.by_staff,
        internal: c.internal,
        body_html: super::markdown::render(&c.body),
        at: stamp(c.created_at),
    }
}

async fn sla_views<C: ConnectionTrait>(db: &C, id: i32) -> Result<Vec<TicketSlaView>, AppError> {
    let now = Utc::now();
    Ok(ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(id))
        .order_by_asc(ticket_sla::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            let state = if s.fulfilled_at.is_some() {
                if s.breached_at.is_some() {
                    "breached"
                } else {
                    "met"
                }
            } else if s.breached_at.is_some() || s.due_at.is_some_and(|d| d < now) {
                "breached"
            } else if s.due_at.is_none() {
                "paused"
            } else {
                "running"
            };
            TicketSlaView {
                target: target_label(&s.target).to_string(),
                state: state.to_string(),
                due: s.due_at.map(stamp),
                budget: minutes_text(s.minutes),
            }
        })
        .collect())
}

/// What a live page shows besides comments (the same for every viewer).
pub async fn live_snapshot<C: ConnectionTrait>(db: &C, id: i32) -> Result<LiveTicket, AppError> {
    let t = ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let assignee = match t.assignee_user_id {
        Some(u) => names_of_users(db, vec![u]).await?.remove(&u),
        None => None,
    };
    Ok(LiveTicket {
        status: t.status,
        severity: t.severity,
        assignee,
        slas: sla_views(db, id).await?,
    })
}

async fn names_of_users<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i32>,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

pub async fn list_tickets(f: TicketFilter) -> Result<TicketList, AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let db = &state.db;
    let mut q = ticket::Entity::find();
    let staff = match &actor.role {
        ActorRole::Staff(r) if !authz::allows(*r, Capability::TicketsWork) => {
            return Err(AppError::Forbidden)
        }
        ActorRole::Staff(_) => true,
        ActorRole::Customer(c) => {
            if !actor.can_use_support() {
                return Err(AppError::Forbidden);
            }
            q = q.filter(ticket::Column::OrganizationId.eq(c.organization_id));
            let shared = organization::Entity::find_by_id(c.organization_id)
                .one(db)
                .await?
                .is_some_and(|o| o.shared_tickets);
            if !shared {
                let followed: Vec<i32> = ticket_follower::Entity::find()
                    .filter(ticket_follower::Column::ContactId.eq(c.contact_id))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|f| f.ticket_id)
                    .collect();
                q = q.filter(
                    sea_orm::Condition::any()
                        .add(ticket::Column::RequesterContactId.eq(c.contact_id))
                        .add(ticket::Column::Id.is_in(followed)),
                );
            }
            false
        }
    };
    let open_only = |q: sea_orm::Select<ticket::Entity>| {
        q.filter(ticket::Column::Status.is_not_in(["solved", "closed"]))
    };
    let mut breaching_only = false;
    match f.queue.as_str() {
        "" | "all" => {}
        "open" => q = open_only(q),
        "unassigned" if staff => q = open_only(q).filter(ticket::Column::AssigneeUserId.is_null()),
        "mine" if staff => {
            q = open_only(q).filter(ticket::Column::AssigneeUserId.eq(actor.user_id))
        }
        "breaching" if staff => {
            q = open_only(q);
            breaching_only = true;
        }
        _ => return Err(AppError::invalid("queue", "Choose a queue from the list.")),
    }
    if !f.status.is_empty() {
        if !TICKET_STATUSES.iter().any(|(k, _)| *k == f.status) {
            return Err(AppError::invalid(
                "status",
                "Choose a status from the list.",
            ));
        }
        q = q.filter(ticket::Column::Status.eq(f.status.as_str()));
    }
    if !f.severity.is_empty() {
        let s: i16 = f
            .severity
            .parse()
            .ok()
            .filter(|s| (1..=4).contains(s))
            .ok_or_else(|| AppError::invalid("severity", "Choose a severity from 1 to 4."))?;
        q = q.filter(ticket::Column::Severity.eq(s));
    }
    if staff && !f.organization_id.trim().is_empty() {
        let id: i32 = f.organization_id.trim().parse().map_err(|_| {
            AppError::invalid("organization_id", "Choose an organization from the list.")
        })?;
        q = q.filter(ticket::Column::OrganizationId.eq(id));
    }
    // What breaches first comes first: the earliest due time of the ticket's
    // running SLA clocks (only running clocks have one), sorted and paged by
    // the database; tickets without a running clock follow, latest first.
    let next_due = {
        use sea_orm::sea_query::{ExprTrait, Query};
        Expr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .expr(Expr::col((ticket_sla::Entity, ticket_sla::Column::DueAt)).min())
                    .from(ticket_sla::Entity)
                    .and_where(
                        Expr::col((ticket_sla::Entity, ticket_sla::Column::TicketId))
                            .equals((ticket::Entity, ticket::Column::Id)),
                    )
                    .to_owned()
                    .into(),
            ),
        )
    };
    let now = Utc::now();
    if breaching_only {
        use sea_orm::sea_query::ExprTrait;
        q = q.filter(next_due.clone().lt(now + Duration::hours(4)));
    }
    let total_rows = q.clone().count(db).await?;
    let pages = total_rows.div_ceil(TICKET_PAGE_SIZE).max(1);
    let page: u64 = f.page.trim().parse().unwrap_or(0).min(pages - 1);
    let slice = {
        use sea_orm::sea_query::ExprTrait;
        q.order_by(next_due.clone().is_null(), sea_orm::Order::Asc)
            .order_by(next_due, sea_orm::Order::Asc)
            .order_by_desc(ticket::Column::UpdatedAt)
            .order_by_desc(ticket::Column::Id)
            .offset(page * TICKET_PAGE_SIZE)
            .limit(TICKET_PAGE_SIZE)
            .all(db)
            .await?
    };
    let mut due: std::collections::HashMap<i32, (Option<DateTime<Utc>>, bool)> =
        std::collections::HashMap::new();
    for s in ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.is_in(slice.iter().map(|t| t.id)))
        .all(db)
        .await?
    {
        let e = due.entry(s.ticket_id).or_insert((None, false));
        if let Some(d) = s.due_at {
            e.0 = Some(e.0.map_or(d, |x: DateTime<Utc>| x.min(d)));
        }
        e.1 |= s.breached_at.is_some() && s.fulfilled_at.is_none();
    }
    let slice: Vec<(ticket::Model, Option<DateTime<Utc>>, bool)> = slice
        .into_iter()
        .map(|t| {
            let (d, b) = due.get(&t.id).copied().unwrap_or((None, false));
            (t, d, b)
        })
        .collect();
    let orgs: std::collections::HashMap<i32, String> = organization::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let contacts: std::collections::HashMap<i32, String> = contact::Entity::find()
        .filter(contact::Column::Id.is_in(slice.iter().map(|(t, _, _)| t.requester_contact_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let users = names_of_users(
        db,
        slice
            .iter()
            .filter_map(|(t, _, _)| t.assignee_user_id)
            .collect(),
    )
    .await?;
    let rows = slice
        .into_iter()
        .map(|(t, d, b)| TicketRow {
            id: t.id,
            subject: t.subject,
            organization: orgs.get(&t.organization_id).cloned().unwrap_or_default(),
            requester: contacts
                .get(&t.requester_contact_id)
                .cloned()
                .unwrap_or_default(),
            severity: t.severity,
            status: t.status,
            assignee: t.assignee_user_id.and_then(|u| users.get(&u).cloned()),
            updated_at: stamp(t.updated_at),
            next_due: d.map(stamp),
            breached: b || d.is_some_and(|d| d < now),
        })
        .collect();
    Ok(TicketList {
        rows,
        page,
        pages,
        total_rows,
        staff,
        organizations: if staff {
            let mut v: Vec<(i32, String)> = orgs.into_iter().collect();
            v.sort_by(|a, b| a.1.cmp(&b.1));
            v
        } else {
            Vec::new()
        },
    })
}

pub async fn load_ticket(id: i32) -> Result<TicketView, AppError> {
    let (state, actor, t, staff) = current(id).await?;
    let db = &state.db;
    let org = organization::Entity::find_by_id(t.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let requester = contact::Entity::find_by_id(t.requester_contact_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let mut events_q = ticket_event::Entity::find().filter(ticket_event::Column::TicketId.eq(id));
    if !staff {
        // Staff-only history never reaches a customer.
        events_q = events_q.filter(ticket_event::Column::StaffOnly.eq(false));
    }
    let comments = comments_after(db, id, 0, staff).await?;
    let events = events_q
        .order_by_asc(ticket_event::Column::At)
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| TicketEventView {
            at: stamp(e.at),
            what: e.kind,
            who: e.actor,
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let slas = sla_views(db, id).await?;
    let follower_ids: Vec<i32> = ticket_follower::Entity::find()
        .filter(ticket_follower::Column::TicketId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.contact_id)
        .collect();
    let org_contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(t.organization_id))
        .filter(contact::Column::Active.eq(true))
        .order_by_asc(contact::Column::Name)
        .all(db)
        .await?;
    let followers = org_contacts
        .iter()
        .filter(|c| follower_ids.contains(&c.id))
        .map(|c| c.name.clone())
        .collect();
    // The requester (or staff) may add colleagues who can use the Support Portal.
    let may_add = staff
        || actor
            .customer()
            .is_some_and(|c| c.contact_id == t.requester_contact_id);
    let colleagues = if may_add {
        org_contacts
            .iter()
            .filter(|c| {
                c.is_technical && c.id != t.requester_contact_id && !follower_ids.contains(&c.id)
            })
            .map(|c| (c.id, c.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let assignees = if staff {
        user::Entity::find()
            .filter(user::Column::StaffRole.is_in(authz::roles_with(Capability::TicketsWork)))
            .filter(user::Column::Active.eq(true))
            .order_by_asc(user::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect()
    } else {
        Vec::new()
    };
    let assignee = match t.assignee_user_id {
        Some(u) => names_of_users(db, vec![u]).await?.remove(&u),
        None => None,
    };
    let server_ids: Vec<i32> = ticket_server::Entity::find()
        .filter(ticket_server::Column::TicketId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.covered_server_id)
        .collect();
    let servers = if server_ids.is_empty() {
        Vec::new()
    } else {
        covered_server::Entity::find()
            .filter(covered_server::Column::Id.is_in(server_ids))
            .filter(covered_server::Column::OrganizationId.eq(t.organization_id))
            .order_by_asc(covered_server::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|s| server_label(&s))
            .collect()
    };
    Ok(TicketView {
        id: t.id,
        subject: t.subject,
        description_html: super::markdown::render(&t.description),
        severity: t.severity,
        status: t.status,
        product: t.product,
        version: t.version,
        organization: org.name,
        requester: requester.name,
        assignee,
        created_at: stamp(t.created_at),
        slas,
        comments,
        events,
        followers,
        servers,
        colleagues,
        staff,
        assignees,
        attachment_max_mb: state.settings.attachment_max_bytes >> 20,
        canned: if staff {
            canned_reply::Entity::find()
                .order_by_asc(canned_reply::Column::Title)
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.title))
                .collect()
        } else {
            Vec::new()
        },
    })
}

// ---- changing -----------------------------------------------------------------------

fn token() -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn severity_of(s: &str) -> Result<i16, String> {
    s.trim()
        .parse::<i16>()
        .ok()
        .filter(|s| (1..=4).contains(s))
        .ok_or_else(|| "Choose a severity from 1 (critical) to 4 (low).".to_string())
}

/// How a server reads in forms and on tickets: "db-1 (VM)" or "db-1".
fn server_label(s: &covered_server::Model) -> String {
    if s.kind.trim().is_empty() {
        s.name.clone()
    } else {
        format!("{} ({})", s.name, s.kind)
    }
}

/// The accepted servers of organization `org`, by name.
async fn inventory<C: ConnectionTrait>(
    db: &C,
    org: i32,
) -> Result<Vec<covered_server::Model>, AppError> {
    Ok(covered_server::Entity::find()
        .filter(covered_server::Column::OrganizationId.eq(org))
        .filter(covered_server::Column::Status.eq("accepted"))
        .order_by_asc(covered_server::Column::Name)
        .all(db)
        .await?)
}

pub async fn ticket_servers() -> Result<Vec<(i32, String)>, AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let me = actor.customer().ok_or(AppError::Forbidden)?;
    if !actor.can_use_support() {
        return Err(AppError::Forbidden);
    }
    Ok(inventory(&state.db, me.organization_id)
        .await?
        .iter()
        .map(|s| (s.id, server_label(s)))
        .collect())
}

pub async fn open_ticket(f: TicketForm) -> Result<i32, AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let id = open_ticket_as(&state, &actor, f).await?;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/support/tickets/{id}?opened=1"));
    }
    Ok(id)
}

/// Opens a ticket for `actor` (a customer with Support Portal access): the
/// page's form and mail to the support address both come here.
pub async fn open_ticket_as(
    state: &AppState,
    actor: &Actor,
    f: TicketForm,
) -> Result<i32, AppError> {
    let me = actor.customer().cloned().ok_or(AppError::Forbidden)?;
    if !actor.can_use_support() {
        return Err(AppError::Forbidden);
    }
    let mut p = Problems::default();
    let subject = p.check("subject", validate::required("subject", &f.subject, 200));
    let description = p.check(
        "description",
        validate::required_text("description", &f.description, 50_000),
    );
    let severity = p.check("severity", severity_of(&f.severity));
    let product = p.check("product", validate::optional("product", &f.product, 120));
    let version = p.check("version", validate::optional("version", &f.version, 60));
    // Affected servers come from the requester's own organization's inventory.
    let mut servers = f.servers.clone();
    servers.sort_unstable();
    servers.dedup();
    let known: Vec<i32> = inventory(&state.db, me.organization_id)
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    p.check(
        "servers",
        if servers.iter().all(|s| known.contains(s)) {
            Ok(())
        } else {
            Err("Choose affected servers from your organization's list.".to_string())
        },
    );
    p.into_result()?;
    let (Some(subject), Some(description), Some(severity), Some(product), Some(version)) =
        (subject, description, severity, product, version)
    else {
        return Err(AppError::Internal);
    };
    let now = Utc::now();
    let sub = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(me.organization_id))
        .filter(subscription::Column::Status.eq("active"))
        .order_by_desc(subscription::Column::TermEnd)
        .one(&state.db)
        .await?;
    let txn = begin_write(&state.db).await?;
    let t = ticket::ActiveModel {
        organization_id: Set(me.organization_id),
        requester_contact_id: Set(me.contact_id),
        subject: Set(subject),
        description: Set(description),
        severity: Set(severity),
        product: Set(product.unwrap_or_default()),
        version: Set(version.unwrap_or_default()),
        status: Set("new".into()),
        assignee_user_id: Set(None),
        token: Set(token()),
        level_id: Set(sub.map(|s| s.level_id)),
        created_at: Set(now),
        updated_at: Set(now),
        solved_at: Set(None),
        closed_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for s in &servers {
        ticket_server::ActiveModel {
            ticket_id: Set(t.id),
            covered_server_id: Set(*s),
        }
        .insert(&txn)
        .await?;
    }
    event(
        &txn,
        t.id,
        "opened",
        &actor.name,
        Some(format!("severity {severity}")),
        false,
    )
    .await?;
    if let Some(target) = target_for(&txn, t.level_id, severity).await? {
        start_clock(
            &txn,
            &t,
            "first_response",
            target.first_response_minutes,
            target.around_the_clock,
            now,
        )
        .await?;
        start_clock(
            &txn,
            &t,
            "resolution",
            target.resolution_minutes,
            target.around_the_clock,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(t.id)
}

fn ticket_url(state: &AppState, t: &ticket::Model, staff: bool) -> String {
    format!(
        "{}/{}/tickets/{}",
        state.settings.base_url,
        if staff { "staff" } else { "support" },
        t.id
    )
}

fn update_mail(
    state: &AppState,
    t: &ticket::Model,
    to_addr: &str,
    to_name: &str,
    author: &str,
    body: &str,
    staff_link: bool,
) -> Mail {
    Mail {
        thread: Some(t.token.clone()),
        kind: "ticket_update",
        organization_id: Some(t.organization_id),
        to_addr: to_addr.to_owned(),
        to_name: to_name.to_owned(),
        subject: format!("[#T-{}] {}", t.token, t.subject),
        body: format!(
            "{author} wrote on ticket #{id} \"{subject}\":\n\n{body}\n\n\
             Reply on the ticket page: {url}\n\n— Portico\n",
            id = t.id,
            subject = t.subject,
            url = ticket_url(state, t, staff_link),
        ),
    }
}

pub async fn add_comment(
    id: i32,
    body: String,
    internal: bool,
    status: Option<String>,
    canned_id: Option<i32>,
) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    // Staff may answer with a saved reply instead of (or before) their own words.
    let body = match canned_id {
        Some(cid) if staff => {
            let c = canned_reply::Entity::find_by_id(cid)
                .one(&state.db)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("canned_id", "Choose a saved reply from the list.")
                })?;
            if body.trim().is_empty() {
                c.body
            } else {
                format!("{}\n\n{}", body.trim_end(), c.body)
            }
        }
        Some(_) => {
            return Err(AppError::invalid(
                "canned_id",
                "Saved replies are for staff.",
            ))
        }
        None => body,
    };
    post_comment(&state, &actor, t, staff, body, internal, status).await?;
    redirect_back_with("done=comment");
    Ok(())
}

/// Adds a comment by `actor` to ticket `t` (already checked visible), with
/// every SLA, status, notification and live-page consequence. The page's
/// form and replies by mail both come here.
pub async fn post_comment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    body: String,
    internal: bool,
    status: Option<String>,
) -> Result<(), AppError> {
    let body = validate::required_text("comment", &body, 50_000)
        .map_err(|m| AppError::invalid("body", m))?;
    record_comment(state, actor, t, staff, Said::Text(body), internal, status).await?;
    Ok(())
}

/// A file stored under the data directory, not yet recorded.
pub struct StoredFile {
    pub name: String,
    pub storage: String,
    pub size: u64,
    pub sha256: String,
}

/// Records stored file `f` on ticket `t` as a comment by `actor` (linking to
/// it), with every consequence a comment has: a file is an answer too.
pub async fn post_attachment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    f: StoredFile,
    internal: bool,
) -> Result<i32, AppError> {
    record_comment(state, actor, t, staff, Said::File(f), internal, None)
        .await
        .map(|a| a.unwrap_or_default())
}

/// What a comment says: text, or a file it links to.
enum Said {
    Text(String),
    File(StoredFile),
}

/// The one path of a comment into a ticket; returns the attachment's id
/// when it recorded a file.
async fn record_comment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    said: Said,
    internal: bool,
    status: Option<String>,
) -> Result<Option<i32>, AppError> {
    if internal && !staff {
        return Err(AppError::invalid(
            "internal",
            "Only staff write internal notes.",
        ));
    }
    let status = status.filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !staff || !["open", "waiting", "solved"].contains(&s.as_str()) {
            return Err(AppError::invalid(
                "status",
                "Choose open, waiting on customer or solved.",
            ));
        }
    }
    if t.status == "closed" {
        return Err(AppError::invalid(
            "body",
            "This ticket is closed. Open a new ticket and mention this one.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    // Decide on the ticket as it is now, holding it until commit (PostgreSQL
    // row lock; SQLite's IMMEDIATE transaction already serialises writers).
    let t = ticket::Entity::find_by_id(t.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if t.status == "closed" {
        return Err(AppError::invalid(
            "body",
            "This ticket is closed. Open a new ticket and mention this one.",
        ));
    }
    let (body, attachment) = match said {
        Said::Text(body) => (body, None),
        Said::File(f) => {
            let a = ticket_attachment::ActiveModel {
                ticket_id: Set(t.id),
                uploader_user_id: Set(Some(actor.user_id)),
                file_name: Set(f.name.clone()),
                storage_name: Set(f.storage),
                size_bytes: Set(f.size as i64),
                sha256: Set(f.sha256),
                internal: Set(internal),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let body = format!(
                "Attached [{}](/tickets/{}/attachments/{}) ({}).",
                f.name,
                t.id,
                a.id,
                super::attachments::human(f.size)
            );
            (body, Some(a.id))
        }
    };
    ticket_comment::ActiveModel {
        ticket_id: Set(t.id),
        author_user_id: Set(Some(actor.user_id)),
        author_name: Set(actor.name.clone()),
        by_staff: Set(staff),
        internal: Set(internal),
        body: Set(body.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut next_status = t.status.clone();
    if staff && !internal {
        fulfil(
            &txn,
            &t,
            &["first_response", "next_response"],
            now,
            &actor.name,
        )
        .await?;
        if t.status == "new" {
            next_status = "open".into();
        }
    }
    if !staff {
        if matches!(t.status.as_str(), "waiting" | "solved") {
            next_status = "open".into();
            if t.status == "solved" {
                reopen_resolution(&txn, t.id).await?;
            }
            resume_clocks(&txn, &t, now, &actor.name).await?;
        }
        // A customer reply after a staff answer starts the next-response clock.
        let answered = ticket_sla::Entity::find()
            .filter(ticket_sla::Column::TicketId.eq(t.id))
            .filter(ticket_sla::Column::Target.eq("first_response"))
            .filter(ticket_sla::Column::FulfilledAt.is_not_null())
            .one(&txn)
            .await?
            .is_some();
        let waiting_next = !open_clocks(&txn, t.id)
            .await?
            .iter()
            .any(|s| s.target == "next_response");
        if answered && waiting_next {
            if let Some(target) = target_for(&txn, t.level_id, t.severity).await? {
                start_clock(
                    &txn,
                    &t,
                    "next_response",
                    target.next_response_minutes,
                    target.around_the_clock,
                    now,
                )
                .await?;
            }
        }
    }
    if let Some(s) = status {
        if t.status == "solved" && s != "solved" {
            // Staff reopen: the resolution clock is owed again.
            reopen_resolution(&txn, t.id).await?;
        }
        match s.as_str() {
            "waiting" => pause_clocks(&txn, &t, now, &actor.name).await?,
            "solved" => {
                // An internal note solves the ticket but answers nobody.
                let targets: &[&str] = if internal {
                    &["resolution"]
                } else {
                    &["first_response", "next_response", "resolution"]
                };
                fulfil(&txn, &t, targets, now, &actor.name).await?
            }
            _ => {
                if matches!(t.status.as_str(), "waiting" | "solved") {
                    resume_clocks(&txn, &t, now, &actor.name).await?;
                }
            }
        }
        next_status = s;
    }
    let mut a = t.clone().into_active_model();
    a.updated_at = Set(now);
    if next_status != t.status {
        event(
            &txn,
            t.id,
            "status",
            &actor.name,
            Some(format!("{} → {}", t.status, next_status)),
            false,
        )
        .await?;
        a.solved_at = Set((next_status == "solved").then_some(now));
        a.status = Set(next_status);
    }
    a.update(&txn).await?;
    // Notifications: public staff replies to the requester and followers;
    // customer replies to the assignee. Internal notes to nobody.
    if staff && !internal {
        let mut ids: Vec<i32> = ticket_follower::Entity::find()
            .filter(ticket_follower::Column::TicketId.eq(t.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|f| f.contact_id)
            .collect();
        ids.push(t.requester_contact_id);
        let active_contacts = contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(t.organization_id))
            .filter(contact::Column::Active.eq(true))
            .count(&txn)
            .await?;
        for c in contact::Entity::find()
            .filter(contact::Column::Id.is_in(ids))
            .filter(contact::Column::Active.eq(true))
            .all(&txn)
            .await?
            .into_iter()
            // Only people who can still open the ticket: Technical Contacts,
            // or a Main Contact who is the sole contact.
            .filter(|c| c.is_technical || (c.is_main && active_contacts == 1))
        {
            enqueue(
                &txn,
                update_mail(state, &t, &c.email, &c.name, &actor.name, &body, false),
            )
            .await?;
        }
    } else if !staff {
        if let Some(u) = works_tickets(&txn, t.assignee_user_id).await? {
            enqueue(
                &txn,
                update_mail(state, &t, &u.email, &u.name, &actor.name, &body, true),
            )
            .await?;
        }
    }
    txn.commit().await?;
    super::live::publish(state, t.id).await;
    Ok(attachment)
}

pub async fn assign_ticket(id: i32, assignee: String) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    if !staff {
        return Err(AppError::Forbidden);
    }
    let target = if assignee.trim().is_empty() {
        None
    } else {
        let uid: i32 = assignee
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("assignee_id", "Choose someone from the list."))?;
        let u = user::Entity::find_by_id(uid)
            .one(&state.db)
            .await?
            .filter(|u| {
                u.active
                    && u.staff_role
                        .is_some_and(|r| authz::allows(r, Capability::TicketsWork))
            })
            .ok_or_else(|| {
                AppError::invalid("assignee_id", "Choose an active administrator or agent.")
            })?;
        Some(u)
    };
    let txn = begin_write(&state.db).await?;
    let mut a = t.clone().into_active_model();
    a.assignee_user_id = Set(target.as_ref().map(|u| u.id));
    a.updated_at = Set(Utc::now());
    a.update(&txn).await?;
    event(
        &txn,
        t.id,
        "assigned",
        &actor.name,
        Some(
            target
                .as_ref()
                .map(|u| u.name.clone())
                .unwrap_or_else(|| "nobody".into()),
        ),
        false,
    )
    .await?;
    txn.commit().await?;
    super::live::publish(&state, t.id).await;
    redirect_back_with("done=assigned");
    Ok(())
}

pub async fn change_severity(id: i32, severity: String, reason: String) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    if !staff {
        return Err(AppError::Forbidden);
    }
    let mut p = Problems::default();
    let severity = p.check("severity", severity_of(&severity));
    let reason = p.check("reason", validate::required("reason", &reason, 500));
    p.into_result()?;
    let (Some(severity), Some(reason)) = (severity, reason) else {
        return Err(AppError::Internal);
    };
    if severity == t.severity {
        return Err(AppError::invalid(
            "severity",
            "That is the ticket's severity already.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let mut a = t.clone().into_active_model();
    a.severity = Set(severity);
    a.updated_at = Set(now);
    let t2 = a.update(&txn).await?;
    // The new severity's targets apply to the clocks still open.
    if let Some(target) = target_for(&txn, t.level_id, severity).await? {
        for s in open_clocks(&txn, t.id).await? {
            let minutes = match s.target.as_str() {
                "first_response" => target.first_response_minutes,
                "next_response" => target.next_response_minutes,
                _ => target.resolution_minutes,
            };
            let runs = runs_of(&s);
            let cal = calendar(&txn, &t2, target.around_the_clock).await?;
            let due = sla::due(&cal, &runs, Duration::minutes(i64::from(minutes)), now);
            // The new target decides afresh whether it is breached or near.
            let breached = s.breached_at.filter(|_| due.is_some_and(|d| d <= now));
            let mut a = s.into_active_model();
            a.minutes = Set(minutes);
            a.around_the_clock = Set(target.around_the_clock);
            a.due_at = Set(due);
            a.breached_at = Set(breached);
            a.warned_at = Set(None);
            a.update(&txn).await?;
        }
    }
    event(
        &txn,
        t.id,
        "severity",
        &actor.name,
        Some(format!("{} → {}", t.severity, severity)),
        false,
    )
    .await?;
    event(
        &txn,
        t.id,
        "severity.reason",
        &actor.name,
        Some(reason),
        true,
    )
    .await?;
    txn.commit().await?;
    super::live::publish(&state, t.id).await;
    redirect_back_with("done=severity");
    Ok(())
}

pub async fn add_follower(id: i32, contact_id: i32) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    let requester = actor
        .customer()
        .is_some_and(|c| c.contact_id == t.requester_contact_id);
    if !staff && !requester {
        return Err(AppError::Forbidden);
    }
    let c = contact::Entity::find_by_id(contact_id)
        .one(&state.db)
        .await?
        .filter(|c| c.organization_id == t.organization_id && c.active && c.is_technical)
        .ok_or_else(|| {
            AppError::invalid(
                "contact_id",
                "Choose a Technical Contact of the ticket's organization.",
            )
        })?;
    let txn = begin_write(&state.db).await?;
    ticket_follower::Entity::insert(ticket_follower::ActiveModel {
        ticket_id: Set(t.id),
        contact_id: Set(c.id),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            ticket_follower::Column::TicketId,
            ticket_follower::Column::ContactId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    event(&txn, t.id, "follower", &actor.name, Some(c.name), false).await?;
    txn.commit().await?;
    super::live::publish(&state, t.id).await;
    redirect_back_with("done=follower");
    Ok(())
}

// ---- saved replies and merging --------------------------------------------------------

pub async fn list_canned_replies() -> Result<Vec<CannedReplyView>, AppError> {
    crate::auth::ssr::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    Ok(canned_reply::Entity::find()
        .order_by_asc(canned_reply::Column::Title)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| CannedReplyView {
            id: c.id,
            title: c.title,
            body: c.body,
        })
        .collect())
}

pub async fn save_canned_reply(title: String, body: String) -> Result<i32, AppError> {
    let actor = crate::auth::ssr::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let title = p.check("title", validate::required("title", &title, 120));
    let body = p.check("body", validate::required_text("reply", &body, 20_000));
    p.into_result()?;
    let (Some(title), Some(body)) = (title, body) else {
        return Err(AppError::Internal);
    };
    let exists = canned_reply::Entity::find()
        .filter(canned_reply::Column::Title.eq(title.as_str()))
        .one(&state.db)
        .await?
        .is_some();
    if exists {
        return Err(AppError::invalid(
            "title",
            "A saved reply with this title exists; choose another title.",
        ));
    }
    let c = canned_reply::ActiveModel {
        title: Set(title),
        body: Set(body),
        created_by: Set(Some(actor.user_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    redirect_back_with("done=canned");
    Ok(c.id)
}

pub async fn delete_canned_reply(id: i32) -> Result<(), AppError> {
    crate::auth::ssr::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    let r = canned_reply::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    redirect_back_with("done=canned-deleted");
    Ok(())
}

/// Merges duplicate ticket `id` into `into`: its conversation moves over,
/// its requester follows the surviving ticket, and it closes.
pub async fn merge_ticket(id: i32, into: String) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    if !staff {
        return Err(AppError::Forbidden);
    }
    let into: i32 = into.trim().trim_start_matches('#').parse().map_err(|_| {
        AppError::invalid("into", "Enter the number of the ticket to keep, e.g. 42.")
    })?;
    if into == id {
        return Err(AppError::invalid(
            "into",
            "A ticket cannot be merged into itself.",
        ));
    }
    let target = ticket::Entity::find_by_id(into)
        .one(&state.db)
        .await?
        .filter(|x| x.organization_id == t.organization_id)
        .ok_or_else(|| {
            AppError::invalid("into", "Enter an open ticket of the same organization.")
        })?;
    if t.status == "closed" || target.status == "closed" {
        return Err(AppError::invalid(
            "into",
            "Closed tickets are not merged; both must be open.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    ticket_comment::Entity::update_many()
        .col_expr(ticket_comment::Column::TicketId, Expr::value(target.id))
        .filter(ticket_comment::Column::TicketId.eq(t.id))
        .exec(&txn)
        .await?;
    entity::ticket_attachment::Entity::update_many()
        .col_expr(
            entity::ticket_attachment::Column::TicketId,
            Expr::value(target.id),
        )
        .filter(entity::ticket_attachment::Column::TicketId.eq(t.id))
        .exec(&txn)
        .await?;
    // The servers the duplicate named are affected on the surviving ticket too.
    for s in ticket_server::Entity::find()
        .filter(ticket_server::Column::TicketId.eq(t.id))
        .all(&txn)
        .await?
    {
        ticket_server::Entity::insert(ticket_server::ActiveModel {
            ticket_id: Set(target.id),
            covered_server_id: Set(s.covered_server_id),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                ticket_server::Column::TicketId,
                ticket_server::Column::CoveredServerId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    if t.requester_contact_id != target.requester_contact_id {
        ticket_follower::Entity::insert(ticket_follower::ActiveModel {
            ticket_id: Set(target.id),
            contact_id: Set(t.requester_contact_id),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                ticket_follower::Column::TicketId,
                ticket_follower::Column::ContactId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    ticket_comment::ActiveModel {
        ticket_id: Set(target.id),
        author_user_id: Set(Some(actor.user_id)),
        author_name: Set(actor.name.clone()),
        by_staff: Set(true),
        internal: Set(false),
        body: Set(format!(
            "Ticket #{} (\"{}\") was merged into this one.\n\n{}",
            t.id, t.subject, t.description
        )),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // The duplicate's clocks stop; the surviving ticket's keep running.
    ticket_sla::Entity::update_many()
        .col_expr(
            ticket_sla::Column::DueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(ticket_sla::Column::FulfilledAt, Expr::value(Some(now)))
        .filter(ticket_sla::Column::TicketId.eq(t.id))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .exec(&txn)
        .await?;
    let closed = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value("closed"))
        .col_expr(ticket::Column::ClosedAt, Expr::value(Some(now)))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.ne("closed"))
        .exec(&txn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(AppError::invalid(
            "into",
            "This ticket was closed at the same moment.",
        ));
    }
    event(
        &txn,
        t.id,
        "merged",
        &actor.name,
        Some(format!("into #{}", target.id)),
        false,
    )
    .await?;
    event(
        &txn,
        target.id,
        "merged",
        &actor.name,
        Some(format!("#{} merged in", t.id)),
        false,
    )
    .await?;
    txn.commit().await?;
    super::live::publish(&state, t.id).await;
    super::live::publish(&state, target.id).await;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/tickets/{}?done=merged", target.id));
    }
    Ok(())
}

// ---- the scheduler ----------------------------------------------------------------------

/// Records breaches (and e-mails the administrators), warns assignees at
/// 75% of a target, and closes tickets solved `close_after` ago.
pub async fn sweep(state: &AppState, close_after: Duration) -> Result<usize, AppError> {
    let now = Utc::now();
    let mut touched = 0;
    let mut changed = Vec::new();
    let running = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .filter(ticket_sla::Column::DueAt.is_not_null())
        .all(&state.db)
        .await?;
    for s in running {
        let Some(t) = ticket::Entity::find_by_id(s.ticket_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let label = target_label(&s.target);
        let txn = begin_write(&state.db).await?;
        if s.breached_at.is_none() && s.due_at.is_some_and(|d| d <= now) {
            let claimed = ticket_sla::Entity::update_many()
                .col_expr(ticket_sla::Column::BreachedAt, Expr::value(Some(now)))
                .filter(ticket_sla::Column::Id.eq(s.id))
                .filter(ticket_sla::Column::BreachedAt.is_null())
                // Not met or paused since it was read.
                .filter(ticket_sla::Column::FulfilledAt.is_null())
                .filter(ticket_sla::Column::DueAt.lte(now))
                .exec(&txn)
                .await?;
            if claimed.rows_affected == 1 {
                event(
                    &txn,
                    t.id,
                    "sla.breach",
                    "Portico",
                    Some(label.to_string()),
                    false,
                )
                .await?;
                for admin in user::Entity::find()
                    .filter(user::Column::StaffRole.eq(StaffRole::Admin))
                    .filter(user::Column::Active.eq(true))
                    .all(&txn)
                    .await?
                {
                    enqueue(
                        &txn,
                        Mail {
                            thread: None,
                            kind: "sla_breach",
                            organization_id: Some(t.organization_id),
                            to_addr: admin.email,
                            to_name: admin.name,
                            subject: format!("SLA breached: {label} on ticket #{} (severity {})", t.id, t.severity),
                            body: format!(
                                "The {label} target ({}) of ticket #{} \"{}\" was breached.\n\n{}\n\n— Portico\n",
                                minutes_text(s.minutes),
                                t.id,
                                t.subject,
                                ticket_url(state, &t, true)
                            ),
                        },
                    )
                    .await?;
                }
                touched += 1;
                changed.push(t.id);
            }
        } else if s.warned_at.is_none() && s.breached_at.is_none() {
            let cal = calendar(&txn, &t, s.around_the_clock).await?;
            let used = sla::elapsed(&cal, &runs_of(&s), now);
            if used * 4 >= Duration::minutes(i64::from(s.minutes)) * 3 {
                let claimed = ticket_sla::Entity::update_many()
                    .col_expr(ticket_sla::Column::WarnedAt, Expr::value(Some(now)))
                    .filter(ticket_sla::Column::Id.eq(s.id))
                    .filter(ticket_sla::Column::WarnedAt.is_null())
                    .exec(&txn)
                    .await?;
                if claimed.rows_affected == 1 {
                    event(
                        &txn,
                        t.id,
                        "sla.warning",
                        "Portico",
                        Some(format!("{label}: 75% used")),
                        true,
                    )
                    .await?;
                    if let Some(u) = works_tickets(&txn, t.assignee_user_id).await? {
                        enqueue(
                            &txn,
                            Mail {
                                thread: None,
                                kind: "sla_warning",
                                organization_id: Some(t.organization_id),
                                to_addr: u.email,
                                to_name: u.name,
                                subject: format!(
                                    "75% of the {label} target used: ticket #{}",
                                    t.id
                                ),
                                body: format!(
                                    "Ticket #{} \"{}\" is due {}.\n\n{}\n\n— Portico\n",
                                    t.id,
                                    t.subject,
                                    s.due_at.map(stamp).unwrap_or_default(),
                                    ticket_url(state, &t, true)
                                ),
                            },
                        )
                        .await?;
                    }
                    touched += 1;
                }
            }
        }
        txn.commit().await?;
    }
    let stale = ticket::Entity::find()
        .filter(ticket::Column::Status.eq("solved"))
        .filter(ticket::Column::SolvedAt.lte(now - close_after))
        .all(&state.db)
        .await?;
    for t in stale {
        let txn = begin_write(&state.db).await?;
        let r = ticket::Entity::update_many()
            .col_expr(ticket::Column::Status, Expr::value("closed"))
            .col_expr(ticket::Column::ClosedAt, Expr::value(Some(now)))
            .filter(ticket::Column::Id.eq(t.id))
            .filter(ticket::Column::Status.eq("solved"))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            event(
                &txn,
                t.id,
                "status",
                "Portico",
                Some("solved → closed".into()),
                false,
            )
            .await?;
            touched += 1;
            changed.push(t.id);
        }
        txn.commit().await?;
    }
    for id in changed {
        super::live::publish(state, id).await;
    }
    Ok(touched)
}

/// The severity label, e.g. "1 — Critical".
pub fn severity_label(s: i16) -> String {
    SEVERITIES
        .iter()
        .find(|(n, _, _)| *n == s)
        .map(|(n, l, _)| format!("{n} — {l}"))
        .unwrap_or_else(|| s.to_string())
}
