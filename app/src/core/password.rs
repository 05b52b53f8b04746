//! Password hashing: argon2id with the OWASP parameters (m=19456 KiB, t=2, p=1),
//! run off the async threads and bounded so a burst of sign-ins cannot starve
//! the server of memory or CPU.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A stored PHC string. Deliberately neither `Serialize` nor `Display`.
#[derive(Clone)]
pub struct PasswordHashString(pub String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString(..)")
    }
}

pub enum Verified {
    Match { needs_rehash: bool },
    Mismatch,
}

pub struct Passwords {
    permits: Semaphore,
    /// Verified against when the account does not exist or has no password,
    /// so that "no such user" costs the same time as "wrong password".
    dummy: String,
}

fn hasher() -> Argon2<'static> {
    // argon2id, v19, m=19456, t=2, p=1.
    Argon2::default()
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

fn needs_rehash(parsed: &PasswordHash<'_>) -> bool {
    let want = argon2::Params::default();
    let Ok(have) = argon2::Params::try_from(parsed) else {
        return true;
    };
    parsed.algorithm != argon2::Algorithm::Argon2id.ident()
        || have.m_cost() != want.m_cost()
        || have.t_cost() != want.t_cost()
        || have.p_cost() != want.p_cost()
}

fn verify_blocking(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::Mismatch;
    };
    // `verify_password` reads the parameters from the PHC string and compares in constant time.
    match hasher().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Verified::Match {
            needs_rehash: needs_rehash(&parsed),
        },
        Err(_) => Verified::Mismatch,
    }
}

impl Passwords {
    pub fn new(max_concurrent: usize) -> Self {
        let dummy = hash_blocking("portico-dummy-password-for-timing")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$invalid"));
        Passwords {
            permits: Semaphore::new(max_concurrent.max(1)),
            dummy,
        }
    }

    pub async fn hash(&self, password: &str) -> Result<PasswordHashString, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|_| AppError::Internal)?
            .map(PasswordHashString)
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is none, so the answer takes the same time either way.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verified, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal)?;
        let password = password.to_owned();
        let (target, real) = match stored {
            Some(s) => (s.to_owned(), true),
            None => (self.dummy.clone(), false),
        };
        let outcome = tokio::task::spawn_blocking(move || verify_blocking(&password, &target))
            .await
            .map_err(|_| AppError::Internal)?;
        Ok(if real { outcome } else { Verified::Mismatch })
    }
}

/// Checks a new password against the policy; the message says what to fix.
pub fn validate_new_password(field: &str, password: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            field,
            format!("Use at least {MIN_PASSWORD_CHARS} characters (a few words work well)."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            field,
            format!("Use at most {MAX_PASSWORD_CHARS} characters."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(matches!(
            verify_blocking("correct horse battery", &h),
            Verified::Match {
                needs_rehash: false
            }
        ));
        assert!(matches!(verify_blocking("wrong", &h), Verified::Mismatch));
    }

    #[test]
    fn weaker_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let h = weak
            .hash_password(b"pw-long-enough", &salt)
            .unwrap()
            .to_string();
        assert!(matches!(
            verify_blocking("pw-long-enough", &h),
            Verified::Match { needs_rehash: true }
        ));
    }

    #[test]
    fn garbage_stored_hash_is_a_mismatch_not_a_panic() {
        assert!(matches!(
            verify_blocking("x", "not-a-phc-string"),
            Verified::Mismatch
        ));
    }

    #[test]
    fn policy_rejects_short_passwords_with_a_reason() {
        let err = validate_new_password("new_password", "short").unwrap_err();
        assert!(err.field_message("new_password").unwrap().contains("12"));
        assert!(validate_new_password("p", "twelve chars").is_ok());
    }
}
