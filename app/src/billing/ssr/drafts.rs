//! Drafts: the document editor, its checks, and saving lines and totals.

use super::*;

pub async fn load_document_editor(
    id: Option<i32>,
    organization_id: Option<i32>,
    kind: Option<String>,
) -> Result<EditorData, AppError> {
    require_billing_staff()?;
    let state = app_state()?;
    let form = match id {
        Some(id) => {
            let d = document::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?;
            if d.status != "draft" {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            let lines = lines_of(&state.db, id).await?;
            DocumentForm {
                id: d.id.to_string(),
                organization_id: d.organization_id.to_string(),
                kind: d.kind.clone(),
                currency: d.currency.clone(),
                purchase_order: d.purchase_order.clone().unwrap_or_default(),
                payment_terms_days: d.payment_terms_days.to_string(),
                valid_until: d.valid_until.map(day).unwrap_or_default(),
                discount_percent: d.discount_percent.clone(),
                notes: d.notes.clone(),
                narrative: d.narrative.clone(),
                terms: d.terms.clone(),
                lines: lines
                    .into_iter()
                    .map(|l| LineForm {
                        description: l.description,
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        tax_rate: l.tax_rate,
                    })
                    .collect(),
            }
        }
        None => DocumentForm {
            organization_id: organization_id.map(|o| o.to_string()).unwrap_or_default(),
            kind: kind
                .filter(|k| KINDS.iter().any(|(c, _)| c == k))
                .unwrap_or_else(|| "invoice".into()),
            currency: "EUR".into(),
            payment_terms_days: state.settings.billing.payment_terms_days.to_string(),
            discount_percent: "0".into(),
            ..Default::default()
        },
    };
    let organizations = organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let title = if form.id.is_empty() {
        format!("New {}", label_of(KINDS, &form.kind).to_lowercase())
    } else {
        format!("Edit draft {}", label_of(KINDS, &form.kind).to_lowercase())
    };
    Ok(EditorData {
        form,
        organizations,
        currencies: money::CURRENCIES
            .iter()
            .map(|(c, _)| c.to_string())
            .collect(),
        title,
    })
}

pub(super) struct CleanDocument {
    organization_id: i32,
    kind: String,
    currency: String,
    purchase_order: Option<String>,
    payment_terms_days: i32,
    valid_until: Option<NaiveDate>,
    discount_percent: Decimal,
    notes: String,
    narrative: String,
    terms: String,
    lines: Vec<(String, Decimal, Decimal, Decimal)>,
}

/// Checks a whole draft form and names every problem at once.
pub(super) fn check_document(f: &DocumentForm) -> Result<CleanDocument, AppError> {
    let mut p = Problems::default();
    let organization_id = p.check(
        "organization_id",
        f.organization_id
            .trim()
            .parse::<i32>()
            .map_err(|_| "Choose the customer organization.".to_string()),
    );
    let kind = p.check(
        "kind",
        KINDS
            .iter()
            .find(|(k, _)| *k == f.kind)
            .map(|(k, _)| k.to_string())
            .ok_or_else(|| "Choose invoice, estimate or proposal.".to_string()),
    );
    let currency = f.currency.trim().to_uppercase();
    let currency = p.check(
        "currency",
        money::minor_units(&currency)
            .map(|_| currency.clone())
            .ok_or_else(|| format!("“{currency}” is not a currency Portico bills in; choose one from the list (ISO 4217).")),
    );
    let purchase_order = p.check(
        "purchase_order",
        validate::optional("purchase-order number", &f.purchase_order, 100),
    );
    let terms_days = p.check(
        "payment_terms_days",
        validate::number("payment terms (days)", &f.payment_terms_days, 0, 365),
    );
    let valid_until = if f.valid_until.trim().is_empty() {
        Some(None)
    } else {
        p.check(
            "valid_until",
            validate::date("valid-until date", &f.valid_until).map(Some),
        )
    };
    let discount = p.check(
        "discount_percent",
        money::parse_decimal(
            "Discount (%)",
            if f.discount_percent.trim().is_empty() {
                "0"
            } else {
                &f.discount_percent
            },
            2,
            Decimal::ONE_HUNDRED,
        ),
    );
    let notes = p.check("notes", validate::optional_text("notes", &f.notes, 4000));
    let narrative = p.check(
        "narrative",
        validate::optional_text("proposal sections", &f.narrative, 20000),
    );
    let terms = p.check("terms", validate::optional_text("terms", &f.terms, 8000));
    let mut lines = Vec::new();
    for (i, l) in f.lines.iter().enumerate() {
        let blank = l.description.trim().is_empty()
            && l.quantity.trim().is_empty()
            && l.unit_price.trim().is_empty();
        if blank {
            continue;
        }
        let field = |name: &str| format!("lines[{i}][{name}]");
        let n = i + 1;
        let description = p.check(
            &field("description"),
            validate::required(&format!("description of line {n}"), &l.description, 500),
        );
        let q = p.check(
            &field("quantity"),
            money::parse_decimal(
                &format!("Line {n} quantity"),
                &l.quantity,
                3,
                Decimal::new(100_000, 0),
            )
            .and_then(|q| {
                if q.is_zero() {
                    Err(format!("Line {n} quantity: must be more than zero."))
                } else {
                    Ok(q)
                }
            }),
        );
        let up = p.check(
            &field("unit_price"),
            money::parse_decimal(
                &format!("Line {n} unit price"),
                &l.unit_price,
                4,
                Decimal::new(100_000_000, 0),
            ),
        );
        let rate = p.check(
            &field("tax_rate"),
            money::parse_decimal(
                &format!("Line {n} tax rate (%)"),
                if l.tax_rate.trim().is_empty() {
                    "0"
                } else {
                    &l.tax_rate
                },
                2,
                Decimal::ONE_HUNDRED,
            ),
        );
        if let (Some(d), Some(q), Some(up), Some(r)) = (description, q, up, rate) {
            lines.push((d, q, up, r));
        }
    }
    if lines.is_empty() && f.lines.iter().all(|l| l.description.trim().is_empty()) {
        p.add(
            "lines[0][description]",
            "Add at least one line (description, quantity, unit price).",
        );
    }
    if f.lines.len() > MAX_LINES {
        p.add(
            "lines",
            format!("A document has at most {MAX_LINES} lines."),
        );
    }
    p.into_result()?;
    Ok(CleanDocument {
        organization_id: organization_id.ok_or(AppError::Internal)?,
        kind: kind.ok_or(AppError::Internal)?,
        currency: currency.ok_or(AppError::Internal)?,
        purchase_order: purchase_order.flatten(),
        payment_terms_days: terms_days.ok_or(AppError::Internal)? as i32,
        valid_until: valid_until.flatten(),
        discount_percent: discount.ok_or(AppError::Internal)?,
        notes: notes.flatten().unwrap_or_default(),
        narrative: narrative.flatten().unwrap_or_default(),
        terms: terms.flatten().unwrap_or_default(),
        lines,
    })
}

/// Writes lines and stored totals of draft `id` (inside the caller's transaction).
pub(super) async fn write_lines(
    txn: &DatabaseTransaction,
    id: i32,
    currency: &str,
    discount: Decimal,
    lines: &[(String, Decimal, Decimal, Decimal)],
) -> Result<money::Totals, AppError> {
    document_line::Entity::delete_many()
        .filter(document_line::Column::DocumentId.eq(id))
        .exec(txn)
        .await?;
    for (i, (desc, q, up, r)) in lines.iter().enumerate() {
        document_line::ActiveModel {
            document_id: Set(id),
            position: Set(i as i32),
            description: Set(desc.clone()),
            quantity: Set(q.normalize().to_string()),
            unit_price: Set(up.normalize().to_string()),
            tax_rate: Set(r.normalize().to_string()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let t = money::totals(
        &lines
            .iter()
            .map(|(_, q, up, r)| Line {
                quantity: *q,
                unit_price: *up,
                tax_rate: *r,
            })
            .collect::<Vec<_>>(),
        discount,
        scale_of(currency),
    );
    Ok(t)
}

pub async fn save_document(f: DocumentForm) -> Result<i32, AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let c = check_document(&f)?;
    let existing = if f.id.trim().is_empty() {
        None
    } else {
        let id: i32 = f.id.trim().parse().map_err(|_| AppError::NotFound)?;
        Some(
            document::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?,
        )
    };
    organization::Entity::find_by_id(c.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::invalid("organization_id", "Choose the customer organization."))?;
    let now = Utc::now();
    let txn = crate::core::db::begin_write(&state.db).await?;
    let d = match existing {
        Some(d) => {
            if d.status != "draft" {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            let id = d.id;
            let mut a = d.into_active_model();
            a.organization_id = Set(c.organization_id);
            a.kind = Set(c.kind.clone());
            a.currency = Set(c.currency.clone());
            a.purchase_order = Set(c.purchase_order.clone());
            a.payment_terms_days = Set(c.payment_terms_days);
            a.valid_until = Set(c.valid_until);
            a.discount_percent = Set(c.discount_percent.normalize().to_string());
            a.notes = Set(c.notes.clone());
            a.narrative = Set(c.narrative.clone());
            a.terms = Set(c.terms.clone());
            a.updated_at = Set(now);
            // Only while it is still a draft: a sending that won a race keeps its content.
            let r = document::Entity::update_many()
                .set(a)
                .filter(document::Column::Id.eq(id))
                .filter(document::Column::Status.eq("draft"))
                .exec(&txn)
                .await?;
            if r.rows_affected != 1 {
                return Err(AppError::invalid("id", NOT_A_DRAFT));
            }
            event(&txn, id, "updated", &actor.email, None).await?;
            document::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::Internal)?
        }
        None => {
            let d = document::ActiveModel {
                organization_id: Set(c.organization_id),
                kind: Set(c.kind.clone()),
                status: Set("draft".into()),
                number: Set(None),
                number_year: Set(None),
                number_seq: Set(None),
                currency: Set(c.currency.clone()),
                purchase_order: Set(c.purchase_order.clone()),
                payment_terms_days: Set(c.payment_terms_days),
                issue_date: Set(None),
                due_date: Set(None),
                valid_until: Set(c.valid_until),
                discount_percent: Set(c.discount_percent.normalize().to_string()),
                notes: Set(c.notes.clone()),
                narrative: Set(c.narrative.clone()),
                terms: Set(c.terms.clone()),
                subtotal_minor: Set(0),
                discount_minor: Set(0),
                tax_minor: Set(0),
                total_minor: Set(0),
                paid_minor: Set(0),
                source_document_id: Set(None),
                subscription_id: Set(None),
                decided_by_name: Set(None),
                decided_at: Set(None),
                decided_addr: Set(None),
                created_by: Set(Some(actor.user_id)),
                created_at: Set(now),
                updated_at: Set(now),
                sent_at: Set(None),
                voided_at: Set(None),
                last_reminder_at: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            event(&txn, d.id, "created", &actor.email, None).await?;
            d
        }
    };
    let t = write_lines(&txn, d.id, &c.currency, c.discount_percent, &c.lines).await?;
    store_totals(&txn, d.id, &t).await?;
    txn.commit().await?;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/billing/{}?saved=1", d.id));
    }
    Ok(d.id)
}

pub(super) async fn store_totals(
    txn: &DatabaseTransaction,
    id: i32,
    t: &money::Totals,
) -> Result<(), AppError> {
    document::Entity::update_many()
        .col_expr(document::Column::SubtotalMinor, Expr::value(t.subtotal))
        .col_expr(document::Column::DiscountMinor, Expr::value(t.discount))
        .col_expr(document::Column::TaxMinor, Expr::value(t.tax))
        .col_expr(document::Column::TotalMinor, Expr::value(t.total))
        .filter(document::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}
