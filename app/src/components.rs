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
) -> impl IntoView {
    let id = name.replace(['[', ']'], "-").replace("--", "-");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id type=kind.unwrap_or("text") name=name required=required
                aria-invalid=move || error.get().is_some().to_string()/>
            <FieldError message=error/>
        </div>
    }
}
