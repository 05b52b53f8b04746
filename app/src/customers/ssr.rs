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
use crate::audit;
use crate::auth::ssr::{
    app_state, client_addr, password::validate_new_password, request_parts, require_actor,
    require_staff, send_cookie, session, Actor, ActorRole,
};
use crate::core::authz::{self, Capability};
use crate::mail::ssr::{enqueue, Mail};
use crate::state::AppState;
use crate::validate::{self, Problems};

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

async fn technical_limit<C: ConnectionTrait>(
    db: &C,
    org_id: i32,
) -> Result<Option<(i32, level::Model)>, AppError> {
    let sub = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .filter(subscription::Column::Status.eq("active"))
        .order_by_desc(subscription::Column::TermEnd)
        .one(db)
        .await?;
    let Some(sub) = sub else { return Ok(None) };
    let lvl = level::Entity::find_by_id(sub.level_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(Some((lvl.max_technical_contacts, lvl)))
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
    let now = Utc::now();
    activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(activation_link::Column::UserId.eq(user_id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let token = session::new_token();
    activation_link::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(session::hash_token(&token)),
        expires_at: Set(now
            + ChronoDuration::from_std(state.settings.activation_ttl)
                .unwrap_or(ChronoDuration::days(7))),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
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
    let payment = PAYMENT_METHODS
        .iter()
        .find(|(k, _)| *k == f.sub.payment_method)
        .map(|(_, l)| *l)
        .unwrap_or("Other");
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

// ---- catalog ----------------------------------------------------------------

pub async fn list_levels() -> Result<Vec<LevelView>, AppError> {
    let state = app_state()?;
    let programs = program::Entity::find().all(&state.db).await?;
    let levels = level::Entity::find()
        .filter(level::Column::Active.eq(true))
        .order_by_asc(level::Column::ProgramId)
        .order_by_asc(level::Column::PriceMinor)
        .all(&state.db)
        .await?;
    let targets = sla_target::Entity::find()
        .order_by_asc(sla_target::Column::Severity)
        .all(&state.db)
        .await?;
    Ok(levels
        .into_iter()
        .map(|l| LevelView {
            id: l.id,
            program_id: l.program_id,
            price_input: format_price(l.price_minor, "").trim().to_string(),
            currency: l.currency.clone(),
            timezone: l.timezone.clone(),
            business_days: l.business_days.clone(),
            business_hours_start: l.business_hours_start.clone(),
            business_hours_end: l.business_hours_end.clone(),
            program: programs
                .iter()
                .find(|p| p.id == l.program_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            price: format_price(l.price_minor, &l.currency),
            calendar: format!(
                "ISO weekdays {}, {}–{} ({})",
                l.business_days, l.business_hours_start, l.business_hours_end, l.timezone
            ),
            sla: targets
                .iter()
                .filter(|t| t.level_id == l.id)
                .map(|t| SlaView {
                    severity: t.severity,
                    first_response_minutes: t.first_response_minutes,
                    next_response_minutes: t.next_response_minutes,
                    resolution_minutes: t.resolution_minutes,
                    around_the_clock: t.around_the_clock,
                })
                .collect(),
            name: l.name,
            max_technical_contacts: l.max_technical_contacts,
            included_servers: l.included_servers,
            repository_channels: l.repository_channels,
            kb_tier: l.kb_tier,
            billing_period: l.billing_period,
            holidays: l.holidays,
        })
        .collect())
}

pub async fn load_catalog() -> Result<Catalog, AppError> {
    let actor = require_staff(Capability::CatalogRead)?;
    let state = app_state()?;
    let programs = program::Entity::find()
        .order_by_asc(program::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| ProgramView {
            id: p.id,
            name: p.name,
            description: p.description,
        })
        .collect();
    Ok(Catalog {
        programs,
        levels: list_levels().await?,
        can_edit: authz::actor_allows(&actor, Capability::CatalogManage),
    })
}

pub async fn create_program(name: String, description: String) -> Result<i32, AppError> {
    let actor = require_staff(Capability::CatalogManage)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let name = p.check("name", validate::required("program name", &name, 120));
    let description = p
        .check(
            "description",
            validate::optional_text("description", &description, 2000),
        )
        .flatten();
    if let Some(n) = &name {
        if program::Entity::find()
            .filter(program::Column::Name.eq(n.clone()))
            .count(&state.db)
            .await?
            > 0
        {
            p.add("name", format!("A program called {n} exists already."));
        }
    }
    p.into_result()?;
    let txn = crate::state::begin_write(&state.db).await?;
    let prog = program::ActiveModel {
        name: Set(name.unwrap_or_default()),
        description: Set(description.unwrap_or_default()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        None,
        "catalog.program_created",
        &format!("program:{}", prog.id),
        None,
        Some(json!({"name": prog.name}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    crate::auth::ssr::redirect_back_with("saved=program");
    Ok(prog.id)
}

/// A price written with at most two decimals, in minor units; exact, no floats.
pub fn parse_price(s: &str) -> Result<i64, String> {
    let s = s.trim().replace([',', ' '], "");
    let msg = || "Write the price as a number with at most two decimals, e.g. 9000.00.".to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(msg());
    }
    let whole: i64 = whole.parse().map_err(|_| msg())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| msg())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|v| *v <= 100_000_000_000)
        .ok_or_else(msg)
}

fn hhmm(label: &str, s: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| format!("Write the {label} as HH:MM, e.g. 09:00."))
}

fn weekdays(s: &str) -> Result<String, String> {
    let v = s.trim().replace(' ', "");
    let ok = !v.is_empty()
        && v.split(',').all(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            matches!((a.parse::<u8>(), b.parse::<u8>()), (Ok(a), Ok(b)) if (1..=7).contains(&a) && (1..=7).contains(&b) && a <= b)
        });
    if ok {
        Ok(v)
    } else {
        Err(
            "Write the working days as ISO weekdays (1 = Monday … 7 = Sunday), e.g. 1-5 or 1-4,6."
                .into(),
        )
    }
}

fn holidays(s: &str) -> Result<String, String> {
    let mut days = Vec::new();
    for d in s
        .split([',', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let parsed = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| format!("\u{201c}{d}\u{201d} is not a date; list holidays as YYYY-MM-DD, separated by commas."))?;
        days.push(parsed.format("%Y-%m-%d").to_string());
    }
    days.sort();
    days.dedup();
    Ok(days.join(", "))
}

fn timezone(s: &str) -> Result<String, String> {
    let v = s.trim();
    let ok = v == "UTC"
        || (v.contains('/')
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)));
    if ok {
        Ok(v.to_string())
    } else {
        Err("Use an IANA time zone name, e.g. Europe/Madrid or UTC.".into())
    }
}

/// Creates or changes a level, with its SLA targets, in one transaction.
pub async fn save_level(f: LevelForm) -> Result<i32, AppError> {
    let actor = require_staff(Capability::CatalogManage)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let existing = match f.id.trim() {
        "" => None,
        id => Some(
            level::Entity::find_by_id(id.parse::<i32>().map_err(|_| AppError::NotFound)?)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
    };
    let program_id = match f.program_id.trim().parse::<i32>() {
        Ok(id)
            if program::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .is_some() =>
        {
            Some(id)
        }
        _ => {
            p.add("program_id", "Choose the program this level belongs to.");
            None
        }
    };
    let name = p.check("name", validate::required("level name", &f.name, 120));
    let techs = p.check(
        "max_technical_contacts",
        validate::number(
            "maximum of Technical Contacts",
            &f.max_technical_contacts,
            1,
            1000,
        ),
    );
    let servers = p.check(
        "included_servers",
        validate::number(
            "number of included servers",
            &f.included_servers,
            0,
            100_000,
        ),
    );
    let channels = p.check(
        "repository_channels",
        validate::required("repository channels", &f.repository_channels, 500),
    );
    let kb = p.check(
        "kb_tier",
        validate::required("knowledge-base tier", &f.kb_tier, 32),
    );
    let price = p.check("price", parse_price(&f.price));
    let currency = f.currency.trim().to_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        p.add(
            "currency",
            "Use a three-letter ISO 4217 code, e.g. EUR or USD.",
        );
    }
    if !matches!(f.billing_period.as_str(), "monthly" | "yearly") {
        p.add("billing_period", "Choose monthly or yearly billing.");
    }
    let tz = p.check("timezone", timezone(&f.timezone));
    let days = p.check("business_days", weekdays(&f.business_days));
    let start = p.check(
        "business_hours_start",
        hhmm("opening time", &f.business_hours_start),
    );
    let end = p.check(
        "business_hours_end",
        hhmm("closing time", &f.business_hours_end),
    );
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            p.add("business_hours_end", "The desk must close after it opens.");
        }
    }
    let hols = p.check("holidays", holidays(&f.holidays));
    let mut sla = Vec::new();
    for sev in 1..=4usize {
        let input = f.sla.get(sev - 1).cloned().unwrap_or_default();
        let field = |x: &str| format!("sla.{}.{x}", sev - 1);
        let first = p.check(
            &field("first_response_minutes"),
            validate::number(
                "first response (minutes)",
                &input.first_response_minutes,
                1,
                525_600,
            ),
        );
        let next = p.check(
            &field("next_response_minutes"),
            validate::number(
                "next response (minutes)",
                &input.next_response_minutes,
                1,
                525_600,
            ),
        );
        let res = p.check(
            &field("resolution_minutes"),
            validate::number(
                "resolution (minutes)",
                &input.resolution_minutes,
                1,
                5_256_000,
            ),
        );
        if let (Some(a), Some(r)) = (first, res) {
            if r < a {
                p.add(
                    field("resolution_minutes"),
                    "Resolution cannot come before the first response.",
                );
            }
        }
        sla.push((
            sev as i16,
            first,
            next,
            res,
            input.around_the_clock.is_some(),
        ));
    }
    if let (Some(pid), Some(n)) = (program_id, &name) {
        let clash = level::Entity::find()
            .filter(level::Column::ProgramId.eq(pid))
            .filter(level::Column::Name.eq(n.clone()))
            .filter(level::Column::Id.ne(existing.as_ref().map(|l| l.id).unwrap_or(-1)))
            .count(&state.db)
            .await?;
        if clash > 0 {
            p.add(
                "name",
                format!("This program already has a level called {n}."),
            );
        }
    }
    p.into_result()?;

    let txn = crate::state::begin_write(&state.db).await?;
    let before = existing.as_ref().map(|l| json!({"name": l.name, "max_technical_contacts": l.max_technical_contacts, "price_minor": l.price_minor}).to_string());
    let mut a = match &existing {
        Some(l) => l.clone().into_active_model(),
        None => level::ActiveModel {
            active: Set(true),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    a.program_id = Set(program_id.unwrap_or_default());
    a.name = Set(name.unwrap_or_default());
    a.max_technical_contacts = Set(techs.unwrap_or(1) as i32);
    a.included_servers = Set(servers.unwrap_or(0) as i32);
    a.repository_channels = Set(channels.unwrap_or_default());
    a.kb_tier = Set(kb.unwrap_or_default());
    a.price_minor = Set(price.unwrap_or(0));
    a.currency = Set(currency);
    a.billing_period = Set(f.billing_period.clone());
    a.timezone = Set(tz.unwrap_or_default());
    a.business_days = Set(days.unwrap_or_default());
    a.business_hours_start = Set(start
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default());
    a.business_hours_end = Set(end
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default());
    a.holidays = Set(hols.unwrap_or_default());
    let saved = match existing {
        Some(_) => a.update(&txn).await?,
        None => a.insert(&txn).await?,
    };
    sla_target::Entity::delete_many()
        .filter(sla_target::Column::LevelId.eq(saved.id))
        .exec(&txn)
        .await?;
    for (severity, first, next, res, around_the_clock) in sla {
        sla_target::ActiveModel {
            level_id: Set(saved.id),
            severity: Set(severity),
            first_response_minutes: Set(first.unwrap_or(1) as i32),
            next_response_minutes: Set(next.unwrap_or(1) as i32),
            resolution_minutes: Set(res.unwrap_or(1) as i32),
            around_the_clock: Set(around_the_clock),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    audit::record(&txn, Some(actor.user_id), None, "catalog.level_saved", &format!("level:{}", saved.id), before, Some(json!({"name": saved.name, "max_technical_contacts": saved.max_technical_contacts, "price_minor": saved.price_minor}).to_string()), client_addr()).await?;
    txn.commit().await?;
    crate::auth::ssr::redirect_back_with("saved=level");
    Ok(saved.id)
}

// ---- order intake -----------------------------------------------------------

struct CleanOrder {
    name: String,
    legal_name: String,
    address: String,
    vat_id: Option<String>,
    level: level::Model,
    term_start: chrono::NaiveDate,
    term_end: chrono::NaiveDate,
    main_name: String,
    main_email: String,
    main_phone: Option<String>,
    techs: Vec<(String, String, Option<String>, bool)>,
    purchase_order: Option<String>,
    payment_method: String,
}

async fn check_order(state: &AppState, f: &OrderForm) -> Result<CleanOrder, AppError> {
    let mut p = Problems::default();
    let name = p.check(
        "organization_name",
        validate::required("organization name", &f.organization_name, 200),
    );
    let legal_name = p.check(
        "legal_name",
        validate::required("legal name", &f.legal_name, 200),
    );
    let address = p.check(
        "address",
        validate::required_text("address", &f.address, 1000),
    );
    let vat_id = p
        .check("vat_id", validate::optional("VAT id", &f.vat_id, 64))
        .flatten();
    let level = match f.level_id.trim().parse::<i32>() {
        Ok(id) => {
            level::Entity::find_by_id(id)
                .filter(level::Column::Active.eq(true))
                .one(&state.db)
                .await?
        }
        Err(_) => None,
    };
    if level.is_none() {
        p.add("level_id", "Choose the program and level from the list.");
    }
    let start = p.check("term_start", validate::date("term start", &f.term_start));
    let end = p.check("term_end", validate::date("term end", &f.term_end));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            p.add("term_end", "The term must end after it starts.");
        }
    }
    let main_name = p.check(
        "main_name",
        validate::required("Main Contact's name", &f.main_name, 200),
    );
    let main_email = p.check("main_email", validate::email(&f.main_email));
    let main_phone = p
        .check(
            "main_phone",
            validate::optional("Main Contact's phone", &f.main_phone, 64),
        )
        .flatten();

    let mut seen: Vec<String> = main_email.iter().cloned().collect();
    let mut techs = Vec::new();
    for (i, t) in f.technical_contacts.iter().enumerate() {
        if t.name.trim().is_empty() && t.email.trim().is_empty() && t.phone.trim().is_empty() {
            continue; // an unused row of the form
        }
        let n = p.check(
            &format!("technical_contacts.{i}.name"),
            validate::required("Technical Contact's name", &t.name, 200),
        );
        let e = p.check(
            &format!("technical_contacts.{i}.email"),
            validate::email(&t.email),
        );
        let ph = p
            .check(
                &format!("technical_contacts.{i}.phone"),
                validate::optional("phone", &t.phone, 64),
            )
            .flatten();
        if let Some(e) = &e {
            if seen.contains(e) {
                p.add(
                    format!("technical_contacts.{i}.email"),
                    format!(
                        "{e} appears twice in this order; each contact needs their own address."
                    ),
                );
            }
            seen.push(e.clone());
        }
        if let (Some(n), Some(e)) = (n, e) {
            techs.push((n, e, ph, t.distribution_list.is_some()));
        }
    }
    if let Some(l) = &level {
        let filled = f
            .technical_contacts
            .iter()
            .filter(|t| !t.email.trim().is_empty() || !t.name.trim().is_empty())
            .count();
        if filled as i32 > l.max_technical_contacts {
            p.add(
                "technical_contacts",
                format!(
                    "The {} level allows {} Technical Contact(s); this order names {filled}. Remove some, or choose a higher level.",
                    l.name, l.max_technical_contacts
                ),
            );
        }
    }
    for (field, email) in std::iter::once(("main_email".to_string(), main_email.clone())).chain(
        techs
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("technical_contacts.{i}.email"), Some(t.1.clone()))),
    ) {
        if let Some(e) = email {
            if email_taken(&state.db, &e, None).await? {
                p.add(
                    field,
                    format!("{e} already has a Portico account; use another address."),
                );
            }
        }
    }
    let purchase_order = p
        .check(
            "purchase_order",
            validate::optional("purchase-order number", &f.purchase_order, 64),
        )
        .flatten();
    if !PAYMENT_METHODS.iter().any(|(k, _)| *k == f.payment_method) {
        p.add("payment_method", "Choose a payment method.");
    }
    if f.payment_method == "purchase_order" && purchase_order.is_none() {
        p.add(
            "purchase_order",
            "Enter the purchase-order number (the payment method is purchase order).",
        );
    }
    p.into_result()?;
    let missing = || AppError::Internal;
    Ok(CleanOrder {
        name: name.ok_or_else(missing)?,
        legal_name: legal_name.ok_or_else(missing)?,
        address: address.ok_or_else(missing)?,
        vat_id,
        level: level.ok_or_else(missing)?,
        term_start: start.ok_or_else(missing)?,
        term_end: end.ok_or_else(missing)?,
        main_name: main_name.ok_or_else(missing)?,
        main_email: main_email.ok_or_else(missing)?,
        main_phone,
        techs,
        purchase_order,
        payment_method: f.payment_method.clone(),
    })
}

/// Processes a received Order Form in one transaction: organization,
/// subscription, contacts with pending accounts, activation links, the
/// Welcome and Support Welcome e-mails, and the audit event.
pub async fn process_order(form: OrderForm) -> Result<i32, AppError> {
    let actor = require_staff(Capability::OrdersProcess)?;
    let state = app_state()?;
    let o = check_order(&state, &form).await?;
    let program = program::Entity::find_by_id(o.level.program_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal)?;
    let now = Utc::now();
    let txn = crate::state::begin_write(&state.db).await?;
    let org = organization::ActiveModel {
        name: Set(o.name.clone()),
        legal_name: Set(o.legal_name.clone()),
        address: Set(o.address.clone()),
        vat_id: Set(o.vat_id.clone()),
        shared_tickets: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let sub = subscription::ActiveModel {
        organization_id: Set(org.id),
        level_id: Set(o.level.id),
        term_start: Set(o.term_start),
        term_end: Set(o.term_end),
        status: Set("active".into()),
        purchase_order: Set(o.purchase_order.clone()),
        payment_method: Set(o.payment_method.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    order::ActiveModel {
        organization_id: Set(org.id),
        form: Set(serde_json::to_string(&form).unwrap_or_default()),
        processed_by: Set(Some(actor.user_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    let (main, main_user) = create_contact(
        &txn,
        NewContact {
            org_id: org.id,
            name: &o.main_name,
            email: &o.main_email,
            phone: o.main_phone.clone(),
            main: true,
            technical: false,
            administrative: false,
            distribution_list: false,
        },
    )
    .await?;
    let main_token = issue_activation(&txn, &state, main_user.id).await?;
    let invoice = crate::billing::ssr::issue_first_invoice(
        &txn,
        &state,
        &actor,
        org.id,
        &sub,
        &o.level,
        &program.name,
    )
    .await?;
    let facts = WelcomeFacts {
        org: &org.name,
        program: &program.name,
        level: &o.level,
        sub: &sub,
        invoice: &invoice,
    };
    enqueue(&txn, welcome_main(&state, &main, &facts, &main_token)).await?;
    if o.techs.is_empty() {
        // The Main Contact is the sole contact for all purposes.
        enqueue(&txn, support_welcome(&state, &main, &org.name, &main_token)).await?;
    }
    for (name, email, phone, dl) in &o.techs {
        let (c, u) = create_contact(
            &txn,
            NewContact {
                org_id: org.id,
                name,
                email,
                phone: phone.clone(),
                main: false,
                technical: true,
                administrative: false,
                distribution_list: *dl,
            },
        )
        .await?;
        let token = issue_activation(&txn, &state, u.id).await?;
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(org.id),
        "order.processed",
        &format!("organization:{}", org.id),
        None,
        Some(json!({"organization": org.name, "level": o.level.name, "term_start": day(o.term_start), "term_end": day(o.term_end), "technical_contacts": o.techs.len()}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    if request_parts().is_ok_and(|p| crate::auth::ssr::is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/organizations/{}?created=1", org.id));
    }
    Ok(org.id)
}

// ---- organization page ------------------------------------------------------

pub async fn load_organization(requested: Option<i32>) -> Result<OrganizationView, AppError> {
    let actor = require_actor()?;
    let org_id = target_org(&actor, requested)?;
    let is_staff = actor.staff_role().is_some();
    if !is_staff && !actor.can_use_billing() {
        return Err(AppError::Forbidden);
    }
    let state = app_state()?;
    let org = org_by_id(&state.db, org_id).await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .order_by_desc(contact::Column::Active)
        .order_by_desc(contact::Column::IsMain)
        .order_by_asc(contact::Column::Name)
        .all(&state.db)
        .await?;
    let user_ids: Vec<i32> = contacts.iter().filter_map(|c| c.user_id).collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(&state.db)
        .await?;
    let sub = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .order_by_desc(subscription::Column::TermEnd)
        .one(&state.db)
        .await?;
    let subscription = match sub {
        Some(s) => {
            let l = level::Entity::find_by_id(s.level_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            let p = program::Entity::find_by_id(l.program_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            Some(SubscriptionView {
                program: p.name,
                level: l.name,
                term_start: day(s.term_start),
                term_end: day(s.term_end),
                status: s.status,
                max_technical_contacts: l.max_technical_contacts,
                included_servers: l.included_servers,
                purchase_order: s.purchase_order,
                payment_method: PAYMENT_METHODS
                    .iter()
                    .find(|(k, _)| *k == s.payment_method)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or(s.payment_method),
            })
        }
        None => None,
    };
    let requests = contact_request::Entity::find()
        .filter(contact_request::Column::OrganizationId.eq(org_id))
        .order_by_desc(contact_request::Column::Id)
        .limit(50)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| request_view(r, &org.name))
        .collect();
    let servers = covered_server::Entity::find()
        .filter(covered_server::Column::OrganizationId.eq(org_id))
        .order_by_desc(covered_server::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| server_view(s, &org.name))
        .collect();
    let audit = if is_staff {
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::OrganizationId.eq(org_id))
            .order_by_desc(audit_event::Column::Id)
            .limit(100)
            .all(&state.db)
            .await?;
        let actor_ids: Vec<i32> = events.iter().filter_map(|e| e.actor_user_id).collect();
        let actors = user::Entity::find()
            .filter(user::Column::Id.is_in(actor_ids))
            .all(&state.db)
            .await?;
        events
            .into_iter()
            .map(|e| AuditView {
                at: stamp(e.created_at),
                actor: e
                    .actor_user_id
                    .and_then(|id| actors.iter().find(|u| u.id == id))
                    .map(|u| format!("{} <{}>", u.name, u.email))
                    .unwrap_or_else(|| "system".into()),
                action: e.action,
                target: e.target,
                before: e.before,
                after: e.after,
            })
            .collect()
    } else {
        Vec::new()
    };
    let technical_contacts = contacts
        .iter()
        .filter(|c| c.active && c.is_technical)
        .count();
    let manager = may_manage(&actor, org.id).ok();
    let by_main = manager == Some(Manager::MainContact);
    Ok(OrganizationView {
        id: org.id,
        can_manage: manager.is_some(),
        can_share_tickets: authz::actor_allows(&actor, Capability::TicketSharing),
        can_bill: authz::actor_allows(&actor, Capability::Documents),
        can_declare_servers: by_main
            || manager.is_some() && authz::actor_allows(&actor, Capability::ServerDeclarations),
        viewer_is_staff: is_staff,
        contacts: contacts
            .into_iter()
            .map(|c| {
                let u = c.user_id.and_then(|id| users.iter().find(|u| u.id == id));
                let can_edit = by_main || manager.is_some() && staff_may_change(&actor, &c).is_ok();
                ContactView {
                    can_edit,
                    can_change_email: can_edit
                        && (by_main || authz::actor_allows(&actor, Capability::SignInEmail)),
                    can_change_roles: by_main
                        || manager.is_some()
                            && authz::actor_allows(&actor, Capability::BillingContacts),
                    account: match u {
                        Some(u) if u.password_hash.is_some() => "Active",
                        Some(_) => "Invitation sent",
                        None => "No account",
                    }
                    .to_string(),
                    id: c.id,
                    name: c.name,
                    email: c.email,
                    phone: c.phone,
                    main: c.is_main,
                    technical: c.is_technical,
                    administrative: c.is_administrative,
                    distribution_list: c.is_distribution_list,
                    active: c.active,
                }
            })
            .collect(),
        name: org.name,
        legal_name: org.legal_name,
        address: org.address,
        vat_id: org.vat_id,
        shared_tickets: org.shared_tickets,
        subscription,
        requests,
        servers,
        technical_contacts,
        audit,
    })
}

fn request_view(r: contact_request::Model, org: &str) -> ContactRequestView {
    ContactRequestView {
        id: r.id,
        organization_id: r.organization_id,
        organization: org.to_string(),
        name: r.name,
        email: r.email,
        distribution_list: r.is_distribution_list,
        status: r.status,
        created_at: stamp(r.created_at),
    }
}

fn server_view(s: covered_server::Model, org: &str) -> ServerDeclarationView {
    ServerDeclarationView {
        id: s.id,
        organization_id: s.organization_id,
        organization: org.to_string(),
        name: s.name,
        kind: s.kind,
        quantity: s.quantity,
        note: s.note,
        status: s.status,
        created_at: stamp(s.created_at),
    }
}

// ---- contacts -----------------------------------------------------------------

/// What a person is told when an address is already someone's account:
/// staff learn why; customers do not learn whether an address exists elsewhere.
fn address_taken(actor: &Actor, email: &str) -> String {
    if actor.staff_role().is_some() {
        format!("{email} already has a Portico account; use another address.")
    } else {
        "This address cannot be used for a new contact: choose another, or ask us if this person already has an account.".to_string()
    }
}

pub async fn update_contact(
    contact_id: i32,
    name: String,
    email: String,
    phone: String,
    dl: bool,
) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        staff_may_change(&actor, &c)?;
    }
    let mut p = Problems::default();
    let name = p.check("name", validate::required("name", &name, 200));
    let email = p.check("email", validate::email(&email));
    let phone = p
        .check("phone", validate::optional("phone", &phone, 64))
        .flatten();
    if let Some(e) = &email {
        // The address is how the person signs in: changing it is a credential change.
        if *e != c.email
            && manager != Manager::MainContact
            && !authz::actor_allows(&actor, Capability::SignInEmail)
        {
            p.add(
                "email",
                "Only an administrator or the organization's Main Contact can change a contact's e-mail address.",
            );
        } else if *e != c.email && email_taken(&state.db, e, c.user_id).await? {
            p.add("email", address_taken(&actor, e));
        }
    }
    p.into_result()?;
    let (name, email) = (name.unwrap_or_default(), email.unwrap_or_default());
    let before = contact_json(&c);
    let txn = crate::state::begin_write(&state.db).await?;
    let mut a = c.clone().into_active_model();
    a.name = Set(name.clone());
    a.email = Set(email.clone());
    a.phone = Set(phone);
    // Only a Technical Contact may be a shared (distribution-list) login.
    a.is_distribution_list = Set(dl && c.is_technical && !c.is_main && !c.is_administrative);
    let updated = a.update(&txn).await?;
    if let Some(uid) = c.user_id {
        // The sign-in address follows the contact's address.
        user::Entity::update_many()
            .col_expr(
                user::Column::Email,
                sea_orm::sea_query::Expr::value(email.clone()),
            )
            .col_expr(user::Column::Name, sea_orm::sea_query::Expr::value(name))
            .col_expr(
                user::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(user::Column::Id.eq(uid))
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(c.organization_id),
        "contact.updated",
        &format!("contact:{}", c.id),
        Some(before),
        Some(contact_json(&updated)),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn add_contact(
    requested_org: Option<i32>,
    role: String,
    name: String,
    email: String,
    phone: String,
    dl: bool,
) -> Result<AddOutcome, AppError> {
    let actor = require_actor()?;
    let org_id = target_org(&actor, requested_org)?;
    let manager = may_manage(&actor, org_id)?;
    let state = app_state()?;
    let org = org_by_id(&state.db, org_id).await?;
    let administrative = match role.as_str() {
        "technical" => false,
        "administrative" => true,
        _ => {
            return Err(AppError::invalid(
                "role",
                "Choose Technical or Administrative Contact.",
            ))
        }
    };
    if manager == Manager::Staff {
        authz::require(
            &actor,
            if administrative {
                Capability::BillingContacts
            } else {
                Capability::TechnicalContacts
            },
        )?;
    }
    let mut p = Problems::default();
    let name = p.check("name", validate::required("name", &name, 200));
    let email = p.check("email", validate::email(&email));
    let phone = p
        .check("phone", validate::optional("phone", &phone, 64))
        .flatten();
    if let Some(e) = &email {
        if email_taken(&state.db, e, None).await? {
            p.add("email", address_taken(&actor, e));
        }
    }
    p.into_result()?;
    let (name, email) = (name.unwrap_or_default(), email.unwrap_or_default());

    let txn = crate::state::begin_write(&state.db).await?;
    if administrative {
        let existing = contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(org_id))
            .filter(contact::Column::IsAdministrative.eq(true))
            .filter(contact::Column::Active.eq(true))
            .one(&txn)
            .await?;
        if let Some(x) = existing {
            return Err(AppError::invalid(
                "role",
                format!("{} is already the Administrative Contact; there can be only one. Remove that role first, or edit their details.", x.name),
            ));
        }
    } else if manager == Manager::MainContact {
        let limit = technical_limit(&txn, org_id)
            .await?
            .map(|(n, _)| n)
            .unwrap_or(0);
        if active_technical_count(&txn, org_id).await? >= limit as u64 {
            // Over the limit: staff decide.
            let r = contact_request::ActiveModel {
                organization_id: Set(org_id),
                name: Set(name.clone()),
                email: Set(email.clone()),
                phone: Set(phone),
                is_distribution_list: Set(dl),
                status: Set("pending".into()),
                requested_by: Set(Some(actor.user_id)),
                decided_by: Set(None),
                decided_at: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit::record(
                &txn,
                Some(actor.user_id),
                Some(org_id),
                "contact.requested",
                &format!("contact_request:{}", r.id),
                None,
                Some(json!({"name": name, "email": email}).to_string()),
                client_addr(),
            )
            .await?;
            txn.commit().await?;
            crate::auth::ssr::redirect_back_with("added=requested");
            return Ok(AddOutcome::Requested);
        }
    }
    let (c, u) = create_contact(
        &txn,
        NewContact {
            org_id,
            name: &name,
            email: &email,
            phone,
            main: false,
            technical: !administrative,
            administrative,
            distribution_list: dl && !administrative,
        },
    )
    .await?;
    let token = issue_activation(&txn, &state, u.id).await?;
    if administrative {
        enqueue(
            &txn,
            notice(
                &c,
                "billing_welcome",
                format!("Your access to the Portico Billing Portal ({})", org.name),
                format!(
                    "{} made you the Administrative Contact of {}: you see its invoices, estimates and proposals in the Billing Portal ({}/billing).\n\nSet your password to activate your account (the link works once, for {} days):\n{}",
                    actor.name, org.name, state.settings.base_url, ttl_days(&state), activation_url(&state, &token)
                ),
            ),
        )
        .await?;
    } else {
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(org_id),
        "contact.added",
        &format!("contact:{}", c.id),
        None,
        Some(contact_json(&c)),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    crate::auth::ssr::redirect_back_with("added=added");
    Ok(AddOutcome::Added)
}

async fn end_sessions_of(txn: &DatabaseTransaction, c: &contact::Model) -> Result<(), AppError> {
    if let Some(uid) = c.user_id {
        session::end_all_for_user(txn, uid).await?;
    }
    Ok(())
}

pub async fn deactivate_contact(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        staff_may_change(&actor, &c)?;
    }
    if c.is_main {
        return Err(AppError::invalid(
            "contact_id",
            "The Main Contact cannot be deactivated: hand the Main Contact role to someone else first.",
        ));
    }
    if !c.active {
        return Ok(());
    }
    let before = contact_json(&c);
    let txn = crate::state::begin_write(&state.db).await?;
    // Checked again inside the transaction: the contact may have become
    // the Main Contact a moment ago, and an organization never loses its one.
    let changed = contact::Entity::update_many()
        .col_expr(contact::Column::Active, Expr::value(false))
        .filter(contact::Column::Id.eq(c.id))
        .filter(contact::Column::IsMain.eq(false))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is now the Main Contact and cannot be deactivated.",
                c.name
            ),
        ));
    }
    let after = contact::Model {
        active: false,
        ..c.clone()
    };
    end_sessions_of(&txn, &c).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(c.organization_id),
        "contact.deactivated",
        &format!("contact:{}", c.id),
        Some(before),
        Some(contact_json(&after)),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    crate::support::live::publish(&state, crate::support::live::ACCESS_CHANGED).await;
    Ok(())
}

pub async fn remove_administrative_role(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        authz::require(&actor, Capability::BillingContacts)?;
    }
    if !c.is_administrative {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is not the Administrative Contact.", c.name),
        ));
    }
    let before = contact_json(&c);
    let txn = crate::state::begin_write(&state.db).await?;
    let mut a = c.clone().into_active_model();
    a.is_administrative = Set(false);
    let keeps_a_role = c.is_main || c.is_technical;
    if !keeps_a_role {
        a.active = Set(false);
        end_sessions_of(&txn, &c).await?;
    }
    let after = a.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(c.organization_id),
        "contact.administrative_removed",
        &format!("contact:{}", c.id),
        Some(before),
        Some(contact_json(&after)),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Hands the Main Contact role to another active contact of the same
/// organization, in one transaction: there is exactly one before and after.
pub async fn transfer_main_contact(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (target, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        authz::require(&actor, Capability::BillingContacts)?;
    }
    if target.is_main {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is already the Main Contact.", target.name),
        ));
    }
    if target.is_distribution_list {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is a distribution list; the Main Contact must be one person.",
                target.name
            ),
        ));
    }
    if !target.active {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is deactivated; only an active contact can become the Main Contact.",
                target.name
            ),
        ));
    }
    let org = org_by_id(&state.db, target.organization_id).await?;
    let txn = crate::state::begin_write(&state.db).await?;
    let old = main_contact(&txn, target.organization_id).await?;
    if let Some(old) = &old {
        let mut a = old.clone().into_active_model();
        a.is_main = Set(false);
        a.update(&txn).await?;
    }
    // Promote only if still active and not a distribution list, in this transaction.
    let promoted = contact::Entity::update_many()
        .col_expr(contact::Column::IsMain, Expr::value(true))
        .filter(contact::Column::Id.eq(target.id))
        .filter(contact::Column::Active.eq(true))
        .filter(contact::Column::IsDistributionList.eq(false))
        .exec(&txn)
        .await?;
    if promoted.rows_affected != 1 {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} can no longer become the Main Contact (deactivated or a distribution list).",
                target.name
            ),
        ));
    }
    let new_main = contact::Model {
        is_main: true,
        ..target.clone()
    };
    let text = format!(
        "{} is now the Main Contact of {}: they receive all contractual and billing communication.",
        new_main.name, org.name
    );
    enqueue(
        &txn,
        notice(
            &new_main,
            "main_contact_changed",
            format!("You are now the Main Contact of {}", org.name),
            format!(
                "{text}\nThe Billing Portal is at {}/billing.",
                state.settings.base_url
            ),
        ),
    )
    .await?;
    if let Some(old) = &old {
        enqueue(
            &txn,
            notice(
                old,
                "main_contact_changed",
                format!("The Main Contact of {} changed", org.name),
                text.clone(),
            ),
        )
        .await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(org.id),
        "contact.main_transferred",
        &format!("contact:{}", new_main.id),
        old.as_ref().map(contact_json),
        Some(contact_json(&new_main)),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn resend_activation(contact_id: i32) -> Result<(), AppError> {
    let actor = require_staff(Capability::ResendActivation)?;
    let state = app_state()?;
    let (c, _) = contact_in_scope(&state, &actor, contact_id).await?;
    staff_may_change(&actor, &c)?;
    let u = match c.user_id {
        Some(id) => user::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    }
    .ok_or_else(|| {
        AppError::invalid(
            "contact_id",
            format!("{} has no account to activate.", c.name),
        )
    })?;
    if u.password_hash.is_some() {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} has already set a password; they can sign in.", c.name),
        ));
    }
    if !c.active {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is deactivated.", c.name),
        ));
    }
    let org = org_by_id(&state.db, c.organization_id).await?;
    let txn = crate::state::begin_write(&state.db).await?;
    let token = issue_activation(&txn, &state, u.id).await?;
    let mail = if c.is_technical
        || (c.is_main && sole_contact(&state.db, c.organization_id).await?)
    {
        support_welcome(&state, &c, &org.name, &token)
    } else {
        notice(
            &c,
            "activation",
            format!("Activate your Portico account ({})", org.name),
            format!("Here is a new link to set your password (it works once, for {} days; earlier links no longer work):\n{}", ttl_days(&state), activation_url(&state, &token)),
        )
    };
    enqueue(&txn, mail).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(c.organization_id),
        "contact.activation_resent",
        &format!("contact:{}", c.id),
        None,
        None,
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn decide_contact_request(request_id: i32, approve: bool) -> Result<(), AppError> {
    let actor = require_staff(Capability::TechnicalContacts)?;
    let state = app_state()?;
    let r = contact_request::Entity::find_by_id(request_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.status != "pending" {
        return Err(AppError::invalid(
            "request_id",
            format!("This request was already {}.", r.status),
        ));
    }
    let org = org_by_id(&state.db, r.organization_id).await?;
    let txn = crate::state::begin_write(&state.db).await?;
    // Decided once, even when two people click at the same moment.
    let decided = contact_request::Entity::update_many()
        .col_expr(
            contact_request::Column::Status,
            Expr::value(if approve { "approved" } else { "declined" }),
        )
        .col_expr(
            contact_request::Column::DecidedBy,
            Expr::value(Some(actor.user_id)),
        )
        .col_expr(
            contact_request::Column::DecidedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(contact_request::Column::Id.eq(r.id))
        .filter(contact_request::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if decided.rows_affected != 1 {
        return Err(AppError::invalid(
            "request_id",
            "This request was decided a moment ago.",
        ));
    }
    if approve {
        if email_taken(&txn, &r.email, None).await? {
            return Err(AppError::invalid("request_id", format!("{} already has a Portico account; decline this request and ask for another address.", r.email)));
        }
        let (c, u) = create_contact(
            &txn,
            NewContact {
                org_id: r.organization_id,
                name: &r.name,
                email: &r.email,
                phone: r.phone.clone(),
                main: false,
                technical: true,
                administrative: false,
                distribution_list: r.is_distribution_list,
            },
        )
        .await?;
        let token = issue_activation(&txn, &state, u.id).await?;
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    if let Some(main) = main_contact(&txn, r.organization_id).await? {
        let (subject, text) = if approve {
            (
                format!("Approved: {} as an additional Technical Contact", r.name),
                format!("We approved your request: {} <{}> is now a Technical Contact of {} and received an invitation.", r.name, r.email, org.name),
            )
        } else {
            (
                format!("Declined: {} as an additional Technical Contact", r.name),
                format!("We declined your request to add {} <{}> as a Technical Contact of {}: your subscription level's limit is reached. Reply to this e-mail to discuss a higher level.", r.name, r.email, org.name),
            )
        };
        enqueue(
            &txn,
            notice(&main, "contact_request_decided", subject, text),
        )
        .await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(r.organization_id),
        if approve {
            "contact_request.approved"
        } else {
            "contact_request.declined"
        },
        &format!("contact_request:{}", r.id),
        None,
        Some(json!({"name": r.name, "email": r.email}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ---- servers to cover -------------------------------------------------------

pub async fn declare_servers(
    requested_org: Option<i32>,
    name: String,
    kind: String,
    quantity: String,
    note: String,
) -> Result<(), AppError> {
    let actor = require_actor()?;
    let org_id = target_org(&actor, requested_org)?;
    let manager = may_manage(&actor, org_id)?;
    if manager == Manager::Staff {
        authz::require(&actor, Capability::ServerDeclarations)?;
    }
    let state = app_state()?;
    org_by_id(&state.db, org_id).await?;
    let mut p = Problems::default();
    let name = p.check(
        "name",
        validate::required("server or service name", &name, 200),
    );
    let kind = p.check(
        "kind",
        validate::required("kind (e.g. hypervisor node, front-end)", &kind, 64),
    );
    let quantity = p.check(
        "quantity",
        validate::number("quantity", &quantity, 1, 10_000),
    );
    let note = p
        .check("note", validate::optional_text("note", &note, 2000))
        .flatten();
    p.into_result()?;
    let status = if manager == Manager::Staff {
        "accepted"
    } else {
        "pending"
    };
    let txn = crate::state::begin_write(&state.db).await?;
    let s = covered_server::ActiveModel {
        organization_id: Set(org_id),
        name: Set(name.unwrap_or_default()),
        kind: Set(kind.unwrap_or_default()),
        quantity: Set(quantity.unwrap_or(1) as i32),
        note: Set(note.unwrap_or_default()),
        status: Set(status.into()),
        requested_by: Set(Some(actor.user_id)),
        decided_by: Set((manager == Manager::Staff).then_some(actor.user_id)),
        decided_at: Set((manager == Manager::Staff).then(Utc::now)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(org_id),
        "servers.declared",
        &format!("covered_server:{}", s.id),
        None,
        Some(
            json!({"name": s.name, "kind": s.kind, "quantity": s.quantity, "status": s.status})
                .to_string(),
        ),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn decide_server_declaration(id: i32, accept: bool) -> Result<(), AppError> {
    let actor = require_staff(Capability::ServerDeclarations)?;
    let state = app_state()?;
    let s = covered_server::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.status != "pending" {
        return Err(AppError::invalid(
            "declaration_id",
            format!("This declaration was already {}.", s.status),
        ));
    }
    let org = org_by_id(&state.db, s.organization_id).await?;
    let txn = crate::state::begin_write(&state.db).await?;
    let decided = covered_server::Entity::update_many()
        .col_expr(
            covered_server::Column::Status,
            Expr::value(if accept { "accepted" } else { "rejected" }),
        )
        .col_expr(
            covered_server::Column::DecidedBy,
            Expr::value(Some(actor.user_id)),
        )
        .col_expr(
            covered_server::Column::DecidedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(covered_server::Column::Id.eq(s.id))
        .filter(covered_server::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if decided.rows_affected != 1 {
        return Err(AppError::invalid(
            "declaration_id",
            "This declaration was decided a moment ago.",
        ));
    }
    if let Some(main) = main_contact(&txn, s.organization_id).await? {
        let verdict = if accept {
            "accepted: they are now covered by your subscription"
        } else {
            "not accepted; reply to this e-mail to discuss it"
        };
        enqueue(
            &txn,
            notice(
                &main,
                "servers_decided",
                format!("Servers to cover: {} {}", s.quantity, s.name),
                format!(
                    "Your declaration of {} × {} ({}) for {} was {verdict}.",
                    s.quantity, s.name, s.kind, org.name
                ),
            ),
        )
        .await?;
    }
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(s.organization_id),
        if accept {
            "servers.accepted"
        } else {
            "servers.rejected"
        },
        &format!("covered_server:{}", s.id),
        Some(json!({"status": "pending"}).to_string()),
        Some(json!({"status": if accept { "accepted" } else { "rejected" }}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn set_ticket_sharing(org_id: i32, shared: bool) -> Result<(), AppError> {
    let actor = require_staff(Capability::TicketSharing)?;
    let state = app_state()?;
    let org = org_by_id(&state.db, org_id).await?;
    if org.shared_tickets == shared {
        return Ok(());
    }
    let txn = crate::state::begin_write(&state.db).await?;
    let mut a = org.clone().into_active_model();
    a.shared_tickets = Set(shared);
    a.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(org_id),
        "organization.ticket_sharing",
        &format!("organization:{org_id}"),
        Some(json!({"shared_tickets": org.shared_tickets}).to_string()),
        Some(json!({"shared_tickets": shared}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    crate::support::live::publish(&state, crate::support::live::ACCESS_CHANGED).await;
    Ok(())
}

pub async fn load_staff_queue() -> Result<StaffQueue, AppError> {
    require_staff(Capability::CustomersRead)?;
    let state = app_state()?;
    let orgs = organization::Entity::find().all(&state.db).await?;
    let org_name = |id: i32| {
        orgs.iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let contact_requests = contact_request::Entity::find()
        .filter(contact_request::Column::Status.eq("pending"))
        .order_by_asc(contact_request::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| {
            let n = org_name(r.organization_id);
            request_view(r, &n)
        })
        .collect();
    let server_declarations = covered_server::Entity::find()
        .filter(covered_server::Column::Status.eq("pending"))
        .order_by_asc(covered_server::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| {
            let n = org_name(s.organization_id);
            server_view(s, &n)
        })
        .collect();
    Ok(StaffQueue {
        contact_requests,
        server_declarations,
    })
}

// ---- activation ---------------------------------------------------------------

const LINK_UNUSABLE: &str = "This link cannot be used any more: it expired, was replaced by a newer one, or was used already. Ask your Portico contact to send a new one.";

pub async fn activate_account(
    token: String,
    new_password: String,
    confirm_password: String,
) -> Result<String, AppError> {
    let state = app_state()?;
    let parts = request_parts()?;
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    }
    validate_new_password("new_password", &new_password)?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two passwords do not match.",
        ));
    }
    let now = Utc::now();
    let link = activation_link::Entity::find()
        .filter(activation_link::Column::TokenHash.eq(session::hash_token(token)))
        .one(&state.db)
        .await?
        .filter(|l| l.used_at.is_none() && l.revoked_at.is_none() && l.expires_at > now)
        .ok_or_else(|| AppError::invalid("token", LINK_UNUSABLE))?;
    let u = user::Entity::find_by_id(link.user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let hash = state.auth.passwords.hash(&new_password).await?;

    let txn = crate::state::begin_write(&state.db).await?;
    // Single use, even under a race: only one request can flip `used_at`.
    let claimed = activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::UsedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(activation_link::Column::Id.eq(link.id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .filter(activation_link::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    }
    let mut a = u.clone().into_active_model();
    a.password_hash = Set(Some(hash.0));
    a.updated_at = Set(now);
    let u = a.update(&txn).await?;
    let Some(role) = session::role_of(&txn, &u).await? else {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    };
    session::end_all_for_user(&txn, u.id).await?;
    let addr = client_addr();
    let token = session::create(&txn, &state.settings, u.id, addr.clone(), None).await?;
    audit::record(
        &txn,
        Some(u.id),
        None,
        "user.activated",
        &format!("user:{}", u.id),
        None,
        None,
        addr,
    )
    .await?;
    txn.commit().await?;

    send_cookie(&session::set_cookie(&state.settings, &token));
    let actor = Actor {
        user_id: u.id,
        session_id_hash: String::new(),
        name: u.name,
        email: u.email,
        role,
    };
    let landing = actor.landing().path().to_string();
    if crate::auth::ssr::is_plain_form_post(&parts) {
        leptos_axum::redirect(&landing);
    }
    Ok(landing)
}

#[cfg(test)]
mod tests {
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
