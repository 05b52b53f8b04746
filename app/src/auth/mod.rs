//! Accounts and sessions: sign in, sign out, change password, and who is signed in.

mod recovery;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use recovery::{ForgotPasswordPage, RequestPasswordReset};

use entity::StaffRole;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{ErrorNotice, FieldError, ReturnHere};
use crate::error::AppError;

/// Where a person lands after signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Landing {
    Staff,
    Support,
    Billing,
    Account,
}

impl Landing {
    pub fn path(self) -> &'static str {
        match self {
            Landing::Staff => "/staff",
            Landing::Support => "/support",
            Landing::Billing => "/billing",
            Landing::Account => "/account",
        }
    }
}

/// What the browser may know about the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub name: String,
    pub email: String,
    pub staff_role: Option<StaffRole>,
    pub organization_name: Option<String>,
    pub customer_roles: Vec<String>,
    pub can_use_support: bool,
    pub can_use_billing: bool,
    pub landing: Landing,
    /// For a customer whose organization's subscription is closed: why.
    pub subscription_note: Option<String>,
}

/// Only same-site paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    crate::components::is_own_page(next).then(|| next.to_string())
}

pub type ViewerResource = Resource<Result<Option<Viewer>, AppError>>;

/// The signed-in person, loaded once per page and shared through context.
pub fn use_viewer() -> ViewerResource {
    expect_context::<ViewerResource>()
}

#[server(prefix = "/api", endpoint = "current_viewer")]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(crate::core::web::current_actor().map(|a| a.viewer()))
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    handlers::sign_in(email, password, next).await
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    handlers::sign_out().await
}

#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    handlers::change_password(current_password, new_password, confirm_password).await
}

#[cfg(feature = "ssr")]
mod handlers {
    use chrono::Utc;
    use entity::user;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

    use super::safe_next;
    use super::ssr::session;
    use crate::core::audit::{self, Action, Target};
    use crate::core::password::{validate_new_password, Verified};
    use crate::core::throttle::{self, account_key, address_key, ACCOUNT_POLICY, ADDRESS_POLICY};
    use crate::core::web::{client_addr, send_cookie};
    use crate::error::AppError;

    pub async fn sign_in(
        email: String,
        password: String,
        next: Option<String>,
    ) -> Result<String, AppError> {
        let state = crate::core::web::app_state()?;
        let parts = crate::core::web::request_parts()?;
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Err(AppError::invalid(
                "email",
                "Enter the e-mail address you were invited with.",
            ));
        }
        if email.len() > 320 || !email.contains('@') || email.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "email",
                "Enter a valid e-mail address, like name@example.com.",
            ));
        }
        if password.is_empty() {
            return Err(AppError::invalid("password", "Enter your password."));
        }
        if password.len() > 1024 {
            return Err(AppError::BadCredentials);
        }

        let addr = client_addr().unwrap_or_else(|| "unknown".into());
        let (acct_key, addr_key) = (account_key(&email), address_key(&addr));
        // The attempt counts as a failure from here until it proves right.
        if let Err(wait) = throttle::begin(
            &state.db,
            &[(&acct_key, ACCOUNT_POLICY), (&addr_key, ADDRESS_POLICY)],
            Utc::now(),
        )
        .await?
        {
            tracing::warn!(client = %addr, "sign-in throttled");
            return Err(AppError::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }

        let found = user::Entity::find()
            .filter(user::Column::Email.eq(email.clone()))
            .one(&state.db)
            .await?;
        let verified = state
            .auth
            .passwords
            .verify(
                &password,
                found.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await?;
        let (user, needs_rehash) = match (found, verified) {
            (Some(u), Verified::Match { needs_rehash }) => (u, needs_rehash),
            _ => {
                // Counted already, by `begin`.
                tracing::info!(client = %addr, "sign-in failed");
                return Err(AppError::BadCredentials);
            }
        };
        let Some(role) = session::role_of(&state.db, &state.settings, &user).await? else {
            // A deactivated person gets the same answer as a wrong password.
            return Err(AppError::BadCredentials);
        };
        throttle::succeeded(
            &state.db,
            &acct_key,
            (&addr_key, ADDRESS_POLICY),
            Utc::now(),
        )
        .await?;

        if needs_rehash {
            let fresh = state.auth.passwords.hash(&password).await?;
            let mut active = user.clone().into_active_model();
            active.password_hash = Set(Some(fresh.0));
            active.updated_at = Set(Utc::now());
            active.update(&state.db).await?;
        }

        // A new session id at every sign-in: whatever cookie came in is dropped.
        if let Some(old) = session::token_from_headers(&state.settings, &parts.headers) {
            session::end(&state.db, &session::hash_token(&old)).await?;
        }
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token = session::create(
            &state.db,
            &state.settings,
            user.id,
            Some(addr.clone()),
            user_agent,
        )
        .await?;
        send_cookie(&session::set_cookie(&state.settings, &token));
        audit::Entry::new(Action::UserSignIn, Target::User(user.id))
            .by(user.id)
            .from(Some(addr))
            .record(&state.db)
            .await?;

        let actor = crate::core::actor::Actor {
            user_id: user.id,
            session_id_hash: String::new(),
            name: user.name,
            email: user.email,
            role,
        };
        let landing =
            safe_next(next.as_deref()).unwrap_or_else(|| actor.landing().path().to_string());
        if crate::core::web::is_plain_form_post(&parts) {
            leptos_axum::redirect(&landing);
        }
        Ok(landing)
    }

    pub async fn sign_out() -> Result<(), AppError> {
        let state = crate::core::web::app_state()?;
        let parts = crate::core::web::request_parts()?;
        if let Some(actor) = crate::core::web::current_actor() {
            session::end(&state.db, &actor.session_id_hash).await?;
            audit::Entry::new(Action::UserSignOut, Target::User(actor.user_id))
                .by(actor.user_id)
                .from(client_addr())
                .record(&state.db)
                .await?;
            // Its open live pages close now.
            crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
        }
        send_cookie(&session::clear_cookie(&state.settings));
        if crate::core::web::is_plain_form_post(&parts) {
            leptos_axum::redirect("/sign-in");
        }
        Ok(())
    }

    pub async fn change_password(
        current_password: String,
        new_password: String,
        confirm_password: String,
    ) -> Result<(), AppError> {
        let state = crate::core::web::app_state()?;
        let parts = crate::core::web::request_parts()?;
        let actor = crate::core::web::require_actor()?;
        validate_new_password("new_password", &new_password)?;
        if new_password != confirm_password {
            return Err(AppError::invalid(
                "confirm_password",
                "The two new passwords do not match.",
            ));
        }
        if new_password == current_password {
            return Err(AppError::invalid(
                "new_password",
                "Choose a password different from the current one.",
            ));
        }
        let acct_key = account_key(&actor.email);
        // Counted before the check, like a sign-in (no parallel guessing).
        if let Err(wait) =
            throttle::begin(&state.db, &[(&acct_key, ACCOUNT_POLICY)], Utc::now()).await?
        {
            return Err(AppError::Throttled {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        let user = user::Entity::find_by_id(actor.user_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        match state
            .auth
            .passwords
            .verify(&current_password, user.password_hash.as_deref())
            .await?
        {
            Verified::Match { .. } => throttle::clear(&state.db, &acct_key).await?,
            Verified::Mismatch => {
                return Err(AppError::invalid(
                    "current_password",
                    "Your current password is not correct.",
                ));
            }
        }
        let fresh = state.auth.passwords.hash(&new_password).await?;
        let mut active = user.into_active_model();
        active.password_hash = Set(Some(fresh.0));
        active.updated_at = Set(Utc::now());
        active.update(&state.db).await?;

        // Every session of this person ends, this one included; this browser
        // gets a fresh one so the person stays signed in here.
        session::end_all_for_user(&state.db, actor.user_id).await?;
        // A reset link still on its way no longer undoes this password.
        entity::activation_link::Entity::update_many()
            .col_expr(
                entity::activation_link::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(Some(Utc::now())),
            )
            .filter(entity::activation_link::Column::UserId.eq(actor.user_id))
            .filter(entity::activation_link::Column::UsedAt.is_null())
            .filter(entity::activation_link::Column::RevokedAt.is_null())
            .exec(&state.db)
            .await?;
        crate::core::live::publish(&state, crate::core::live::Change::AccessChanged).await;
        let token = session::create(
            &state.db,
            &state.settings,
            actor.user_id,
            client_addr(),
            None,
        )
        .await?;
        send_cookie(&session::set_cookie(&state.settings, &token));
        audit::Entry::new(Action::UserPasswordChanged, Target::User(actor.user_id))
            .by(actor.user_id)
            .from(client_addr())
            .record(&state.db)
            .await?;
        if crate::core::web::is_plain_form_post(&parts) {
            leptos_axum::redirect("/account?changed=1");
        }
        Ok(())
    }
}

/// Loads a page the browser way, so every part of it (navigation included)
/// is rendered for the new session.
pub fn hard_navigate(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    // A failed plain form post comes back with its error in the address.
    let initial_error = ServerAction::<SignIn>::new()
        .value()
        .get_untracked()
        .and_then(Result::err);
    view! {
        <section class="card narrow" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in to Portico"</h1>
            <p class="muted">"Customers and staff sign in with the e-mail address Portico knows them by."</p>
            <SignInForm next=next initial_error=initial_error/>
            <p><a href="/forgot-password">"Forgot your password?"</a></p>
        </section>
    }
}

/// The sign-in form: signs in without a page reload when the browser runs
/// the island, and as a plain form post when it does not.
#[island]
fn SignInForm(next: String, initial_error: Option<AppError>) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(landing)) = action.value().get() {
            hard_navigate(&landing);
        }
    });
    let initial_error = StoredValue::new(initial_error);
    let error = move || match action.value().get() {
        Some(result) => result.err(),
        None => initial_error.get_value(),
    };
    let field = move |name: &'static str| move || error().and_then(|e| e.field_message(name));
    view! {
        <ActionForm action=action attr:novalidate="" attr:class="stack"><ReturnHere/>
            <div class="field">
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required=true
                    aria-invalid=move || field("email")().is_some().to_string()/>
                <FieldError message=Signal::derive(field("email"))/>
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required=true
                    aria-invalid=move || field("password")().is_some().to_string()/>
                <FieldError message=Signal::derive(field("password"))/>
            </div>
            <input type="hidden" name="next" value=next/>
            {move || error().filter(|e| !e.is_about_fields()).map(|e| view! { <ErrorNotice error=e/> })}
            <button type="submit" class="primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

#[component]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=action attr:class="inline"><ReturnHere/>
            <button type="submit" class="link-button">"Sign out"</button>
        </ActionForm>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let viewer = use_viewer();
    let action = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let changed = move || {
        matches!(action.value().get(), Some(Ok(())))
            || query.read().get("changed").as_deref() == Some("1")
    };
    let error = move || action.value().get().and_then(Result::err);
    let field = move |name: &'static str| move || error().and_then(|e| e.field_message(name));
    view! {
        <h1>"Your account"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(v)) => view! {
                        <dl class="facts">
                            <dt>"Name"</dt><dd>{v.name}</dd>
                            <dt>"Email"</dt><dd>{v.email}</dd>
                            <dt>"Role"</dt>
                            <dd>{v.staff_role.map(|r| r.label().to_string()).unwrap_or_else(|| v.customer_roles.join(", "))}</dd>
                            {v.organization_name.map(|o| view! { <dt>"Organization"</dt><dd>{o}</dd> })}
                        </dl>
                        {v.subscription_note.map(|n| view! { <p class="notice error" role="note">{n}</p> })}
                    }.into_any(),
                    Ok(None) => view! { <ErrorNotice error=AppError::Unauthenticated/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card" aria-labelledby="pw-title">
            <h2 id="pw-title">"Change password"</h2>
            <p class="muted">"Changing your password signs you out everywhere else."</p>
            <Show when=changed>
                <p role="status" class="notice success">"Your password was changed. Other sessions were signed out."</p>
            </Show>
            <ActionForm action=action attr:class="stack" attr:novalidate=""><ReturnHere/>
                <div class="field">
                    <label for="current_password">"Current password"</label>
                    <input id="current_password" type="password" name="current_password" autocomplete="current-password" required=true/>
                    <FieldError message=Signal::derive(field("current_password"))/>
                </div>
                <div class="field">
                    <label for="new_password">"New password"</label>
                    <input id="new_password" type="password" name="new_password" autocomplete="new-password" minlength="12" required=true aria-describedby="pw-hint"/>
                    <p id="pw-hint" class="hint">"At least 12 characters."</p>
                    <FieldError message=Signal::derive(field("new_password"))/>
                </div>
                <div class="field">
                    <label for="confirm_password">"Confirm new password"</label>
                    <input id="confirm_password" type="password" name="confirm_password" autocomplete="new-password" required=true/>
                    <FieldError message=Signal::derive(field("confirm_password"))/>
                </div>
                {move || error().filter(|e| !e.is_about_fields()).map(|e| view! { <ErrorNotice error=e/> })}
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/staff")).as_deref(), Some("/staff"));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/api/sign_out")), None);
        assert_eq!(safe_next(Some("")), None);
        assert_eq!(safe_next(None), None);
    }
}
