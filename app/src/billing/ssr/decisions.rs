//! What customers do with a document: accept or decline it, and save it to a new account.

use super::*;

pub async fn decide_document(id: i32, decision: String, name: String) -> Result<(), AppError> {
    let (state, d, access) = current_access(id).await?;
    if access.is_staff() {
        return Err(AppError::invalid(
            "decision",
            "The customer accepts or declines; staff cannot do it for them.",
        ));
    }
    let status = match decision.as_str() {
        "accept" => "accepted",
        "decline" => "declined",
        _ => return Err(AppError::invalid("decision", "Choose accept or decline.")),
    };
    let name = validate::required("your full name", &name, 200)
        .map_err(|m| AppError::invalid("name", m))?;
    if d.kind == "invoice" {
        return Err(AppError::invalid(
            "decision",
            "Invoices are not accepted or declined.",
        ));
    }
    if d.valid_until.is_some_and(|v| v < today()) {
        return Err(AppError::invalid(
            "decision",
            format!(
                "This offer expired on {}; ask us for a new one.",
                d.valid_until.map(day).unwrap_or_default()
            ),
        ));
    }
    let now = Utc::now();
    let addr = client_addr();
    let txn = crate::core::db::begin_write(&state.db).await?;
    let updated = document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value(status))
        .col_expr(
            document::Column::DecidedByName,
            Expr::value(Some(name.clone())),
        )
        .col_expr(document::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(document::Column::DecidedAddr, Expr::value(addr.clone()))
        .col_expr(document::Column::UpdatedAt, Expr::value(now))
        .filter(document::Column::Id.eq(id))
        .filter(document::Column::Status.is_in(["sent", "viewed"]))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::invalid(
            "decision",
            "This document was decided already or is no longer open.",
        ));
    }
    event(
        &txn,
        id,
        status,
        &access.who(),
        Some(format!(
            "{name}{}",
            addr.map(|a| format!(" from {a}")).unwrap_or_default()
        )),
    )
    .await?;
    audit::Entry::new(
        if status == "accepted" {
            Action::DocumentAccepted
        } else {
            Action::DocumentDeclined
        },
        Target::Document(id),
    )
    .by(access.user_id())
    .org(d.organization_id)
    .before(Some(json!({"status": d.status}).to_string()))
    .after(Some(json!({"status": status, "name": name}).to_string()))
    .from(client_addr())
    .record(&txn)
    .await?;
    txn.commit().await?;
    redirect_back_with(&format!("done={status}"));
    Ok(())
}

pub(super) const SAVE_REFUSED: &str = "This link cannot create an account: it was used for that already, or the address it was sent to has an account. Sign in with that address instead.";

pub async fn save_document_account(
    id: i32,
    new_password: String,
    confirm_password: String,
) -> Result<String, AppError> {
    let (state, _d, access) = current_access(id).await?;
    let Access::Link(link) = access else {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    };
    validate_new_password("new_password", &new_password)?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two passwords do not match.",
        ));
    }
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(link.email.as_str()))
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?
        .filter(|u| u.password_hash.is_none() && link.saved_at.is_none())
        .ok_or_else(|| AppError::invalid("new_password", SAVE_REFUSED))?;
    let hash = state.auth.passwords.hash(&new_password).await?;
    let now = Utc::now();
    let txn = crate::core::db::begin_write(&state.db).await?;
    // Once per link and once per account, even under a race.
    let claimed = document_link::Entity::update_many()
        .col_expr(document_link::Column::SavedAt, Expr::value(Some(now)))
        .filter(document_link::Column::Id.eq(link.id))
        .filter(document_link::Column::SavedAt.is_null())
        .exec(&txn)
        .await?;
    let set = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(Some(hash.0)))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::PasswordHash.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 || set.rows_affected != 1 {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    }
    // The account exists now: the activation e-mail's link has done its job.
    activation_link::Entity::update_many()
        .col_expr(activation_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(activation_link::Column::UserId.eq(u.id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let u = user::Entity::find_by_id(u.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    let Some(role) = session::role_of(&txn, &state.settings, &u).await? else {
        return Err(AppError::invalid("new_password", SAVE_REFUSED));
    };
    let addr = client_addr();
    let token = session::create(&txn, &state.settings, u.id, addr.clone(), None).await?;
    event(&txn, id, "account", &link.email, None).await?;
    audit::Entry::new(Action::UserActivated, Target::User(u.id))
        .by(u.id)
        .after(Some(json!({"via": format!("document:{id}")}).to_string()))
        .from(addr)
        .record(&txn)
        .await?;
    txn.commit().await?;
    send_cookie(&session::set_cookie(&state.settings, &token));
    let actor = Actor {
        user_id: u.id,
        session_id_hash: String::new(),
        name: u.name,
        email: u.email,
        role,
    };
    let landing = if actor.can_use_billing() {
        format!("/billing/documents/{id}")
    } else {
        actor.landing().path().to_string()
    };
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&landing);
    }
    Ok(landing)
}
