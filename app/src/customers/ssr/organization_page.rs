//! The organization page: what its contacts and staff see of one organization.

use super::*;
use crate::core::entitlements;

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
        .await?;
    let labels = crate::core::catalog::labels(
        &state.db,
        servers.iter().filter_map(|s| s.product_version_id),
    )
    .await?;
    let servers = servers
        .into_iter()
        .map(|s| server_view(s, &org.name, &labels))
        .collect();
    let standing = entitlements::current(&state.db, &state.settings, org_id).await?;
    let subscription = subscription_view(&state, org_id, &standing).await?;
    let releases = crate::core::catalog::releases(&state.db, &standing.products)
        .await?
        .iter()
        .map(|r| (r.id, r.label()))
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
        can_work_tickets: authz::actor_allows(&actor, Capability::TicketsWork),
        can_manage_subscription: authz::actor_allows(&actor, Capability::Subscriptions),
        releases,
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

pub(super) fn request_view(r: contact_request::Model, org: &str) -> ContactRequestView {
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

pub(super) fn server_view(
    s: covered_server::Model,
    org: &str,
    labels: &std::collections::HashMap<i32, String>,
) -> ServerDeclarationView {
    ServerDeclarationView {
        release: s.product_version_id.and_then(|id| labels.get(&id).cloned()),
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

/// The organization's subscription: its latest term's level, where it stands
/// today, and every term.
async fn subscription_view(
    state: &AppState,
    org_id: i32,
    standing: &entitlements::Entitlements,
) -> Result<Option<SubscriptionView>, AppError> {
    let terms = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .order_by_desc(subscription::Column::TermEnd)
        .order_by_desc(subscription::Column::Id)
        .all(&state.db)
        .await?;
    let today = Utc::now().date_naive();
    // The facts of the term that decides today (else the latest).
    let Some(s) = terms
        .iter()
        .find(|t| Some(t.id) == standing.subscription_id)
        .or(terms.first())
        .cloned()
    else {
        return Ok(None);
    };
    let l = level::Entity::find_by_id(s.level_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal)?;
    let p = program::Entity::find_by_id(l.program_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal)?;
    let renew_from = super::subscriptions::renewal_start(&terms, today);
    let renew_until = renew_from
        .checked_add_months(chrono::Months::new(12))
        .and_then(|d| d.pred_opt())
        .unwrap_or(renew_from);
    Ok(Some(SubscriptionView {
        program: p.name,
        level: l.name,
        term_start: day(s.term_start),
        term_end: day(s.term_end),
        status: s.status.label().to_string(),
        // What it allows today: nothing once closed (adding a Technical
        // Contact then goes to staff for a decision).
        max_technical_contacts: standing.max_technical_contacts,
        included_servers: standing.included_servers,
        purchase_order: s.purchase_order,
        payment_method: PaymentMethod::parse(&s.payment_method)
            .map_or(s.payment_method, |m| m.label().to_string()),
        standing: standing.describe(),
        open: standing.open(),
        terms: terms
            .iter()
            .map(|t| TermView {
                term_start: day(t.term_start),
                term_end: day(t.term_end),
                status: t.status.label().to_string(),
            })
            .collect(),
        renew_from: day(renew_from),
        renew_until: day(renew_until),
    }))
}
