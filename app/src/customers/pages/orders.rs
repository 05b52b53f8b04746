//! The order intake page.

use super::*;

pub(super) const TECH_ROWS: usize = 5;

#[component]
pub fn OrderPage() -> impl IntoView {
    let levels = Resource::new(|| (), |_| list_levels());
    // A failed plain form post comes back with its error in the address.
    let initial_error = ServerAction::<ProcessOrder>::new()
        .value()
        .get_untracked()
        .and_then(Result::err);
    view! {
        <Title text="Process an Order Form"/>
        <h1>"Process an Order Form"</h1>
        <p class="muted">"Enter the Order Form as received. Processing creates the organization, its subscription and contacts, and e-mails the Welcome and Support Welcome messages."</p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let initial_error = initial_error.clone();
                Suspend::new(async move {
                    match levels.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(ls) => {
                            let choices = ls
                                .into_iter()
                                .map(|l| (l.id, format!("{} {} — up to {} Technical Contacts, {}", l.program, l.name, l.max_technical_contacts, l.price)))
                                .collect::<Vec<_>>();
                            view! { <OrderForm levels=choices initial_error=initial_error/> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// The order form. As an island it submits without a reload, so a refused
/// order keeps everything that was typed; without JavaScript it is a plain form.
#[island]
pub(super) fn OrderForm(
    levels: Vec<(i32, String)>,
    initial_error: Option<AppError>,
) -> impl IntoView {
    let action = ServerAction::<ProcessOrder>::new();
    let initial_error = StoredValue::new(initial_error);
    let error = Signal::derive(move || match action.value().get() {
        Some(result) => result.err(),
        None => initial_error.get_value(),
    });
    let f = move |name: &'static str| field_of(error, name);
    Effect::new(move |_| {
        if let Some(Ok(id)) = action.value().get() {
            crate::auth::hard_navigate(&format!("/staff/organizations/{id}?created=1"));
        }
    });
    view! {
        <ActionForm action=action attr:class="stack order-form" attr:novalidate=""><ReturnHere/>
            <FormError error=error/>
            <fieldset>
                <legend>"Organization"</legend>
                <TextField name="order[organization_name]" label="Organization name" error=f("organization_name") required=true/>
                <TextField name="order[legal_name]" label="Legal name" error=f("legal_name") required=true/>
                <div class="field">
                    <label for="order-address">"Address"</label>
                    <textarea id="order-address" name="order[address]" rows="3" required=true></textarea>
                    <FieldError message=f("address")/>
                </div>
                <TextField name="order[vat_id]" label="VAT id" error=f("vat_id")/>
            </fieldset>
            <fieldset>
                <legend>"Subscription"</legend>
                <div class="field">
                    <label for="order-level">"Program and level"</label>
                    <select id="order-level" name="order[level_id]" required=true>
                        <option value="">"Choose…"</option>
                        {levels.into_iter().map(|(id, label)| view! { <option value=id.to_string()>{label}</option> }).collect_view()}
                    </select>
                    <FieldError message=f("level_id")/>
                </div>
                <div class="row">
                    <TextField name="order[term_start]" label="Term start" kind="date" error=f("term_start") required=true/>
                    <TextField name="order[term_end]" label="Term end" kind="date" error=f("term_end") required=true/>
                </div>
                <div class="row">
                    <div class="field">
                        <label for="order-payment">"Payment method"</label>
                        <select id="order-payment" name="order[payment_method]" required=true>
                            <option value="">"Choose…"</option>
                            {PaymentMethod::ALL.iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                        </select>
                        <FieldError message=f("payment_method")/>
                    </div>
                    <TextField name="order[purchase_order]" label="Purchase-order number" error=f("purchase_order")/>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Main Contact"</legend>
                <TextField name="order[main_name]" label="Main Contact name" error=f("main_name") required=true/>
                <TextField name="order[main_email]" label="Main Contact email" kind="email" error=f("main_email") required=true/>
                <TextField name="order[main_phone]" label="Main Contact phone" kind="tel" error=f("main_phone")/>
            </fieldset>
            <fieldset>
                <legend>"Technical Contacts"</legend>
                <p class="hint">"Leave rows empty if fewer are named. With none, the Main Contact is the sole contact for all purposes."</p>
                <FieldError message=f("technical_contacts")/>
                {(0..TECH_ROWS).map(|i| {
                    let n = i + 1;
                    view! {
                        <div class="row tech-row" role="group" aria-label=format!("Technical Contact {n}")>
                            <TextField name=format!("order[technical_contacts][{i}][name]") label=format!("Technical Contact {n} name") error=field_of(error, format!("technical_contacts.{i}.name"))/>
                            <TextField name=format!("order[technical_contacts][{i}][email]") label=format!("Technical Contact {n} email") kind="email" error=field_of(error, format!("technical_contacts.{i}.email"))/>
                            <div class="field checkbox">
                                <input type="checkbox" id=format!("tc-{i}-dl") name=format!("order[technical_contacts][{i}][distribution_list]")/>
                                <label for=format!("tc-{i}-dl")>{format!("Contact {n} is a distribution list")}</label>
                            </div>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Process order"</button>
        </ActionForm>
    }
}
