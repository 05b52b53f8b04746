//! Billing, server side. Every function decides who is looking before it
//! reads anything: billing staff (administrators and billing clerks) see every
//! document; a Main or Administrative Contact sees their organization's sent
//! documents (the organization comes from the session); whoever holds the
//! cookie a document link was swapped for sees that one document. Anything
//! else is 404 for other organizations' documents and 403 otherwise.

use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use entity::{
    activation_link, contact, covered_server, document, document_counter, document_event,
    document_line, document_link, level, organization, payment, program, subscription, user,
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
use crate::audit;
use crate::auth::ssr::{
    app_state, client_addr, current_actor, is_plain_form_post, password::validate_new_password,
    redirect_back_with, request_parts, send_cookie, session, Actor, ActorRole,
};
use crate::core::authz::{self, Capability};
use crate::customers::PAYMENT_METHODS;
use crate::mail::ssr::{enqueue, Mail};
use crate::state::{AppState, Settings};
use crate::validate::{self, Problems};

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

fn doc_cookie_name(id: i32) -> String {
    format!("{DOC_COOKIE_PREFIX}{id}")
}

/// The open link whose cookie this request carries for document `id`.
async fn link_access<C: ConnectionTrait>(
    db: &C,
    headers: &HeaderMap,
    id: i32,
) -> Result<Option<document_link::Model>, AppError> {
    let Some(token) = session::cookie_from_headers(headers, &doc_cookie_name(id)) else {
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
                    link_access(db, headers, id).await?,
                    document::Entity::find_by_id(id).one(db).await?,
                ) {
                    (Some(l), Some(d)) => Ok((d, Access::Link(l))),
                    _ => Err(AppError::NotFound),
                };
            }
            _ => {}
        }
    }
    if let (Some(l), Some(d)) = (link_access(db, headers, id).await?, doc) {
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
    let (d, a) = access(&state.db, &parts.headers, actor.as_ref(), id).await?;
    Ok((state, d, a))
}

fn require_billing_staff() -> Result<Actor, AppError> {
    crate::auth::ssr::require_staff(Capability::Documents)
}

// ---- reading ----------------------------------------------------------------

/// The status people see: unpaid invoices past their due date are overdue.
fn shown_status(d: &document::Model, today: NaiveDate) -> String {
    let open = matches!(d.status.as_str(), "sent" | "viewed" | "partially_paid");
    if d.kind == "invoice" && open && d.due_date.is_some_and(|due| due < today) {
        "overdue".into()
    } else {
        d.status.clone()
    }
}

fn title(d: &document::Model) -> String {
    let kind = label_of(KINDS, &d.kind);
    match &d.number {
        Some(n) => format!("{kind} {n}"),
        None => format!("Draft {}", kind.to_lowercase()),
    }
}

pub async fn load_billing_home() -> Result<BillingHomeData, AppError> {
    let actor = crate::auth::ssr::require_actor()?;
    if !actor.can_use_billing() {
        return Err(AppError::Forbidden);
    }
    // The organization comes from the session, never from the request.
    let org_id = actor.customer().ok_or(AppError::Forbidden)?.organization_id;
    let state = app_state()?;
    let org = organization::Entity::find_by_id(org_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::Active.eq(true))
        .order_by_desc(contact::Column::IsMain)
        .order_by_asc(contact::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            let mut roles = Vec::new();
            if c.is_main {
                roles.push("Main Contact".to_string());
            }
            if c.is_administrative {
                roles.push("Administrative Contact".to_string());
            }
            if c.is_technical {
                roles.push("Technical Contact".to_string());
            }
            ContactRow {
                name: c.name,
                email: c.email,
                roles,
            }
        })
        .collect();
    let subscription = match subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .order_by_desc(subscription::Column::TermEnd)
        .one(&state.db)
        .await?
    {
        None => None,
        Some(s) => {
            let l = level::Entity::find_by_id(s.level_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            let p = program::Entity::find_by_id(l.program_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            let servers = covered_server::Entity::find()
                .filter(covered_server::Column::OrganizationId.eq(org_id))
                .filter(covered_server::Column::Status.eq("accepted"))
                .order_by_asc(covered_server::Column::Name)
                .all(&state.db)
                .await?
                .into_iter()
                .map(|c| format!("{} ({}, {})", c.name, c.kind, c.quantity))
                .collect();
            Some(SubscriptionSummary {
                program: p.name,
                level: l.name,
                term_start: day(s.term_start),
                term_end: day(s.term_end),
                renewal_date: day(s.term_end.succ_opt().unwrap_or(s.term_end)),
                status: s.status,
                servers,
            })
        }
    };
    Ok(BillingHomeData {
        organization_name: org.name,
        subscription,
        contacts,
    })
}

pub async fn list_documents(f: DocumentFilter) -> Result<DocumentList, AppError> {
    let actor = crate::auth::ssr::require_actor()?;
    let state = app_state()?;
    let mut q = document::Entity::find();
    let staff = match &actor.role {
        ActorRole::Staff(r) if authz::allows(*r, Capability::Documents) => true,
        ActorRole::Customer(c) if actor.can_use_billing() => {
            q = q
                .filter(document::Column::OrganizationId.eq(c.organization_id))
                .filter(document::Column::Status.ne("draft"));
            false
        }
        _ => return Err(AppError::Forbidden),
    };
    if !f.kind.is_empty() {
        if !KINDS.iter().any(|(k, _)| *k == f.kind) {
            return Err(AppError::invalid(
                "kind",
                "Choose invoice, estimate or proposal.",
            ));
        }
        q = q.filter(document::Column::Kind.eq(f.kind.as_str()));
    }
    let today = today();
    match f.status.as_str() {
        "" => {}
        "overdue" => {
            q = q
                .filter(document::Column::Kind.eq("invoice"))
                .filter(document::Column::Status.is_in(["sent", "viewed", "partially_paid"]))
                .filter(document::Column::DueDate.lt(today))
        }
        s if STATUSES.iter().any(|(k, _)| *k == s) => {
            q = q.filter(document::Column::Status.eq(s));
        }
        _ => {
            return Err(AppError::invalid(
                "status",
                "Choose a status from the list.",
            ))
        }
    }
    if staff && !f.organization_id.trim().is_empty() {
        let id: i32 = f.organization_id.trim().parse().map_err(|_| {
            AppError::invalid("organization_id", "Choose an organization from the list.")
        })?;
        q = q.filter(document::Column::OrganizationId.eq(id));
    }
    let paginator = q
        .order_by_desc(document::Column::UpdatedAt)
        .order_by_desc(document::Column::Id)
        .paginate(&state.db, PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let page: u64 = f
        .page
        .trim()
        .parse()
        .unwrap_or(0)
        .min(counts.number_of_pages.saturating_sub(1));
    let docs = paginator.fetch_page(page).await?;
    let org_ids: Vec<i32> = docs.iter().map(|d| d.organization_id).collect();
    let names: std::collections::HashMap<i32, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(org_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let rows = docs
        .into_iter()
        .map(|d| DocumentRow {
            id: d.id,
            kind: d.kind.clone(),
            number: d.number.clone().unwrap_or_else(|| "Draft".into()),
            organization: names.get(&d.organization_id).cloned().unwrap_or_default(),
            status: shown_status(&d, today),
            issue_date: d.issue_date.map(day).unwrap_or_default(),
            due_date: d.due_date.or(d.valid_until).map(day).unwrap_or_default(),
            total: money::format(d.total_minor, &d.currency),
            balance: if d.kind == "invoice" && d.status != "void" {
                money::format(d.total_minor - d.paid_minor, &d.currency)
            } else {
                String::new()
            },
        })
        .collect();
    let organizations = if staff {
        organization::Entity::find()
            .order_by_asc(organization::Column::Name)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(DocumentList {
        rows,
        page,
        pages: counts.number_of_pages,
        total_rows: counts.number_of_items,
        staff,
        organizations,
    })
}

async fn lines_of<C: ConnectionTrait>(
    db: &C,
    id: i32,
) -> Result<Vec<document_line::Model>, AppError> {
    Ok(document_line::Entity::find()
        .filter(document_line::Column::DocumentId.eq(id))
        .order_by_asc(document_line::Column::Position)
        .all(db)
        .await?)
}

fn money_lines(lines: &[document_line::Model]) -> Vec<Line> {
    lines
        .iter()
        .map(|l| Line {
            quantity: l.quantity.parse().unwrap_or_default(),
            unit_price: l.unit_price.parse().unwrap_or_default(),
            tax_rate: l.tax_rate.parse().unwrap_or_default(),
        })
        .collect()
}

/// Everything a page (or the PDF) shows of one document, for `access`.
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    d: &document::Model,
    access: &Access,
) -> Result<DocumentView, AppError> {
    let org = organization::Entity::find_by_id(d.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let lines = lines_of(db, d.id).await?;
    let discount: Decimal = d.discount_percent.parse().unwrap_or_default();
    let scale = scale_of(&d.currency);
    let t = money::totals(&money_lines(&lines), discount, scale);
    if t.total != d.total_minor {
        tracing::error!(
            document = d.id,
            stored = d.total_minor,
            computed = t.total,
            "document totals disagree"
        );
    }
    let cur = d.currency.as_str();
    let payments = payment::Entity::find()
        .filter(payment::Column::DocumentId.eq(d.id))
        .order_by_asc(payment::Column::PaidOn)
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| PaymentView {
            paid_on: day(p.paid_on),
            method: label_of(PAYMENT_METHODS, &p.method).to_string(),
            amount: money::format(p.amount_minor, cur),
            reference: p.reference,
        })
        .collect();
    let events = if access.is_staff() {
        document_event::Entity::find()
            .filter(document_event::Column::DocumentId.eq(d.id))
            .order_by_asc(document_event::Column::At)
            .order_by_asc(document_event::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|e| EventView {
                at: stamp(e.at),
                what: event_label(&e.kind).to_string(),
                who: e.actor,
                detail: e.detail.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let related = |id: Option<i32>| async move {
        match id {
            None => Ok::<_, AppError>(None),
            Some(id) => Ok(document::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|r| (r.id, title(&r)))),
        }
    };
    let staff_view = access.is_staff();
    let source = related(d.source_document_id).await?;
    // Customers hear of the invoice once it is sent, not while it is a draft.
    let converted_to = document::Entity::find()
        .filter(document::Column::SourceDocumentId.eq(d.id))
        .one(db)
        .await?
        .filter(|r| staff_view || r.status != "draft")
        .map(|r| (r.id, title(&r)));
    let today = today();
    let status = shown_status(d, today);
    let open_offer = d.kind != "invoice"
        && matches!(d.status.as_str(), "sent" | "viewed")
        && d.valid_until.is_none_or(|v| v >= today);
    let unpaid =
        d.kind == "invoice" && matches!(d.status.as_str(), "sent" | "viewed" | "partially_paid");
    let staff = access.is_staff();
    let mut actions = DocumentActions {
        edit: staff && d.status == "draft",
        send: staff
            && (matches!(d.status.as_str(), "draft" | "sent" | "viewed")
                || (d.kind == "invoice" && d.status == "partially_paid")),
        record_payment: staff && unpaid,
        void: staff
            && d.kind == "invoice"
            && d.paid_minor == 0
            && matches!(d.status.as_str(), "draft" | "sent" | "viewed"),
        convert: staff && d.kind != "invoice" && d.status == "accepted" && converted_to.is_none(),
        decide: !staff && open_offer,
        save_account: false,
    };
    let link_email = match access {
        Access::Link(l) => {
            actions.save_account = l.saved_at.is_none()
                && user::Entity::find()
                    .filter(user::Column::Email.eq(l.email.as_str()))
                    .filter(user::Column::PasswordHash.is_null())
                    .filter(user::Column::Active.eq(true))
                    .count(db)
                    .await?
                    > 0;
            Some(l.email.clone())
        }
        _ => None,
    };
    let decision = d.decided_at.map(|at| {
        format!(
            "{} by {} on {}{}",
            label_of(STATUSES, &d.status),
            d.decided_by_name.clone().unwrap_or_default(),
            stamp(at),
            d.decided_addr
                .as_deref()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default()
        )
    });
    Ok(DocumentView {
        id: d.id,
        kind: d.kind.clone(),
        title: title(d),
        number: d.number.clone(),
        status,
        organization_id: org.id,
        organization: org.name,
        legal_name: org.legal_name,
        address: org.address,
        vat_id: org.vat_id,
        currency: d.currency.clone(),
        purchase_order: d.purchase_order.clone(),
        payment_terms_days: d.payment_terms_days,
        issue_date: d.issue_date.map(day),
        due_date: d.due_date.map(day),
        valid_until: d.valid_until.map(day),
        discount_percent: d.discount_percent.clone(),
        notes: d.notes.clone(),
        narrative: d.narrative.clone(),
        terms: d.terms.clone(),
        lines: lines
            .iter()
            .zip(&t.lines)
            .map(|(l, a)| LineView {
                description: l.description.clone(),
                quantity: l.quantity.clone(),
                unit_price: money::format_unit(l.unit_price.parse().unwrap_or_default(), cur),
                tax_rate: format!("{}%", l.tax_rate),
                net: money::format(a.net, cur),
            })
            .collect(),
        taxes: t
            .taxes
            .iter()
            .map(|g| TaxView {
                rate: format!("{}%", g.rate.normalize()),
                base: money::format(g.base, cur),
                tax: money::format(g.tax, cur),
            })
            .collect(),
        // The stored totals (what was sent, and what payments count against).
        subtotal: money::format(d.subtotal_minor, cur),
        discount: money::format(d.discount_minor, cur),
        tax: money::format(d.tax_minor, cur),
        total: money::format(d.total_minor, cur),
        paid: money::format(d.paid_minor, cur),
        balance: money::format(d.total_minor - d.paid_minor, cur),
        payments,
        events,
        decision,
        source,
        converted_to,
        actions,
        link_email,
        pdf_url: format!("/documents/{}/pdf", d.id),
    })
}

fn event_label(kind: &str) -> &'static str {
    match kind {
        "created" => "Created",
        "updated" => "Draft changed",
        "sent" => "Sent",
        "viewed" => "Viewed",
        "paid" => "Payment recorded",
        "voided" => "Voided",
        "accepted" => "Accepted",
        "declined" => "Declined",
        "expired" => "Expired",
        "converted" => "Converted to an invoice",
        "reminded" => "Reminder sent",
        "account" => "Account created from the link",
        _ => "Other",
    }
}

pub async fn load_document(id: i32) -> Result<DocumentView, AppError> {
    let (state, d, a) = current_access(id).await?;
    view_of(&state.db, &d, &a).await
}

async fn event<C: ConnectionTrait>(
    db: &C,
    document_id: i32,
    kind: &str,
    actor: &str,
    detail: Option<String>,
) -> Result<(), AppError> {
    document_event::ActiveModel {
        document_id: Set(document_id),
        kind: Set(kind.to_owned()),
        actor: Set(actor.to_owned()),
        detail: Set(detail),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

// ---- drafts -----------------------------------------------------------------

pub async fn load_document_editor(
    id: Option<i32>,
    organization_id: Option<i32>,
    kind: Option<String>,
) -> Result<EditorData, AppError> {
    require_billing_staff()?;
    let state = app_state()?;
    let form = match id {
        Some(id) => {
            let d = document::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?;
            if d.status != "draft" {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            let lines = lines_of(&state.db, id).await?;
            DocumentForm {
                id: d.id.to_string(),
                organization_id: d.organization_id.to_string(),
                kind: d.kind.clone(),
                currency: d.currency.clone(),
                purchase_order: d.purchase_order.clone().unwrap_or_default(),
                payment_terms_days: d.payment_terms_days.to_string(),
                valid_until: d.valid_until.map(day).unwrap_or_default(),
                discount_percent: d.discount_percent.clone(),
                notes: d.notes.clone(),
                narrative: d.narrative.clone(),
                terms: d.terms.clone(),
                lines: lines
                    .into_iter()
                    .map(|l| LineForm {
                        description: l.description,
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        tax_rate: l.tax_rate,
                    })
                    .collect(),
            }
        }
        None => DocumentForm {
            organization_id: organization_id.map(|o| o.to_string()).unwrap_or_default(),
            kind: kind
                .filter(|k| KINDS.iter().any(|(c, _)| c == k))
                .unwrap_or_else(|| "invoice".into()),
            currency: "EUR".into(),
            payment_terms_days: state.settings.billing.payment_terms_days.to_string(),
            discount_percent: "0".into(),
            ..Default::default()
        },
    };
    let organizations = organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let title = if form.id.is_empty() {
        format!("New {}", label_of(KINDS, &form.kind).to_lowercase())
    } else {
        format!("Edit draft {}", label_of(KINDS, &form.kind).to_lowercase())
    };
    Ok(EditorData {
        form,
        organizations,
        currencies: money::CURRENCIES
            .iter()
            .map(|(c, _)| c.to_string())
            .collect(),
        title,
    })
}

struct CleanDocument {
    organization_id: i32,
    kind: String,
    currency: String,
    purchase_order: Option<String>,
    payment_terms_days: i32,
    valid_until: Option<NaiveDate>,
    discount_percent: Decimal,
    notes: String,
    narrative: String,
    terms: String,
    lines: Vec<(String, Decimal, Decimal, Decimal)>,
}

/// Checks a whole draft form and names every problem at once.
fn check_document(f: &DocumentForm) -> Result<CleanDocument, AppError> {
    let mut p = Problems::default();
    let organization_id = p.check(
        "organization_id",
        f.organization_id
            .trim()
            .parse::<i32>()
            .map_err(|_| "Choose the customer organization.".to_string()),
    );
    let kind = p.check(
        "kind",
        KINDS
            .iter()
            .find(|(k, _)| *k == f.kind)
            .map(|(k, _)| k.to_string())
            .ok_or_else(|| "Choose invoice, estimate or proposal.".to_string()),
    );
    let currency = f.currency.trim().to_uppercase();
    let currency = p.check(
        "currency",
        money::minor_units(&currency)
            .map(|_| currency.clone())
            .ok_or_else(|| format!("“{currency}” is not a currency Portico bills in; choose one from the list (ISO 4217).")),
    );
    let purchase_order = p.check(
        "purchase_order",
        validate::optional("purchase-order number", &f.purchase_order, 100),
    );
    let terms_days = p.check(
        "payment_terms_days",
        validate::number("payment terms (days)", &f.payment_terms_days, 0, 365),
    );
    let valid_until = if f.valid_until.trim().is_empty() {
        Some(None)
    } else {
        p.check(
            "valid_until",
            validate::date("valid-until date", &f.valid_until).map(Some),
        )
    };
    let discount = p.check(
        "discount_percent",
        money::parse_decimal(
            "Discount (%)",
            if f.discount_percent.trim().is_empty() {
                "0"
            } else {
                &f.discount_percent
            },
            2,
            Decimal::ONE_HUNDRED,
        ),
    );
    let notes = p.check("notes", validate::optional_text("notes", &f.notes, 4000));
    let narrative = p.check(
        "narrative",
        validate::optional_text("proposal sections", &f.narrative, 20000),
    );
    let terms = p.check("terms", validate::optional_text("terms", &f.terms, 8000));
    let mut lines = Vec::new();
    for (i, l) in f.lines.iter().enumerate() {
        let blank = l.description.trim().is_empty()
            && l.quantity.trim().is_empty()
            && l.unit_price.trim().is_empty();
        if blank {
            continue;
        }
        let field = |name: &str| format!("lines[{i}][{name}]");
        let n = i + 1;
        let description = p.check(
            &field("description"),
            validate::required(&format!("description of line {n}"), &l.description, 500),
        );
        let q = p.check(
            &field("quantity"),
            money::parse_decimal(
                &format!("Line {n} quantity"),
                &l.quantity,
                3,
                Decimal::new(100_000, 0),
            )
            .and_then(|q| {
                if q.is_zero() {
                    Err(format!("Line {n} quantity: must be more than zero."))
                } else {
                    Ok(q)
                }
            }),
        );
        let up = p.check(
            &field("unit_price"),
            money::parse_decimal(
                &format!("Line {n} unit price"),
                &l.unit_price,
                4,
                Decimal::new(100_000_000, 0),
            ),
        );
        let rate = p.check(
            &field("tax_rate"),
            money::parse_decimal(
                &format!("Line {n} tax rate (%)"),
                if l.tax_rate.trim().is_empty() {
                    "0"
                } else {
                    &l.tax_rate
                },
                2,
                Decimal::ONE_HUNDRED,
            ),
        );
        if let (Some(d), Some(q), Some(up), Some(r)) = (description, q, up, rate) {
            lines.push((d, q, up, r));
        }
    }
    if lines.is_empty() && f.lines.iter().all(|l| l.description.trim().is_empty()) {
        p.add(
            "lines[0][description]",
            "Add at least one line (description, quantity, unit price).",
        );
    }
    if f.lines.len() > MAX_LINES {
        p.add(
            "lines",
            format!("A document has at most {MAX_LINES} lines."),
        );
    }
    p.into_result()?;
    Ok(CleanDocument {
        organization_id: organization_id.ok_or(AppError::Internal)?,
        kind: kind.ok_or(AppError::Internal)?,
        currency: currency.ok_or(AppError::Internal)?,
        purchase_order: purchase_order.flatten(),
        payment_terms_days: terms_days.ok_or(AppError::Internal)? as i32,
        valid_until: valid_until.flatten(),
        discount_percent: discount.ok_or(AppError::Internal)?,
        notes: notes.flatten().unwrap_or_default(),
        narrative: narrative.flatten().unwrap_or_default(),
        terms: terms.flatten().unwrap_or_default(),
        lines,
    })
}

/// Writes lines and stored totals of draft `id` (inside the caller's transaction).
async fn write_lines(
    txn: &DatabaseTransaction,
    id: i32,
    currency: &str,
    discount: Decimal,
    lines: &[(String, Decimal, Decimal, Decimal)],
) -> Result<money::Totals, AppError> {
    document_line::Entity::delete_many()
        .filter(document_line::Column::DocumentId.eq(id))
        .exec(txn)
        .await?;
    for (i, (desc, q, up, r)) in lines.iter().enumerate() {
        document_line::ActiveModel {
            document_id: Set(id),
            position: Set(i as i32),
            description: Set(desc.clone()),
            quantity: Set(q.normalize().to_string()),
            unit_price: Set(up.normalize().to_string()),
            tax_rate: Set(r.normalize().to_string()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let t = money::totals(
        &lines
            .iter()
            .map(|(_, q, up, r)| Line {
                quantity: *q,
                unit_price: *up,
                tax_rate: *r,
            })
            .collect::<Vec<_>>(),
        discount,
        scale_of(currency),
    );
    Ok(t)
}

pub async fn save_document(f: DocumentForm) -> Result<i32, AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let c = check_document(&f)?;
    let existing = if f.id.trim().is_empty() {
        None
    } else {
        let id: i32 = f.id.trim().parse().map_err(|_| AppError::NotFound)?;
        Some(
            document::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?,
        )
    };
    organization::Entity::find_by_id(c.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::invalid("organization_id", "Choose the customer organization."))?;
    let now = Utc::now();
    let txn = crate::state::begin_write(&state.db).await?;
    let d = match existing {
        Some(d) => {
            if d.status != "draft" {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            let id = d.id;
            let mut a = d.into_active_model();
            a.organization_id = Set(c.organization_id);
            a.kind = Set(c.kind.clone());
            a.currency = Set(c.currency.clone());
            a.purchase_order = Set(c.purchase_order.clone());
            a.payment_terms_days = Set(c.payment_terms_days);
            a.valid_until = Set(c.valid_until);
            a.discount_percent = Set(c.discount_percent.normalize().to_string());
            a.notes = Set(c.notes.clone());
            a.narrative = Set(c.narrative.clone());
            a.terms = Set(c.terms.clone());
            a.updated_at = Set(now);
            // Only while it is still a draft: a sending that won a race keeps its content.
            let r = document::Entity::update_many()
                .set(a)
                .filter(document::Column::Id.eq(id))
                .filter(document::Column::Status.eq("draft"))
                .exec(&txn)
                .await?;
            if r.rows_affected != 1 {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            event(&txn, id, "updated", &actor.email, None).await?;
            document::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::Internal)?
        }
        None => {
            let d = document::ActiveModel {
                organization_id: Set(c.organization_id),
                kind: Set(c.kind.clone()),
                status: Set("draft".into()),
                number: Set(None),
                number_year: Set(None),
                number_seq: Set(None),
                currency: Set(c.currency.clone()),
                purchase_order: Set(c.purchase_order.clone()),
                payment_terms_days: Set(c.payment_terms_days),
                issue_date: Set(None),
                due_date: Set(None),
                valid_until: Set(c.valid_until),
                discount_percent: Set(c.discount_percent.normalize().to_string()),
                notes: Set(c.notes.clone()),
                narrative: Set(c.narrative.clone()),
                terms: Set(c.terms.clone()),
                subtotal_minor: Set(0),
                discount_minor: Set(0),
                tax_minor: Set(0),
                total_minor: Set(0),
                paid_minor: Set(0),
                source_document_id: Set(None),
                subscription_id: Set(None),
                decided_by_name: Set(None),
                decided_at: Set(None),
                decided_addr: Set(None),
                created_by: Set(Some(actor.user_id)),
                created_at: Set(now),
                updated_at: Set(now),
                sent_at: Set(None),
                voided_at: Set(None),
                last_reminder_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            event(&txn, d.id, "created", &actor.email, None).await?;
            d
        }
    };
    let t = write_lines(&txn, d.id, &c.currency, c.discount_percent, &c.lines).await?;
    store_totals(&txn, d.id, &t).await?;
    txn.commit().await?;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/billing/{}?saved=1", d.id));
    }
    Ok(d.id)
}

async fn store_totals(
    txn: &DatabaseTransaction,
    id: i32,
    t: &money::Totals,
) -> Result<(), AppError> {
    document::Entity::update_many()
        .col_expr(document::Column::SubtotalMinor, Expr::value(t.subtotal))
        .col_expr(document::Column::DiscountMinor, Expr::value(t.discount))
        .col_expr(document::Column::TaxMinor, Expr::value(t.tax))
        .col_expr(document::Column::TotalMinor, Expr::value(t.total))
        .filter(document::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

// ---- sending ------------------------------------------------------------------

fn prefix<'a>(settings: &'a Settings, kind: &str) -> &'a str {
    let b = &settings.billing;
    match kind {
        "estimate" => &b.estimate_prefix,
        "proposal" => &b.proposal_prefix,
        _ => &b.invoice_prefix,
    }
}

/// The next number of `kind` in `year`, inside the caller's transaction:
/// if the sending fails, the number is given back with it (gapless).
async fn next_number(txn: &DatabaseTransaction, kind: &str, year: i32) -> Result<i32, AppError> {
    document_counter::Entity::insert(document_counter::ActiveModel {
        kind: Set(kind.to_owned()),
        year: Set(year),
        last: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            document_counter::Column::Kind,
            document_counter::Column::Year,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    // The update takes the row lock: concurrent senders queue here.
    document_counter::Entity::update_many()
        .col_expr(
            document_counter::Column::Last,
            sea_orm::sea_query::ExprTrait::add(Expr::col(document_counter::Column::Last), 1),
        )
        .filter(document_counter::Column::Kind.eq(kind))
        .filter(document_counter::Column::Year.eq(year))
        .exec(txn)
        .await?;
    Ok(
        document_counter::Entity::find_by_id((kind.to_owned(), year))
            .one(txn)
            .await?
            .ok_or(AppError::Internal)?
            .last,
    )
}

/// Who receives a document: the organization's active Main Contact and
/// Administrative Contact.
async fn recipients<C: ConnectionTrait>(
    db: &C,
    org_id: i32,
) -> Result<Vec<contact::Model>, AppError> {
    let mut list = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::Active.eq(true))
        .filter(
            sea_orm::Condition::any()
                .add(contact::Column::IsMain.eq(true))
                .add(contact::Column::IsAdministrative.eq(true)),
        )
        .order_by_desc(contact::Column::IsMain)
        .all(db)
        .await?;
    list.dedup_by(|a, b| a.email == b.email);
    Ok(list)
}

/// A new link for one recipient; returns the token for the e-mail.
async fn issue_link(
    txn: &DatabaseTransaction,
    state: &AppState,
    document_id: i32,
    to: &contact::Model,
) -> Result<String, AppError> {
    let token = session::new_token();
    let now = Utc::now();
    document_link::ActiveModel {
        document_id: Set(document_id),
        contact_id: Set(Some(to.id)),
        email: Set(to.email.clone()),
        token_hash: Set(session::hash_token(&token)),
        access_hash: Set(None),
        access_expires_at: Set(None),
        expires_at: Set(now
            + ChronoDuration::from_std(state.settings.billing.document_link_ttl)
                .unwrap_or(ChronoDuration::days(30))),
        revoked_at: Set(None),
        saved_at: Set(None),
        last_opened_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(token)
}

fn link_days(state: &AppState) -> u64 {
    (state.settings.billing.document_link_ttl.as_secs() / 86400).max(1)
}

fn document_mail(
    state: &AppState,
    d: &document::Model,
    org: &str,
    to: &contact::Model,
    token: &str,
    reminder: bool,
) -> Mail {
    let base = &state.settings.base_url;
    let kind = label_of(KINDS, &d.kind);
    let number = d.number.clone().unwrap_or_default();
    let total = money::format(d.total_minor, &d.currency);
    let what = if d.kind == "invoice" {
        let balance = money::format(d.total_minor - d.paid_minor, &d.currency);
        match d.due_date {
            Some(due) if reminder => format!("Invoice {number} of {total} was due on {}; {balance} is still open.\nIf you have paid it already, thank you, and please ignore this reminder.", day(due)),
            Some(due) => format!("Invoice {number} for {org}: {total}, due on {}.", day(due)),
            None => format!("Invoice {number} for {org}: {total}."),
        }
    } else {
        match d.valid_until {
            Some(v) => format!("{kind} {number} for {org}: {total}, valid until {}. You can accept or decline it online.", day(v)),
            None => format!("{kind} {number} for {org}: {total}. You can accept or decline it online."),
        }
    };
    Mail {
        thread: None,
        kind: if reminder { "invoice_reminder" } else { "document" },
        organization_id: Some(d.organization_id),
        to_addr: to.email.clone(),
        to_name: to.name.clone(),
        subject: if reminder {
            format!("Reminder: invoice {number} is overdue")
        } else {
            format!("{kind} {number} from Portico ({org})")
        },
        body: format!(
            "Hello {name},\n\n\
             {what}\n{po}\n\
             View it online (and download the PDF) without signing in; this link is for you only and works for {days} days:\n\
             {base}/documents/open?token={token}\n\n\
             On that page you can also save the document to an account. If you have a Portico account already,\n\
             all your organization's documents are in the Billing Portal: {base}/billing\n\n\
             — Portico\n",
            name = to.name,
            po = d.purchase_order.as_deref().map(|p| format!("Your purchase order: {p}\n")).unwrap_or_default(),
            days = link_days(state),
        ),
    }
}

/// Numbers (on the first sending), dates and e-mails document `d` to its
/// recipients, revoking every link sent before. Inside the caller's transaction.
pub async fn send_in(
    txn: &DatabaseTransaction,
    state: &AppState,
    d: document::Model,
    who: &str,
) -> Result<document::Model, AppError> {
    let org = organization::Entity::find_by_id(d.organization_id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let to = recipients(txn, d.organization_id).await?;
    if to.is_empty() {
        return Err(AppError::invalid(
            "document_id",
            "This organization has no active Main or Administrative Contact to send the document to.",
        ));
    }
    if lines_of(txn, d.id).await?.is_empty() || d.total_minor <= 0 {
        return Err(AppError::invalid(
            "document_id",
            "A document needs at least one line and a total above zero before it is sent.",
        ));
    }
    if d.valid_until.is_some_and(|v| v < Utc::now().date_naive()) {
        return Err(AppError::invalid(
            "document_id",
            "Its valid-until date has passed: the customer could not accept it. Edit a new one with a later date instead.",
        ));
    }
    let now = Utc::now();
    let today = now.date_naive();
    let first = d.number.is_none();
    let mut a = d.clone().into_active_model();
    if first {
        let year = chrono::Datelike::year(&today);
        let seq = next_number(txn, &d.kind, year).await?;
        a.number = Set(Some(format!(
            "{}-{year}-{seq:05}",
            prefix(&state.settings, &d.kind)
        )));
        a.number_year = Set(Some(year));
        a.number_seq = Set(Some(seq));
        a.issue_date = Set(Some(today));
        if d.kind == "invoice" {
            a.due_date = Set(Some(
                today + ChronoDuration::days(i64::from(d.payment_terms_days)),
            ));
        } else if d.valid_until.is_none() {
            a.valid_until = Set(Some(today + ChronoDuration::days(30)));
        }
        a.status = Set("sent".into());
    }
    a.sent_at = Set(Some(now));
    a.updated_at = Set(now);
    let mut q = document::Entity::update_many()
        .set(a)
        .filter(document::Column::Id.eq(d.id))
        .filter(document::Column::Status.eq(d.status.as_str()));
    if first {
        // Two first sendings at once: one wins, the other rolls back (and
        // with it the number it took), so numbers stay gapless.
        q = q.filter(document::Column::Number.is_null());
    }
    if q.exec(txn).await?.rows_affected != 1 {
        return Err(AppError::invalid(
            "document_id",
            "Someone changed this document at the same moment; reload the page and check it.",
        ));
    }
    let d = document::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    // Re-sending replaces every earlier link.
    document_link::Entity::update_many()
        .col_expr(document_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(document_link::Column::DocumentId.eq(d.id))
        .filter(document_link::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    let mut names = Vec::new();
    for c in &to {
        let token = issue_link(txn, state, d.id, c).await?;
        enqueue(txn, document_mail(state, &d, &org.name, c, &token, false)).await?;
        names.push(c.email.clone());
    }
    event(
        txn,
        d.id,
        "sent",
        who,
        Some(format!("to {}", names.join(", "))),
    )
    .await?;
    Ok(d)
}

pub async fn send_document(id: i32) -> Result<(), AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let txn = crate::state::begin_write(&state.db).await?;
    let d = document::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let sendable = matches!(d.status.as_str(), "draft" | "sent" | "viewed")
        || (d.kind == "invoice" && d.status == "partially_paid");
    if !sendable {
        return Err(AppError::invalid(
            "document_id",
            format!(
                "A {} document cannot be sent.",
                label_of(STATUSES, &d.status).to_lowercase()
            ),
        ));
    }
    let before = d.status.clone();
    let d = send_in(&txn, &state, d, &actor.email).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(d.organization_id),
        "document.sent",
        &format!("document:{}", d.id),
        Some(json!({"status": before}).to_string()),
        Some(json!({"status": d.status, "number": d.number}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    redirect_back_with("done=sent");
    Ok(())
}

/// The first invoice of a new subscription, sent at once (inside the order's
/// transaction). Returns its number for the Welcome e-mail.
#[allow(clippy::too_many_arguments)]
pub async fn issue_first_invoice(
    txn: &DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    org_id: i32,
    sub: &subscription::Model,
    level: &level::Model,
    program: &str,
) -> Result<String, AppError> {
    let now = Utc::now();
    let d = document::ActiveModel {
        organization_id: Set(org_id),
        kind: Set("invoice".into()),
        status: Set("draft".into()),
        number: Set(None),
        number_year: Set(None),
        number_seq: Set(None),
        currency: Set(level.currency.clone()),
        purchase_order: Set(sub.purchase_order.clone()),
        payment_terms_days: Set(state.settings.billing.payment_terms_days as i32),
        issue_date: Set(None),
        due_date: Set(None),
        valid_until: Set(None),
        discount_percent: Set("0".into()),
        notes: Set(format!(
            "Payment method: {}.",
            label_of(PAYMENT_METHODS, &sub.payment_method)
        )),
        narrative: Set(String::new()),
        terms: Set(String::new()),
        subtotal_minor: Set(0),
        discount_minor: Set(0),
        tax_minor: Set(0),
        total_minor: Set(0),
        paid_minor: Set(0),
        source_document_id: Set(None),
        subscription_id: Set(Some(sub.id)),
        decided_by_name: Set(None),
        decided_at: Set(None),
        decided_addr: Set(None),
        created_by: Set(Some(actor.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
        voided_at: Set(None),
        last_reminder_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    event(
        txn,
        d.id,
        "created",
        &actor.email,
        Some("first invoice of the order".into()),
    )
    .await?;
    let line = (
        format!(
            "{program} — {} subscription, {} to {}",
            level.name,
            day(sub.term_start),
            day(sub.term_end)
        ),
        Decimal::ONE,
        money::from_minor(level.price_minor, 2),
        Decimal::ZERO,
    );
    let t = write_lines(txn, d.id, &level.currency, Decimal::ZERO, &[line]).await?;
    store_totals(txn, d.id, &t).await?;
    let d = document::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let d = send_in(txn, state, d, &actor.email).await?;
    Ok(d.number.unwrap_or_default())
}

// ---- payments, void, conversion -------------------------------------------------

pub async fn record_payment(
    id: i32,
    method: String,
    paid_on: String,
    amount: String,
    reference: String,
) -> Result<(), AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let d = document::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut p = Problems::default();
    let method = p.check(
        "method",
        PAYMENT_METHODS
            .iter()
            .find(|(k, _)| *k == method)
            .map(|(k, _)| k.to_string())
            .ok_or_else(|| "Choose how it was paid.".to_string()),
    );
    let paid_on = p.check("paid_on", validate::date("payment date", &paid_on));
    if paid_on.is_some_and(|d| d > today()) {
        p.add("paid_on", "The payment date cannot be in the future.");
    }
    let amount = p.check("amount", money::parse_amount(&amount, &d.currency));
    let reference = p.check(
        "reference",
        validate::optional("reference", &reference, 200),
    );
    p.into_result()?;
    let (Some(method), Some(paid_on), Some(amount), Some(reference)) =
        (method, paid_on, amount, reference)
    else {
        return Err(AppError::Internal);
    };
    if d.kind != "invoice" || !matches!(d.status.as_str(), "sent" | "viewed" | "partially_paid") {
        return Err(AppError::invalid(
            "amount",
            "Payments are recorded on sent, unpaid invoices only.",
        ));
    }
    let balance = d.total_minor - d.paid_minor;
    if amount > balance {
        return Err(AppError::invalid(
            "amount",
            format!(
                "That is more than the open balance of {}; record at most the balance.",
                money::format(balance, &d.currency)
            ),
        ));
    }
    let paid = d.paid_minor + amount;
    let status = if paid == d.total_minor {
        "paid"
    } else {
        "partially_paid"
    };
    let txn = crate::state::begin_write(&state.db).await?;
    // Conditional on the balance read above: two clerks recording at once
    // cannot overpay between them.
    let updated = document::Entity::update_many()
        .col_expr(document::Column::PaidMinor, Expr::value(paid))
        .col_expr(document::Column::Status, Expr::value(status))
        .col_expr(document::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(document::Column::Id.eq(d.id))
        .filter(document::Column::PaidMinor.eq(d.paid_minor))
        .filter(document::Column::Status.eq(d.status.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::invalid(
            "amount",
            "Someone changed this invoice at the same time; reload the page and try again.",
        ));
    }
    payment::ActiveModel {
        document_id: Set(d.id),
        method: Set(method.clone()),
        paid_on: Set(paid_on),
        amount_minor: Set(amount),
        reference: Set(reference.clone().unwrap_or_default()),
        recorded_by: Set(Some(actor.user_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let text = format!(
        "{} by {} on {}{}",
        money::format(amount, &d.currency),
        label_of(PAYMENT_METHODS, &method).to_lowercase(),
        day(paid_on),
        reference
            .map(|r| format!(" (ref. {r})"))
            .unwrap_or_default()
    );
    event(&txn, d.id, "paid", &actor.email, Some(text.clone())).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(d.organization_id),
        "document.payment",
        &format!("document:{}", d.id),
        Some(json!({"paid": d.paid_minor, "status": d.status}).to_string()),
        Some(json!({"paid": paid, "status": status}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    redirect_back_with("done=payment");
    Ok(())
}

pub async fn void_document(id: i32, reason: String) -> Result<(), AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let reason =
        validate::required("reason", &reason, 300).map_err(|m| AppError::invalid("reason", m))?;
    let d = document::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if d.kind != "invoice" {
        return Err(AppError::invalid(
            "reason",
            "Only invoices are voided; estimates and proposals expire or are declined.",
        ));
    }
    let now = Utc::now();
    let txn = crate::state::begin_write(&state.db).await?;
    let updated = document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value("void"))
        .col_expr(document::Column::VoidedAt, Expr::value(Some(now)))
        .col_expr(document::Column::UpdatedAt, Expr::value(now))
        .filter(document::Column::Id.eq(id))
        .filter(document::Column::PaidMinor.eq(0i64))
        .filter(document::Column::Status.is_in(["draft", "sent", "viewed"]))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::invalid(
            "reason",
            "Only unpaid invoices without recorded payments can be voided.",
        ));
    }
    document_link::Entity::update_many()
        .col_expr(document_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(document_link::Column::DocumentId.eq(id))
        .filter(document_link::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    event(&txn, id, "voided", &actor.email, Some(reason.clone())).await?;
    audit::record(
        &txn,
        Some(actor.user_id),
        Some(d.organization_id),
        "document.voided",
        &format!("document:{id}"),
        Some(json!({"status": d.status}).to_string()),
        Some(json!({"status": "void", "reason": reason}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    redirect_back_with("done=void");
    Ok(())
}

pub async fn convert_to_invoice(id: i32) -> Result<i32, AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let d = document::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if d.kind == "invoice" || d.status != "accepted" {
        return Err(AppError::invalid(
            "document_id",
            "Only an accepted estimate or proposal converts to an invoice.",
        ));
    }
    let lines = lines_of(&state.db, id).await?;
    let now = Utc::now();
    let txn = crate::state::begin_write(&state.db).await?;
    let already = document::Entity::find()
        .filter(document::Column::SourceDocumentId.eq(id))
        .count(&txn)
        .await?;
    if already > 0 {
        return Err(AppError::invalid(
            "document_id",
            "This one was converted already.",
        ));
    }
    let mut inv = d.clone().into_active_model();
    inv.id = sea_orm::ActiveValue::NotSet;
    inv.kind = Set("invoice".into());
    inv.status = Set("draft".into());
    inv.number = Set(None);
    inv.number_year = Set(None);
    inv.number_seq = Set(None);
    inv.issue_date = Set(None);
    inv.due_date = Set(None);
    inv.valid_until = Set(None);
    inv.narrative = Set(String::new());
    inv.paid_minor = Set(0);
    inv.source_document_id = Set(Some(d.id));
    inv.decided_by_name = Set(None);
    inv.decided_at = Set(None);
    inv.decided_addr = Set(None);
    inv.created_by = Set(Some(actor.user_id));
    inv.created_at = Set(now);
    inv.updated_at = Set(now);
    inv.sent_at = Set(None);
    inv.voided_at = Set(None);
    inv.last_reminder_at = Set(None);
    let inv = inv.insert(&txn).await?;
    for l in lines {
        let mut a = l.into_active_model();
        a.id = sea_orm::ActiveValue::NotSet;
        a.document_id = Set(inv.id);
        a.insert(&txn).await?;
    }
    event(
        &txn,
        d.id,
        "converted",
        &actor.email,
        Some(format!("draft invoice #{}", inv.id)),
    )
    .await?;
    event(
        &txn,
        inv.id,
        "created",
        &actor.email,
        Some(format!("from {}", title(&d))),
    )
    .await?;
    txn.commit().await?;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/billing/{}?saved=1", inv.id));
    }
    Ok(inv.id)
}

// ---- customers: decide, save -------------------------------------------------------

pub async fn decide_document(id: i32, decision: String, name: String) -> Result<(), AppError> {
    let (state, d, access) = current_access(id).await?;
    if access.is_staff() {
        return Err(AppError::invalid(
            "decision",
            "The customer accepts or declines; staff cannot do it for them.",
        ));
    }
    let status = match decision.as_str() {
        "accept" => "accepted",
        "decline" => "declined",
        _ => return Err(AppError::invalid("decision", "Choose accept or decline.")),
    };
    let name = validate::required("your full name", &name, 200)
        .map_err(|m| AppError::invalid("name", m))?;
    if d.kind == "invoice" {
        return Err(AppError::invalid(
            "decision",
            "Invoices are not accepted or declined.",
        ));
    }
    if d.valid_until.is_some_and(|v| v < today()) {
        return Err(AppError::invalid(
            "decision",
            format!(
                "This offer expired on {}; ask us for a new one.",
                d.valid_until.map(day).unwrap_or_default()
            ),
        ));
    }
    let now = Utc::now();
    let addr = client_addr();
    let txn = crate::state::begin_write(&state.db).await?;
    let updated = document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value(status))
        .col_expr(
            document::Column::DecidedByName,
            Expr::value(Some(name.clone())),
        )
        .col_expr(document::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(document::Column::DecidedAddr, Expr::value(addr.clone()))
        .col_expr(document::Column::UpdatedAt, Expr::value(now))
        .filter(document::Column::Id.eq(id))
        .filter(document::Column::Status.is_in(["sent", "viewed"]))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::invalid(
            "decision",
            "This document was decided already or is no longer open.",
        ));
    }
    event(
        &txn,
        id,
        status,
        &access.who(),
        Some(format!(
            "{name}{}",
            addr.map(|a| format!(" from {a}")).unwrap_or_default()
        )),
    )
    .await?;
    audit::record(
        &txn,
        access.user_id(),
        Some(d.organization_id),
        &format!("document.{status}"),
        &format!("document:{id}"),
        Some(json!({"status": d.status}).to_string()),
        Some(json!({"status": status, "name": name}).to_string()),
        client_addr(),
    )
    .await?;
    txn.commit().await?;
    redirect_back_with(&format!("done={status}"));
    Ok(())
}

const SAVE_REFUSED: &str = "This link cannot create an account: it was used for that already, or the address it was sent to has an account. Sign in with that address instead.";

pub async fn save_document_account(
    id: i32,
    new_password: String,
    confirm_password: String,
) -> Result<String, AppError> {
    let (state, _d, access) = current_access(id).await?;
    let Access::Link(link) = access else {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    };
    validate_new_password("new_password", &new_password)?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two passwords do not match.",
        ));
    }
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(link.email.as_str()))
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?
        .filter(|u| u.password_hash.is_none() && link.saved_at.is_none())
        .ok_or_else(|| AppError::invalid("new_password", SAVE_REFUSED))?;
    let hash = state.auth.passwords.hash(&new_password).await?;
    let now = Utc::now();
    let txn = crate::state::begin_write(&state.db).await?;
    // Once per link and once per account, even under a race.
    let claimed = document_link::Entity::update_many()
        .col_expr(document_link::Column::SavedAt, Expr::value(Some(now)))
        .filter(document_link::Column::Id.eq(link.id))
        .filter(document_link::Column::SavedAt.is_null())
        .exec(&txn)
        .await?;
    let set = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(Some(hash.0)))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::PasswordHash.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 || set.rows_affected != 1 {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    }
    // The account exists now: the activation e-mail's link has done its job.
    activation_link::Entity::update_many()
        .col_expr(activation_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(activation_link::Column::UserId.eq(u.id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let u = user::Entity::find_by_id(u.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    let Some(role) = session::role_of(&txn, &u).await? else {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    };
    let addr = client_addr();
    let token = session::create(&txn, &state.settings, u.id, addr.clone(), None).await?;
    event(&txn, id, "account", &link.email, None).await?;
    audit::record(
        &txn,
        Some(u.id),
        None,
        "user.activated",
        &format!("user:{}", u.id),
        None,
        Some(json!({"via": format!("document:{id}")}).to_string()),
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
    let landing = if actor.can_use_billing() {
        format!("/billing/documents/{id}")
    } else {
        actor.landing().path().to_string()
    };
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&landing);
    }
    Ok(landing)
}

// ---- the e-mailed link and the PDF (plain HTTP routes) ----------------------------------

/// `GET /documents/open?token=…`: checks the e-mailed token, records the
/// view, swaps the token for a cookie scoped to that one document, and
/// redirects to the document's address, which carries no token.
pub async fn open_link(state: &AppState, token: Option<&str>) -> Result<(i32, String), AppError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let link = document_link::Entity::find()
        .filter(document_link::Column::TokenHash.eq(session::hash_token(token)))
        .one(&state.db)
        .await?
        .filter(|l| l.revoked_at.is_none() && l.expires_at > now)
        .ok_or(AppError::NotFound)?;
    if !still_a_recipient(&state.db, &link).await? {
        return Err(AppError::NotFound);
    }
    let access = session::new_token();
    let access_until = (now + ChronoDuration::hours(ACCESS_HOURS)).min(link.expires_at);
    let txn = crate::state::begin_write(&state.db).await?;
    document_link::Entity::update_many()
        .col_expr(
            document_link::Column::AccessHash,
            Expr::value(Some(session::hash_token(&access))),
        )
        .col_expr(
            document_link::Column::AccessExpiresAt,
            Expr::value(Some(access_until)),
        )
        .col_expr(document_link::Column::LastOpenedAt, Expr::value(Some(now)))
        .filter(document_link::Column::Id.eq(link.id))
        .exec(&txn)
        .await?;
    document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value("viewed"))
        .filter(document::Column::Id.eq(link.document_id))
        .filter(document::Column::Status.eq("sent"))
        .exec(&txn)
        .await?;
    event(
        &txn,
        link.document_id,
        "viewed",
        &link.email,
        Some("through the e-mailed link".into()),
    )
    .await?;
    txn.commit().await?;
    let max_age = (access_until - now).num_seconds().max(1);
    let cookie = format!(
        "{}={access}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        doc_cookie_name(link.document_id),
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    Ok((link.document_id, cookie))
}

/// The PDF of document `id`, for whoever may see it.
pub async fn pdf_bytes(
    state: &AppState,
    headers: &HeaderMap,
    actor: Option<&Actor>,
    id: i32,
) -> Result<(String, Vec<u8>), AppError> {
    let (d, a) = access(&state.db, headers, actor, id).await?;
    let view = view_of(&state.db, &d, &a).await?;
    let name = view
        .number
        .clone()
        .unwrap_or_else(|| format!("draft-{}", d.id));
    Ok((format!("{name}.pdf"), super::pdf::render(&view)))
}

// ---- the scheduler -----------------------------------------------------------------

/// Expires offers past their date and sends overdue reminders (every
/// `reminder_days` per invoice). Returns how many documents it touched.
pub async fn sweep(state: &AppState) -> Result<usize, AppError> {
    let now = Utc::now();
    let today = now.date_naive();
    let mut touched = 0;
    let stale = document::Entity::find()
        .filter(document::Column::Kind.ne("invoice"))
        .filter(document::Column::Status.is_in(["sent", "viewed"]))
        .filter(document::Column::ValidUntil.lt(today))
        .all(&state.db)
        .await?;
    for d in stale {
        let txn = crate::state::begin_write(&state.db).await?;
        let r = document::Entity::update_many()
            .col_expr(document::Column::Status, Expr::value("expired"))
            .col_expr(document::Column::UpdatedAt, Expr::value(now))
            .filter(document::Column::Id.eq(d.id))
            .filter(document::Column::Status.is_in(["sent", "viewed"]))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            event(&txn, d.id, "expired", "Portico", None).await?;
            touched += 1;
        }
        txn.commit().await?;
    }
    let every = ChronoDuration::days(state.settings.billing.reminder_days.max(1) as i64);
    let overdue = document::Entity::find()
        .filter(document::Column::Kind.eq("invoice"))
        .filter(document::Column::Status.is_in(["sent", "viewed", "partially_paid"]))
        .filter(document::Column::DueDate.lt(today))
        .filter(
            sea_orm::Condition::any()
                .add(document::Column::LastReminderAt.is_null())
                .add(document::Column::LastReminderAt.lte(now - every)),
        )
        .all(&state.db)
        .await?;
    for d in overdue {
        let txn = crate::state::begin_write(&state.db).await?;
        // Claim the reminder first, so two servers never both send it.
        let r = document::Entity::update_many()
            .col_expr(document::Column::LastReminderAt, Expr::value(Some(now)))
            .filter(document::Column::Id.eq(d.id))
            .filter(match d.last_reminder_at {
                None => document::Column::LastReminderAt.is_null(),
                Some(t) => document::Column::LastReminderAt.eq(t),
            })
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            continue;
        }
        let org = organization::Entity::find_by_id(d.organization_id)
            .one(&txn)
            .await?
            .ok_or(AppError::Internal)?;
        let mut names = Vec::new();
        for c in recipients(&txn, d.organization_id).await? {
            let token = issue_link(&txn, state, d.id, &c).await?;
            enqueue(&txn, document_mail(state, &d, &org.name, &c, &token, true)).await?;
            names.push(c.email);
        }
        event(
            &txn,
            d.id,
            "reminded",
            "Portico",
            Some(format!("to {}", names.join(", "))),
        )
        .await?;
        txn.commit().await?;
        touched += 1;
    }
    Ok(touched)
}

// ---- demo data ---------------------------------------------------------------------

/// A few documents for the demo organization `org_id`: a partly paid
/// invoice, a proposal waiting for an answer and a draft estimate, made
/// through the same paths staff use (numbering, links, mail).
pub async fn load_demo_documents(state: &AppState, org_id: i32, who: &str) -> Result<(), AppError> {
    let txn = crate::state::begin_write(&state.db).await?;
    let now = Utc::now();
    let mut ids = Vec::new();
    for (kind, lines, narrative) in [
        (
            "invoice",
            vec![
                ("Enterprise Support — Standard, 2027", "1", "9000", "21"),
                ("Extra covered servers", "4", "250", "21"),
            ],
            "",
        ),
        (
            "proposal",
            vec![("Upgrade to Premium (difference for 2027)", "1", "6000", "21")],
            "Premium adds 24x7 response for severity 1 and 2, and twice the Technical Contacts.\n\nThe upgrade starts the day you accept and is billed pro rata.",
        ),
        ("estimate", vec![("On-site health check (days)", "2", "1200", "21")], ""),
    ] {
        let parsed: Vec<(String, Decimal, Decimal, Decimal)> = lines
            .iter()
            .map(|(d, q, p, t)| {
                (
                    d.to_string(),
                    q.parse().unwrap_or_default(),
                    p.parse().unwrap_or_default(),
                    t.parse().unwrap_or_default(),
                )
            })
            .collect();
        let d = document::ActiveModel {
            organization_id: Set(org_id),
            kind: Set(kind.into()),
            status: Set("draft".into()),
            currency: Set("EUR".into()),
            purchase_order: Set(None),
            payment_terms_days: Set(state.settings.billing.payment_terms_days as i32),
            discount_percent: Set("0".into()),
            notes: Set(String::new()),
            narrative: Set(narrative.into()),
            terms: Set(String::new()),
            subtotal_minor: Set(0),
            discount_minor: Set(0),
            tax_minor: Set(0),
            total_minor: Set(0),
            paid_minor: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        event(&txn, d.id, "created", who, None).await?;
        let t = write_lines(&txn, d.id, "EUR", Decimal::ZERO, &parsed).await?;
        store_totals(&txn, d.id, &t).await?;
        ids.push(d.id);
    }
    for id in &ids[..2] {
        let d = document::Entity::find_by_id(*id)
            .one(&txn)
            .await?
            .ok_or(AppError::Internal)?;
        send_in(&txn, state, d, who).await?;
    }
    // Half of the invoice is paid.
    let inv = document::Entity::find_by_id(ids[0])
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    let half = inv.total_minor / 2;
    payment::ActiveModel {
        document_id: Set(inv.id),
        method: Set("bank_transfer".into()),
        paid_on: Set(now.date_naive()),
        amount_minor: Set(half),
        reference: Set("DEMO-1".into()),
        recorded_by: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut a = inv.into_active_model();
    a.paid_minor = Set(half);
    a.status = Set("partially_paid".into());
    a.update(&txn).await?;
    event(&txn, ids[0], "paid", who, Some(money::format(half, "EUR"))).await?;
    txn.commit().await?;
    Ok(())
}
