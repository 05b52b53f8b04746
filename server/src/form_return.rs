//! Where a plain form post (JavaScript off) goes back to.
//!
//! Leptos sends a plain form post back to its `Referer`, with a refusal
//! encoded in the query so the page shows it beside the fields. Pages that
//! keep a token in their address send no `Referer` (activation, e-mailed
//! documents), and a `Referer` is the client's to write. So this layer drops
//! it and puts in its place the page the form names in its
//! [`RETURN_FIELD`] (see `app::components::ReturnHere`), when that is one of
//! Portico's own paths. A form that names none goes back to `/`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};

use app::components::{is_own_page, without_error_info, RETURN_FIELD};
use app::core::state::AppState;

/// The largest server-function body read here (axum's default body limit):
/// far above any form Portico has (a comment is at most 50,000 characters).
const MAX_FORM: usize = 2 << 20;
/// How much of a larger body is still read (and dropped) before answering.
const DRAIN: usize = 32 << 20;

/// Why a body was not read whole.
enum Unread {
    TooLarge,
    Broken,
}

/// Reads a body of at most [`MAX_FORM`] bytes. A larger one is read on to
/// its end (up to [`DRAIN`]) and dropped: answering while the client still
/// sends resets the connection, and the browser shows that, not the 413.
async fn read_form(mut body: Body) -> Result<axum::body::Bytes, Unread> {
    use http_body_util::BodyExt as _;
    let (mut kept, mut seen) = (Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Unread::Broken)?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_FORM {
                kept.extend_from_slice(&data);
            } else if seen > DRAIN {
                return Err(Unread::TooLarge);
            }
        }
    }
    if seen > MAX_FORM {
        return Err(Unread::TooLarge);
    }
    Ok(kept.into())
}

pub async fn form_return(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let plain = app::core::web::is_plain_form_post_headers(req.headers());
    let (mut parts, body) = req.into_parts();
    if plain {
        parts.headers.remove(header::REFERER);
    }
    // Every server-function body is read here, so one too large answers 413
    // in words the page shows (the server function itself answered 500).
    let bytes = match read_form(body).await {
        Ok(b) => b,
        Err(Unread::TooLarge) => {
            return refused(
                plain,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large to send. Shorten what you typed and try again.",
            );
        }
        Err(Unread::Broken) => {
            return refused(
                plain,
                StatusCode::BAD_REQUEST,
                "The form did not arrive whole. Send it again.",
            )
        }
    };
    let urlencoded = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !plain || !urlencoded {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let back = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == RETURN_FIELD)
        .map(|(_, v)| without_error_info(&v))
        .filter(|p| is_own_page(p));
    if let Some(back) = back {
        let url = format!("{}{back}", site_of(&parts.headers, state.settings.origin()));
        if let Ok(v) = HeaderValue::from_str(&url) {
            parts.headers.insert(header::REFERER, v);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A refusal before the server function runs: words for a plain form post,
/// the error the page's script decodes otherwise.
fn refused(plain: bool, status: StatusCode, message: &'static str) -> Response {
    if plain {
        return (status, message).into_response();
    }
    use leptos::server_fn::error::FromServerFnError as _;
    let body = app::error::AppError::Invalid {
        field: None,
        message: message.into(),
    }
    .ser();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The site the browser is on: its `Host` (the cross-site check let the
/// post through, so that is our own page's host) with the configured scheme,
/// else the configured origin. Someone on `localhost` or the server's
/// address stays there, with their session cookie.
fn site_of(headers: &http::HeaderMap, configured: &str) -> String {
    let scheme = configured.split("://").next().unwrap_or("http");
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map_or_else(|| configured.to_owned(), |h| format!("{scheme}://{h}"))
}

#[cfg(test)]
mod tests {
    use super::site_of;

    #[test]
    fn back_to_the_host_the_browser_is_on() {
        let mut h = http::HeaderMap::new();
        assert_eq!(
            site_of(&h, "https://support.example"),
            "https://support.example"
        );
        h.insert(http::header::HOST, "localhost:3000".parse().unwrap());
        assert_eq!(
            site_of(&h, "http://127.0.0.1:3000"),
            "http://localhost:3000"
        );
        h.insert(http::header::HOST, "evil/x?".parse().unwrap());
        assert_eq!(
            site_of(&h, "http://127.0.0.1:3000"),
            "http://127.0.0.1:3000"
        );
    }
}
