//! The one error type every server function returns.
//!
//! Messages are written for the person in front of the page: they say what
//! happened and what to do. Internal causes are logged where they are turned
//! into an [`AppError`], never sent to the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "WireError", from = "WireError")]
pub enum AppError {
    /// Input that cannot be accepted; `field` names the form field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Several fields need fixing at once (a whole form was checked).
    #[error("Please correct the {} highlighted field(s) and submit again.", problems.len())]
    Form { problems: Vec<FieldProblem> },
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("The e-mail address or password is not correct.")]
    BadCredentials,
    #[error("Too many sign-in attempts. Please wait {retry_after_secs} seconds and try again.")]
    Throttled { retry_after_secs: u64 },
    #[error("You do not have access to this page.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// Transport or encoding failure between browser and server.
    #[error("The server could not be reached or answered unexpectedly ({0}). Please try again.")]
    Transport(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// The message for one form field, if this error is about that field.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid {
                field: Some(f),
                message,
            } if f == name => Some(message.clone()),
            AppError::Form { problems } => problems
                .iter()
                .find(|p| p.field == name)
                .map(|p| p.message.clone()),
            _ => None,
        }
    }

    /// Whether the message belongs under fields rather than above the form.
    pub fn is_about_fields(&self) -> bool {
        matches!(self, AppError::Invalid { field: Some(_), .. })
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } | AppError::Form { .. } => 400,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Throttled { .. } => 429,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

/// How an [`AppError`] travels: the kind, plus the message a person reads, so
/// API clients and the no-JavaScript form path see words, not variant names.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireError {
    kind: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    problems: Vec<FieldProblem>,
}

impl From<AppError> for WireError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        let mut problems = Vec::new();
        let (kind, field, retry_after_secs) = match e {
            AppError::Invalid { field, .. } => ("invalid", field, None),
            AppError::Form { problems: p } => {
                problems = p;
                ("form", None, None)
            }
            AppError::Unauthenticated => ("unauthenticated", None, None),
            AppError::BadCredentials => ("bad_credentials", None, None),
            AppError::Throttled { retry_after_secs } => ("throttled", None, Some(retry_after_secs)),
            AppError::Forbidden => ("forbidden", None, None),
            AppError::NotFound => ("not_found", None, None),
            AppError::Internal => ("internal", None, None),
            AppError::Transport(_) => ("transport", None, None),
        };
        WireError {
            kind: kind.to_string(),
            message,
            field,
            retry_after_secs,
            problems,
        }
    }
}

impl From<WireError> for AppError {
    fn from(w: WireError) -> Self {
        match w.kind.as_str() {
            "invalid" => AppError::Invalid {
                field: w.field,
                message: w.message,
            },
            "form" => AppError::Form {
                problems: w.problems,
            },
            "unauthenticated" => AppError::Unauthenticated,
            "bad_credentials" => AppError::BadCredentials,
            "throttled" => AppError::Throttled {
                retry_after_secs: w.retry_after_secs.unwrap_or(1),
            },
            "forbidden" => AppError::Forbidden,
            "not_found" => AppError::NotFound,
            "internal" => AppError::Internal,
            _ => AppError::Transport(w.message),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments that do not decode are the caller's mistake, not ours.
            ServerFnErrorErr::Args(msg) => AppError::Invalid {
                field: None,
                message: format!("The form was incomplete or malformed: {msg}"),
            },
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        // A unique rule of the schema (one e-mail per account, one Main
        // Contact…) lost a race with a change made at the same moment.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            tracing::info!(%detail, "unique constraint refused a change");
            return AppError::Invalid {
                field: None,
                message: "Someone changed this at the same moment (the address or role is now taken). Reload the page and try again.".into(),
            };
        }
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_with_their_message_and_come_back_whole() {
        for e in [
            AppError::invalid("email", "Enter an e-mail address."),
            AppError::BadCredentials,
            AppError::Throttled {
                retry_after_secs: 7,
            },
            AppError::Forbidden,
            AppError::Internal,
            AppError::Form {
                problems: vec![FieldProblem {
                    field: "main_email".into(),
                    message: "Enter an e-mail address.".into(),
                }],
            },
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert!(json.contains(&e.to_string()), "{json}");
            let back: AppError = serde_json::from_str(&json).unwrap();
            assert_eq!(back, e);
        }
    }
}
