//! "Forgot your password?": a reset link to the address on file.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{field_of, last_error, FieldError, FormError, ReturnHere};
use crate::error::AppError;

/// Mails a password reset link to the account with address `email`, if
/// there is one; the answer is the same either way.
#[server(prefix = "/api", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<String, AppError> {
    super::ssr::recovery::request(email).await
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = last_error(action);
    let sent = move || {
        matches!(action.value().get(), Some(Ok(_)))
            || query.read().get("done").as_deref() == Some("sent")
    };
    let heading = move || {
        if sent() {
            "Check your e-mail"
        } else {
            "Forgot your password?"
        }
    };
    view! {
        <Title text=heading/>
        <section class="card narrow" aria-labelledby="forgot-title">
            <h1 id="forgot-title">{heading}</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="muted">"Enter the e-mail address you sign in with. We send a link to choose a new password to that address — the one Portico has on file."</p>
                    <ActionForm action=action attr:class="stack" attr:novalidate=""><ReturnHere/>
                        <FormError error=error/>
                        <div class="field">
                            <label for="reset-email">"Email"</label>
                            <input id="reset-email" type="email" name="email" autocomplete="username" required=true
                                aria-invalid=move || field_of(error, "email").get().is_some().to_string()/>
                            <FieldError message=field_of(error, "email")/>
                        </div>
                        <button type="submit" class="primary" disabled=move || action.pending().get()>"Send the link"</button>
                    </ActionForm>
                }
            >
                <p role="status" class="notice success">{SENT}</p>
                <p>"Nothing arrived? Check the spam folder, or ask your Portico contact, who can send the link too. If you never set a password, ask them to re-send your invitation instead."</p>
            </Show>
            <p><a href="/sign-in">"Back to sign-in"</a></p>
        </section>
    }
}

/// What every request is answered (the server says the same).
pub const SENT: &str = "If an account uses that address, we have sent it a link to choose a new password. The link works once, within 60 minutes; earlier links stop working.";
