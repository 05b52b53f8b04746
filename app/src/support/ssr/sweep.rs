//! The scheduler's ticket work: breaches, escalations, closing solved tickets.
//!
//! Each part reads only the rows that need it (by index) and at most
//! [`SWEEP_BATCH`] of them per run: a backlog (after an import, or the
//! scheduler down for a day) is worked through over successive runs, and the
//! administrators hear of a run's breaches in one e-mail each, not one per clock.

use super::*;

/// Clocks (or tickets) one run handles at most, of each kind.
pub const SWEEP_BATCH: u64 = 2000;

/// Tickets a breach digest names one by one; the rest are counted.
const DIGEST_LINES: usize = 20;

/// Records breaches (one digest e-mail per administrator), warns assignees
/// at 75% of a target, and closes tickets solved `close_after` ago.
pub async fn sweep(state: &AppState, close_after: Duration) -> Result<usize, AppError> {
    sweep_with(state, close_after, SWEEP_BATCH).await
}

/// [`sweep`], handling at most `batch` rows of each kind.
pub async fn sweep_with(
    state: &AppState,
    close_after: Duration,
    batch: u64,
) -> Result<usize, AppError> {
    let now = Utc::now();
    let mut changed = Vec::new();
    let breached = breaches(state, now, batch, &mut changed).await?;
    fill_warning_times(state, batch).await?;
    fill_durations(state, batch).await?;
    let warned = warnings(state, now, batch).await?;
    let closed = close_solved(state, now - close_after, batch, &mut changed).await?;
    changed.sort_unstable();
    changed.dedup();
    for id in changed {
        crate::core::live::publish(state, crate::core::live::Change::Ticket(id)).await;
    }
    Ok(breached + warned + closed)
}

async fn breaches(
    state: &AppState,
    now: DateTime<Utc>,
    batch: u64,
    changed: &mut Vec<i32>,
) -> Result<usize, AppError> {
    let due = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::BreachedAt.is_null())
        .filter(ticket_sla::Column::DueAt.lte(now))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .order_by_asc(ticket_sla::Column::DueAt)
        .limit(batch)
        .all(&state.db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let tickets: std::collections::HashMap<i32, ticket::Model> = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(due.iter().map(|s| s.ticket_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let txn = begin_write(&state.db).await?;
    let mut lines = Vec::new();
    for s in due {
        let Some(t) = tickets.get(&s.ticket_id) else {
            continue;
        };
        let claimed = ticket_sla::Entity::update_many()
            .col_expr(ticket_sla::Column::BreachedAt, Expr::value(Some(now)))
            .filter(ticket_sla::Column::Id.eq(s.id))
            .filter(ticket_sla::Column::BreachedAt.is_null())
            // Not met or paused since it was read.
            .filter(ticket_sla::Column::FulfilledAt.is_null())
            .filter(ticket_sla::Column::DueAt.lte(now))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let label = target_label(&s.target);
        breach_event(&txn, t.id, label).await?;
        lines.push((t, label, s.minutes));
        changed.push(t.id);
    }
    if !lines.is_empty() {
        let (subject, body) = digest(state, &lines);
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
                    organization_id: (lines.len() == 1).then(|| lines[0].0.organization_id),
                    to_addr: admin.email,
                    to_name: admin.name,
                    subject: subject.clone(),
                    body: body.clone(),
                },
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(lines.len())
}

/// One e-mail for a run's breaches: each ticket (up to [`DIGEST_LINES`]),
/// how many more, and the queue that lists them all.
fn digest(state: &AppState, lines: &[(&ticket::Model, &str, i32)]) -> (String, String) {
    let queue = format!(
        "{}/staff/tickets?queue=breaching",
        state.settings.base_url.trim_end_matches('/')
    );
    if let [(t, label, minutes)] = lines {
        return (
            format!("SLA breached: {label} on ticket #{} (severity {})", t.id, t.severity),
            format!(
                "The {label} target ({}) of ticket #{} \"{}\" was breached.\n\n{}\n\nAll breaching tickets: {queue}\n\n— Portico\n",
                minutes_text(*minutes),
                t.id,
                t.subject,
                ticket_url(state, t, true)
            ),
        );
    }
    let mut body = format!(
        "{} SLA targets were breached since the last check:\n\n",
        lines.len()
    );
    for (t, label, minutes) in lines.iter().take(DIGEST_LINES) {
        body.push_str(&format!(
            "- #{} \"{}\" (severity {}): {label}, {}\n  {}\n",
            t.id,
            t.subject,
            t.severity,
            minutes_text(*minutes),
            ticket_url(state, t, true)
        ));
    }
    if lines.len() > DIGEST_LINES {
        body.push_str(&format!("\n…and {} more.\n", lines.len() - DIGEST_LINES));
    }
    body.push_str(&format!("\nAll breaching tickets: {queue}\n\n— Portico\n"));
    (format!("SLA breached on {} targets", lines.len()), body)
}

/// Clocks started before warning times were kept get theirs, a batch a run.
async fn fill_warning_times(state: &AppState, batch: u64) -> Result<(), AppError> {
    let missing = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::WarnedAt.is_null())
        .filter(ticket_sla::Column::WarnAt.is_null())
        .filter(ticket_sla::Column::DueAt.is_not_null())
        .order_by_asc(ticket_sla::Column::Id)
        .limit(batch)
        .all(&state.db)
        .await?;
    for s in missing {
        let Some(t) = ticket::Entity::find_by_id(s.ticket_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let cal = calendar(&state.db, &t, s.around_the_clock).await?;
        let (_, warn) = due_and_warning(&cal, &runs_of(&s), s.minutes, Utc::now());
        // Runs that cannot be read warn at the due time: the row is done either way.
        let warn = warn.or(s.due_at);
        ticket_sla::Entity::update_many()
            .col_expr(ticket_sla::Column::WarnAt, Expr::value(warn))
            .filter(ticket_sla::Column::Id.eq(s.id))
            .filter(ticket_sla::Column::WarnAt.is_null())
            .filter(ticket_sla::Column::DueAt.eq(s.due_at))
            .exec(&state.db)
            .await?;
    }
    Ok(())
}

/// Clocks met before their durations were kept get them (the time counted
/// up to the moment they were met, and the calendar time from opening).
async fn fill_durations(state: &AppState, batch: u64) -> Result<(), AppError> {
    let missing = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::UsedSecs.is_null())
        .filter(ticket_sla::Column::FulfilledAt.is_not_null())
        .limit(batch)
        .all(&state.db)
        .await?;
    for s in missing {
        let Some(at) = s.fulfilled_at else { continue };
        // A clock whose ticket is gone gets zeros: the row is done either way.
        let (used, wall) = match ticket::Entity::find_by_id(s.ticket_id)
            .one(&state.db)
            .await?
        {
            Some(t) => {
                let cal = calendar(&state.db, &t, s.around_the_clock).await?;
                (
                    sla::elapsed(&cal, &runs_of(&s), at).num_seconds(),
                    (at - t.created_at).num_seconds(),
                )
            }
            None => (0, 0),
        };
        ticket_sla::Entity::update_many()
            .col_expr(ticket_sla::Column::UsedSecs, Expr::value(Some(used)))
            .col_expr(ticket_sla::Column::WallSecs, Expr::value(Some(wall)))
            .filter(ticket_sla::Column::Id.eq(s.id))
            .filter(ticket_sla::Column::FulfilledAt.eq(at))
            .exec(&state.db)
            .await?;
    }
    Ok(())
}

async fn warnings(state: &AppState, now: DateTime<Utc>, batch: u64) -> Result<usize, AppError> {
    let near = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::WarnedAt.is_null())
        .filter(ticket_sla::Column::WarnAt.lte(now))
        .filter(ticket_sla::Column::DueAt.is_not_null())
        .filter(ticket_sla::Column::BreachedAt.is_null())
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .order_by_asc(ticket_sla::Column::WarnAt)
        .limit(batch)
        .all(&state.db)
        .await?;
    let mut warned = 0;
    for s in near {
        let Some(t) = ticket::Entity::find_by_id(s.ticket_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let label = target_label(&s.target);
        let txn = begin_write(&state.db).await?;
        let claimed = ticket_sla::Entity::update_many()
            .col_expr(ticket_sla::Column::WarnedAt, Expr::value(Some(now)))
            .filter(ticket_sla::Column::Id.eq(s.id))
            .filter(ticket_sla::Column::WarnedAt.is_null())
            .filter(ticket_sla::Column::WarnAt.lte(now))
            .filter(ticket_sla::Column::DueAt.is_not_null())
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
                        subject: format!("75% of the {label} target used: ticket #{}", t.id),
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
            warned += 1;
        }
        txn.commit().await?;
    }
    Ok(warned)
}

async fn close_solved(
    state: &AppState,
    solved_before: DateTime<Utc>,
    batch: u64,
    changed: &mut Vec<i32>,
) -> Result<usize, AppError> {
    let now = Utc::now();
    let stale = ticket::Entity::find()
        .filter(ticket::Column::Status.eq("solved"))
        .filter(ticket::Column::SolvedAt.lte(solved_before))
        .limit(batch)
        .all(&state.db)
        .await?;
    let mut closed = 0;
    for t in stale {
        let txn = begin_write(&state.db).await?;
        let r = ticket::Entity::update_many()
            .col_expr(ticket::Column::Status, Expr::value("closed"))
            .col_expr(ticket::Column::ClosedAt, Expr::value(Some(now)))
            // Changed: what reads changes by time (search) reads it again.
            .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
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
            sync_queue(&txn, t.id).await?;
            closed += 1;
            changed.push(t.id);
        }
        txn.commit().await?;
    }
    Ok(closed)
}
