//! Demo data: a few documents for the demo organization.

use super::*;

/// A few documents for the demo organization `org_id`: a partly paid
/// invoice, a proposal waiting for an answer and a draft estimate, made
/// through the same paths staff use (numbering, links, mail).
pub async fn load_demo_documents(state: &AppState, org_id: i32, who: &str) -> Result<(), AppError> {
    let txn = crate::core::db::begin_write(&state.db).await?;
    let now = Utc::now();
    let mut ids = Vec::new();
    for (kind, lines, narrative) in [
        (
            "invoice",
            vec![
                ("Enterprise Support — Standard, 2027", "1", "9000", "21"),
                ("Extra covered servers", "4", "250", "21"),
            ],
            "",
        ),
        (
            "proposal",
            vec![("Upgrade to Premium (difference for 2027)", "1", "6000", "21")],
            "Premium adds 24x7 response for severity 1 and 2, and twice the Technical Contacts.\n\nThe upgrade starts the day you accept and is billed pro rata.",
        ),
        ("estimate", vec![("On-site health check (days)", "2", "1200", "21")], ""),
    ] {
        let parsed: Vec<(String, Decimal, Decimal, Decimal)> = lines
            .iter()
            .map(|(d, q, p, t)| {
                (
                    d.to_string(),
                    q.parse().unwrap_or_default(),
                    p.parse().unwrap_or_default(),
                    t.parse().unwrap_or_default(),
                )
            })
            .collect();
        let d = document::ActiveModel {
            organization_id: Set(org_id),
            kind: Set(kind.into()),
            status: Set("draft".into()),
            currency: Set("EUR".into()),
            purchase_order: Set(None),
            payment_terms_days: Set(state.settings.billing.payment_terms_days as i32),
            discount_percent: Set("0".into()),
            notes: Set(String::new()),
            narrative: Set(narrative.into()),
            terms: Set(String::new()),
            subtotal_minor: Set(0),
            discount_minor: Set(0),
            tax_minor: Set(0),
            total_minor: Set(0),
            paid_minor: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        event(&txn, d.id, "created", who, None).await?;
        let t = write_lines(&txn, d.id, "EUR", Decimal::ZERO, &parsed).await?;
        store_totals(&txn, d.id, &t).await?;
        ids.push(d.id);
    }
    for id in &ids[..2] {
        let d = document::Entity::find_by_id(*id)
            .one(&txn)
            .await?
            .ok_or(AppError::Internal)?;
        send_in(&txn, state, d, who).await?;
    }
    // Half of the invoice is paid.
    let inv = document::Entity::find_by_id(ids[0])
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    let half = inv.total_minor / 2;
    payment::ActiveModel {
        document_id: Set(inv.id),
        method: Set("bank_transfer".into()),
        paid_on: Set(now.date_naive()),
        amount_minor: Set(half),
        reference: Set("DEMO-1".into()),
        recorded_by: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut a = inv.into_active_model();
    a.paid_minor = Set(half);
    a.status = Set("partially_paid".into());
    a.update(&txn).await?;
    event(&txn, ids[0], "paid", who, Some(money::format(half, "EUR"))).await?;
    txn.commit().await?;
    Ok(())
}
