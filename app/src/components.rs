//! Small pieces every page uses.

use leptos::prelude::*;

use crate::error::AppError;

/// An error, said in words a person can act on, announced to screen readers.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let link = matches!(error, AppError::Unauthenticated)
        .then(|| view! { " " <a href="/sign-in">"Sign in"</a> });
    view! {
        <p class="notice error" role="alert">{error.to_string()}{link}</p>
    }
}

/// The message under one form field, if that field has a problem.
#[component]
pub fn FieldError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p class="field-error" role="alert">{m}</p> })
    }
}

/// The error of the last run of an action, as a signal.
pub fn last_error<S, O>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

pub fn field_of(
    error: Signal<Option<AppError>>,
    name: impl Into<String>,
) -> Signal<Option<String>> {
    let name: String = name.into();
    Signal::derive(move || error.get().and_then(|e| e.field_message(&name)))
}

#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !e.is_about_fields())
            .map(|e| view! { <ErrorNotice error=e/> })
    }
}

#[component]
pub fn TextField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    error: Signal<Option<String>>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] required: bool,
    /// The input's id, where two forms on one page share a field name.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| name.replace(['[', ']'], "-").replace("--", "-"));
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id type=kind.unwrap_or("text") name=name required=required
                aria-invalid=move || error.get().is_some().to_string()/>
            <FieldError message=error/>
        </div>
    }
}

/// The form field naming the page a plain form post (JavaScript off) comes
/// back to, where a refusal is shown beside the fields. Browsers send no
/// `Referer` from pages that keep a token in their address (activation,
/// e-mailed documents), so Portico never goes back by `Referer`: the
/// server's form-return layer reads this field instead.
pub const RETURN_FIELD: &str = "__return";

/// Names this page as where the form's post comes back to. Every
/// `ActionForm` holds one.
#[component]
pub fn ReturnHere() -> impl IntoView {
    view! { <input type="hidden" name=RETURN_FIELD value=without_error_info(&here())/> }
}

/// This page's path and query.
fn here() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.uri.path_and_query().map(|pq| pq.as_str().to_owned()))
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|w| {
                let l = w.location();
                Some(format!("{}{}", l.pathname().ok()?, l.search().ok()?))
            })
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// A path on Portico's own pages, safe to send a browser to (after sign-in,
/// back after a form): not another host (`//x`, `/\\x`), not a server
/// function, printable ASCII only (it goes into a `Location` header), and
/// not longer than a page address with its filters needs.
pub fn is_own_page(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/api/")
        && !p.contains('\\')
        && p.len() <= 2048
        && p.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// `path` without the `__path`/`__err` pairs a refused post added to it
/// (the next refusal adds its own).
pub fn without_error_info(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && key != "__path" && key != "__err"
        })
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// `v` as a URL query value (percent-encoded but for unreserved characters).
pub fn query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_own_page, without_error_info};

    #[test]
    fn only_own_pages() {
        for ok in ["/", "/activate?token=abc", "/staff/tickets/4?q=a%20b"] {
            assert!(is_own_page(ok), "{ok}");
        }
        for bad in [
            "",
            "relative",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/api/sign_out",
            "/a b",
            "/a\r\nSet-Cookie: x",
        ] {
            assert!(!is_own_page(bad), "{bad:?}");
        }
        assert!(!is_own_page(&format!("/{}", "a".repeat(2048))));
    }

    #[test]
    fn error_info_is_dropped_and_the_rest_kept() {
        assert_eq!(
            without_error_info("/activate?token=abc"),
            "/activate?token=abc"
        );
        assert_eq!(
            without_error_info("/activate?token=abc&__path=%2Fapi%2Fx&__err=e30"),
            "/activate?token=abc"
        );
        assert_eq!(without_error_info("/a?__path=x&__err=y"), "/a");
        assert_eq!(without_error_info("/a"), "/a");
    }
}

/// Waits `ms` milliseconds in the browser (a timer, not a busy loop).
#[cfg(feature = "hydrate")]
pub async fn sleep_ms(ms: u64) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::from_millis(ms),
    );
    let _ = wait.await;
}
