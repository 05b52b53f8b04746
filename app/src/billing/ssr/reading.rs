//! Reading documents: the Billing Portal home, lists, one document with its lines, payments and history.

use super::*;

/// The status people see: unpaid invoices past their due date are overdue.
pub(super) fn shown_status(d: &document::Model, today: NaiveDate) -> String {
    let open = matches!(d.status.as_str(), "sent" | "viewed" | "partially_paid");
    if d.kind == "invoice" && open && d.due_date.is_some_and(|due| due < today) {
        "overdue".into()
    } else {
        d.status.clone()
    }
}

/// A stored payment method in words ("Unknown" like any unknown label).
pub(super) fn method_label(stored: &str) -> &'static str {
    PaymentMethod::parse(stored).map_or("Unknown", PaymentMethod::label)
}

pub(super) fn title(d: &document::Model) -> String {
    let kind = label_of(KINDS, &d.kind);
    match &d.number {
        Some(n) => format!("{kind} {n}"),
        None => format!("Draft {}", kind.to_lowercase()),
    }
}

pub async fn load_billing_home() -> Result<BillingHomeData, AppError> {
    let actor = crate::core::web::require_actor()?;
    if !actor.can_use_billing() {
        return Err(AppError::Forbidden);
    }
    // The organization comes from the session, never from the request.
    let org_id = actor.customer().ok_or(AppError::Forbidden)?.organization_id;
    let state = app_state()?;
    let org = organization::Entity::find_by_id(org_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(org_id))
        .filter(contact::Column::Active.eq(true))
        .order_by_desc(contact::Column::IsMain)
        .order_by_asc(contact::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            let mut roles = Vec::new();
            if c.is_main {
                roles.push("Main Contact".to_string());
            }
            if c.is_administrative {
                roles.push("Administrative Contact".to_string());
            }
            if c.is_technical {
                roles.push("Technical Contact".to_string());
            }
            ContactRow {
                name: c.name,
                email: c.email,
                roles,
            }
        })
        .collect();
    // The term that decides today, as the session resolved it, else the latest.
    let deciding = actor
        .customer()
        .and_then(|c| c.entitlements.subscription_id);
    let mut terms = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .order_by_desc(subscription::Column::TermEnd)
        .order_by_desc(subscription::Column::Id)
        .all(&state.db)
        .await?;
    let pick = terms
        .iter()
        .position(|t| Some(t.id) == deciding)
        .unwrap_or(0);
    let subscription = match (pick < terms.len()).then(|| terms.swap_remove(pick)) {
        None => None,
        Some(s) => {
            let l = level::Entity::find_by_id(s.level_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            let p = program::Entity::find_by_id(l.program_id)
                .one(&state.db)
                .await?
                .ok_or(AppError::Internal)?;
            let servers = covered_server::Entity::find()
                .filter(covered_server::Column::OrganizationId.eq(org_id))
                .filter(covered_server::Column::Status.eq("accepted"))
                .order_by_asc(covered_server::Column::Name)
                .all(&state.db)
                .await?
                .into_iter()
                .map(|c| format!("{} ({}, {})", c.name, c.kind, c.quantity))
                .collect();
            Some(SubscriptionSummary {
                program: p.name,
                level: l.name,
                term_start: day(s.term_start),
                term_end: day(s.term_end),
                renewal_date: day(s.term_end.succ_opt().unwrap_or(s.term_end)),
                // Where it stands today, as the session resolved it.
                status: actor.customer().map_or_else(
                    || s.status.label().to_string(),
                    |c| c.entitlements.describe(),
                ),
                servers,
            })
        }
    };
    Ok(BillingHomeData {
        organization_name: org.name,
        subscription,
        contacts,
    })
}

pub async fn list_documents(f: DocumentFilter) -> Result<DocumentList, AppError> {
    let actor = crate::core::web::require_actor()?;
    let state = app_state()?;
    let mut q = document::Entity::find();
    let staff = match &actor.role {
        ActorRole::Staff(r) if authz::allows(*r, Capability::Documents) => true,
        ActorRole::Customer(c) if actor.can_use_billing() => {
            q = q
                .filter(document::Column::OrganizationId.eq(c.organization_id))
                .filter(document::Column::Status.ne("draft"));
            false
        }
        _ => return Err(AppError::Forbidden),
    };
    if !f.kind.is_empty() {
        if !KINDS.iter().any(|(k, _)| *k == f.kind) {
            return Err(AppError::invalid(
                "kind",
                "Choose invoice, estimate or proposal.",
            ));
        }
        q = q.filter(document::Column::Kind.eq(f.kind.as_str()));
    }
    let today = today();
    match f.status.as_str() {
        "" => {}
        "overdue" => {
            q = q
                .filter(document::Column::Kind.eq("invoice"))
                .filter(document::Column::Status.is_in(["sent", "viewed", "partially_paid"]))
                .filter(document::Column::DueDate.lt(today))
        }
        s if STATUSES.iter().any(|(k, _)| *k == s) => {
            q = q.filter(document::Column::Status.eq(s));
        }
        _ => {
            return Err(AppError::invalid(
                "status",
                "Choose a status from the list.",
            ))
        }
    }
    if staff && !f.organization_id.trim().is_empty() {
        let id: i32 = f.organization_id.trim().parse().map_err(|_| {
            AppError::invalid("organization_id", "Choose an organization from the list.")
        })?;
        q = q.filter(document::Column::OrganizationId.eq(id));
    }
    let paginator = q
        .order_by_desc(document::Column::UpdatedAt)
        .order_by_desc(document::Column::Id)
        .paginate(&state.db, PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let page: u64 = f
        .page
        .trim()
        .parse()
        .unwrap_or(0)
        .min(counts.number_of_pages.saturating_sub(1));
    let docs = paginator.fetch_page(page).await?;
    let org_ids: Vec<i32> = docs.iter().map(|d| d.organization_id).collect();
    let names: std::collections::HashMap<i32, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(org_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let rows = docs
        .into_iter()
        .map(|d| DocumentRow {
            id: d.id,
            kind: d.kind.clone(),
            number: d.number.clone().unwrap_or_else(|| "Draft".into()),
            organization: names.get(&d.organization_id).cloned().unwrap_or_default(),
            status: shown_status(&d, today),
            issue_date: d.issue_date.map(day).unwrap_or_default(),
            due_date: d.due_date.or(d.valid_until).map(day).unwrap_or_default(),
            total: money::format(d.total_minor, &d.currency),
            balance: if d.kind == "invoice" && d.status != "void" {
                money::format(d.total_minor - d.paid_minor, &d.currency)
            } else {
                String::new()
            },
        })
        .collect();
    let organizations = if staff {
        organization::Entity::find()
            .order_by_asc(organization::Column::Name)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(DocumentList {
        rows,
        page,
        pages: counts.number_of_pages,
        total_rows: counts.number_of_items,
        staff,
        organizations,
    })
}

pub(super) async fn lines_of<C: ConnectionTrait>(
    db: &C,
    id: i32,
) -> Result<Vec<document_line::Model>, AppError> {
    Ok(document_line::Entity::find()
        .filter(document_line::Column::DocumentId.eq(id))
        .order_by_asc(document_line::Column::Position)
        .all(db)
        .await?)
}

pub(super) fn money_lines(lines: &[document_line::Model]) -> Vec<Line> {
    lines
        .iter()
        .map(|l| Line {
            quantity: l.quantity.parse().unwrap_or_default(),
            unit_price: l.unit_price.parse().unwrap_or_default(),
            tax_rate: l.tax_rate.parse().unwrap_or_default(),
        })
        .collect()
}

/// Everything a page (or the PDF) shows of one document, for `access`.
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    d: &document::Model,
    access: &Access,
) -> Result<DocumentView, AppError> {
    let org = organization::Entity::find_by_id(d.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let lines = lines_of(db, d.id).await?;
    let discount: Decimal = d.discount_percent.parse().unwrap_or_default();
    let scale = scale_of(&d.currency);
    let t = money::totals(&money_lines(&lines), discount, scale);
    if t.total != d.total_minor {
        tracing::error!(
            document = d.id,
            stored = d.total_minor,
            computed = t.total,
            "document totals disagree"
        );
    }
    let cur = d.currency.as_str();
    let payments = payment::Entity::find()
        .filter(payment::Column::DocumentId.eq(d.id))
        .order_by_asc(payment::Column::PaidOn)
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| PaymentView {
            paid_on: day(p.paid_on),
            method: method_label(&p.method).to_string(),
            amount: money::format(p.amount_minor, cur),
            reference: p.reference,
        })
        .collect();
    let events = if access.is_staff() {
        document_event::Entity::find()
            .filter(document_event::Column::DocumentId.eq(d.id))
            .order_by_asc(document_event::Column::At)
            .order_by_asc(document_event::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|e| EventView {
                at: stamp(e.at),
                what: event_label(&e.kind).to_string(),
                who: e.actor,
                detail: e.detail.unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let related = |id: Option<i32>| async move {
        match id {
            None => Ok::<_, AppError>(None),
            Some(id) => Ok(document::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|r| (r.id, title(&r)))),
        }
    };
    let staff_view = access.is_staff();
    let source = related(d.source_document_id).await?;
    // Customers hear of the invoice once it is sent, not while it is a draft.
    let converted_to = document::Entity::find()
        .filter(document::Column::SourceDocumentId.eq(d.id))
        .one(db)
        .await?
        .filter(|r| staff_view || r.status != "draft")
        .map(|r| (r.id, title(&r)));
    let today = today();
    let status = shown_status(d, today);
    let open_offer = d.kind != "invoice"
        && matches!(d.status.as_str(), "sent" | "viewed")
        && d.valid_until.is_none_or(|v| v >= today);
    let unpaid =
        d.kind == "invoice" && matches!(d.status.as_str(), "sent" | "viewed" | "partially_paid");
    let staff = access.is_staff();
    let mut actions = DocumentActions {
        edit: staff && d.status == "draft",
        send: staff
            && (matches!(d.status.as_str(), "draft" | "sent" | "viewed")
                || (d.kind == "invoice" && d.status == "partially_paid")),
        record_payment: staff && unpaid,
        void: staff
            && d.kind == "invoice"
            && d.paid_minor == 0
            && matches!(d.status.as_str(), "draft" | "sent" | "viewed"),
        convert: staff && d.kind != "invoice" && d.status == "accepted" && converted_to.is_none(),
        decide: !staff && open_offer,
        save_account: false,
    };
    let link_email = match access {
        Access::Link(l) => {
            // `saved_at`: when Save last asked; it may ask again after an hour.
            let asked_lately = l
                .saved_at
                .is_some_and(|at| at > Utc::now() - ChronoDuration::hours(1));
            actions.save_account = !asked_lately
                && user::Entity::find()
                    .filter(user::Column::Email.eq(l.email.as_str()))
                    .filter(user::Column::PasswordHash.is_null())
                    .filter(user::Column::Active.eq(true))
                    .count(db)
                    .await?
                    > 0;
            Some(l.email.clone())
        }
        _ => None,
    };
    let decision = d.decided_at.map(|at| {
        format!(
            "{} by {} on {}{}",
            label_of(STATUSES, &d.status),
            d.decided_by_name.clone().unwrap_or_default(),
            stamp(at),
            d.decided_addr
                .as_deref()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default()
        )
    });
    Ok(DocumentView {
        id: d.id,
        kind: d.kind.clone(),
        title: title(d),
        number: d.number.clone(),
        status,
        organization_id: org.id,
        organization: org.name,
        legal_name: org.legal_name,
        address: org.address,
        vat_id: org.vat_id,
        currency: d.currency.clone(),
        purchase_order: d.purchase_order.clone(),
        payment_terms_days: d.payment_terms_days,
        issue_date: d.issue_date.map(day),
        due_date: d.due_date.map(day),
        valid_until: d.valid_until.map(day),
        discount_percent: d.discount_percent.clone(),
        notes: d.notes.clone(),
        narrative: d.narrative.clone(),
        terms: d.terms.clone(),
        lines: lines
            .iter()
            .zip(&t.lines)
            .map(|(l, a)| LineView {
                description: l.description.clone(),
                quantity: l.quantity.clone(),
                unit_price: money::format_unit(l.unit_price.parse().unwrap_or_default(), cur),
                tax_rate: format!("{}%", l.tax_rate),
                net: money::format(a.net, cur),
            })
            .collect(),
        taxes: t
            .taxes
            .iter()
            .map(|g| TaxView {
                rate: format!("{}%", g.rate.normalize()),
                base: money::format(g.base, cur),
                tax: money::format(g.tax, cur),
            })
            .collect(),
        // The stored totals (what was sent, and what payments count against).
        subtotal: money::format(d.subtotal_minor, cur),
        discount: money::format(d.discount_minor, cur),
        tax: money::format(d.tax_minor, cur),
        total: money::format(d.total_minor, cur),
        paid: money::format(d.paid_minor, cur),
        balance: money::format(d.total_minor - d.paid_minor, cur),
        payments,
        events,
        decision,
        source,
        converted_to,
        actions,
        link_email,
        pdf_url: format!("/documents/{}/pdf", d.id),
    })
}

pub(super) fn event_label(kind: &str) -> &'static str {
    match kind {
        "created" => "Created",
        "updated" => "Draft changed",
        "sent" => "Sent",
        "viewed" => "Viewed",
        "paid" => "Payment recorded",
        "voided" => "Voided",
        "accepted" => "Accepted",
        "declined" => "Declined",
        "expired" => "Expired",
        "converted" => "Converted to an invoice",
        "reminded" => "Reminder sent",
        "account" => "Account created from the link",
        "account_link" => "Link to create an account e-mailed",
        _ => "Other",
    }
}

pub async fn load_document(id: i32) -> Result<DocumentView, AppError> {
    let (state, d, a) = current_access(id).await?;
    view_of(&state.db, &d, &a).await
}

pub(super) async fn event<C: ConnectionTrait>(
    db: &C,
    document_id: i32,
    kind: &str,
    actor: &str,
    detail: Option<String>,
) -> Result<(), AppError> {
    document_event::ActiveModel {
        document_id: Set(document_id),
        kind: Set(kind.to_owned()),
        actor: Set(actor.to_owned()),
        detail: Set(detail),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
