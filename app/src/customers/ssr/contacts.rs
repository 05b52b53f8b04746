//! Contacts: edit, add, deactivate, transfer the Main Contact role, resend activation, decide requests.

use super::*;

/// What a person is told when an address is already someone's account:
/// staff learn why; customers do not learn whether an address exists elsewhere.
pub(super) fn address_taken(actor: &Actor, email: &str) -> String {
    if actor.staff_role().is_some() {
        format!("{email} already has a Portico account; use another address.")
    } else {
        "This address cannot be used for a new contact: choose another, or ask us if this person already has an account.".to_string()
    }
}

pub async fn update_contact(
    contact_id: i32,
    name: String,
    email: String,
    phone: String,
    dl: bool,
) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        staff_may_change(&actor, &c)?;
    }
    let mut p = Problems::default();
    let name = p.check("name", validate::required("name", &name, 200));
    let email = p.check("email", validate::email(&email));
    let phone = p
        .check("phone", validate::optional("phone", &phone, 64))
        .flatten();
    if let Some(e) = &email {
        // The address is how the person signs in: changing it is a credential change.
        if *e != c.email
            && manager != Manager::MainContact
            && !authz::actor_allows(&actor, Capability::SignInEmail)
        {
            p.add(
                "email",
                "Only an administrator or the organization's Main Contact can change a contact's e-mail address.",
            );
        } else if *e != c.email && email_taken(&state.db, e, c.user_id).await? {
            p.add("email", address_taken(&actor, e));
        }
    }
    p.into_result()?;
    let (name, email) = (name.unwrap_or_default(), email.unwrap_or_default());
    let before = contact_json(&c);
    let txn = crate::core::db::begin_write(&state.db).await?;
    if email != c.email && manager == Manager::MainContact {
        // A pending account moved to a new address is invited there again.
        invitations_left(&txn, &state, &actor, c.organization_id).await?;
    }
    let mut a = c.clone().into_active_model();
    a.name = Set(name.clone());
    a.email = Set(email.clone());
    a.phone = Set(phone);
    // Only a Technical Contact may be a shared (distribution-list) login.
    a.is_distribution_list = Set(dl && c.is_technical && !c.is_main && !c.is_administrative);
    let updated = a.update(&txn).await?;
    if let Some(uid) = c.user_id {
        // The sign-in address follows the contact's address.
        user::Entity::update_many()
            .col_expr(
                user::Column::Email,
                sea_orm::sea_query::Expr::value(email.clone()),
            )
            .col_expr(user::Column::Name, sea_orm::sea_query::Expr::value(name))
            .col_expr(
                user::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(user::Column::Id.eq(uid))
            .exec(&txn)
            .await?;
        if email != c.email {
            super::credentials::moved_address(&txn, &state, &actor, &c, uid, &email).await?;
        }
    }
    audit::Entry::new(Action::ContactUpdated, Target::Contact(c.id))
        .by(actor.user_id)
        .org(c.organization_id)
        .before(Some(before))
        .after(Some(contact_json(&updated)))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    // Who may open which ticket can change with a contact's roles.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(
        &state,
        crate::core::live::Change::Organization(c.organization_id),
    )
    .await;
    Ok(())
}

/// Refuses a Main Contact's next invitation past the day's quota: each new
/// contact is e-mailed, and adding and removing one in a loop would mail any
/// address from the vendor's domain.
async fn invitations_left(
    txn: &DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    org_id: i32,
) -> Result<(), AppError> {
    // Counted under the Main Contact's row lock, so parallel adds cannot all pass.
    user::Entity::find_by_id(actor.user_id)
        .lock_exclusive()
        .one(txn)
        .await?;
    let max = state.settings.quotas.invitations_per_day;
    let sent = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(org_id))
        .filter(audit_event::Column::ActorUserId.eq(actor.user_id))
        // A new contact, or a pending one moved to a new address: each mails one.
        .filter(audit_event::Column::Action.is_in([
            Action::ContactAdded.as_str(),
            Action::ContactActivationResent.as_str(),
        ]))
        .filter(audit_event::Column::CreatedAt.gt(Utc::now() - ChronoDuration::days(1)))
        .count(txn)
        .await?;
    if sent >= max {
        return Err(AppError::invalid(
            "email",
            format!("You added {sent} contacts in the last 24 hours, the most Portico sends invitations for in a day. Try again tomorrow, or ask your Portico contact."),
        ));
    }
    Ok(())
}

pub async fn add_contact(
    requested_org: Option<i32>,
    role: String,
    name: String,
    email: String,
    phone: String,
    dl: bool,
) -> Result<AddOutcome, AppError> {
    let actor = require_actor()?;
    let org_id = target_org(&actor, requested_org)?;
    let manager = may_manage(&actor, org_id)?;
    let state = app_state()?;
    let org = org_by_id(&state.db, org_id).await?;
    let administrative = match role.as_str() {
        "technical" => false,
        "administrative" => true,
        _ => {
            return Err(AppError::invalid(
                "role",
                "Choose Technical or Administrative Contact.",
            ))
        }
    };
    if manager == Manager::Staff {
        authz::require(
            &actor,
            if administrative {
                Capability::BillingContacts
            } else {
                Capability::TechnicalContacts
            },
        )?;
    }
    let mut p = Problems::default();
    let name = p.check("name", validate::required("name", &name, 200));
    let email = p.check("email", validate::email(&email));
    let phone = p
        .check("phone", validate::optional("phone", &phone, 64))
        .flatten();
    if let Some(e) = &email {
        if email_taken(&state.db, e, None).await? {
            p.add("email", address_taken(&actor, e));
        }
    }
    p.into_result()?;
    let (name, email) = (name.unwrap_or_default(), email.unwrap_or_default());

    let txn = crate::core::db::begin_write(&state.db).await?;
    if manager == Manager::MainContact {
        invitations_left(&txn, &state, &actor, org_id).await?;
    }
    if administrative {
        let existing = contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(org_id))
            .filter(contact::Column::IsAdministrative.eq(true))
            .filter(contact::Column::Active.eq(true))
            .one(&txn)
            .await?;
        if let Some(x) = existing {
            return Err(AppError::invalid(
                "role",
                format!("{} is already the Administrative Contact; there can be only one. Remove that role first, or edit their details.", x.name),
            ));
        }
    } else if manager == Manager::MainContact {
        // The Main Contact's own organization: what its subscription allows today.
        let limit = actor
            .customer()
            .map_or(0, |c| c.entitlements.max_technical_contacts);
        if active_technical_count(&txn, org_id).await? >= limit as u64 {
            // Over the limit: staff decide.
            let r = contact_request::ActiveModel {
                organization_id: Set(org_id),
                name: Set(name.clone()),
                email: Set(email.clone()),
                phone: Set(phone),
                is_distribution_list: Set(dl),
                status: Set("pending".into()),
                requested_by: Set(Some(actor.user_id)),
                decided_by: Set(None),
                decided_at: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            audit::Entry::new(Action::ContactRequested, Target::ContactRequest(r.id))
                .by(actor.user_id)
                .org(org_id)
                .after(Some(json!({"name": name, "email": email}).to_string()))
                .from(client_addr())
                .record(&txn)
                .await?;
            txn.commit().await?;
            crate::core::web::redirect_back_with("added=requested");
            return Ok(AddOutcome::Requested);
        }
    }
    let (c, u) = create_contact(
        &txn,
        NewContact {
            org_id,
            name: &name,
            email: &email,
            phone,
            main: false,
            technical: !administrative,
            administrative,
            distribution_list: dl && !administrative,
        },
    )
    .await?;
    let token = issue_activation(&txn, &state, u.id).await?;
    if administrative {
        enqueue(
            &txn,
            notice(
                &c,
                "billing_welcome",
                format!("Your access to the Portico Billing Portal ({})", org.name),
                format!(
                    "{} made you the Administrative Contact of {}: you see its invoices, estimates and proposals in the Billing Portal ({}/billing).\n\nSet your password to activate your account (the link works once, for {} days):\n{}",
                    actor.name, org.name, state.settings.base_url, ttl_days(&state), activation_url(&state, &token)
                ),
            ),
        )
        .await?;
    } else {
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    audit::Entry::new(Action::ContactAdded, Target::Contact(c.id))
        .by(actor.user_id)
        .org(org_id)
        .after(Some(contact_json(&c)))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    // Who may open which ticket can change with a contact's roles.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(&state, crate::core::live::Change::Organization(org_id)).await;
    crate::core::web::redirect_back_with("added=added");
    Ok(AddOutcome::Added)
}

pub(super) async fn end_sessions_of(
    txn: &DatabaseTransaction,
    c: &contact::Model,
) -> Result<(), AppError> {
    if let Some(uid) = c.user_id {
        session::end_all_for_user(txn, uid).await?;
    }
    Ok(())
}

pub async fn deactivate_contact(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        staff_may_change(&actor, &c)?;
    }
    if c.is_main {
        return Err(AppError::invalid(
            "contact_id",
            "The Main Contact cannot be deactivated: hand the Main Contact role to someone else first.",
        ));
    }
    if !c.active {
        return Ok(());
    }
    let before = contact_json(&c);
    let txn = crate::core::db::begin_write(&state.db).await?;
    // Checked again inside the transaction: the contact may have become
    // the Main Contact a moment ago, and an organization never loses its one.
    let changed = contact::Entity::update_many()
        .col_expr(contact::Column::Active, Expr::value(false))
        .filter(contact::Column::Id.eq(c.id))
        .filter(contact::Column::IsMain.eq(false))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is now the Main Contact and cannot be deactivated.",
                c.name
            ),
        ));
    }
    let after = contact::Model {
        active: false,
        ..c.clone()
    };
    end_sessions_of(&txn, &c).await?;
    audit::Entry::new(Action::ContactDeactivated, Target::Contact(c.id))
        .by(actor.user_id)
        .org(c.organization_id)
        .before(Some(before))
        .after(Some(contact_json(&after)))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(
        &state,
        crate::core::live::Change::Organization(c.organization_id),
    )
    .await;
    Ok(())
}

pub async fn remove_administrative_role(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (c, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        authz::require(&actor, Capability::BillingContacts)?;
    }
    if !c.is_administrative {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is not the Administrative Contact.", c.name),
        ));
    }
    let before = contact_json(&c);
    let txn = crate::core::db::begin_write(&state.db).await?;
    let mut a = c.clone().into_active_model();
    a.is_administrative = Set(false);
    let keeps_a_role = c.is_main || c.is_technical;
    if !keeps_a_role {
        a.active = Set(false);
        end_sessions_of(&txn, &c).await?;
    }
    let after = a.update(&txn).await?;
    audit::Entry::new(Action::ContactAdministrativeRemoved, Target::Contact(c.id))
        .by(actor.user_id)
        .org(c.organization_id)
        .before(Some(before))
        .after(Some(contact_json(&after)))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    // Who may open which ticket can change with a contact's roles.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(
        &state,
        crate::core::live::Change::Organization(c.organization_id),
    )
    .await;
    Ok(())
}

/// Hands the Main Contact role to another active contact of the same
/// organization, in one transaction: there is exactly one before and after.
pub async fn transfer_main_contact(contact_id: i32) -> Result<(), AppError> {
    let actor = require_actor()?;
    let state = app_state()?;
    let (target, manager) = contact_in_scope(&state, &actor, contact_id).await?;
    if manager == Manager::Staff {
        authz::require(&actor, Capability::BillingContacts)?;
    }
    if target.is_main {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is already the Main Contact.", target.name),
        ));
    }
    if target.is_distribution_list {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is a distribution list; the Main Contact must be one person.",
                target.name
            ),
        ));
    }
    if !target.active {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} is deactivated; only an active contact can become the Main Contact.",
                target.name
            ),
        ));
    }
    let org = org_by_id(&state.db, target.organization_id).await?;
    let txn = crate::core::db::begin_write(&state.db).await?;
    let old = main_contact(&txn, target.organization_id).await?;
    if let Some(old) = &old {
        let mut a = old.clone().into_active_model();
        a.is_main = Set(false);
        a.update(&txn).await?;
    }
    // Promote only if still active and not a distribution list, in this transaction.
    let promoted = contact::Entity::update_many()
        .col_expr(contact::Column::IsMain, Expr::value(true))
        .filter(contact::Column::Id.eq(target.id))
        .filter(contact::Column::Active.eq(true))
        .filter(contact::Column::IsDistributionList.eq(false))
        .exec(&txn)
        .await?;
    if promoted.rows_affected != 1 {
        return Err(AppError::invalid(
            "contact_id",
            format!(
                "{} can no longer become the Main Contact (deactivated or a distribution list).",
                target.name
            ),
        ));
    }
    let new_main = contact::Model {
        is_main: true,
        ..target.clone()
    };
    let text = format!(
        "{} is now the Main Contact of {}: they receive all contractual and billing communication.",
        new_main.name, org.name
    );
    enqueue(
        &txn,
        notice(
            &new_main,
            "main_contact_changed",
            format!("You are now the Main Contact of {}", org.name),
            format!(
                "{text}\nThe Billing Portal is at {}/billing.",
                state.settings.base_url
            ),
        ),
    )
    .await?;
    if let Some(old) = &old {
        enqueue(
            &txn,
            notice(
                old,
                "main_contact_changed",
                format!("The Main Contact of {} changed", org.name),
                text.clone(),
            ),
        )
        .await?;
    }
    audit::Entry::new(Action::ContactMainTransferred, Target::Contact(new_main.id))
        .by(actor.user_id)
        .org(org.id)
        .before(old.as_ref().map(contact_json))
        .after(Some(contact_json(&new_main)))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    // Who may open which ticket can change with a contact's roles.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(&state, crate::core::live::Change::Organization(org.id)).await;
    Ok(())
}

pub async fn decide_contact_request(request_id: i32, approve: bool) -> Result<(), AppError> {
    let actor = require_staff(Capability::TechnicalContacts)?;
    let state = app_state()?;
    let r = contact_request::Entity::find_by_id(request_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.status != "pending" {
        return Err(AppError::invalid(
            "request_id",
            format!("This request was already {}.", r.status),
        ));
    }
    let org = org_by_id(&state.db, r.organization_id).await?;
    let txn = crate::core::db::begin_write(&state.db).await?;
    // Decided once, even when two people click at the same moment.
    let decided = contact_request::Entity::update_many()
        .col_expr(
            contact_request::Column::Status,
            Expr::value(if approve { "approved" } else { "declined" }),
        )
        .col_expr(
            contact_request::Column::DecidedBy,
            Expr::value(Some(actor.user_id)),
        )
        .col_expr(
            contact_request::Column::DecidedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(contact_request::Column::Id.eq(r.id))
        .filter(contact_request::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if decided.rows_affected != 1 {
        return Err(AppError::invalid(
            "request_id",
            "This request was decided a moment ago.",
        ));
    }
    if approve {
        if email_taken(&txn, &r.email, None).await? {
            return Err(AppError::invalid("request_id", format!("{} already has a Portico account; decline this request and ask for another address.", r.email)));
        }
        let (c, u) = create_contact(
            &txn,
            NewContact {
                org_id: r.organization_id,
                name: &r.name,
                email: &r.email,
                phone: r.phone.clone(),
                main: false,
                technical: true,
                administrative: false,
                distribution_list: r.is_distribution_list,
            },
        )
        .await?;
        let token = issue_activation(&txn, &state, u.id).await?;
        enqueue(&txn, support_welcome(&state, &c, &org.name, &token)).await?;
    }
    if let Some(main) = main_contact(&txn, r.organization_id).await? {
        let (subject, text) = if approve {
            (
                format!("Approved: {} as an additional Technical Contact", r.name),
                format!("We approved your request: {} <{}> is now a Technical Contact of {} and received an invitation.", r.name, r.email, org.name),
            )
        } else {
            (
                format!("Declined: {} as an additional Technical Contact", r.name),
                format!("We declined your request to add {} <{}> as a Technical Contact of {}: your subscription level's limit is reached. Reply to this e-mail to discuss a higher level.", r.name, r.email, org.name),
            )
        };
        enqueue(
            &txn,
            notice(&main, "contact_request_decided", subject, text),
        )
        .await?;
    }
    audit::Entry::new(
        if approve {
            Action::ContactRequestApproved
        } else {
            Action::ContactRequestDeclined
        },
        Target::ContactRequest(r.id),
    )
    .by(actor.user_id)
    .org(r.organization_id)
    .after(Some(json!({"name": r.name, "email": r.email}).to_string()))
    .from(client_addr())
    .record(&txn)
    .await?;
    txn.commit().await?;
    // Who may open which ticket can change with a contact's roles.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
    crate::core::live::publish(
        &state,
        crate::core::live::Change::Organization(r.organization_id),
    )
    .await;
    Ok(())
}
