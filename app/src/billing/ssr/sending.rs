//! Sending: gapless numbers, recipients, e-mailed links, and the first invoice of an approved order.

use super::*;

pub(super) fn prefix<'a>(settings: &'a Settings, kind: &str) -> &'a str {
    let b = &settings.billing;
    match kind {
        "estimate" => &b.estimate_prefix,
        "proposal" => &b.proposal_prefix,
        _ => &b.invoice_prefix,
    }
}

/// The next number of `kind` in `year`, inside the caller's transaction:
/// if the sending fails, the number is given back with it (gapless).
pub(super) async fn next_number(
    txn: &DatabaseTransaction,
    kind: &str,
    year: i32,
) -> Result<i32, AppError> {
    document_counter::Entity::insert(document_counter::ActiveModel {
        kind: Set(kind.to_owned()),
        year: Set(year),
        last: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            document_counter::Column::Kind,
            document_counter::Column::Year,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    // The update takes the row lock: concurrent senders queue here.
    document_counter::Entity::update_many()
        .col_expr(
            document_counter::Column::Last,
            sea_orm::sea_query::ExprTrait::add(Expr::col(document_counter::Column::Last), 1),
        )
        .filter(document_counter::Column::Kind.eq(kind))
        .filter(document_counter::Column::Year.eq(year))
        .exec(txn)
        .await?;
    Ok(
        document_counter::Entity::find_by_id((kind.to_owned(), year))
            .one(txn)
            .await?
            .ok_or(AppError::Internal)?
            .last,
    )
}

/// Who receives a document: the organization's active Main Contact and
/// Administrative Contact.
pub(super) async fn recipients<C: ConnectionTrait>(
    db: &C,
    org_id: i32,
) -> Result<Vec<contact::Model>, AppError> {
    let mut list = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::Active.eq(true))
        .filter(
            sea_orm::Condition::any()
                .add(contact::Column::IsMain.eq(true))
                .add(contact::Column::IsAdministrative.eq(true)),
        )
        .order_by_desc(contact::Column::IsMain)
        .all(db)
        .await?;
    list.dedup_by(|a, b| a.email == b.email);
    Ok(list)
}

/// A new link for one recipient; returns the token for the e-mail.
pub(super) async fn issue_link(
    txn: &DatabaseTransaction,
    state: &AppState,
    document_id: i32,
    to: &contact::Model,
) -> Result<String, AppError> {
    let token = session::new_token();
    let now = Utc::now();
    document_link::ActiveModel {
        document_id: Set(document_id),
        contact_id: Set(Some(to.id)),
        email: Set(to.email.clone()),
        token_hash: Set(session::hash_token(&token)),
        access_hash: Set(None),
        access_expires_at: Set(None),
        expires_at: Set(now
            + ChronoDuration::from_std(state.settings.billing.document_link_ttl)
                .unwrap_or(ChronoDuration::days(30))),
        revoked_at: Set(None),
        saved_at: Set(None),
        last_opened_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(token)
}

pub(super) fn link_days(state: &AppState) -> u64 {
    (state.settings.billing.document_link_ttl.as_secs() / 86400).max(1)
}

pub(super) fn document_mail(
    state: &AppState,
    d: &document::Model,
    org: &str,
    to: &contact::Model,
    token: &str,
    reminder: bool,
) -> Mail {
    let base = &state.settings.base_url;
    let kind = label_of(KINDS, &d.kind);
    let number = d.number.clone().unwrap_or_default();
    let total = money::format(d.total_minor, &d.currency);
    let what = if d.kind == "invoice" {
        let balance = money::format(d.total_minor - d.paid_minor, &d.currency);
        match d.due_date {
            Some(due) if reminder => format!("Invoice {number} of {total} was due on {}; {balance} is still open.\nIf you have paid it already, thank you, and please ignore this reminder.", day(due)),
            Some(due) => format!("Invoice {number} for {org}: {total}, due on {}.", day(due)),
            None => format!("Invoice {number} for {org}: {total}."),
        }
    } else {
        match d.valid_until {
            Some(v) => format!("{kind} {number} for {org}: {total}, valid until {}. You can accept or decline it online.", day(v)),
            None => format!("{kind} {number} for {org}: {total}. You can accept or decline it online."),
        }
    };
    Mail {
        thread: None,
        kind: if reminder { "invoice_reminder" } else { "document" },
        organization_id: Some(d.organization_id),
        to_addr: to.email.clone(),
        to_name: to.name.clone(),
        subject: if reminder {
            format!("Reminder: invoice {number} is overdue")
        } else {
            format!("{kind} {number} from Portico ({org})")
        },
        body: format!(
            "Hello {name},\n\n\
             {what}\n{po}\n\
             View it online (and download the PDF) without signing in; this link is for you only and works for {days} days:\n\
             {base}/documents/open?token={token}\n\n\
             On that page you can also save the document to an account. If you have a Portico account already,\n\
             all your organization's documents are in the Billing Portal: {base}/billing\n\n\
             — Portico\n",
            name = to.name,
            po = d.purchase_order.as_deref().map(|p| format!("Your purchase order: {p}\n")).unwrap_or_default(),
            days = link_days(state),
        ),
    }
}

/// Numbers (on the first sending), dates and e-mails document `d` to its
/// recipients, revoking every link sent before. Inside the caller's transaction.
pub async fn send_in(
    txn: &DatabaseTransaction,
    state: &AppState,
    d: document::Model,
    who: &str,
) -> Result<document::Model, AppError> {
    let org = organization::Entity::find_by_id(d.organization_id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let to = recipients(txn, d.organization_id).await?;
    if to.is_empty() {
        return Err(AppError::invalid(
            "document_id",
            "This organization has no active Main or Administrative Contact to send the document to.",
        ));
    }
    if lines_of(txn, d.id).await?.is_empty() || d.total_minor <= 0 {
        return Err(AppError::invalid(
            "document_id",
            "A document needs at least one line and a total above zero before it is sent.",
        ));
    }
    if d.valid_until.is_some_and(|v| v < Utc::now().date_naive()) {
        return Err(AppError::invalid(
            "document_id",
            "Its valid-until date has passed: the customer could not accept it. Edit a new one with a later date instead.",
        ));
    }
    let now = Utc::now();
    let today = now.date_naive();
    let first = d.number.is_none();
    let mut a = d.clone().into_active_model();
    if first {
        let year = chrono::Datelike::year(&today);
        let seq = next_number(txn, &d.kind, year).await?;
        a.number = Set(Some(format!(
            "{}-{year}-{seq:05}",
            prefix(&state.settings, &d.kind)
        )));
        a.number_year = Set(Some(year));
        a.number_seq = Set(Some(seq));
        a.issue_date = Set(Some(today));
        if d.kind == "invoice" {
            a.due_date = Set(Some(
                today + ChronoDuration::days(i64::from(d.payment_terms_days)),
            ));
        } else if d.valid_until.is_none() {
            a.valid_until = Set(Some(today + ChronoDuration::days(30)));
        }
        a.status = Set("sent".into());
    }
    a.sent_at = Set(Some(now));
    a.updated_at = Set(now);
    let mut q = document::Entity::update_many()
        .set(a)
        .filter(document::Column::Id.eq(d.id))
        .filter(document::Column::Status.eq(d.status.as_str()));
    if first {
        // Two first sendings at once: one wins, the other rolls back (and
        // with it the number it took), so numbers stay gapless.
        q = q.filter(document::Column::Number.is_null());
    }
    if q.exec(txn).await?.rows_affected != 1 {
        return Err(AppError::invalid(
            "document_id",
            "Someone changed this document at the same moment; reload the page and check it.",
        ));
    }
    let d = document::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    // Re-sending replaces every earlier link.
    document_link::Entity::update_many()
        .col_expr(document_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(document_link::Column::DocumentId.eq(d.id))
        .filter(document_link::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    let mut names = Vec::new();
    for c in &to {
        let token = issue_link(txn, state, d.id, c).await?;
        enqueue(txn, document_mail(state, &d, &org.name, c, &token, false)).await?;
        names.push(c.email.clone());
    }
    event(
        txn,
        d.id,
        "sent",
        who,
        Some(format!("to {}", names.join(", "))),
    )
    .await?;
    Ok(d)
}

pub async fn send_document(id: i32) -> Result<(), AppError> {
    let actor = require_billing_staff()?;
    let state = app_state()?;
    let txn = crate::core::db::begin_write(&state.db).await?;
    let d = document::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let sendable = matches!(d.status.as_str(), "draft" | "sent" | "viewed")
        || (d.kind == "invoice" && d.status == "partially_paid");
    if !sendable {
        return Err(AppError::invalid(
            "document_id",
            format!(
                "A {} document cannot be sent.",
                label_of(STATUSES, &d.status).to_lowercase()
            ),
        ));
    }
    let before = d.status.clone();
    let d = send_in(&txn, &state, d, &actor.email).await?;
    audit::Entry::new(Action::DocumentSent, Target::Document(d.id))
        .by(actor.user_id)
        .org(d.organization_id)
        .before(Some(json!({"status": before}).to_string()))
        .after(Some(
            json!({"status": d.status, "number": d.number}).to_string(),
        ))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    redirect_back_with("done=sent");
    Ok(())
}

/// The first invoice of a new subscription, sent at once (inside the order's
/// transaction). Returns its number for the Welcome e-mail.
#[allow(clippy::too_many_arguments)]
pub async fn issue_first_invoice(
    txn: &DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    org_id: i32,
    sub: &subscription::Model,
    level: &level::Model,
    program: &str,
) -> Result<String, AppError> {
    let now = Utc::now();
    let d = document::ActiveModel {
        organization_id: Set(org_id),
        kind: Set("invoice".into()),
        status: Set("draft".into()),
        number: Set(None),
        number_year: Set(None),
        number_seq: Set(None),
        currency: Set(level.currency.clone()),
        purchase_order: Set(sub.purchase_order.clone()),
        payment_terms_days: Set(state.settings.billing.payment_terms_days as i32),
        issue_date: Set(None),
        due_date: Set(None),
        valid_until: Set(None),
        discount_percent: Set("0".into()),
        notes: Set(format!(
            "Payment method: {}.",
            method_label(&sub.payment_method)
        )),
        narrative: Set(String::new()),
        terms: Set(String::new()),
        subtotal_minor: Set(0),
        discount_minor: Set(0),
        tax_minor: Set(0),
        total_minor: Set(0),
        paid_minor: Set(0),
        source_document_id: Set(None),
        subscription_id: Set(Some(sub.id)),
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
    .insert(txn)
    .await?;
    event(
        txn,
        d.id,
        "created",
        &actor.email,
        Some("first invoice of the order".into()),
    )
    .await?;
    let line = (
        format!(
            "{program} — {} subscription, {} to {}",
            level.name,
            day(sub.term_start),
            day(sub.term_end)
        ),
        Decimal::ONE,
        money::from_minor(level.price_minor, 2),
        Decimal::ZERO,
    );
    let t = write_lines(txn, d.id, &level.currency, Decimal::ZERO, &[line]).await?;
    store_totals(txn, d.id, &t).await?;
    let d = document::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let d = send_in(txn, state, d, &actor.email).await?;
    Ok(d.number.unwrap_or_default())
}
