//! Covered servers, ticket sharing, and the staff queue of pending decisions.

use super::*;
use crate::core::catalog::releases;
use crate::core::entitlements;

pub async fn declare_servers(
    requested_org: Option<i32>,
    name: String,
    kind: String,
    quantity: String,
    note: String,
    release: String,
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
    let release = match release.trim() {
        "" => None,
        id => {
            let covered = entitlements::current(&state.db, &state.settings, org_id)
                .await?
                .products;
            let found = match id.parse::<i32>() {
                Ok(id) => releases(&state.db, &covered)
                    .await?
                    .into_iter()
                    .find(|r| r.id == id),
                Err(_) => None,
            };
            if found.is_none() {
                p.add(
                    "release",
                    "Choose the product and version from the list (those the subscription covers).",
                );
            }
            found
        }
    };
    p.into_result()?;
    let status = if manager == Manager::Staff {
        "accepted"
    } else {
        "pending"
    };
    let txn = crate::core::db::begin_write(&state.db).await?;
    let s = covered_server::ActiveModel {
        organization_id: Set(org_id),
        name: Set(name.unwrap_or_default()),
        kind: Set(kind.unwrap_or_default()),
        quantity: Set(quantity.unwrap_or(1) as i32),
        note: Set(note.unwrap_or_default()),
        product_version_id: Set(release.as_ref().map(|r| r.id)),
        status: Set(status.into()),
        requested_by: Set(Some(actor.user_id)),
        decided_by: Set((manager == Manager::Staff).then_some(actor.user_id)),
        decided_at: Set((manager == Manager::Staff).then(Utc::now)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::Entry::new(Action::ServersDeclared, Target::CoveredServer(s.id))
        .by(actor.user_id)
        .org(org_id)
        .after(Some(
            json!({"name": s.name, "kind": s.kind, "quantity": s.quantity, "status": s.status, "release": release.map(|r| r.label())})
                .to_string(),
        ))
        .from(client_addr())
        .record(&txn)
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
    let txn = crate::core::db::begin_write(&state.db).await?;
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
    audit::Entry::new(
        if accept {
            Action::ServersAccepted
        } else {
            Action::ServersRejected
        },
        Target::CoveredServer(s.id),
    )
    .by(actor.user_id)
    .org(s.organization_id)
    .before(Some(json!({"status": "pending"}).to_string()))
    .after(Some(
        json!({"status": if accept { "accepted" } else { "rejected" }}).to_string(),
    ))
    .from(client_addr())
    .record(&txn)
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
    let txn = crate::core::db::begin_write(&state.db).await?;
    let mut a = org.clone().into_active_model();
    a.shared_tickets = Set(shared);
    a.update(&txn).await?;
    audit::Entry::new(
        Action::OrganizationTicketSharing,
        Target::Organization(org_id),
    )
    .by(actor.user_id)
    .org(org_id)
    .before(Some(
        json!({"shared_tickets": org.shared_tickets}).to_string(),
    ))
    .after(Some(json!({"shared_tickets": shared}).to_string()))
    .from(client_addr())
    .record(&txn)
    .await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
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
    let pending = covered_server::Entity::find()
        .filter(covered_server::Column::Status.eq("pending"))
        .order_by_asc(covered_server::Column::Id)
        .all(&state.db)
        .await?;
    let labels = crate::core::catalog::labels(
        &state.db,
        pending.iter().filter_map(|s| s.product_version_id),
    )
    .await?;
    let server_declarations = pending
        .into_iter()
        .map(|s| {
            let n = org_name(s.organization_id);
            server_view(s, &n, &labels)
        })
        .collect();
    Ok(StaffQueue {
        contact_requests,
        server_declarations,
    })
}
