//! One document, for its customer and through its e-mailed link.

use super::*;

#[component]
pub(super) fn DocumentBody(v: DocumentView) -> impl IntoView {
    let is_invoice = v.kind == "invoice";
    let has_discount = v.discount_percent != "0";
    view! {
        <header class="doc-head">
            <h1>{v.title.clone()} " " <StatusBadge status=v.status.clone()/></h1>
            <p><a class="button" href=v.pdf_url.clone() download="">"Download PDF"</a></p>
        </header>
        <div class="doc-parties">
            <address>
                <strong>{v.organization.clone()}</strong><br/>
                {(v.legal_name != v.organization).then(|| view! { {v.legal_name.clone()}<br/> })}
                {v.address.lines().map(|l| view! { {l.to_string()}<br/> }).collect_view()}
                {v.vat_id.clone().map(|x| view! { "VAT ID: " {x} })}
            </address>
            <dl class="facts">
                {v.issue_date.clone().map(|d| view! { <dt>"Issued"</dt><dd>{d}</dd> })}
                {v.due_date.clone().map(|d| view! { <dt>"Due"</dt><dd>{d}</dd> })}
                {v.valid_until.clone().map(|d| view! { <dt>"Valid until"</dt><dd>{d}</dd> })}
                {v.purchase_order.clone().map(|d| view! { <dt>"Purchase order"</dt><dd>{d}</dd> })}
                <dt>"Currency"</dt><dd>{v.currency.clone()}</dd>
                {v.source.clone().map(|(id, t)| view! { <dt>"Converted from"</dt><dd><a href=format!("/staff/billing/{id}")>{t}</a></dd> })}
                {v.converted_to.clone().map(|(id, t)| view! { <dt>"Converted to"</dt><dd><a href=format!("/staff/billing/{id}")>{t}</a></dd> })}
            </dl>
        </div>
        {(!v.narrative.is_empty()).then(|| view! {
            <section class="narrative" aria-label="Proposal">
                {v.narrative.split("\n\n").map(|p| view! { <p>{p.to_string()}</p> }).collect_view()}
            </section>
        })}
        <table class="table lines">
            <caption class="visually-hidden">"Lines"</caption>
            <thead><tr>
                <th scope="col">"Description"</th>
                <th scope="col" class="num">"Quantity"</th>
                <th scope="col" class="num">"Unit price"</th>
                <th scope="col" class="num">"Tax"</th>
                <th scope="col" class="num">"Amount"</th>
            </tr></thead>
            <tbody>
                {v.lines.iter().cloned().map(|l| view! {
                    <tr>
                        <td>{l.description}</td>
                        <td class="num">{l.quantity}</td>
                        <td class="num">{l.unit_price}</td>
                        <td class="num">{l.tax_rate}</td>
                        <td class="num">{l.net}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <dl class="totals">
            <dt>"Subtotal"</dt><dd>{v.subtotal.clone()}</dd>
            {has_discount.then(|| view! { <dt>{format!("Discount ({}%)", v.discount_percent)}</dt><dd>{format!("-{}", v.discount)}</dd> })}
            {v.taxes.iter().cloned().map(|t| view! { <dt>{format!("Tax {} on {}", t.rate, t.base)}</dt><dd>{t.tax}</dd> }).collect_view()}
            <dt class="strong">"Total"</dt><dd class="strong" data-testid="total">{v.total.clone()}</dd>
            {is_invoice.then(|| view! {
                <dt>"Paid"</dt><dd>{v.paid.clone()}</dd>
                <dt class="strong">"Balance due"</dt><dd class="strong">{v.balance.clone()}</dd>
            })}
        </dl>
        {v.decision.clone().map(|d| view! { <p class="notice">{d}</p> })}
        {(!v.payments.is_empty()).then(|| view! {
            <section aria-labelledby="pay-title">
                <h2 id="pay-title">"Payments"</h2>
                <table class="table">
                    <thead><tr><th scope="col">"Date"</th><th scope="col">"Method"</th><th scope="col" class="num">"Amount"</th><th scope="col">"Reference"</th></tr></thead>
                    <tbody>
                        {v.payments.iter().cloned().map(|p| view! {
                            <tr><td>{p.paid_on}</td><td>{p.method}</td><td class="num">{p.amount}</td><td>{p.reference}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        {(!v.terms.is_empty()).then(|| view! { <section aria-label="Terms"><h2>"Terms"</h2><p class="pre">{v.terms.clone()}</p></section> })}
        {(!v.notes.is_empty()).then(|| view! { <section aria-label="Notes"><h2>"Notes"</h2><p class="pre">{v.notes.clone()}</p></section> })}
    }
}

/// Accept or decline, with the name of the person deciding.
#[component]
pub(super) fn DecideForm(id: i32) -> impl IntoView {
    let decide = ServerAction::<DecideDocument>::new();
    let error = last_error(decide);
    view! {
        <section class="card" aria-labelledby="decide-title">
            <h2 id="decide-title">"Accept or decline"</h2>
            <ActionForm action=decide attr:class="stack" attr:novalidate=""><ReturnHere/>
                <input type="hidden" name="document_id" value=id/>
                <FormError error=error/>
                <FieldError message=field_of(error, "decision")/>
                <TextField name="name" label="Your full name" error=field_of(error, "name") required=true/>
                <div class="actions">
                    <button type="submit" name="decision" value="accept" class="primary">"Accept"</button>
                    <button type="submit" name="decision" value="decline">"Decline"</button>
                </div>
            </ActionForm>
        </section>
    }
}

pub(super) fn id_param() -> Signal<Option<i32>> {
    let params = use_params_map();
    Signal::derive(move || params.read().get("id").and_then(|s| s.parse::<i32>().ok()))
}

/// A document in the Billing Portal (Main and Administrative Contacts).
#[component]
pub fn CustomerDocumentPage() -> impl IntoView {
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
    view! {
        <Title text="Document"/>
        <p><a href="/billing">"← All documents"</a></p>
        <Notices/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(v) => {
                        let decide = v.actions.decide.then(|| view! { <DecideForm id=v.id/> });
                        view! { <article class="document"><DocumentBody v=v/></article> {decide} }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Where an e-mailed document link lands. Opening it is a button (a POST),
/// not the GET: mail systems fetch links to scan them, and that must not
/// record "viewed" or swap the token for the document's cookie.
#[component]
pub fn OpenLinkPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    view! {
        <Title text="Open your document"/>
        <Meta name="referrer" content="strict-origin"/>
        <section class="card narrow" aria-labelledby="open-title">
            <h1 id="open-title">"Open your document"</h1>
            <p>"This link opens an invoice, estimate or proposal Portico sent to you, without signing in."</p>
            <form method="post" action="/documents/open">
                <input type="hidden" name="token" value=token/>
                <button type="submit" class="primary">"Open the document"</button>
            </form>
        </section>
    }
}

/// A document opened through the e-mailed link: no account needed.
#[component]
pub fn LinkDocumentPage() -> impl IntoView {
    let params = use_params_map();
    let unusable = move || params.read().get("id").as_deref() == Some("unusable");
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
    let save = ServerAction::<SaveDocumentAccount>::new();
    let save_error = last_error(save);
    view! {
        <Title text="Your document"/>
        <Meta name="referrer" content="strict-origin"/>
        <Notices/>
        {move || if unusable() {
            view! {
                <section class="card narrow">
                    <h1>"This link cannot be used"</h1>
                    <p>"It expired, or the document was sent again with a new link (only the newest works), or it was mistyped. Use the link in the most recent e-mail, or sign in to the Billing Portal."</p>
                    <p><a class="button primary" href="/sign-in">"Sign in"</a></p>
                </section>
            }.into_any()
        } else {
            view! {
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Err(AppError::Unauthenticated) => view! {
                                <section class="card narrow">
                                    <h1>"Open the link in your e-mail"</h1>
                                    <p>"This page shows a document to the person it was sent to. Open it through the link in the e-mail, or sign in if you have an account."</p>
                                    <p><a class="button primary" href="/sign-in">"Sign in"</a></p>
                                </section>
                            }.into_any(),
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                            Ok(v) => {
                                let id = v.id;
                                let email = v.link_email.clone().unwrap_or_default();
                                let can_save = v.actions.save_account;
                                let decide = v.actions.decide.then(|| view! { <DecideForm id=id/> });
                                view! {
                                    <article class="document"><DocumentBody v=v/></article>
                                    {decide}
                                    {can_save.then(|| view! {
                                        <section class="card" aria-labelledby="save-title">
                                            <h2 id="save-title">"Save this document to an account"</h2>
                                            <p>"Create an account for " <strong>{email.clone()}</strong> ": we e-mail that address a link to set its password. From then on you sign in with it and find all your organization's documents in the Billing Portal."</p>
                                            {move || match save.value().get() {
                                                Some(Ok(sent)) => view! { <p class="notice success" role="status">{sent}</p> }.into_any(),
                                                _ => view! {
                                                    <ActionForm action=save attr:class="stack"><ReturnHere/>
                                                        <input type="hidden" name="document_id" value=id/>
                                                        <FormError error=save_error/>
                                                        <FieldError message=field_of(save_error, "document_id")/>
                                                        <button type="submit" class="primary">"E-mail me a link to create my account"</button>
                                                    </ActionForm>
                                                }.into_any(),
                                            }}
                                        </section>
                                    })}
                                }.into_any()
                            }
                        }
                    })}
                </Suspense>
            }.into_any()
        }}
    }
}
