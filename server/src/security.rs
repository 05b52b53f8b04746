//! Layers every request passes through: security headers with a per-response
//! CSP nonce, the cross-site request check, session resolution, and the guard
//! that sends signed-out visitors of private pages to the sign-in page.

use std::net::SocketAddr;

use app::auth::ssr::session;
use app::core::actor::Actor;
use app::core::authz::{self, Gate, Kind, Lookup};
use app::core::state::AppState;
use app::core::web::ClientAddr;
use app::error::AppError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{header, HeaderValue, Method, StatusCode};
use rand::RngCore as _;

/// The nonce the page's inline scripts carry; the CSP header allows exactly it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico" || path == "/healthz"
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let is_asset = req.uri().path().starts_with("/pkg/");
    // Pages whose address carries a one-time token never pass it on: a
    // Referer carries the origin only. Not `no-referrer`: under it browsers
    // send `Origin: null` with the page's own form posts, which the
    // cross-site check must refuse where `Sec-Fetch-Site` is not sent (plain
    // http on a LAN address).
    let path = req.uri().path();
    let no_referrer = path == "/activate" || path == "/documents/open" || path.starts_with("/d/");

    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let referrer = if no_referrer {
        "strict-origin"
    } else {
        "same-origin"
    };
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if state.settings.cookie_secure() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages and API answers are personal; built assets may be revalidated.
        let policy = if is_asset { "no-cache" } else { "no-store" };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A WebSocket handshake is a GET, yet it carries the session cookie into a
/// channel that stays open (cross-site WebSocket hijacking): it must come
/// from our own pages, like a POST.
fn is_websocket_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Whether a state-changing request comes from our own pages. Browsers send
/// `Sec-Fetch-Site` (modern ones) or at least `Origin` on every POST; a
/// request with neither is not from a browser and cannot ride a user's cookie
/// from another site.
pub fn same_site_request(req: &Request, expected_origin: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host_origin = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(|host| {
                    let scheme = expected_origin.split("://").next().unwrap_or("http");
                    format!("{scheme}://{host}")
                });
            origin == expected_origin || Some(origin) == host_origin.as_deref()
        }
    }
}

pub async fn reject_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if (!is_safe_method(req.method()) || is_websocket_upgrade(&req))
        && !same_site_request(&req, state.settings.origin())
    {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: submit the form from Portico's own pages.",
        )
            .into_response();
    }
    next.run(req).await
}

fn client_addr(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(first) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            // The rightmost entry of the last line is the one our proxy
            // added (some proxies add a line of their own rather than
            // extend the client's); everything before it comes from the
            // client and can be anything.
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        {
            return first.to_string();
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Resolves the session cookie into an [`Actor`] in the request's extensions.
pub async fn resolve_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let addr = client_addr(&req, state.settings.trust_forwarded_for);
    req.extensions_mut().insert(ClientAddr(addr));
    let mut stale_cookie = false;
    if !is_static(req.uri().path()) {
        if let Some(token) = session::token_from_headers(&state.settings, req.headers()) {
            match session::resolve(&state.db, &state.settings, &token).await {
                Ok(Some(actor)) => {
                    req.extensions_mut().insert(actor);
                }
                Ok(None) => stale_cookie = true,
                Err(_) => {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The service is temporarily unavailable.",
                    )
                        .into_response()
                }
            }
        }
    }
    let mut res = next.run(req).await;
    if stale_cookie && !res.headers().contains_key(header::SET_COOKIE) {
        if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(&state.settings)) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The one guard: every server function, page and handler passes the gate
/// its row in `app::core::authz` gives it before any feature code runs.
/// Signed-out visitors of private pages go to the sign-in page (and come
/// back after); anyone else refused gets 403 without the page being built,
/// and server functions answer with their usual error body. Features then
/// authorize the objects themselves.
pub async fn guard(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    // The router resolves `.` and `..` segments the guard would not see:
    // such addresses are never Portico's own, so they go no further.
    if !is_plain_path(&path) {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    }
    let actor = req.extensions().get::<Actor>();
    let (gate, kind) = match authz::lookup(&path) {
        Lookup::Listed(gate, kind) => (gate, kind),
        Lookup::UnlistedEndpoint => {
            tracing::warn!(%path, "no server function with a row in core::authz::ENDPOINTS: refused");
            return refuse_call(&req, AppError::NotFound);
        }
        // Unknown private paths still need a session (they end in "not found").
        Lookup::Unlisted if is_private(&path) => (Gate::SIGNED_IN, Kind::Page),
        Lookup::Unlisted => return next.run(req).await,
    };
    match gate.admit(actor) {
        Ok(()) => next.run(req).await,
        Err(e) if kind == Kind::Endpoint => refuse_call(&req, e),
        Err(e) if kind == Kind::Handler => (status_of(&e), e.to_string()).into_response(),
        Err(AppError::Unauthenticated) if matches!(*req.method(), Method::GET | Method::HEAD) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or(path);
            see_other(&format!("/sign-in?next={}", urlencode(&target)))
        }
        Err(e) => refusal_page(&e, actor),
    }
}

/// No empty, `.` or `..` segment, written plainly or percent-encoded.
fn is_plain_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !lower.contains("%2e")
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !path.contains('\\')
        && path
            .split('/')
            .skip(1)
            .enumerate()
            .all(|(i, seg)| match seg {
                "." | ".." => false,
                // A trailing slash is fine; `//` inside is not.
                "" => i == path.split('/').count() - 2,
                _ => true,
            })
}

fn is_private(path: &str) -> bool {
    ["/staff", "/support", "/billing", "/account"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A refused server function call: the error body the browser's server
/// function client (and API clients) read, or for a plain form post the
/// refusal page.
fn refuse_call(req: &Request, e: AppError) -> Response {
    let plain_form = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if plain_form {
        // A form posted after the session ended: sign in again first.
        if e == AppError::Unauthenticated {
            return see_other("/sign-in");
        }
        return refusal_page(&e, req.extensions().get::<Actor>());
    }
    let body = serde_json::to_string(&e).unwrap_or_default();
    Response::builder()
        .status(status_of(&e))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A short page that says no, what to do, and where to go instead.
fn refusal_page(e: &AppError, actor: Option<&Actor>) -> Response {
    let (home, home_label) = match actor {
        Some(a) => (a.landing().path(), "Go to your portal"),
        None => ("/sign-in", "Sign in"),
    };
    let (title, advice) = match e {
        AppError::Unauthenticated => ("Please sign in", "Your session has ended or you are not signed in."),
        AppError::NotFound => ("Not found", "There is nothing at this address."),
        _ => ("No access", "Your role does not include this part of Portico. If you need it, ask an administrator."),
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Portico</title><link rel=\"stylesheet\" href=\"/pkg/portico.css\"></head>\
         <body><main id=\"main\"><h1>{title}</h1>\
         <p class=\"notice error\" role=\"alert\">{message}</p>\
         <p>{advice} \
         <a href=\"{home}\">{home_label}</a> · <a href=\"/account\">Your account</a></p>\
         </main></body></html>",
        message = e
    );
    Response::builder()
        .status(status_of(e))
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(html))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Server functions answer every error with status 500; this gives each
/// error the status its kind means (400, 401, 403, 404, 429…) and a
/// `Retry-After` when throttled, for the hydrated page and API clients alike.
pub async fn server_fn_error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let app::error::AppError::Throttled { retry_after_secs } = err {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                parts.headers.insert(header::RETRY_AFTER, v);
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method("POST").uri("/api/sign_out");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn the_client_address_is_the_one_our_proxy_added() {
        // One line the proxy extended, or a line of its own after the client's.
        let extended = post(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        let own_line = post(&[
            ("x-forwarded-for", "203.0.113.1, 6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(client_addr(&extended, true), "203.0.113.9");
        assert_eq!(client_addr(&own_line, true), "203.0.113.9");
        // Not behind a proxy: the header is anyone's, and ignored.
        assert_eq!(client_addr(&own_line, false), "unknown");
    }

    #[test]
    fn cross_site_detection() {
        let me = "http://127.0.0.1:3000";
        assert!(same_site_request(
            &post(&[("sec-fetch-site", "same-origin")]),
            me
        ));
        assert!(!same_site_request(
            &post(&[("sec-fetch-site", "cross-site")]),
            me
        ));
        assert!(!same_site_request(
            &post(&[("sec-fetch-site", "same-site")]),
            me
        ));
        assert!(same_site_request(&post(&[("origin", me)]), me));
        assert!(!same_site_request(
            &post(&[("origin", "https://evil.example")]),
            me
        ));
        assert!(!same_site_request(&post(&[("origin", "null")]), me));
        assert!(same_site_request(
            &post(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            me
        ));
        assert!(same_site_request(&post(&[]), me));
    }

    #[test]
    fn only_plain_paths_pass() {
        for ok in [
            "/",
            "/staff",
            "/staff/",
            "/staff/tickets/5",
            "/pkg/portico.js",
            "/api/sign_in",
        ] {
            assert!(is_plain_path(ok), "{ok}");
        }
        for bad in [
            "/support/../staff/tickets/5",
            "/x/%2e%2e/staff",
            "/x/%2E%2E/staff",
            "/staff/tickets/5/.",
            "/staff//tickets",
            "/api/sign_in%2f..",
            "/staff\\tickets",
        ] {
            assert!(!is_plain_path(bad), "{bad}");
        }
    }

    #[test]
    fn private_paths_and_next_encoding() {
        assert!(is_private("/staff"));
        assert!(is_private("/staff/orders"));
        assert!(!is_private("/staffing"));
        assert!(!is_private("/sign-in"));
        assert_eq!(urlencode("/billing?x=1&y"), "/billing%3Fx%3D1%26y");
    }
}
