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
