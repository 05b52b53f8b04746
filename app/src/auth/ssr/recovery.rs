//! Account recovery: "Forgot your password?" on the sign-in page, and the
//! reset links staff send. Server-only.
//!
//! A reset link goes only to the address on file — never to an address
//! taken from the request (GitLab's CVE-2023-7028 mailed reset links to an
//! attacker's second address) — works once, for [`RESET_MINUTES`], and
//! setting the new password ends every session of the account. The answer
//! is the same whether or not the address has an account; requests are
//! throttled per client address, and an account gets at most
//! [`RESETS_PER_HOUR`] links an hour however often it is asked.

use std::time::Instant;

use chrono::{Duration, Utc};
use entity::{activation_link, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{links, session};
use crate::core::audit::{self, Action, Target};
use crate::core::state::AppState;
use crate::core::throttle::{address_key, Policy};
use crate::core::web::{app_state, client_addr, is_plain_form_post, request_parts};
use crate::error::AppError;
use crate::mail::ssr::{enqueue, Mail};

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;
/// The most links one account is sent in an hour.
pub const RESETS_PER_HOUR: u64 = 3;
/// Reset requests from one client address before it has to wait.
const REQUESTS: Policy = Policy {
    free_failures: 10,
    max_wait: std::time::Duration::from_secs(15 * 60),
};

/// What every request is answered, whether or not the address has an account.
pub const SENT: &str = super::super::recovery::SENT;

/// `POST /api/request_password_reset`.
pub async fn request(email: String) -> Result<String, AppError> {
    let state = app_state()?;
    let parts = request_parts()?;
    let email = crate::validate::email(&email).map_err(|m| AppError::invalid("email", m))?;
    let addr = client_addr().unwrap_or_else(|| "unknown".into());
    let key = format!("reset:{}", address_key(&addr));
    if let Err(wait) = state
        .auth
        .throttle
        .begin(&[(&key, REQUESTS)], Instant::now())
    {
        return Err(AppError::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await?;
    if let Some(u) = found {
        // Only an account that can sign in gets a link; the answer is the same.
        if session::role_of(&state.db, &state.settings, &u)
            .await?
            .is_some()
        {
            let txn = crate::core::db::begin_write(&state.db).await?;
            if send(&txn, &state, &u).await? {
                audit::Entry::new(Action::PasswordResetRequested, Target::User(u.id))
                    .from(Some(addr))
                    .record(&txn)
                    .await?;
            }
            txn.commit().await?;
        }
    }
    if is_plain_form_post(&parts) {
        leptos_axum::redirect("/forgot-password?done=sent");
    }
    Ok(SENT.to_string())
}

/// Mails account `u` a reset link, to the address on file; `false` (and
/// nothing sent) when it had [`RESETS_PER_HOUR`] already.
pub async fn send<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    u: &user::Model,
) -> Result<bool, AppError> {
    let hour_ago = Utc::now() - Duration::hours(1);
    let recent = activation_link::Entity::find()
        .filter(activation_link::Column::UserId.eq(u.id))
        .filter(activation_link::Column::CreatedAt.gt(hour_ago))
        .count(db)
        .await?;
    if recent >= RESETS_PER_HOUR {
        tracing::info!(
            user = u.id,
            "password reset not sent: enough links this hour"
        );
        return Ok(false);
    }
    let token = links::issue(db, u.id, Duration::minutes(RESET_MINUTES)).await?;
    let url = format!("{}/activate?token={token}&reset=1", state.settings.base_url);
    enqueue(
        db,
        Mail {
            kind: "password_reset",
            organization_id: None,
            to_addr: u.email.clone(),
            to_name: u.name.clone(),
            subject: "Choose a new Portico password".into(),
            body: format!(
                "Hello {},\n\nSomeone — you, we hope — asked to reset the password of your Portico account. To choose a new one, open this link within {RESET_MINUTES} minutes (it works once):\n{url}\n\nSetting it signs you out everywhere else. If you did not ask, ignore this message: your password stays as it is.\n\n— Portico\n",
                u.name
            ),
            thread: None,
        },
    )
    .await?;
    Ok(true)
}
