//! Order intake: a staff member enters an order; it creates the organization, its subscription, its contacts and the first invoice.

use super::*;

pub(super) struct CleanOrder {
    name: String,
    legal_name: String,
    address: String,
    vat_id: Option<String>,
    level: level::Model,
    term_start: chrono::NaiveDate,
    term_end: chrono::NaiveDate,
    main_name: String,
    main_email: String,
    main_phone: Option<String>,
    techs: Vec<(String, String, Option<String>, bool)>,
    purchase_order: Option<String>,
    payment_method: String,
}

pub(super) async fn check_order(state: &AppState, f: &OrderForm) -> Result<CleanOrder, AppError> {
    let mut p = Problems::default();
    let name = p.check(
        "organization_name",
        validate::required("organization name", &f.organization_name, 200),
    );
    let legal_name = p.check(
        "legal_name",
        validate::required("legal name", &f.legal_name, 200),
    );
    let address = p.check(
        "address",
        validate::required_text("address", &f.address, 1000),
    );
    let vat_id = p
        .check("vat_id", validate::optional("VAT id", &f.vat_id, 64))
        .flatten();
    let level = match f.level_id.trim().parse::<i32>() {
        Ok(id) => {
            level::Entity::find_by_id(id)
                .filter(level::Column::Active.eq(true))
                .one(&state.db)
                .await?
        }
        Err(_) => None,
    };
    if level.is_none() {
        p.add("level_id", "Choose the program and level from the list.");
    }
    let start = p.check("term_start", validate::date("term start", &f.term_start));
    let end = p.check("term_end", validate::date("term end", &f.term_end));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            p.add("term_end", "The term must end after it starts.");
        }
    }
    let main_name = p.check(
        "main_name",
        validate::required("Main Contact's name", &f.main_name, 200),
    );
    let main_email = p.check("main_email", validate::email(&f.main_email));
    let main_phone = p
        .check(
            "main_phone",
            validate::optional("Main Contact's phone", &f.main_phone, 64),
        )
        .flatten();

    let mut seen: Vec<String> = main_email.iter().cloned().collect();
    let mut techs = Vec::new();
    for (i, t) in f.technical_contacts.iter().enumerate() {
        if t.name.trim().is_empty() && t.email.trim().is_empty() && t.phone.trim().is_empty() {
            continue; // an unused row of the form
        }
        let n = p.check(
            &format!("technical_contacts.{i}.name"),
            validate::required("Technical Contact's name", &t.name, 200),
        );
        let e = p.check(
            &format!("technical_contacts.{i}.email"),
            validate::email(&t.email),
        );
        let ph = p
            .check(
                &format!("technical_contacts.{i}.phone"),
                validate::optional("phone", &t.phone, 64),
            )
            .flatten();
        if let Some(e) = &e {
            if seen.contains(e) {
                p.add(
                    format!("technical_contacts.{i}.email"),
                    format!(
                        "{e} appears twice in this order; each contact needs their own address."
                    ),
                );
            }
            seen.push(e.clone());
        }
        if let (Some(n), Some(e)) = (n, e) {
            techs.push((n, e, ph, t.distribution_list.is_some()));
        }
    }
    if let Some(l) = &level {
        let filled = f
            .technical_contacts
            .iter()
            .filter(|t| !t.email.trim().is_empty() || !t.name.trim().is_empty())
            .count();
        if filled as i32 > l.max_technical_contacts {
            p.add(
                "technical_contacts",
                format!(
                    "The {} level allows {} Technical Contact(s); this order names {filled}. Remove some, or choose a higher level.",
                    l.name, l.max_technical_contacts
                ),
            );
        }
    }
    for (field, email) in std::iter::once(("main_email".to_string(), main_email.clone())).chain(
        techs
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("technical_contacts.{i}.email"), Some(t.1.clone()))),
    ) {
        if let Some(e) = email {
            if email_taken(&state.db, &e, None).await? {
                p.add(
                    field,
                    format!("{e} already has a Portico account; use another address."),
                );
            }
        }
    }
    let purchase_order = p
        .check(
            "purchase_order",
            validate::optional("purchase-order number", &f.purchase_order, 64),
        )
        .flatten();
    if PaymentMethod::parse(&f.payment_method).is_none() {
        p.add("payment_method", "Choose a payment method.");
    }
    if f.payment_method == "purchase_order" && purchase_order.is_none() {
        p.add(
            "purchase_order",
            "Enter the purchase-order number (the payment method is purchase order).",
        );
    }
    p.into_result()?;
    let missing = || AppError::Internal;
    Ok(CleanOrder {
        name: name.ok_or_else(missing)?,
        legal_name: legal_name.ok_or_else(missing)?,
        address: address.ok_or_else(missing)?,
        vat_id,
        level: level.ok_or_else(missing)?,
        term_start: start.ok_or_else(missing)?,
        term_end: end.ok_or_else(missing)?,
        main_name: main_name.ok_or_else(missing)?,
        main_email: main_email.ok_or_else(missing)?,
        main_phone,
        techs,
        purchase_order,
        payment_method: f.payment_method.clone(),
    })
}

/// Processes a received Order Form in one transaction: organization,
/// subscription, contacts with pending accounts, activation links, the
/// Welcome and Support Welcome e-mails, and the audit event.
pub async fn process_order(form: OrderForm) -> Result<i32, AppError> {
    let actor = require_staff(Capability::OrdersProcess)?;
    let state = app_state()?;
    let o = check_order(&state, &form).await?;
    let program = program::Entity::find_by_id(o.level.program_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal)?;
    let now = Utc::now();
    let txn = crate::core::db::begin_write(&state.db).await?;
    let org = organization::ActiveModel {
        name: Set(o.name.clone()),
        legal_name: Set(o.legal_name.clone()),
        address: Set(o.address.clone()),
        vat_id: Set(o.vat_id.clone()),
        shared_tickets: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let sub = subscription::ActiveModel {
        organization_id: Set(org.id),
        level_id: Set(o.level.id),
        term_start: Set(o.term_start),
        term_end: Set(o.term_end),
        status: Set(entity::SubscriptionStatus::Active),
        purchase_order: Set(o.purchase_order.clone()),
        payment_method: Set(o.payment_method.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    order::ActiveModel {
        organization_id: Set(org.id),
        form: Set(serde_json::to_string(&form).unwrap_or_default()),
        processed_by: Set(Some(actor.user_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    let (main, main_user) = create_contact(
        &txn,
        NewContact {
            org_id: org.id,
            name: &o.main_name,
            email: &o.main_email,
            phone: o.main_phone.clone(),
            main: true,
            technical: false,
            administrative: false,
            distribution_list: false,
        },
    )
    .await?;
    let main_token = issue_activation(&txn, &state, main_user.id).await?;
    let invoice = crate::billing::ssr::issue_first_invoice(
        &txn,
        &state,
        &actor,
        org.id,
        &sub,
        &o.level,
        &program.name,
    )
    .await?;
    let facts = WelcomeFacts {
        org: &org.name,
        program: &program.name,
        level: &o.level,
        sub: &sub,
        invoice: &invoice,
    };
    enqueue(&txn, welcome_main(&state, &main, &facts, &main_token)).await?;
    if o.techs.is_empty() {
        // The Main Contact is the sole contact for all purposes.
        enqueue(&txn, support_welcome(&state, &main, &org.name, &main_token)).await?;
    }
    for (name, email, phone, dl) in &o.techs {
        let (c, u) = create_contact(
            &txn,
            NewContact {
                org_id: org.id,
                name,
                email,
                phone: phone.clone(),
                main: false,
                technical: true,
                administrative: false,
                distribution_list: *dl,
            },
        )
        .await?;
        let token = issue_activation(&txn, &state, u.id).await?;
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    audit::Entry::new(Action::OrderProcessed, Target::Organization(org.id)).by(actor.user_id).org(org.id).after(Some(json!({"organization": org.name, "level": o.level.name, "term_start": day(o.term_start), "term_end": day(o.term_end), "technical_contacts": o.techs.len()}).to_string())).from(client_addr()).record(&txn)
    .await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::Organization(org.id)).await;
    if request_parts().is_ok_and(|p| crate::core::web::is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/organizations/{}?created=1", org.id));
    }
    Ok(org.id)
}
