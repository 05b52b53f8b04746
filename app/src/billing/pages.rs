//! Billing pages: the Billing Portal, a document seen by its customer or
//! through an e-mailed link, and the staff's documents, editor and actions.
//! Every form is a plain form post, so the pages work without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{field_of, last_error, ErrorNotice, FieldError, FormError, TextField};
use crate::customers::PAYMENT_METHODS;

/// Blank line rows the editor offers below the existing ones.
const BLANK_LINES: usize = 3;

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "sent" => "Sent. The recipients' earlier links no longer work.",
        "payment" => "Payment recorded.",
        "void" => "The invoice is void.",
        "accepted" => "Thank you: accepted. We will be in touch.",
        "declined" => "Declined. Thank you for letting us know.",
        _ => return None,
    })
}

#[component]
fn Notices() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let text = q
            .get("done")
            .and_then(|d| done_notice(&d))
            .or_else(|| q.get("saved").map(|_| "Saved."));
        text.map(|t| view! { <p class="notice success" role="status">{t}</p> })
    }
}

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge status-{status}");
    view! { <span class=class>{label_of(STATUSES, &status)}</span> }
}

// ---- lists ------------------------------------------------------------------

/// Documents with filters and pages; `base` is the page's own path, `item`
/// where one document opens.
#[component]
fn DocumentTable(#[prop(into)] base: String, item: &'static str) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        DocumentFilter {
            kind: q.get("kind").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            organization_id: q.get("organization_id").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
        }
    };
    let data = Resource::new(filter, list_documents);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    let f = filter();
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(list) => {
                            let link = {
                                let f = f.clone();
                                let base = base.clone();
                                move |page: u64| {
                                    format!(
                                        "{base}?kind={}&status={}&organization_id={}&page={page}",
                                        f.kind, f.status, f.organization_id
                                    )
                                }
                            };
                            let (prev, next) = (link(list.page.saturating_sub(1)), link(list.page + 1));
                            let has_prev = list.page > 0;
                            let has_next = list.page + 1 < list.pages;
                            view! {
                                <form method="get" action=base.clone() class="filters" role="search" aria-label="Filter documents">
                                    <div class="field">
                                        <label for="f-kind">"Type"</label>
                                        <select id="f-kind" name="kind">
                                            <option value="" selected=f.kind.is_empty()>"All"</option>
                                            {KINDS.iter().map(|(k, l)| view! { <option value=*k selected=f.kind == *k>{*l}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field">
                                        <label for="f-status">"Status"</label>
                                        <select id="f-status" name="status">
                                            <option value="" selected=f.status.is_empty()>"All"</option>
                                            {STATUSES.iter().filter(|(k, _)| list.staff || *k != "draft").map(|(k, l)| view! { <option value=*k selected=f.status == *k>{*l}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    {list.staff.then(|| view! {
                                        <div class="field">
                                            <label for="f-org">"Organization"</label>
                                            <select id="f-org" name="organization_id">
                                                <option value="">"All"</option>
                                                {list.organizations.iter().map(|(id, name)| {
                                                    let v = id.to_string();
                                                    let sel = f.organization_id == v;
                                                    view! { <option value=v selected=sel>{name.clone()}</option> }
                                                }).collect_view()}
                                            </select>
                                        </div>
                                    })}
                                    <button type="submit">"Filter"</button>
                                </form>
                                {if list.rows.is_empty() {
                                    view! { <p class="empty">"No documents match."</p> }.into_any()
                                } else {
                                    let staff = list.staff;
                                    view! {
                                        <table class="table">
                                            <caption class="visually-hidden">"Documents"</caption>
                                            <thead><tr>
                                                <th scope="col">"Document"</th>
                                                {staff.then(|| view! { <th scope="col">"Organization"</th> })}
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Issued"</th>
                                                <th scope="col">"Due / valid until"</th>
                                                <th scope="col" class="num">"Total"</th>
                                                <th scope="col" class="num">"Balance"</th>
                                            </tr></thead>
                                            <tbody>
                                                {list.rows.into_iter().map(|r| {
                                                    let href = format!("{item}/{}", r.id);
                                                    let name = format!("{} {}", label_of(KINDS, &r.kind), r.number);
                                                    view! {
                                                        <tr>
                                                            <th scope="row"><a href=href>{name}</a></th>
                                                            {staff.then(|| view! { <td>{r.organization.clone()}</td> })}
                                                            <td><StatusBadge status=r.status/></td>
                                                            <td>{r.issue_date}</td>
                                                            <td>{r.due_date}</td>
                                                            <td class="num">{r.total}</td>
                                                            <td class="num">{r.balance}</td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <nav class="pager" aria-label="Pages">
                                    {has_prev.then(|| view! { <a href=prev rel="prev">"Previous"</a> })}
                                    <span>{format!("Page {} of {} ({} documents)", list.page + 1, list.pages.max(1), list.total_rows)}</span>
                                    {has_next.then(|| view! { <a href=next rel="next">"Next"</a> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn BillingHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_billing_home());
    view! {
        <Title text="Billing Portal"/>
        <h1>"Billing Portal"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => view! {
                        <p class="lead">"Billing for " <strong>{d.organization_name}</strong> "."</p>
                        <section aria-labelledby="sub-title" class="card">
                            <h2 id="sub-title">"Your subscription"</h2>
                            {match d.subscription {
                                None => view! { <p class="empty">"No active subscription."</p> }.into_any(),
                                Some(s) => view! {
                                    <dl class="facts">
                                        <dt>"Program and level"</dt><dd>{format!("{} {}", s.program, s.level)}</dd>
                                        <dt>"Term"</dt><dd>{format!("{} to {}", s.term_start, s.term_end)}</dd>
                                        <dt>"Renewal date"</dt><dd>{s.renewal_date}</dd>
                                        <dt>"Status"</dt><dd>{s.status}</dd>
                                        <dt>"Covered servers"</dt><dd>{if s.servers.is_empty() { "None declared".to_string() } else { s.servers.join("; ") }}</dd>
                                    </dl>
                                }.into_any(),
                            }}
                        </section>
                        <section aria-labelledby="contacts-title">
                            <h2 id="contacts-title">"Your contacts"</h2>
                            <p><a href="/billing/organization">"Manage contacts, servers and the subscription"</a></p>
                            <table class="table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Roles"</th></tr></thead>
                                <tbody>
                                    {d.contacts.into_iter().map(|c| view! {
                                        <tr><th scope="row">{c.name}</th><td>{c.email}</td><td>{c.roles.join(", ")}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
        <section aria-labelledby="docs-title">
            <h2 id="docs-title">"Invoices, estimates and proposals"</h2>
            <DocumentTable base="/billing" item="/billing/documents"/>
        </section>
    }
}

#[component]
pub fn StaffBillingPage() -> impl IntoView {
    view! {
        <Title text="Billing"/>
        <h1>"Invoices, estimates and proposals"</h1>
        <p class="actions">
            <a class="button primary" href="/staff/billing/new?kind=invoice">"New invoice"</a>
            <a class="button" href="/staff/billing/new?kind=estimate">"New estimate"</a>
            <a class="button" href="/staff/billing/new?kind=proposal">"New proposal"</a>
        </p>
        <DocumentTable base="/staff/billing" item="/staff/billing"/>
    }
}

// ---- one document ---------------------------------------------------------------

#[component]
fn DocumentBody(v: DocumentView) -> impl IntoView {
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
fn DecideForm(id: i32) -> impl IntoView {
    let decide = ServerAction::<DecideDocument>::new();
    let error = last_error(decide);
    view! {
        <section class="card" aria-labelledby="decide-title">
            <h2 id="decide-title">"Accept or decline"</h2>
            <ActionForm action=decide attr:class="stack" attr:novalidate="">
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

fn id_param() -> Signal<Option<i32>> {
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
        <Meta name="referrer" content="no-referrer"/>
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
                                            <p>"Create a password for " <strong>{email.clone()}</strong> ". From then on you sign in with that address and find all your organization's documents in the Billing Portal."</p>
                                            <ActionForm action=save attr:class="stack" attr:novalidate="">
                                                <input type="hidden" name="document_id" value=id/>
                                                <FormError error=save_error/>
                                                <div class="field">
                                                    <label for="new_password">"New password"</label>
                                                    <input id="new_password" type="password" name="new_password" autocomplete="new-password" required=true aria-describedby="pw-hint"/>
                                                    <p id="pw-hint" class="hint">"At least 12 characters."</p>
                                                    <FieldError message=field_of(save_error, "new_password")/>
                                                </div>
                                                <div class="field">
                                                    <label for="confirm_password">"Confirm password"</label>
                                                    <input id="confirm_password" type="password" name="confirm_password" autocomplete="new-password" required=true/>
                                                    <FieldError message=field_of(save_error, "confirm_password")/>
                                                </div>
                                                <button type="submit" class="primary">"Save and create my account"</button>
                                            </ActionForm>
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

// ---- staff -------------------------------------------------------------------------

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
                                        <ActionForm action=send>
                                            <input type="hidden" name="document_id" value=id/>
                                            <button type="submit" class="primary">{if a.edit { "Send to the customer" } else { "Send again (new links)" }}</button>
                                        </ActionForm>
                                    })}
                                    {a.convert.then(|| view! {
                                        <ActionForm action=convert>
                                            <input type="hidden" name="document_id" value=id/>
                                            <button type="submit" class="primary">"Convert to an invoice"</button>
                                        </ActionForm>
                                    })}
                                </div>
                                {a.record_payment.then(|| view! {
                                    <details class="card" open=pay_error.get_untracked().is_some()>
                                        <summary>"Record a payment"</summary>
                                        <ActionForm action=pay attr:class="stack" attr:novalidate="">
                                            <input type="hidden" name="document_id" value=id/>
                                            <FormError error=pay_error/>
                                            <p class="hint">{format!("Open balance: {balance}. Partial payments are fine; more than the balance is refused.")}</p>
                                            <div class="field">
                                                <label for="method">"Method"</label>
                                                <select id="method" name="method">
                                                    {PAYMENT_METHODS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
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
                                        <ActionForm action=void attr:class="stack" attr:novalidate="">
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
fn DocumentEditorForm(ed: EditorData, initial_error: Option<AppError>) -> impl IntoView {
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
        <ActionForm action=save attr:class="stack editor" attr:novalidate="">
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
fn Input(
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
fn Area(
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
