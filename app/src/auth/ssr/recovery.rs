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

use chrono::{Duration, Utc};
use entity::{activation_link, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

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
    if let Err(wait) =
        crate::core::throttle::begin(&state.db, &[(&key, REQUESTS)], chrono::Utc::now()).await?
    {
        return Err(AppError::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    // Answer at once and do the rest apart: whether an account exists must
    // not show in the answer, its timing, or an error.
    // At most a few at once: requests from many addresses cannot pile up
    // unbounded work (a dropped one is logged; its answer is the same).
    match state.auth.resets.clone().try_acquire_owned() {
        Ok(permit) => {
            let state = state.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = send_if_any(&state, &email, addr).await {
                    tracing::warn!(error = %e, "password reset request");
                }
            });
        }
        Err(_) => {
            tracing::warn!(client = %addr, "password reset request dropped: too many at once")
        }
    }
    if is_plain_form_post(&parts) {
        leptos_axum::redirect("/forgot-password?done=sent");
    }
    Ok(SENT.to_string())
}

/// Sends the account with address `email` a reset link, if it can sign in
/// and has a password (an account still waiting for its first password
/// keeps its invitation, which staff can re-send).
async fn send_if_any(state: &AppState, email: &str, addr: String) -> Result<(), AppError> {
    let Some(u) = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await?
        .filter(|u| u.password_hash.is_some())
    else {
        return Ok(());
    };
    if session::role_of(&state.db, &state.settings, &u)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let txn = crate::core::db::begin_write(&state.db).await?;
    if send(&txn, state, &u).await? {
        audit::Entry::new(Action::PasswordResetRequested, Target::User(u.id))
            .from(Some(addr))
            .record(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What a link mailed to an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a new password ("Forgot your password?", or staff).
    Reset,
    /// Set the first password of an account someone asked to create from a
    /// document link: whoever holds a forwarded link may ask, but only the
    /// address the document was sent to gets the link.
    FirstPassword,
}

/// Mails account `u` a reset link, to the address on file; `false` (and
/// nothing sent) when it had [`RESETS_PER_HOUR`] links already.
pub async fn send<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    u: &user::Model,
) -> Result<bool, AppError> {
    send_link(db, state, u, Purpose::Reset).await
}

/// Mails account `u` a one-time link for `purpose`, to the address on file;
/// `false` (and nothing sent) when it had [`RESETS_PER_HOUR`] links already.
pub async fn send_link<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    u: &user::Model,
    purpose: Purpose,
) -> Result<bool, AppError> {
    // Count and add under the account's row lock (PostgreSQL; SQLite's
    // write transaction already serialises): parallel requests cannot all
    // find room under the quota.
    user::Entity::find_by_id(u.id)
        .lock_exclusive()
        .one(db)
        .await?;
    let hour_ago = Utc::now() - Duration::hours(1);
    let recent = activation_link::Entity::find()
        .filter(activation_link::Column::UserId.eq(u.id))
        .filter(activation_link::Column::CreatedAt.gt(hour_ago))
        .count(db)
        .await?;
    if recent >= RESETS_PER_HOUR {
        tracing::info!(user = u.id, "link not sent: enough links this hour");
        return Ok(false);
    }
    let base = &state.settings.base_url;
    let (kind, subject, body) = match purpose {
        Purpose::Reset => {
            let token = links::issue(db, u.id, Duration::minutes(RESET_MINUTES)).await?;
            (
                "password_reset",
                "Choose a new Portico password",
                format!(
                    "Someone — you, we hope — asked to reset the password of your Portico account. To choose a new one, open this link within {RESET_MINUTES} minutes (it works once):\n{base}/activate?token={token}&reset=1\n\nSetting it signs you out everywhere else. If you did not ask, ignore this message: your password stays as it is."
                ),
            )
        }
        Purpose::FirstPassword => {
            let ttl =
                Duration::from_std(state.settings.activation_ttl).unwrap_or(Duration::days(7));
            let token = links::issue(db, u.id, ttl).await?;
            (
                "activation",
                "Create your Portico account",
                format!(
                    "Someone opened a document Portico sent to this address and asked to save it to an account. To create the account, set your password with this link (it works once, for {} days):\n{base}/activate?token={token}\n\nIf it was not you (a colleague you forwarded the e-mail to, say), nothing happens unless you use the link.",
                    ttl.num_days().max(1)
                ),
            )
        }
    };
    enqueue(
        db,
        Mail {
            kind,
            organization_id: None,
            to_addr: u.email.clone(),
            to_name: u.name.clone(),
            subject: subject.into(),
            body: format!("Hello {},\n\n{body}\n\n— Portico\n", u.name),
            thread: None,
        },
    )
    .await?;
    Ok(true)
}
