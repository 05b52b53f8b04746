//! The request as the server functions see it: the state, the actor and
//! the client address the middleware put in the Leptos context, cookies and
//! where a plain form post goes back to.

use http::request::Parts;
use leptos::prelude::*;

use super::actor::Actor;
use super::state::AppState;
use crate::error::AppError;

/// The client address of this request, as the server recorded it.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

pub fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or(AppError::Internal)
}

pub fn current_actor() -> Option<Actor> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<Actor>().cloned())
}

pub fn require_actor() -> Result<Actor, AppError> {
    current_actor().ok_or(AppError::Unauthenticated)
}

/// The signed-in staff member, when their role has `cap` (see `core::authz`).
pub fn require_staff(cap: super::authz::Capability) -> Result<Actor, AppError> {
    let actor = require_actor()?;
    super::authz::require(&actor, cap)?;
    Ok(actor)
}

/// The request's [`Ctx`](super::ctx::Ctx): state, signed-in actor, client address.
pub fn ctx() -> Result<super::ctx::Ctx, AppError> {
    Ok(super::ctx::Ctx {
        actor: require_actor()?,
        state: app_state()?,
        client_addr: client_addr(),
    })
}

/// The client address the server recorded for this request.
pub fn client_addr() -> Option<String> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<ClientAddr>().map(|a| a.0.clone()))
}

/// Adds a `Set-Cookie` header to this response.
pub fn send_cookie(value: &str) {
    if let (Some(opts), Ok(v)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        opts.append_header(http::header::SET_COOKIE, v);
    }
}

/// After a plain form post, sends the browser back to the page the form
/// named (the server's form-return layer puts it where `Referer` was), with
/// `query` describing the outcome.
pub fn redirect_back_with(query: &str) {
    let Some(parts) = use_context::<Parts>() else {
        return;
    };
    if !is_plain_form_post(&parts) {
        return;
    }
    let path = parts
        .headers
        .get(http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .map(|p| p.split(['?', '#']).next().unwrap_or("/"))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/");
    leptos_axum::redirect(&format!("{path}?{query}"));
}

/// True when the request is a plain HTML form post (JavaScript off).
pub fn is_plain_form_post(parts: &Parts) -> bool {
    is_plain_form_post_headers(&parts.headers)
}

/// [`is_plain_form_post`] from the headers alone.
pub fn is_plain_form_post_headers(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}
