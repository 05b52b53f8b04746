//! Database-backed sessions. The browser holds a random 256-bit token; the
//! database holds only its SHA-256, so a leaked table signs nobody in.

use base64::Engine as _;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use entity::{contact, organization, session, user};
use http::HeaderMap;
use rand::RngCore as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};

use crate::core::actor::{Actor, ActorRole, CustomerRoles};
use crate::core::entitlements;
use crate::core::state::Settings;
use crate::error::AppError;

pub const COOKIE_NAME: &str = "portico_session";
/// Over https the cookie carries the `__Host-` prefix: browsers then keep it
/// only if it is `Secure`, for this host alone (no `Domain`) and `Path=/`, so
/// neither a sibling subdomain nor a plain-http response can plant one.
pub const SECURE_COOKIE_NAME: &str = "__Host-portico_session";

/// The session cookie's name under `settings`.
pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.cookie_secure() {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}
/// Refresh `last_seen_at` at most this often, so reads stay reads.
const TOUCH_EVERY_SECS: i64 = 60;

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session token from the request's `Cookie` headers, if any.
/// Over https only the `__Host-` cookie counts.
pub fn token_from_headers(settings: &Settings, headers: &HeaderMap) -> Option<String> {
    cookie_from_headers(headers, cookie_name(settings))
}

/// The value of cookie `name` (a token: non-empty, at most 128 characters).
pub fn cookie_from_headers(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub fn set_cookie(settings: &Settings, token: &str) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(settings),
        settings.session_absolute.as_secs(),
        if settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    )
}

pub fn clear_cookie(settings: &Settings) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(settings),
        if settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    )
}

fn chrono(d: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(d).unwrap_or(ChronoDuration::MAX)
}

/// Starts a new session for `user_id` and returns its token (for the cookie).
pub async fn create<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    user_id: i32,
    client_addr: Option<String>,
    user_agent: Option<String>,
) -> Result<String, AppError> {
    let token = new_token();
    let now = Utc::now();
    session::ActiveModel {
        id_hash: Set(hash_token(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + chrono(settings.session_absolute)),
        client_addr: Set(client_addr),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(500).collect())),
    }
    .insert(db)
    .await?;
    Ok(token)
}

pub async fn end<C: ConnectionTrait>(db: &C, id_hash: &str) -> Result<(), AppError> {
    session::Entity::delete_by_id(id_hash.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn end_all_for_user<C: ConnectionTrait>(db: &C, user_id: i32) -> Result<(), AppError> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

fn is_live(s: &session::Model, settings: &Settings, now: DateTime<Utc>) -> bool {
    s.expires_at > now && s.last_seen_at + chrono(settings.session_idle) > now
}

/// Looks a token up and returns who is acting, or `None` when the session is
/// unknown, expired, idle too long, or its person was deactivated.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    token: &str,
) -> Result<Option<Actor>, AppError> {
    resolve_with(db, settings, token, true).await
}

/// Like [`resolve`], without counting as activity: an open live page must
/// not keep an idle session alive.
pub async fn resolve_quietly<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    token: &str,
) -> Result<Option<Actor>, AppError> {
    resolve_with(db, settings, token, false).await
}

async fn resolve_with<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    token: &str,
    touch: bool,
) -> Result<Option<Actor>, AppError> {
    let id_hash = hash_token(token);
    let Some((sess, Some(user))) = session::Entity::find_by_id(id_hash.clone())
        .find_also_related(user::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if !is_live(&sess, settings, now) {
        end(db, &id_hash).await?;
        return Ok(None);
    }
    let Some(role) = role_of(db, settings, &user).await? else {
        return Ok(None);
    };
    if touch && (now - sess.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        session::Entity::update_many()
            .col_expr(
                session::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(session::Column::IdHash.eq(id_hash.clone()))
            .exec(db)
            .await?;
    }
    Ok(Some(Actor {
        user_id: user.id,
        session_id_hash: id_hash,
        name: user.name,
        email: user.email,
        role,
    }))
}

/// What an active user may act as; `None` for inactive users and for
/// customer accounts whose contact is gone or inactive.
pub async fn role_of<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    user: &user::Model,
) -> Result<Option<ActorRole>, AppError> {
    if !user.active {
        return Ok(None);
    }
    if let Some(role) = user.staff_role {
        return Ok(Some(ActorRole::Staff(role)));
    }
    let Some((contact, Some(org))) = contact::Entity::find()
        .filter(contact::Column::UserId.eq(user.id))
        .filter(contact::Column::Active.eq(true))
        .find_also_related(organization::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    // A Main Contact who is the organization's only contact is its sole
    // contact for all purposes, the Support Portal included.
    let sole_contact = contact.is_main
        && contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(org.id))
            .filter(contact::Column::Active.eq(true))
            .count(db)
            .await?
            == 1;
    Ok(Some(ActorRole::Customer(CustomerRoles {
        organization_id: org.id,
        organization_name: org.name,
        contact_id: contact.id,
        main: contact.is_main,
        technical: contact.is_technical,
        administrative: contact.is_administrative,
        sole_contact,
        entitlements: entitlements::current(db, settings, org.id).await?,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::for_tests("https://portico.example")
    }

    #[test]
    fn tokens_are_256_bit_and_unique_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&a)
                .unwrap()
                .len(),
            32
        );
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie(&settings(), "tok");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(c.contains("Max-Age=3600"));
        assert!(clear_cookie(&settings()).contains("Max-Age=0"));
    }

    #[test]
    fn token_is_found_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            "a=1; portico_session=abc; b=2".parse().unwrap(),
        );
        let mut plain = settings();
        let mut https = settings();
        https.base_url = "https://portico.example".into();
        plain.base_url = "http://portico.example".into();
        assert_eq!(token_from_headers(&plain, &h).as_deref(), Some("abc"));
        // Over https a cookie without the prefix (planted by a sibling
        // subdomain or a plain-http response) is not a session.
        assert_eq!(token_from_headers(&https, &h), None);
        h.insert(
            http::header::COOKIE,
            "portico_session=x; __Host-portico_session=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(token_from_headers(&https, &h).as_deref(), Some("abc"));
        let set = set_cookie(&https, "abc");
        assert!(
            set.starts_with("__Host-portico_session=abc; Path=/;") && set.ends_with("; Secure"),
            "{set}"
        );
        assert!(!set.contains("Domain"));
        assert!(clear_cookie(&https).starts_with("__Host-portico_session=;"));
        assert!(set_cookie(&plain, "abc").starts_with("portico_session=abc;"));
        h.insert(http::header::COOKIE, "portico_session=".parse().unwrap());
        assert_eq!(token_from_headers(&plain, &h), None);
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let s = settings();
        let now = Utc::now();
        let mk = |created: DateTime<Utc>, seen: DateTime<Utc>| session::Model {
            id_hash: "h".into(),
            user_id: 1,
            created_at: created,
            last_seen_at: seen,
            expires_at: created + ChronoDuration::seconds(3600),
            client_addr: None,
            user_agent: None,
        };
        assert!(is_live(&mk(now, now), &s, now));
        assert!(!is_live(
            &mk(now, now - ChronoDuration::seconds(61)),
            &s,
            now
        ));
        let old = now - ChronoDuration::seconds(3601);
        assert!(!is_live(&mk(old, now), &s, now));
    }
}
