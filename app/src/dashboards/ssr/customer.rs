//! An organization's own support record, for its Main Contact: counts and
//! durations only; ticket subjects stay behind the ticket rule (the link to
//! the tickets is offered only to who may open them all).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{
    document, level, organization, subscription, ticket, ticket_sla, Severity, SubscriptionStatus,
};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
};

use super::business::amount;
use crate::core::actor::Actor;
use crate::dashboards::{CustomerRecord, InvoiceDue, Period, Spread};
use crate::error::AppError;

/// A clock's target, when met, when breached, and the time it counted.
type ClockRow = (
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i64>,
);

/// The record of the actor's organization when the actor is its Main
/// Contact; `None` for anyone else.
pub async fn customer_record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<CustomerRecord>, AppError> {
    let Some(c) = actor.customer().filter(|c| c.main) else {
        return Ok(None);
    };
    let Some(org) = organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let sees_all = actor.can_use_support() && (c.sole_contact || org.shared_tickets);
    let tickets = sees_all.then(|| "/support?queue=open".to_string());
    record_of(db, org, now, Some("/billing/documents"), tickets)
        .await
        .map(Some)
}

/// Organization `id`'s record for staff: invoices for roles that work
/// documents, a link to its open tickets for roles that work tickets.
pub async fn staff_record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i32,
    now: DateTime<Utc>,
) -> Result<CustomerRecord, AppError> {
    use crate::core::authz::{actor_allows, require, Capability};
    require(actor, Capability::CustomersRead)?;
    let org = organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let invoices = actor_allows(actor, Capability::Documents).then_some("/staff/billing");
    let tickets = actor_allows(actor, Capability::TicketsWork)
        .then(|| format!("/staff/tickets?queue=open&organization_id={id}"));
    record_of(db, org, now, invoices, tickets).await
}

/// The record itself; invoices (linked under `invoice_base`) when given.
async fn record_of<C: ConnectionTrait>(
    db: &C,
    org: organization::Model,
    now: DateTime<Utc>,
    invoice_base: Option<&str>,
    tickets_link: Option<String>,
) -> Result<CustomerRecord, AppError> {
    let org_id = org.id;
    let today = now.date_naive();
    let open: Vec<(i16, i64)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Severity)
        .column_as(ticket::Column::Id.count(), "n")
        .filter(ticket::Column::OrganizationId.eq(org_id))
        .filter(ticket::Column::IsOpen.eq(true))
        .group_by(ticket::Column::Severity)
        .order_by_asc(ticket::Column::Severity)
        .into_tuple()
        .all(db)
        .await?;
    let (quarter_from, _) = Period::ThisQuarter.range(today);
    let start = super::support::midnight(quarter_from);
    let clocks: Vec<ClockRow> = ticket_sla::Entity::find()
        .select_only()
        .column(ticket_sla::Column::Target)
        .column(ticket_sla::Column::FulfilledAt)
        .column(ticket_sla::Column::BreachedAt)
        .column(ticket_sla::Column::UsedSecs)
        .join(JoinType::InnerJoin, super::support::clock_ticket())
        .filter(ticket::Column::OrganizationId.eq(org_id))
        .filter(
            Condition::any()
                .add(ticket_sla::Column::FulfilledAt.gte(start))
                .add(ticket_sla::Column::BreachedAt.gte(start)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let (mut met, mut breached) = (0, 0);
    let mut used: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (target, fulfilled, breach, secs) in &clocks {
        let fulfilled_here = fulfilled.is_some_and(|f| f >= start);
        if breach.is_some_and(|b| b >= start) {
            breached += 1;
        } else if fulfilled_here && breach.is_none() {
            met += 1;
        }
        if fulfilled_here {
            let t = if target == "first_response" {
                "first"
            } else if target == "resolution" {
                "resolution"
            } else {
                continue;
            };
            used.entry(t).or_default().extend(*secs);
        }
    }
    let sub = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
        .order_by_desc(subscription::Column::TermEnd)
        .one(db)
        .await?;
    let renewal = match sub {
        Some(s) => level::Entity::find_by_id(s.level_id)
            .one(db)
            .await?
            .map(|l| (l.name, s.term_end)),
        None => None,
    };
    let invoices = match invoice_base {
        Some(_) => {
            document::Entity::find()
                .filter(document::Column::OrganizationId.eq(org_id))
                .filter(document::Column::Kind.eq("invoice"))
                .filter(document::Column::Status.is_in(["sent", "viewed", "partially_paid"]))
                .order_by_asc(document::Column::DueDate)
                .all(db)
                .await?
        }
        None => Vec::new(),
    };
    let base = invoice_base.unwrap_or_default();
    let invoices_due = invoices
        .into_iter()
        .filter(|d| d.total_minor > d.paid_minor)
        .map(|d| InvoiceDue {
            number: d.number.clone().unwrap_or_else(|| "Invoice".into()),
            due_date: d.due_date,
            outstanding: amount(d.total_minor - d.paid_minor, &d.currency),
            overdue: d.due_date.is_some_and(|due| due < today),
            link: format!("{base}/{}", d.id),
        })
        .collect();
    Ok(CustomerRecord {
        organization: org.name,
        open_by_severity: open
            .into_iter()
            .map(|(s, n)| (Severity::text_of(s), n.max(0) as u64))
            .collect(),
        met,
        breached,
        first_response: Spread::of(used.remove("first").unwrap_or_default()),
        resolution: Spread::of(used.remove("resolution").unwrap_or_default()),
        quarter_from,
        renewal,
        invoices_shown: invoice_base.is_some(),
        invoices_due,
        tickets_link,
    })
}
