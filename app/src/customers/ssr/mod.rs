//! Customers, server side: every function authorizes the acting person
//! against the object it touches, with the organization taken from the
//! session (customers) or from the object itself (staff).

use chrono::{Duration as ChronoDuration, Utc};
use entity::{
    activation_link, audit_event, contact, contact_request, covered_server, level, order,
    organization, program, sla_target, subscription, user,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::*;
use crate::auth::ssr::session;
use crate::core::actor::{Actor, ActorRole};
use crate::core::audit::{self, Action, Target};
use crate::core::authz::{self, Capability};
use crate::core::password::validate_new_password;
use crate::core::state::AppState;
use crate::core::web::{
    app_state, client_addr, request_parts, require_actor, require_staff, send_cookie,
};
use crate::mail::ssr::{enqueue, Mail};
use crate::validate::{self, Problems};
use entity::PaymentMethod;

mod activation;
mod catalog;
mod contacts;
mod credentials;
mod orders;
mod organization_page;
pub mod products;
mod servers;
pub mod subscriptions;
pub use activation::activate_account;
pub use catalog::{create_program, list_levels, load_catalog, parse_price, save_level};
pub use contacts::{
    add_contact, deactivate_contact, decide_contact_request, remove_administrative_role,
    transfer_main_contact, update_contact,
};
pub use credentials::{resend_activation, send_password_reset};
pub use orders::process_order;
pub use organization_page::load_organization;
use organization_page::*;
pub use servers::{
    decide_server_declaration, declare_servers, load_staff_queue, set_ticket_sharing,
};

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn format_price(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", m / 100, m % 100)
}

/// How a person may act on one organization's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    Staff,
    MainContact,
}

/// Staff manage any organization; a Main Contact manages their own. Anyone
/// else gets 404 for another organization's objects (existence is not
/// revealed) and 403 for their own.
fn may_manage(actor: &Actor, org_id: i32) -> Result<Manager, AppError> {
    match &actor.role {
        ActorRole::Staff(_) => Ok(Manager::Staff),
        ActorRole::Customer(c) if c.organization_id == org_id => {
            if c.main {
                Ok(Manager::MainContact)
            } else {
                Err(AppError::Forbidden)
            }
        }
        ActorRole::Customer(_) => Err(AppError::NotFound),
    }
}

/// The organization a request is about: the session's for customers (an id
/// in the request can only repeat it), the requested one for staff.
fn target_org(actor: &Actor, requested: Option<i32>) -> Result<i32, AppError> {
    match &actor.role {
        ActorRole::Staff(_) => {
            requested.ok_or_else(|| AppError::invalid("organization_id", "Choose an organization."))
        }
        ActorRole::Customer(c) => match requested {
            Some(id) if id != c.organization_id => Err(AppError::NotFound),
            _ => Ok(c.organization_id),
        },
    }
}

fn contact_json(c: &contact::Model) -> String {
    json!({
        "name": c.name, "email": c.email, "phone": c.phone,
        "main": c.is_main, "technical": c.is_technical, "administrative": c.is_administrative,
        "distribution_list": c.is_distribution_list, "active": c.active,
    })
    .to_string()
}

/// Staff change Technical Contacts with one capability and Main and
/// Administrative Contacts with another (see `core::authz`).
fn staff_may_change(actor: &Actor, c: &contact::Model) -> Result<(), AppError> {
    let cap = if c.is_main || c.is_administrative {
        Capability::BillingContacts
    } else {
        Capability::TechnicalContacts
    };
    authz::require(actor, cap)
}

async fn contact_in_scope(
    state: &AppState,
    actor: &Actor,
    contact_id: i32,
) -> Result<(contact::Model, Manager), AppError> {
    let c = contact::Entity::find_by_id(contact_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let m = may_manage(actor, c.organization_id)?;
    Ok((c, m))
}

async fn org_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn main_contact<C: ConnectionTrait>(
    db: &C,
    org_id: i32,
) -> Result<Option<contact::Model>, AppError> {
    Ok(contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::IsMain.eq(true))
        .filter(contact::Column::Active.eq(true))
        .one(db)
        .await?)
}

/// Whether the organization has exactly one active contact (its Main Contact).
async fn sole_contact<C: ConnectionTrait>(db: &C, org_id: i32) -> Result<bool, AppError> {
    Ok(contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::Active.eq(true))
        .count(db)
        .await?
        == 1)
}

async fn active_technical_count<C: ConnectionTrait>(db: &C, org_id: i32) -> Result<u64, AppError> {
    Ok(contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::IsTechnical.eq(true))
        .filter(contact::Column::Active.eq(true))
        .count(db)
        .await?)
}

async fn email_taken<C: ConnectionTrait>(
    db: &C,
    email: &str,
    except_user: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = user::Entity::find().filter(user::Column::Email.eq(email));
    if let Some(id) = except_user {
        q = q.filter(user::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// A new, single-use activation link for `user_id`; every older open link
/// of that person is revoked. Returns the token for the e-mail.
pub async fn issue_activation<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user_id: i32,
) -> Result<String, AppError> {
    let ttl =
        ChronoDuration::from_std(state.settings.activation_ttl).unwrap_or(ChronoDuration::days(7));
    crate::auth::ssr::links::issue(db, user_id, ttl).await
}

fn activation_url(state: &AppState, token: &str) -> String {
    format!("{}/activate?token={token}", state.settings.base_url)
}

fn ttl_days(state: &AppState) -> u64 {
    (state.settings.activation_ttl.as_secs() / 86400).max(1)
}

struct NewContact<'a> {
    org_id: i32,
    name: &'a str,
    email: &'a str,
    phone: Option<String>,
    main: bool,
    technical: bool,
    administrative: bool,
    distribution_list: bool,
}

/// Creates a contact with a pending account (no password yet).
async fn create_contact(
    txn: &DatabaseTransaction,
    n: NewContact<'_>,
) -> Result<(contact::Model, user::Model), AppError> {
    let now = Utc::now();
    let u = user::ActiveModel {
        email: Set(n.email.to_owned()),
        name: Set(n.name.to_owned()),
        password_hash: Set(None),
        staff_role: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let c = contact::ActiveModel {
        organization_id: Set(n.org_id),
        user_id: Set(Some(u.id)),
        name: Set(n.name.to_owned()),
        email: Set(n.email.to_owned()),
        phone: Set(n.phone),
        is_main: Set(n.main),
        is_technical: Set(n.technical),
        is_administrative: Set(n.administrative),
        is_distribution_list: Set(n.distribution_list),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((c, u))
}

fn support_welcome(state: &AppState, to: &contact::Model, org: &str, token: &str) -> Mail {
    let base = &state.settings.base_url;
    Mail {
        thread: None,
        kind: "support_welcome",
        organization_id: Some(to.organization_id),
        to_addr: to.email.clone(),
        to_name: to.name.clone(),
        subject: format!("Your access to the Portico Support Portal ({org})"),
        body: format!(
            "Hello {name},\n\n\
             {org} named you as a Technical Contact. The Support Portal is where you open and follow\n\
             SLA-tracked tickets, add comments and attach files at any time.\n\n\
             Set your password to activate your account (the link works once, for {days} days):\n{link}\n\n\
             Afterwards, sign in at {base}/sign-in with this e-mail address; the Support Portal is at {base}/support.\n\
             {dl}\n\
             — Portico\n",
            name = to.name,
            days = ttl_days(state),
            link = activation_url(state, token),
            dl = if to.is_distribution_list {
                "This address is a distribution list: everyone behind it shares one login and sees the same tickets.\n"
            } else {
                ""
            },
        ),
    }
}

struct WelcomeFacts<'a> {
    org: &'a str,
    program: &'a str,
    level: &'a level::Model,
    sub: &'a subscription::Model,
    /// The number of the first invoice, issued with the order.
    invoice: &'a str,
}

fn welcome_main(state: &AppState, to: &contact::Model, f: &WelcomeFacts<'_>, token: &str) -> Mail {
    let base = &state.settings.base_url;
    let payment = PaymentMethod::parse(&f.sub.payment_method).map_or("Other", PaymentMethod::label);
    Mail {
        thread: None,
        kind: "welcome",
        organization_id: Some(to.organization_id),
        to_addr: to.email.clone(),
        to_name: to.name.clone(),
        subject: format!("Welcome to your {} {} subscription", f.program, f.level.name),
        body: format!(
            "Hello {name},\n\n\
             Thank you: we have processed the Order Form of {org}. You are its Main Contact, who receives\n\
             all contractual and billing communication.\n\n\
             Your subscription\n\
             - Program and level: {program} {level}\n\
             - Term: {start} to {end}\n\
             - Technical Contacts allowed: {techs}\n\
             - Servers included: {servers}\n\
             - Price: {price} per {period}\n\
             - Payment method: {payment}{po}\n\n\
             How billing works\n\
             Your first invoice, {invoice}, was issued with this order; it comes in a separate e-mail with a link to view it.\n\
             Invoices, estimates and proposals are e-mailed to you (and to your Administrative Contact, if you\n\
             add one). You can view and download them in the Billing Portal: {base}/billing\n\
             There you also keep your organization's contacts up to date and declare extra servers to cover.\n\n\
             Set your password to activate your account (the link works once, for {days} days):\n{link}\n\n\
             — Portico\n",
            name = to.name,
            org = f.org,
            program = f.program,
            level = f.level.name,
            start = day(f.sub.term_start),
            end = day(f.sub.term_end),
            techs = f.level.max_technical_contacts,
            servers = f.level.included_servers,
            price = format_price(f.level.price_minor, &f.level.currency),
            period = if f.level.billing_period == "monthly" { "month" } else { "year" },
            po = f.sub.purchase_order.as_deref().map(|p| format!(" (purchase order {p})")).unwrap_or_default(),
            invoice = f.invoice,
            days = ttl_days(state),
            link = activation_url(state, token),
        ),
    }
}

fn notice(to: &contact::Model, kind: &'static str, subject: String, text: String) -> Mail {
    Mail {
        thread: None,
        kind,
        organization_id: Some(to.organization_id),
        to_addr: to.email.clone(),
        to_name: to.name.clone(),
        subject,
        body: format!("Hello {},\n\n{text}\n\n— Portico\n", to.name),
    }
}

#[cfg(test)]
mod tests {
    use super::catalog::{holidays, timezone, weekdays};
    use super::*;

    #[test]
    fn prices_are_exact_minor_units() {
        assert_eq!(parse_price("9000.00"), Ok(900_000));
        assert_eq!(parse_price("9,000.5"), Ok(900_050));
        assert_eq!(parse_price("0.07"), Ok(7));
        assert_eq!(parse_price("12"), Ok(1200));
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            "abc",
            ".5",
            "99999999999999999999",
        ] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
        assert_eq!(format_price(900_050, "EUR"), "9000.50 EUR");
    }

    #[test]
    fn calendars() {
        assert_eq!(weekdays(" 1-5 "), Ok("1-5".into()));
        assert!(weekdays("1-4,6").is_ok());
        assert!(weekdays("0-5").is_err() && weekdays("5-1").is_err() && weekdays("").is_err());
        assert_eq!(
            holidays("2027-01-06, 2026-12-25,2027-01-06"),
            Ok("2026-12-25, 2027-01-06".into())
        );
        assert!(holidays("Christmas").is_err());
        assert!(
            timezone("Europe/Madrid").is_ok()
                && timezone("UTC").is_ok()
                && timezone("Madrid time").is_err()
        );
    }
}
