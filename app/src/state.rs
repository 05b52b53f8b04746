//! Server-side state shared by every request (not compiled into the browser).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::auth::ssr::AuthRuntime;

/// Settings the application logic needs; the server builds it from its
/// command line and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public URL people reach Portico at, e.g. `https://support.example.com`.
    pub base_url: String,
    /// Sign a session out after this long without a request.
    pub session_idle: Duration,
    /// Sign a session out this long after sign-in, whatever its activity.
    pub session_absolute: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Whether a mail relay is configured (otherwise mail waits in the outbox).
    pub smtp_configured: bool,
    /// How long an account-activation link stays valid.
    pub activation_ttl: Duration,
}

impl Settings {
    pub fn cookie_secure(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of the base URL, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        let s = self.base_url.as_str();
        let after_scheme = s.find("://").map(|i| i + 3).unwrap_or(0);
        match s[after_scheme..].find('/') {
            Some(i) => &s[..after_scheme + i],
            None => s,
        }
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub auth: Arc<AuthRuntime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: &str) -> Settings {
        Settings {
            base_url: base.into(),
            session_idle: Duration::from_secs(60),
            session_absolute: Duration::from_secs(600),
            trust_forwarded_for: false,
            smtp_configured: false,
            activation_ttl: Duration::from_secs(7 * 86400),
        }
    }

    #[test]
    fn origin_strips_path_and_keeps_port() {
        assert_eq!(
            settings("http://127.0.0.1:3000").origin(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            settings("https://a.example/portal/").origin(),
            "https://a.example"
        );
        assert!(settings("https://a.example").cookie_secure());
        assert!(!settings("http://a.example").cookie_secure());
    }
}
