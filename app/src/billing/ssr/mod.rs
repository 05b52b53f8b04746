//! Billing, server side. Every function decides who is looking before it
//! reads anything: billing staff (administrators and billing clerks) see every
//! document; a Main or Administrative Contact sees their organization's sent
//! documents (the organization comes from the session); whoever holds the
//! cookie a document link was swapped for sees that one document. Anything
//! else is 404 for other organizations' documents and 403 otherwise.

use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use entity::{
    contact, covered_server, document, document_counter, document_event, document_line,
    document_link, level, organization, payment, program, subscription, user,
};
use http::HeaderMap;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use super::money::{self, Line};
use super::*;
use crate::auth::ssr::session;
use crate::core::actor::{Actor, ActorRole};
use crate::core::audit::{self, Action, Target};
use crate::core::authz::{self, Capability};
use crate::core::state::{AppState, Settings};
use crate::core::web::{
    app_state, client_addr, current_actor, is_plain_form_post, redirect_back_with, request_parts,
};
use crate::mail::ssr::{enqueue, Mail};
use crate::validate::{self, Problems};
use entity::PaymentMethod;

mod decisions;
mod demo;
mod drafts;
mod links;
mod payments;
mod reading;
mod sending;
mod sweep;
pub use decisions::{decide_document, save_document_account};
pub use demo::load_demo_documents;
use drafts::*;
pub use drafts::{load_document_editor, save_document};
pub use links::{open_link, pdf_bytes};
pub use payments::{convert_to_invoice, record_payment, void_document};
use reading::*;
pub use reading::{list_documents, load_billing_home, load_document, view_of};
use sending::*;
pub use sending::{issue_first_invoice, send_document, send_in};
pub use sweep::sweep;

const NOT_A_DRAFT: &str =
    "Only drafts can be changed; this document was sent or voided already. Create a new one instead.";
const MAX_LINES: usize = 100;
const DOC_COOKIE_PREFIX: &str = "portico_doc_";
/// A swapped-for cookie lasts at most this long; after that, the e-mailed link again.
const ACCESS_HOURS: i64 = 12;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn scale_of(currency: &str) -> u32 {
    money::minor_units(currency).unwrap_or(2)
}

// ---- who is looking ---------------------------------------------------------

/// How the current request may see one document.
#[derive(Debug, Clone)]
pub enum Access {
    Staff(Actor),
    Customer(Actor),
    Link(document_link::Model),
}

impl Access {
    fn is_staff(&self) -> bool {
        matches!(self, Access::Staff(_))
    }

    /// Who acted, for the activity list.
    fn who(&self) -> String {
        match self {
            Access::Staff(a) | Access::Customer(a) => a.email.clone(),
            Access::Link(l) => l.email.clone(),
        }
    }

    fn user_id(&self) -> Option<i32> {
        match self {
            Access::Staff(a) | Access::Customer(a) => Some(a.user_id),
            Access::Link(_) => None,
        }
    }
}

/// The cookie a document link is swapped for; over https with the
/// `__Host-` prefix, so no sibling subdomain can plant or shadow it.
fn doc_cookie_name(settings: &Settings, id: i32) -> String {
    let host = if settings.cookie_secure() {
        "__Host-"
    } else {
        ""
    };
    format!("{host}{DOC_COOKIE_PREFIX}{id}")
}

/// The open link whose cookie this request carries for document `id`.
async fn link_access<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    headers: &HeaderMap,
    id: i32,
) -> Result<Option<document_link::Model>, AppError> {
    let Some(token) = session::cookie_from_headers(headers, &doc_cookie_name(settings, id)) else {
        return Ok(None);
    };
    let now = Utc::now();
    let Some(link) = document_link::Entity::find()
        .filter(document_link::Column::AccessHash.eq(session::hash_token(&token)))
        .filter(document_link::Column::DocumentId.eq(id))
        .one(db)
        .await?
        .filter(|l| {
            l.revoked_at.is_none()
                && l.expires_at > now
                && l.access_expires_at.is_some_and(|a| a > now)
        })
    else {
        return Ok(None);
    };
    // Only while the recipient is still a billing contact at that address.
    Ok(still_a_recipient(db, &link).await?.then_some(link))
}

async fn still_a_recipient<C: ConnectionTrait>(
    db: &C,
    link: &document_link::Model,
) -> Result<bool, AppError> {
    let Some(contact_id) = link.contact_id else {
        return Ok(false);
    };
    Ok(contact::Entity::find_by_id(contact_id)
        .one(db)
        .await?
        .is_some_and(|c| c.active && c.email == link.email && (c.is_main || c.is_administrative)))
}

/// Decides whether `actor` (or the request's document cookie) may see
/// document `id`, and loads it.
pub async fn access<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    headers: &HeaderMap,
    actor: Option<&Actor>,
    id: i32,
) -> Result<(document::Model, Access), AppError> {
    let doc = document::Entity::find_by_id(id).one(db).await?;
    if let Some(a) = actor {
        match &a.role {
            ActorRole::Staff(r) if authz::allows(*r, Capability::Documents) => {
                return Ok((doc.ok_or(AppError::NotFound)?, Access::Staff(a.clone())));
            }
            ActorRole::Customer(c) if a.can_use_billing() => {
                if let Some(d) =
                    doc.filter(|d| d.organization_id == c.organization_id && d.status != "draft")
                {
                    return Ok((d, Access::Customer(a.clone())));
                }
                // Not theirs: maybe a link for it was forwarded to them.
                return match (
                    link_access(db, settings, headers, id).await?,
                    document::Entity::find_by_id(id).one(db).await?,
                ) {
                    (Some(l), Some(d)) => Ok((d, Access::Link(l))),
                    _ => Err(AppError::NotFound),
                };
            }
            _ => {}
        }
    }
    if let (Some(l), Some(d)) = (link_access(db, settings, headers, id).await?, doc) {
        return Ok((d, Access::Link(l)));
    }
    match actor {
        None => Err(AppError::Unauthenticated),
        Some(_) => Err(AppError::Forbidden),
    }
}

async fn current_access(id: i32) -> Result<(AppState, document::Model, Access), AppError> {
    let state = app_state()?;
    let parts = request_parts()?;
    let actor = current_actor();
    let (d, a) = access(
        &state.db,
        &state.settings,
        &parts.headers,
        actor.as_ref(),
        id,
    )
    .await?;
    Ok((state, d, a))
}

fn require_billing_staff() -> Result<Actor, AppError> {
    crate::core::web::require_staff(Capability::Documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: &str) -> Settings {
        Settings::for_tests(base)
    }

    #[test]
    fn the_document_cookie_is_host_only_over_https() {
        assert_eq!(
            doc_cookie_name(&settings("https://portal.example.com"), 7),
            "__Host-portico_doc_7"
        );
        assert_eq!(
            doc_cookie_name(&settings("http://127.0.0.1:3000"), 7),
            "portico_doc_7"
        );
    }
}
