//! Staff work on a ticket: assignment, severity changes with a reason, followers.

use super::*;

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
    crate::core::live::publish(&state, crate::core::live::Change::Ticket(t.id)).await;
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
            let (due, warn) = due_and_warning(&cal, &runs, minutes, now);
            // The new target decides afresh whether it is breached or near.
            let breached = s.breached_at.filter(|_| due.is_some_and(|d| d <= now));
            let mut a = s.into_active_model();
            a.minutes = Set(minutes);
            a.around_the_clock = Set(target.around_the_clock);
            a.due_at = Set(due);
            a.warn_at = Set(warn);
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
    sync_queue(&txn, t.id).await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::Ticket(t.id)).await;
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
    // Who finds the ticket changed: what reads changes by time (search) reads it again.
    ticket::Entity::update_many()
        .col_expr(ticket::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(ticket::Column::Id.eq(t.id))
        .exec(&txn)
        .await?;
    event(&txn, t.id, "follower", &actor.name, Some(c.name), false).await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::Ticket(t.id)).await;
    redirect_back_with("done=follower");
    Ok(())
}
