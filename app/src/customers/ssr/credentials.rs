//! The links and addresses a contact signs in with: what a new sign-in
//! address undoes, re-sent invitations, and password reset links sent by staff.

use super::*;

/// What a new sign-in address for contact `c` (account `uid`) undoes: the
/// links mailed to the old address stop working (a mistyped address must not
/// activate the account under the new one), every session ends (the person
/// signs in again with the new address; the one making the change stays
/// signed in if it is their own), the old address is told, and an account
/// still waiting for its password gets a fresh link at the new address.
pub(super) async fn moved_address(
    txn: &DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    c: &contact::Model,
    uid: i32,
    new_email: &str,
) -> Result<(), AppError> {
    let now = Utc::now();
    activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(activation_link::Column::UserId.eq(uid))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    use entity::session as stored;
    let mut ending = stored::Entity::delete_many().filter(stored::Column::UserId.eq(uid));
    if actor.user_id == uid {
        ending = ending.filter(stored::Column::IdHash.ne(actor.session_id_hash.clone()));
    }
    ending.exec(txn).await?;
    let pending = user::Entity::find_by_id(uid)
        .one(txn)
        .await?
        .is_some_and(|u| u.password_hash.is_none());
    // An address never confirmed (no password set yet, maybe mistyped) is
    // not told where the account went.
    if !pending {
        enqueue(
        txn,
        notice(
            c,
            "address_changed",
            "Your Portico sign-in address was changed".into(),
            format!(
                "{} changed the address you sign in to Portico with from {} to {new_email}. Mail about your account now goes there, and its sessions elsewhere were signed out.\n\nIf you did not expect this, reply to your Portico contact at once.",
                actor.name, c.email
            ),
        ),
    )
    .await?;
    }
    if pending {
        audit::Entry::new(Action::ContactActivationResent, Target::Contact(c.id))
            .by(actor.user_id)
            .org(c.organization_id)
            .from(client_addr())
            .record(txn)
            .await?;
        let token = issue_activation(txn, state, uid).await?;
        let mut moved = c.clone();
        moved.email = new_email.to_owned();
        enqueue(
            txn,
            notice(
                &moved,
                "activation",
                "Activate your Portico account".into(),
                format!(
                    "Your Portico account now uses this address. Set your password to activate it (the link works once, for {} days; links sent to the old address no longer work):\n{}",
                    ttl_days(state),
                    activation_url(state, &token)
                ),
            ),
        )
        .await?;
    }
    Ok(())
}

/// The contact staff with `cap` act on (one they may change), and its account.
async fn staff_target(
    cap: Capability,
    contact_id: i32,
) -> Result<(AppState, Actor, contact::Model, Option<user::Model>), AppError> {
    let actor = require_staff(cap)?;
    let state = app_state()?;
    let (c, _) = contact_in_scope(&state, &actor, contact_id).await?;
    staff_may_change(&actor, &c)?;
    let u = match c.user_id {
        Some(id) => user::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    Ok((state, actor, c, u))
}

pub async fn resend_activation(contact_id: i32) -> Result<(), AppError> {
    let (state, actor, c, u) = staff_target(Capability::ResendActivation, contact_id).await?;
    let u = u.ok_or_else(|| {
        AppError::invalid(
            "contact_id",
            format!("{} has no account to activate.", c.name),
        )
    })?;
    if u.password_hash.is_some() {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} has already set a password; they can sign in.", c.name),
        ));
    }
    if !c.active {
        return Err(AppError::invalid(
            "contact_id",
            format!("{} is deactivated.", c.name),
        ));
    }
    let org = org_by_id(&state.db, c.organization_id).await?;
    let txn = crate::core::db::begin_write(&state.db).await?;
    let token = issue_activation(&txn, &state, u.id).await?;
    let mail = if c.is_technical
        || (c.is_main && sole_contact(&state.db, c.organization_id).await?)
    {
        support_welcome(&state, &c, &org.name, &token)
    } else {
        notice(
            &c,
            "activation",
            format!("Activate your Portico account ({})", org.name),
            format!("Here is a new link to set your password (it works once, for {} days; earlier links no longer work):\n{}", ttl_days(&state), activation_url(&state, &token)),
        )
    };
    enqueue(&txn, mail).await?;
    audit::Entry::new(Action::ContactActivationResent, Target::Contact(c.id))
        .by(actor.user_id)
        .org(c.organization_id)
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// A refusal shown above the contacts (the button has no field of its own).
fn refusal(message: String) -> AppError {
    AppError::Invalid {
        field: None,
        message,
    }
}

/// Staff send a contact who has a password a reset link, to the address on
/// file (the contact asked by phone, say). At most a few an hour, like the
/// links people ask for themselves.
pub async fn send_password_reset(contact_id: i32) -> Result<(), AppError> {
    let (state, actor, c, u) = staff_target(Capability::PasswordReset, contact_id).await?;
    let u = u.filter(|u| u.password_hash.is_some()).ok_or_else(|| {
        refusal(format!(
            "{} has not set a password yet: re-send the invitation instead.",
            c.name
        ))
    })?;
    if !c.active {
        return Err(refusal(format!("{} is deactivated.", c.name)));
    }
    let txn = crate::core::db::begin_write(&state.db).await?;
    if !crate::auth::ssr::recovery::send(&txn, &state, &u).await? {
        return Err(refusal(
            format!(
                "{} was sent {} links in the last hour already (invitations count too); the newest one works.",
                c.name,
                crate::auth::ssr::recovery::RESETS_PER_HOUR
            ),
        ));
    }
    audit::Entry::new(Action::PasswordResetSent, Target::User(u.id))
        .by(actor.user_id)
        .org(c.organization_id)
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    crate::core::web::redirect_back_with("done=reset");
    Ok(())
}
