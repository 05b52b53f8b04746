//! Staff pages: one document with its actions, and the document editor.

use super::*;

#[component]
pub fn StaffDocumentPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => load_document(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let send = ServerAction::<SendDocument>::new();
    let pay = ServerAction::<RecordPayment>::new();
    let void = ServerAction::<VoidDocument>::new();
    let convert = ServerAction::<ConvertToInvoice>::new();
    let (send_error, pay_error, void_error, convert_error) = (
        last_error(send),
        last_error(pay),
        last_error(void),
        last_error(convert),
    );
    view! {
        <Title text="Document"/>
        <p><a href="/staff/billing">"← All documents"</a></p>
        <Notices/>
        <FormError error=send_error/>
        <FieldError message=field_of(send_error, "document_id")/>
        <FieldError message=field_of(convert_error, "document_id")/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(v) => {
                        let id = v.id;
                        let a = v.actions.clone();
                        let events = v.events.clone();
                        let balance = v.balance.clone();
                        // Rendered on the server only (this page is not an island).
                        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
                        view! {
                            <article class="document"><DocumentBody v=v/></article>
                            <section class="card" aria-labelledby="act-title">
                                <h2 id="act-title">"Actions"</h2>
                                <div class="actions">
                                    {a.edit.then(|| view! { <a class="button" href=format!("/staff/billing/{id}/edit")>"Edit draft"</a> })}
                                    {a.send.then(|| view! {
                                        <ActionForm action=send><ReturnHere/>
                                            <input type="hidden" name="document_id" value=id/>
                                            <button type="submit" class="primary">{if a.edit { "Send to the customer" } else { "Send again (new links)" }}</button>
                                        </ActionForm>
                                    })}
                                    {a.convert.then(|| view! {
                                        <ActionForm action=convert><ReturnHere/>
                                            <input type="hidden" name="document_id" value=id/>
                                            <button type="submit" class="primary">"Convert to an invoice"</button>
                                        </ActionForm>
                                    })}
                                </div>
                                {a.record_payment.then(|| view! {
                                    <details class="card" open=pay_error.get_untracked().is_some()>
                                        <summary>"Record a payment"</summary>
                                        <ActionForm action=pay attr:class="stack" attr:novalidate=""><ReturnHere/>
                                            <input type="hidden" name="document_id" value=id/>
                                            <FormError error=pay_error/>
                                            <p class="hint">{format!("Open balance: {balance}. Partial payments are fine; more than the balance is refused.")}</p>
                                            <div class="field">
                                                <label for="method">"Method"</label>
                                                <select id="method" name="method">
                                                    {PaymentMethod::ALL.iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                                                </select>
                                                <FieldError message=field_of(pay_error, "method")/>
                                            </div>
                                            <div class="field">
                                                <label for="paid_on">"Date received"</label>
                                                <input id="paid_on" type="date" name="paid_on" value=today required=true/>
                                                <FieldError message=field_of(pay_error, "paid_on")/>
                                            </div>
                                            <TextField name="amount" label="Amount" error=field_of(pay_error, "amount") required=true/>
                                            <TextField name="reference" label="Reference" error=field_of(pay_error, "reference")/>
                                            <button type="submit" class="primary">"Record payment"</button>
                                        </ActionForm>
                                    </details>
                                })}
                                {a.void.then(|| view! {
                                    <details class="card danger-zone">
                                        <summary>"Void this invoice…"</summary>
                                        <ActionForm action=void attr:class="stack" attr:novalidate=""><ReturnHere/>
                                            <input type="hidden" name="document_id" value=id/>
                                            <FormError error=void_error/>
                                            <p>"A void invoice keeps its number and stays on record, but is no longer owed, and its links stop working. This cannot be undone."</p>
                                            <TextField name="reason" label="Reason" error=field_of(void_error, "reason") required=true/>
                                            <button type="submit" class="danger">"Confirm: void the invoice"</button>
                                        </ActionForm>
                                    </details>
                                })}
                            </section>
                            <section aria-labelledby="activity-title">
                                <h2 id="activity-title">"Activity"</h2>
                                <ol class="activity">
                                    {events.into_iter().map(|e| view! {
                                        <li><time>{e.at}</time> " — " <strong>{e.what}</strong> " · " {e.who} {(!e.detail.is_empty()).then(|| format!(" · {}", e.detail))}</li>
                                    }).collect_view()}
                                </ol>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn DocumentEditorPage() -> impl IntoView {
    let query = use_query_map();
    let id = id_param();
    let data = Resource::new(
        move || {
            let q = query.read();
            (
                id.get(),
                q.get("organization_id").and_then(|s| s.parse::<i32>().ok()),
                q.get("kind"),
            )
        },
        |(id, org, kind)| load_document_editor(id, org, kind),
    );
    // Without JavaScript a refused form comes back through the address.
    let initial_error = ServerAction::<SaveDocument>::new()
        .value()
        .get_untracked()
        .and_then(Result::err);
    view! {
        <Title text="Document editor"/>
        <p><a href="/staff/billing">"← All documents"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let initial_error = initial_error.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(ed) => view! {
                            <h1>{ed.title.clone()}</h1>
                            <DocumentEditorForm ed=ed initial_error=initial_error/>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The draft editor. As an island it saves without a reload, so a refused
/// draft keeps what was typed, and it can add line rows; without JavaScript
/// it is a plain form.
#[island]
pub(super) fn DocumentEditorForm(ed: EditorData, initial_error: Option<AppError>) -> impl IntoView {
    let save = ServerAction::<SaveDocument>::new();
    let initial_error = StoredValue::new(initial_error);
    let error = Signal::derive(move || match save.value().get() {
        Some(result) => result.err(),
        None => initial_error.get_value(),
    });
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            crate::auth::hard_navigate(&format!("/staff/billing/{id}?saved=1"));
        }
    });
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let f = move |name: &str| field_of(error, name.to_string());
    let form = ed.form;
    let existing = StoredValue::new(form.lines.clone());
    let rows = RwSignal::new(form.lines.len() + BLANK_LINES);
    let offer = form.kind != "invoice";
    view! {
        <ActionForm action=save attr:class="stack editor" attr:novalidate=""><ReturnHere/>
            <FormError error=error/>
            <input type="hidden" name="document[id]" value=form.id.clone()/>
            <div class="grid">
                <div class="field">
                    <label for="d-kind">"Type"</label>
                    <select id="d-kind" name="document[kind]">
                        {KINDS.iter().map(|(k, l)| view! { <option value=*k selected=form.kind == *k>{*l}</option> }).collect_view()}
                    </select>
                    <FieldError message=f("kind")/>
                </div>
                <div class="field">
                    <label for="d-org">"Customer organization"</label>
                    <select id="d-org" name="document[organization_id]" required=true>
                        <option value="">"Choose…"</option>
                        {ed.organizations.iter().map(|(oid, name)| {
                            let v = oid.to_string();
                            let sel = form.organization_id == v;
                            view! { <option value=v selected=sel>{name.clone()}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError message=f("organization_id")/>
                </div>
                <div class="field">
                    <label for="d-cur">"Currency"</label>
                    <select id="d-cur" name="document[currency]">
                        {ed.currencies.iter().map(|c| view! { <option value=c.clone() selected=form.currency == *c>{c.clone()}</option> }).collect_view()}
                    </select>
                    <FieldError message=f("currency")/>
                </div>
                <Input name="document[purchase_order]" label="Purchase-order number" value=form.purchase_order.clone() error=f("purchase_order")/>
                <Input name="document[payment_terms_days]" label="Payment terms (days, invoices)" value=form.payment_terms_days.clone() error=f("payment_terms_days")/>
                <Input name="document[valid_until]" label="Valid until (estimates, proposals; YYYY-MM-DD)" value=form.valid_until.clone() error=f("valid_until")/>
                <Input name="document[discount_percent]" label="Discount (%)" value=form.discount_percent.clone() error=f("discount_percent")/>
            </div>
            <fieldset>
                <legend>"Lines"</legend>
                <p class="hint">"Quantities up to 3 decimals, unit prices up to 4; each line is rounded to the currency's minor unit, half away from zero. Empty rows are ignored."</p>
                <table class="table line-editor">
                    <thead><tr><th scope="col">"Description"</th><th scope="col">"Quantity"</th><th scope="col">"Unit price"</th><th scope="col">"Tax %"</th></tr></thead>
                    <tbody>
                        <For each=move || 0..rows.get() key=|i| *i let:i>
                            {
                                let l = existing.with_value(|ls| ls.get(i).cloned()).unwrap_or_default();
                                let n = move |k: &str| format!("document[lines][{i}][{k}]");
                                let e = move |k: &str| field_of(error, format!("lines[{i}][{k}]"));
                                view! {
                                    <tr>
                                        <td><input name=n("description") value=l.description aria-label=format!("Line {} description", i + 1)/><FieldError message=e("description")/></td>
                                        <td><input name=n("quantity") value=l.quantity inputmode="decimal" aria-label=format!("Line {} quantity", i + 1)/><FieldError message=e("quantity")/></td>
                                        <td><input name=n("unit_price") value=l.unit_price inputmode="decimal" aria-label=format!("Line {} unit price", i + 1)/><FieldError message=e("unit_price")/></td>
                                        <td><input name=n("tax_rate") value=l.tax_rate inputmode="decimal" aria-label=format!("Line {} tax rate", i + 1)/><FieldError message=e("tax_rate")/></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                {move || if hydrated.get() {
                    view! { <button type="button" on:click=move |_| rows.update(|r| *r += 1)>"Add a line"</button> }.into_any()
                } else {
                    view! { <p class="hint">"Need more rows? Save the draft and edit it again: three empty rows are added each time."</p> }.into_any()
                }}
            </fieldset>
            {offer.then(|| view! {
                <Area name="document[narrative]" label="Proposal sections (blank line between paragraphs)" value=form.narrative.clone() error=f("narrative")/>
            })}
            <Area name="document[terms]" label="Terms" value=form.terms.clone() error=f("terms")/>
            <Area name="document[notes]" label="Notes" value=form.notes.clone() error=f("notes")/>
            <button type="submit" class="primary" disabled=move || save.pending().get()>"Save draft"</button>
        </ActionForm>
    }
}

#[component]
pub(super) fn Input(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    value: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = name.replace(['[', ']'], "-").replace("--", "-");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name value=value aria-invalid=move || error.get().is_some().to_string()/>
            <FieldError message=error/>
        </div>
    }
}

#[component]
pub(super) fn Area(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    value: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = name.replace(['[', ']'], "-").replace("--", "-");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name rows="4" aria-invalid=move || error.get().is_some().to_string()>{value}</textarea>
            <FieldError message=error/>
        </div>
    }
}
