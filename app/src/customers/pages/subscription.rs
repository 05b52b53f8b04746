//! The organization page's subscription section: where it stands, its
//! terms, and for staff whose role has it, renewing and cancelling.

use super::*;

const RENEWED: &str = "Subscription renewed: the new term is listed below.";
const CANCELLED: &str =
    "Subscription cancelled: the Support Portal is closed for its contacts, and the Main Contact is e-mailed.";

#[component]
pub(super) fn SubscriptionSection(
    sub: Option<SubscriptionView>,
    org_id: i32,
    tech_count: usize,
    manage: bool,
    renew: ServerAction<RenewSubscription>,
    cancel: ServerAction<CancelSubscription>,
) -> impl IntoView {
    let renew_error = last_error(renew);
    let cancel_error = last_error(cancel);
    // With JavaScript the action's value says it; without, the address.
    let query = use_query_map();
    let note = move || {
        let done = query.read().get("done");
        (cancel.value().get().is_some_and(|r| r.is_ok()) || done.as_deref() == Some("cancelled"))
            .then_some(CANCELLED)
            .or((renew.value().get().is_some_and(|r| r.is_ok())
                || done.as_deref() == Some("renewed"))
            .then_some(RENEWED))
    };
    view! {
        <section aria-labelledby="sub-title">
            <h2 id="sub-title">"Subscription"</h2>
            {move || note().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
            {match sub {
                None => view! { <p class="empty">"No subscription."</p> }.into_any(),
                Some(s) => {
                    let several = s.terms.len() > 1;
                    let standing_class = if s.open { "notice" } else { "notice error" };
                    view! {
                        <p class=standing_class role="note">{s.standing.clone()}</p>
                        <dl class="facts">
                            <dt>"Program and level"</dt><dd>{format!("{} {}", s.program, s.level)}</dd>
                            <dt>"Term"</dt><dd>{format!("{} to {} ({})", s.term_start, s.term_end, s.status)}</dd>
                            <dt>"Technical Contacts"</dt><dd>{if s.open { format!("{tech_count} of {}", s.max_technical_contacts) } else { format!("{tech_count} (the subscription is closed: new ones go to staff for approval)") }}</dd>
                            <dt>"Servers included"</dt><dd>{s.included_servers}</dd>
                            <dt>"Payment"</dt><dd>{s.payment_method.clone()}{s.purchase_order.clone().map(|p| format!(", PO {p}"))}</dd>
                        </dl>
                        {several.then(|| view! {
                            <table class="table">
                                <caption>"All terms"</caption>
                                <thead><tr><th scope="col">"From"</th><th scope="col">"To"</th><th scope="col">"Status"</th></tr></thead>
                                <tbody>
                                    {s.terms.iter().map(|t| view! {
                                        <tr><td>{t.term_start.clone()}</td><td>{t.term_end.clone()}</td><td>{t.status.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                        {manage.then(|| view! {
                            <details open=move || renew_error.get().is_some()>
                                <summary>"Renew"</summary>
                                <ActionForm action=renew attr:class="stack" attr:novalidate=""><ReturnHere/>
                                    <FormError error=renew_error/>
                                    <input type="hidden" name="organization_id" value=org_id/>
                                    <p>{format!("A new term at the same level, from {}.", s.renew_from)}</p>
                                    <div class="field">
                                        <label for="renew-end">"New term ends on"</label>
                                        <input id="renew-end" type="date" name="term_end" value=s.renew_until.clone() required=true
                                            aria-invalid=move || field_of(renew_error, "term_end").get().is_some().to_string()/>
                                        <FieldError message=field_of(renew_error, "term_end")/>
                                    </div>
                                    <button type="submit">"Renew subscription"</button>
                                </ActionForm>
                            </details>
                        })}
                        {(manage && s.open).then(|| view! {
                            <details open=move || cancel_error.get().is_some()>
                                <summary>"Cancel subscription"</summary>
                                <ActionForm action=cancel attr:class="stack" attr:novalidate=""><ReturnHere/>
                                    <FormError error=cancel_error/>
                                    <input type="hidden" name="organization_id" value=org_id/>
                                    <p>"Cancelling takes effect at once and ends every open term, renewals entered for later included: the Support Portal closes for every contact, and the Main Contact is e-mailed the reason. Invoices stay in the Billing Portal."</p>
                                    <div class="field">
                                        <label for="cancel-reason">"Reason (sent to the Main Contact)"</label>
                                        <textarea id="cancel-reason" name="reason" rows="3" required=true
                                            aria-invalid=move || field_of(cancel_error, "reason").get().is_some().to_string()></textarea>
                                        <FieldError message=field_of(cancel_error, "reason")/>
                                    </div>
                                    <div class="field checkbox">
                                        <input type="checkbox" id="cancel-confirm" name="confirm" value="yes"/>
                                        <label for="cancel-confirm">"I understand: close the subscription now and e-mail the Main Contact"</label>
                                    </div>
                                    <FieldError message=field_of(cancel_error, "confirm")/>
                                    <button type="submit" class="danger">"Cancel subscription"</button>
                                </ActionForm>
                            </details>
                        })}
                    }.into_any()
                }
            }}
        </section>
    }
}
