//! Setting a password from an activation link.

use super::*;

#[component]
pub fn ActivatePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    // The same link sets a first password and resets a forgotten one.
    let reset = query.read_untracked().get("reset").as_deref() == Some("1");
    let (heading, lead) = if reset {
        (
            "Choose a new password",
            "Choose a new password for your Portico account. Setting it signs you out everywhere else.",
        )
    } else {
        (
            "Set your password",
            "Choose a password to activate your Portico account. Afterwards you sign in with your e-mail address.",
        )
    };
    let action = ServerAction::<ActivateAccount>::new();
    let error = last_error(action);
    view! {
        <Title text=heading/>
        // The token is in this page's address: never send it on as a referrer.
        <Meta name="referrer" content="strict-origin"/>
        <section class="card narrow" aria-labelledby="activate-title">
            <h1 id="activate-title">{heading}</h1>
            <p class="muted">{lead}</p>
            <ActionForm action=action attr:class="stack" attr:novalidate=""><ReturnHere/>
                <input type="hidden" name="token" value=token/>
                <FieldError message=field_of(error, "token")/>
                <FormError error=error/>
                <div class="field">
                    <label for="new_password">"New password"</label>
                    <input id="new_password" type="password" name="new_password" autocomplete="new-password" required=true aria-describedby="pw-hint"/>
                    <p id="pw-hint" class="hint">"At least 12 characters."</p>
                    <FieldError message=field_of(error, "new_password")/>
                </div>
                <div class="field">
                    <label for="confirm_password">"Confirm password"</label>
                    <input id="confirm_password" type="password" name="confirm_password" autocomplete="new-password" required=true/>
                    <FieldError message=field_of(error, "confirm_password")/>
                </div>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Set password"</button>
            </ActionForm>
        </section>
    }
}
