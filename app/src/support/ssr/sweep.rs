//! The scheduler's ticket work: breaches, escalations, closing solved tickets.

use super::*;

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
        crate::core::live::publish(state, crate::core::live::Change::Ticket(id)).await;
    }
    Ok(touched)
}
