//! Opening a ticket, from the portal or from mail, and the update mails ticket changes send.

use super::*;
use crate::core::catalog::releases;

pub(super) fn token() -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub(super) fn severity_of(s: &str) -> Result<i16, String> {
    s.trim()
        .parse::<i16>()
        .ok()
        .filter(|s| (1..=4).contains(s))
        .ok_or_else(|| "Choose a severity from 1 (critical) to 4 (low).".to_string())
}

/// How a server reads in forms and on tickets: "db-1 (VM)" or "db-1".
pub(super) fn server_label(s: &covered_server::Model) -> String {
    if s.kind.trim().is_empty() {
        s.name.clone()
    } else {
        format!("{} ({})", s.name, s.kind)
    }
}

/// The accepted servers of organization `org`, by name.
pub(super) async fn inventory<C: ConnectionTrait>(
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

pub async fn ticket_releases() -> Result<Vec<(i32, String)>, AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let me = actor.customer().ok_or(AppError::Forbidden)?;
    if !actor.can_use_support() {
        return Err(AppError::Forbidden);
    }
    Ok(releases(&state.db, &me.entitlements.products)
        .await?
        .iter()
        .map(|r| (r.id, r.label()))
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
    open_ticket_counted(state, actor, f, true).await
}

/// Opens a ticket as `actor`; `counted`: within the person's hourly quota
/// (staff filing a held message for them are not held to it).
pub async fn open_ticket_counted(
    state: &AppState,
    actor: &Actor,
    f: TicketForm,
    counted: bool,
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
    // The release comes from the products the organization's level covers.
    let release = match f.release.trim() {
        "" => Ok(None),
        id => {
            let offered = releases(&state.db, &me.entitlements.products).await?;
            id.parse::<i32>()
                .ok()
                .and_then(|id| offered.into_iter().find(|r| r.id == id))
                .map(Some)
                .ok_or_else(|| {
                    "Choose the product and version from the list (those your subscription covers)."
                        .to_string()
                })
        }
    };
    let release = p.check("release", release);
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
    let (Some(subject), Some(description), Some(severity), Some(release)) =
        (subject, description, severity, release)
    else {
        return Err(AppError::Internal);
    };
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    // One person cannot flood the queue (nor its clocks and mail): counted
    // under the requester's row lock (PostgreSQL; SQLite's write
    // transaction already serialises), so parallel opens cannot all pass.
    entity::contact::Entity::find_by_id(me.contact_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let max = state.settings.quotas.tickets_per_hour;
    let opened = ticket::Entity::find()
        .filter(ticket::Column::OrganizationId.eq(me.organization_id))
        .filter(ticket::Column::RequesterContactId.eq(me.contact_id))
        .filter(ticket::Column::CreatedAt.gt(Utc::now() - Duration::hours(1)))
        .count(&txn)
        .await?;
    if counted && opened >= max {
        return Err(AppError::invalid(
            "subject",
            format!("You opened {opened} tickets in the last hour, the most Portico takes from one person. Add to one of them, or try again later."),
        ));
    }
    let t = ticket::ActiveModel {
        organization_id: Set(me.organization_id),
        requester_contact_id: Set(me.contact_id),
        subject: Set(subject),
        description: Set(description),
        severity: Set(severity),
        product: Set(release
            .as_ref()
            .map(|r| r.product.clone())
            .unwrap_or_default()),
        version: Set(release
            .as_ref()
            .map(|r| r.version.clone())
            .unwrap_or_default()),
        product_version_id: Set(release.as_ref().map(|r| r.id)),
        status: Set("new".into()),
        assignee_user_id: Set(None),
        token: Set(token()),
        level_id: Set(me.entitlements.level_id),
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
    sync_queue(&txn, t.id).await?;
    txn.commit().await?;
    // Search finds it at once (not at its next look at the database).
    crate::core::live::publish(state, crate::core::live::Change::Ticket(t.id)).await;
    Ok(t.id)
}

pub(super) fn ticket_url(state: &AppState, t: &ticket::Model, staff: bool) -> String {
    format!(
        "{}/{}/tickets/{}",
        state.settings.base_url,
        if staff { "staff" } else { "support" },
        t.id
    )
}

pub(super) fn update_mail(
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
