//! Payments, voiding, and turning an estimate or proposal into an invoice.

use super::*;

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
        PaymentMethod::parse(&method)
            .map(|m| m.as_str().to_string())
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
    let txn = crate::core::db::begin_write(&state.db).await?;
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
        method_label(&method).to_lowercase(),
        day(paid_on),
        reference
            .map(|r| format!(" (ref. {r})"))
            .unwrap_or_default()
    );
    event(&txn, d.id, "paid", &actor.email, Some(text.clone())).await?;
    audit::Entry::new(Action::DocumentPayment, Target::Document(d.id))
        .by(actor.user_id)
        .org(d.organization_id)
        .before(Some(
            json!({"paid": d.paid_minor, "status": d.status}).to_string(),
        ))
        .after(Some(json!({"paid": paid, "status": status}).to_string()))
        .from(client_addr())
        .record(&txn)
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
    let txn = crate::core::db::begin_write(&state.db).await?;
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
    audit::Entry::new(Action::DocumentVoided, Target::Document(id))
        .by(actor.user_id)
        .org(d.organization_id)
        .before(Some(json!({"status": d.status}).to_string()))
        .after(Some(
            json!({"status": "void", "reason": reason}).to_string(),
        ))
        .from(client_addr())
        .record(&txn)
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
    let txn = crate::core::db::begin_write(&state.db).await?;
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
