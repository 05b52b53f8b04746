//! The scheduler's billing work: overdue invoices, reminders, expired proposals.

use super::*;

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
        let txn = crate::core::db::begin_write(&state.db).await?;
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
        let txn = crate::core::db::begin_write(&state.db).await?;
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
