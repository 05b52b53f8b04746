//! Who is acting, and how they proved it. Server-only.

pub mod password;
pub mod session;
pub mod throttle;

use std::sync::Arc;

use entity::StaffRole;
use http::request::Parts;
use leptos::prelude::*;

use super::{Landing, Viewer};
use crate::error::AppError;
use crate::state::AppState;

/// Process-wide authentication machinery.
pub struct AuthRuntime {
    pub passwords: password::Passwords,
    pub throttle: throttle::Throttle,
}

impl AuthRuntime {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        AuthRuntime {
            passwords: password::Passwords::new(cores),
            throttle: throttle::Throttle::default(),
        }
    }
}

impl Default for AuthRuntime {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRoles {
    pub organization_id: i32,
    pub organization_name: String,
    pub contact_id: i32,
    pub main: bool,
    pub technical: bool,
    pub administrative: bool,
    pub sole_contact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRole {
    Staff(StaffRole),
    Customer(CustomerRoles),
}

/// The signed-in person a request acts for. Resolved from the session cookie
/// by the server's middleware; never built from anything the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i32,
    pub session_id_hash: String,
    pub name: String,
    pub email: String,
    pub role: ActorRole,
}

impl Actor {
    pub fn staff_role(&self) -> Option<StaffRole> {
        match &self.role {
            ActorRole::Staff(r) => Some(*r),
            ActorRole::Customer(_) => None,
        }
    }

    pub fn customer(&self) -> Option<&CustomerRoles> {
        match &self.role {
            ActorRole::Customer(c) => Some(c),
            ActorRole::Staff(_) => None,
        }
    }

    /// Support Portal: Technical Contacts, and a Main Contact who is the sole contact.
    pub fn can_use_support(&self) -> bool {
        self.customer()
            .is_some_and(|c| c.technical || (c.main && c.sole_contact))
    }

    /// Billing Portal: the Main Contact and the Administrative Contact.
    pub fn can_use_billing(&self) -> bool {
        self.customer().is_some_and(|c| c.main || c.administrative)
    }

    pub fn landing(&self) -> Landing {
        if self.staff_role().is_some() {
            Landing::Staff
        } else if self.can_use_support() {
            Landing::Support
        } else if self.can_use_billing() {
            Landing::Billing
        } else {
            Landing::Account
        }
    }

    pub fn viewer(&self) -> Viewer {
        Viewer {
            name: self.name.clone(),
            email: self.email.clone(),
            staff_role: self.staff_role(),
            organization_name: self.customer().map(|c| c.organization_name.clone()),
            customer_roles: self.customer().map(role_labels).unwrap_or_default(),
            can_use_support: self.can_use_support(),
            can_use_billing: self.can_use_billing(),
            landing: self.landing(),
        }
    }
}

fn role_labels(c: &CustomerRoles) -> Vec<String> {
    let mut roles = Vec::new();
    if c.main {
        roles.push(
            if c.sole_contact {
                "Main Contact (sole contact)"
            } else {
                "Main Contact"
            }
            .to_string(),
        );
    }
    if c.administrative {
        roles.push("Administrative Contact".to_string());
    }
    if c.technical {
        roles.push("Technical Contact".to_string());
    }
    roles
}

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
pub fn require_staff(cap: crate::core::authz::Capability) -> Result<Actor, AppError> {
    let actor = require_actor()?;
    crate::core::authz::require(&actor, cap)?;
    Ok(actor)
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

/// After a plain form post, sends the browser back to the page it came from
/// (our own origin only), with `query` describing the outcome.
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
    parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub type SharedAuth = Arc<AuthRuntime>;
