//! Account activation: setting a password from an e-mailed link.

use super::*;

pub(super) const LINK_UNUSABLE: &str = "This link cannot be used any more: it expired, was replaced by a newer one, or was used already. Ask for a new one with “Forgot your password?” on the sign-in page, or ask your Portico contact.";

pub async fn activate_account(
    token: String,
    new_password: String,
    confirm_password: String,
) -> Result<String, AppError> {
    let state = app_state()?;
    let parts = request_parts()?;
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    }
    validate_new_password("new_password", &new_password)?;
    if new_password != confirm_password {
        return Err(AppError::invalid(
            "confirm_password",
            "The two passwords do not match.",
        ));
    }
    let now = Utc::now();
    let link = activation_link::Entity::find()
        .filter(activation_link::Column::TokenHash.eq(session::hash_token(token)))
        .one(&state.db)
        .await?
        .filter(|l| l.used_at.is_none() && l.revoked_at.is_none() && l.expires_at > now)
        .ok_or_else(|| AppError::invalid("token", LINK_UNUSABLE))?;
    let u = user::Entity::find_by_id(link.user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let hash = state.auth.passwords.hash(&new_password).await?;

    let txn = crate::core::db::begin_write(&state.db).await?;
    // Single use, even under a race: only one request can flip `used_at`.
    let claimed = activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::UsedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(activation_link::Column::Id.eq(link.id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .filter(activation_link::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    }
    let mut a = u.clone().into_active_model();
    a.password_hash = Set(Some(hash.0));
    a.updated_at = Set(now);
    let u = a.update(&txn).await?;
    let Some(role) = session::role_of(&txn, &state.settings, &u).await? else {
        return Err(AppError::invalid("token", LINK_UNUSABLE));
    };
    session::end_all_for_user(&txn, u.id).await?;
    let addr = client_addr();
    let token = session::create(&txn, &state.settings, u.id, addr.clone(), None).await?;
    audit::Entry::new(Action::UserActivated, Target::User(u.id))
        .by(u.id)
        .from(addr)
        .record(&txn)
        .await?;
    txn.commit().await?;
    // Its earlier sessions ended: pages they hold open close now.
    crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;

    send_cookie(&session::set_cookie(&state.settings, &token));
    let actor = Actor {
        user_id: u.id,
        session_id_hash: String::new(),
        name: u.name,
        email: u.email,
        role,
    };
    let landing = actor.landing().path().to_string();
    if crate::core::web::is_plain_form_post(&parts) {
        leptos_axum::redirect(&landing);
    }
    Ok(landing)
}
