//! SLA clocks: start, pause, resume and fulfil a ticket's targets, and record what happened.

use super::*;

pub(super) fn runs_of(s: &ticket_sla::Model) -> Vec<Run> {
    serde_json::from_str::<Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>>(&s.runs)
        .unwrap_or_default()
        .into_iter()
        .map(|(start, end)| Run { start, end })
        .collect()
}

pub(super) fn runs_json(runs: &[Run]) -> String {
    serde_json::to_string(&runs.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub(super) async fn calendar<C: ConnectionTrait>(
    db: &C,
    t: &ticket::Model,
    around: bool,
) -> Result<Calendar, AppError> {
    if around {
        return Ok(Calendar::AroundTheClock);
    }
    let found = match t.level_id {
        Some(id) => level::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let Some(l) = found else {
        return Ok(Calendar::AroundTheClock);
    };
    Ok(BusinessHours::parse(
        &l.timezone,
        &l.business_days,
        &l.business_hours_start,
        &l.business_hours_end,
        &l.holidays,
    )
    .map(Calendar::BusinessHours)
    .unwrap_or_else(|e| {
        tracing::warn!(level = l.id, error = %e, "level calendar unreadable; counting 24x7");
        Calendar::AroundTheClock
    }))
}

pub(super) async fn event<C: ConnectionTrait>(
    db: &C,
    ticket_id: i32,
    kind: &str,
    actor: &str,
    detail: Option<String>,
    staff_only: bool,
) -> Result<(), AppError> {
    ticket_event::ActiveModel {
        ticket_id: Set(ticket_id),
        kind: Set(kind.to_owned()),
        actor: Set(actor.to_owned()),
        detail: Set(detail),
        staff_only: Set(staff_only),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// When a clock with `runs` and a target of `minutes` falls due, and when
/// 75% of the target will have been used (the assignee's warning).
pub(super) fn due_and_warning(
    cal: &Calendar,
    runs: &[Run],
    minutes: i32,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let m = i64::from(minutes);
    let due = sla::due(cal, runs, Duration::minutes(m), now);
    // A paused clock is due at no time, and warns at none either.
    let warn = due.and(sla::due(cal, runs, Duration::seconds(m * 45), now));
    (due, warn)
}

/// Records that ticket `id`'s `label` target was breached (the customer sees it).
pub(super) async fn breach_event<C: ConnectionTrait>(
    db: &C,
    id: i32,
    label: &str,
) -> Result<(), AppError> {
    event(
        db,
        id,
        "sla.breach",
        "Portico",
        Some(label.to_string()),
        false,
    )
    .await
}

pub(super) async fn target_for<C: ConnectionTrait>(
    db: &C,
    level_id: Option<i32>,
    severity: i16,
) -> Result<Option<sla_target::Model>, AppError> {
    let Some(level_id) = level_id else {
        return Ok(None);
    };
    Ok(sla_target::Entity::find()
        .filter(sla_target::Column::LevelId.eq(level_id))
        .filter(sla_target::Column::Severity.eq(severity))
        .one(db)
        .await?)
}

pub(super) async fn start_clock(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    target: &str,
    minutes: i32,
    around: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let cal = calendar(txn, t, around).await?;
    let runs = vec![Run {
        start: now,
        end: None,
    }];
    let (due, warn) = due_and_warning(&cal, &runs, minutes, now);
    ticket_sla::ActiveModel {
        ticket_id: Set(t.id),
        target: Set(target.to_owned()),
        minutes: Set(minutes),
        around_the_clock: Set(around),
        runs: Set(runs_json(&runs)),
        due_at: Set(due),
        fulfilled_at: Set(None),
        breached_at: Set(None),
        warned_at: Set(None),
        warn_at: Set(warn),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    event(
        txn,
        t.id,
        "sla.start",
        "Portico",
        Some(format!(
            "{}: {}{}",
            target_label(target),
            minutes_text(minutes),
            due.map(|d| format!(", due {}", stamp(d)))
                .unwrap_or_default()
        )),
        false,
    )
    .await
}

/// A solved ticket reopens: its resolution target is owed again (paused
/// until `resume_clocks` starts a new run), and the reopen is counted.
pub(super) async fn reopen_resolution(
    txn: &DatabaseTransaction,
    ticket_id: i32,
) -> Result<(), AppError> {
    use sea_orm::sea_query::ExprTrait;
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::Reopens,
            Expr::col(ticket::Column::Reopens).add(1),
        )
        .filter(ticket::Column::Id.eq(ticket_id))
        .exec(txn)
        .await?;
    ticket_sla::Entity::update_many()
        .col_expr(
            ticket_sla::Column::FulfilledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            ticket_sla::Column::UsedSecs,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            ticket_sla::Column::WallSecs,
            Expr::value(Option::<i64>::None),
        )
        .filter(ticket_sla::Column::TicketId.eq(ticket_id))
        .filter(ticket_sla::Column::Target.eq("resolution"))
        .exec(txn)
        .await?;
    Ok(())
}

pub(super) async fn open_clocks(
    txn: &DatabaseTransaction,
    ticket_id: i32,
) -> Result<Vec<ticket_sla::Model>, AppError> {
    Ok(ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(ticket_id))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .all(txn)
        .await?)
}

/// Stops the running clocks (the ticket waits on the customer).
pub(super) async fn pause_clocks(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        let mut runs = runs_of(&s);
        if let Some(last) = runs.last_mut().filter(|r| r.end.is_none()) {
            last.end = Some(now);
            let label = target_label(&s.target);
            let mut a = s.into_active_model();
            a.runs = Set(runs_json(&runs));
            a.due_at = Set(None);
            a.warn_at = Set(None);
            a.update(txn).await?;
            event(txn, t.id, "sla.pause", who, Some(label.to_string()), false).await?;
        }
    }
    Ok(())
}

/// Restarts paused clocks (the customer answered).
pub(super) async fn resume_clocks(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        let mut runs = runs_of(&s);
        if runs.last().is_some_and(|r| r.end.is_some()) {
            runs.push(Run {
                start: now,
                end: None,
            });
            let cal = calendar(txn, t, s.around_the_clock).await?;
            let (due, warn) = due_and_warning(&cal, &runs, s.minutes, now);
            let label = target_label(&s.target);
            let mut a = s.into_active_model();
            a.runs = Set(runs_json(&runs));
            a.due_at = Set(due);
            a.warn_at = Set(warn);
            a.update(txn).await?;
            event(
                txn,
                t.id,
                "sla.resume",
                who,
                Some(format!(
                    "{label}{}",
                    due.map(|d| format!(", due {}", stamp(d)))
                        .unwrap_or_default()
                )),
                false,
            )
            .await?;
        }
    }
    Ok(())
}

/// Marks `targets` met now (recording a breach first when they are late).
pub(super) async fn fulfil(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    targets: &[&str],
    now: DateTime<Utc>,
    who: &str,
) -> Result<(), AppError> {
    for s in open_clocks(txn, t.id).await? {
        if !targets.contains(&s.target.as_str()) {
            continue;
        }
        let mut runs = runs_of(&s);
        let cal = calendar(txn, t, s.around_the_clock).await?;
        let used = sla::elapsed(&cal, &runs, now);
        let late = used > Duration::minutes(i64::from(s.minutes));
        if let Some(last) = runs.last_mut().filter(|r| r.end.is_none()) {
            last.end = Some(now);
        }
        let label = target_label(&s.target);
        let breached = s.breached_at.is_none() && late;
        let mut a = s.into_active_model();
        a.runs = Set(runs_json(&runs));
        a.due_at = Set(None);
        a.warn_at = Set(None);
        a.fulfilled_at = Set(Some(now));
        // What the dashboards' medians read, kept now rather than derived
        // from the runs of a quarter's clocks on every view.
        a.used_secs = Set(Some(used.num_seconds()));
        a.wall_secs = Set(Some((now - t.created_at).num_seconds()));
        if breached {
            a.breached_at = Set(Some(now));
        }
        a.update(txn).await?;
        if breached {
            breach_event(txn, t.id, label).await?;
        }
        event(txn, t.id, "sla.fulfil", who, Some(label.to_string()), false).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_clock_warns_at_three_quarters_and_a_paused_one_never() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let running = [Run { start, end: None }];
        let (due, warn) = due_and_warning(&Calendar::AroundTheClock, &running, 120, start);
        assert_eq!(due, Some(start + Duration::minutes(120)));
        assert_eq!(warn, Some(start + Duration::minutes(90)));
        // Paused after 100 of its 120 minutes: past 75%, yet nothing is due.
        let paused = [Run {
            start,
            end: Some(start + Duration::minutes(100)),
        }];
        assert_eq!(
            due_and_warning(
                &Calendar::AroundTheClock,
                &paused,
                120,
                start + Duration::hours(3)
            ),
            (None, None)
        );
    }
}
