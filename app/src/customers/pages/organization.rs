//! The organization page, for its contacts and for staff.

use super::*;

/// The Main Contact's organization page (Billing Portal).
#[component]
pub fn MyOrganizationPage() -> impl IntoView {
    view! { <OrganizationPage organization_id=Signal::derive(|| None) record=None/> }
}

/// Staff view of any organization; `children` (its support record) follow
/// the subscription.
#[component]
pub fn StaffOrganizationPage(#[prop(optional)] children: Option<ChildrenFn>) -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.read().get("id").and_then(|s| s.parse::<i32>().ok()));
    view! { <OrganizationPage organization_id=id record=children/> }
}

#[component]
pub(super) fn OrganizationPage(
    organization_id: Signal<Option<i32>>,
    record: Option<ChildrenFn>,
) -> impl IntoView {
    let update = ServerAction::<UpdateContact>::new();
    let add = ServerAction::<AddContact>::new();
    let deactivate = ServerAction::<DeactivateContact>::new();
    let remove_admin = ServerAction::<RemoveAdministrativeRole>::new();
    let transfer = ServerAction::<TransferMainContact>::new();
    let resend = ServerAction::<ResendActivation>::new();
    let reset = ServerAction::<SendPasswordReset>::new();
    let declare = ServerAction::<DeclareServers>::new();
    let sharing = ServerAction::<SetTicketSharing>::new();
    let decide_req = ServerAction::<DecideContactRequest>::new();
    let decide_srv = ServerAction::<DecideServerDeclaration>::new();
    let renew = ServerAction::<RenewSubscription>::new();
    let cancel = ServerAction::<CancelSubscription>::new();
    let data = Resource::new(
        move || {
            (
                organization_id.get(),
                update.version().get(),
                add.version().get(),
                deactivate.version().get(),
                remove_admin.version().get(),
                transfer.version().get(),
                (resend.version().get(), reset.version().get()),
                declare.version().get(),
                sharing.version().get(),
                (decide_req.version().get(), decide_srv.version().get()),
                (renew.version().get(), cancel.version().get()),
            )
        },
        |(id, ..)| load_organization(id),
    );
    let query = use_query_map();
    let created = move || query.read().get("created").is_some();
    let acts = Actions {
        update,
        add,
        deactivate,
        remove_admin,
        transfer,
        resend,
        reset,
        declare,
        sharing,
        decide_req,
        decide_srv,
        renew,
        cancel,
    };
    view! {
        <Title text="Organization"/>
        <Show when=created>
            <p class="notice success" role="status">"Order processed: the organization, its subscription and contacts exist, and the welcome e-mails are queued."</p>
        </Show>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let record = record.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <h1>"Organization"</h1><ErrorNotice error=e/> }.into_any(),
                        Ok(o) => view! { <OrganizationBody org=o acts=acts record=record/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
pub(super) struct Actions {
    pub(super) update: ServerAction<UpdateContact>,
    pub(super) add: ServerAction<AddContact>,
    pub(super) deactivate: ServerAction<DeactivateContact>,
    pub(super) remove_admin: ServerAction<RemoveAdministrativeRole>,
    pub(super) transfer: ServerAction<TransferMainContact>,
    pub(super) resend: ServerAction<ResendActivation>,
    pub(super) reset: ServerAction<SendPasswordReset>,
    pub(super) declare: ServerAction<DeclareServers>,
    pub(super) sharing: ServerAction<SetTicketSharing>,
    pub(super) decide_req: ServerAction<DecideContactRequest>,
    pub(super) decide_srv: ServerAction<DecideServerDeclaration>,
    pub(super) renew: ServerAction<RenewSubscription>,
    pub(super) cancel: ServerAction<CancelSubscription>,
}

#[component]
pub(super) fn OrganizationBody(
    org: OrganizationView,
    acts: Actions,
    record: Option<ChildrenFn>,
) -> impl IntoView {
    let staff = org.viewer_is_staff;
    let manage = org.can_manage;
    let org_id = org.id;
    let limit = org
        .subscription
        .as_ref()
        .map(|s| s.max_technical_contacts)
        .unwrap_or(0);
    let tech_count = org.technical_contacts;
    let has_admin = org.contacts.iter().any(|c| c.active && c.administrative);
    let errors = [
        last_error(acts.update),
        last_error(acts.deactivate),
        last_error(acts.remove_admin),
        last_error(acts.transfer),
        last_error(acts.resend),
        last_error(acts.reset),
        last_error(acts.sharing),
        last_error(acts.decide_req),
        last_error(acts.decide_srv),
    ];
    let any_error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let add_error = last_error(acts.add);
    let declare_error = last_error(acts.declare);
    // A plain form post comes back with the outcome in the address.
    let query = use_query_map();
    let reset_sent = move || {
        matches!(acts.reset.value().get(), Some(Ok(())))
            || query.read().get("done").as_deref() == Some("reset")
    };
    let added = move || match query.read().get("added").as_deref() {
        Some("added") => Some(AddOutcome::Added),
        Some("requested") => Some(AddOutcome::Requested),
        _ => None,
    };
    view! {
        <h1>{org.name.clone()}</h1>
        <dl class="facts">
            <dt>"Legal name"</dt><dd>{org.legal_name.clone()}</dd>
            <dt>"Address"</dt><dd class="pre">{org.address.clone()}</dd>
            {org.vat_id.clone().map(|v| view! { <dt>"VAT id"</dt><dd>{v}</dd> })}
            <dt>"Ticket sharing"</dt>
            <dd>{if org.shared_tickets { "Technical Contacts see each other's tickets" } else { "Each Technical Contact sees their own tickets" }}</dd>
        </dl>
        {org.can_share_tickets.then(|| view! {
            <ActionForm action=acts.sharing attr:class="inline"><ReturnHere/>
                <input type="hidden" name="organization_id" value=org_id/>
                <input type="hidden" name="shared" value=(!org.shared_tickets).to_string()/>
                <button type="submit">{if org.shared_tickets { "Stop sharing tickets" } else { "Share tickets between Technical Contacts" }}</button>
            </ActionForm>
        })}
        {org.can_work_tickets.then(|| view! {
            <p class="actions">
                <a href=format!("/staff/tickets?queue=open&organization_id={org_id}")>"Open tickets"</a>
                <a href=format!("/staff/tickets?queue=all&organization_id={org_id}")>"All tickets, closed too"</a>
            </p>
        })}
        {org.can_bill.then(|| view! {
            <p class="actions">
                <a href=format!("/staff/billing?organization_id={org_id}")>"Invoices, estimates and proposals"</a>
                <a class="button" href=format!("/staff/billing/new?kind=invoice&organization_id={org_id}")>"New invoice for this organization"</a>
            </p>
        })}
        <FormError error=any_error/>
        {move || reset_sent().then(|| view! {
            <p class="notice success" role="status">"Password reset link sent to the address on file; it works once, within 60 minutes."</p>
        })}

        <SubscriptionSection sub=org.subscription.clone() org_id=org_id tech_count=tech_count
            manage=org.can_manage_subscription renew=acts.renew cancel=acts.cancel/>
        {record.map(|r| r())}

        <section aria-labelledby="contacts-title">
            <h2 id="contacts-title">"Contacts"</h2>
            <table class="table contacts">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Roles"</th><th scope="col">"Account"</th>{manage.then(|| view! { <th scope="col">"Actions"</th> })}</tr></thead>
                <tbody>
                    {org.contacts.clone().into_iter().map(|c| view! { <ContactRow c=c manage=manage staff=staff acts=acts/> }).collect_view()}
                </tbody>
            </table>
        </section>

        {manage.then(|| view! {
            <section class="card" aria-labelledby="add-title">
                <h2 id="add-title">"Add a contact"</h2>
                <p class="hint">{if staff {
                    format!("{tech_count} of {limit} Technical Contacts in use.")
                } else if tech_count as i32 >= limit {
                    format!("All {limit} Technical Contacts of your level are in use: a new Technical Contact is sent to us for approval.")
                } else {
                    format!("{tech_count} of {limit} Technical Contacts in use.")
                }}</p>
                {move || added().map(|o| match o {
                    AddOutcome::Added => view! { <p class="notice success" role="status">"Contact added; their invitation e-mail is on its way."</p> },
                    AddOutcome::Requested => view! { <p class="notice success" role="status">"Request sent: we will e-mail you when it is decided."</p> },
                })}
                <ActionForm action=acts.add attr:class="stack" attr:novalidate=""><ReturnHere/>
                    <input type="hidden" name="organization_id" value=org_id/>
                    <FormError error=add_error/>
                    <div class="field">
                        <label for="add-role">"Role"</label>
                        <select id="add-role" name="role">
                            <option value="technical">"Technical Contact"</option>
                            <option value="administrative" disabled=has_admin>{if has_admin { "Administrative Contact (already named)" } else { "Administrative Contact" }}</option>
                        </select>
                        <FieldError message=field_of(add_error, "role")/>
                    </div>
                    <TextField name="name" label="Name" error=field_of(add_error, "name") required=true/>
                    <TextField name="email" label="Email" kind="email" error=field_of(add_error, "email") required=true/>
                    <TextField name="phone" label="Phone" kind="tel" error=field_of(add_error, "phone")/>
                    <div class="field checkbox">
                        <input type="checkbox" id="add-dl" name="distribution_list"/>
                        <label for="add-dl">"This address is a distribution list (several people share one login)"</label>
                    </div>
                    <button type="submit" class="primary" disabled=move || acts.add.pending().get()>"Add contact"</button>
                </ActionForm>
            </section>
        })}

        {(!org.requests.is_empty()).then(|| view! {
            <section aria-labelledby="req-title">
                <h2 id="req-title">"Requests for more Technical Contacts"</h2>
                <RequestTable rows=org.requests.clone() staff=staff acts=acts/>
            </section>
        })}

        <section aria-labelledby="servers-title">
            <h2 id="servers-title">"Servers and services covered"</h2>
            {if org.servers.is_empty() {
                view! { <p class="empty">"No additional servers or services declared."</p> }.into_any()
            } else {
                view! { <ServerTable rows=org.servers.clone() staff=staff acts=acts/> }.into_any()
            }}
            {org.can_declare_servers.then(|| view! {
                <details class="card">
                    <summary>"Declare servers or services to cover"</summary>
                    <ActionForm action=acts.declare attr:class="stack" attr:novalidate=""><ReturnHere/>
                        <input type="hidden" name="organization_id" value=org_id/>
                        <FormError error=declare_error/>
                        <TextField name="name" id="declare-name" label="Server or service" error=field_of(declare_error, "name") required=true/>
                        <TextField name="kind" id="declare-kind" label="Kind" error=field_of(declare_error, "kind") required=true/>
                        <TextField name="quantity" id="declare-quantity" label="Quantity" kind="number" error=field_of(declare_error, "quantity") required=true/>
                        <div class="field">
                            <label for="declare-release">"Product and version it runs"</label>
                            <select id="declare-release" name="release" aria-invalid=move || field_of(declare_error, "release").get().is_some().to_string()>
                                <option value="">"Not known, or none of these"</option>
                                {org.releases.iter().map(|(id, label)| view! { <option value=id.to_string()>{label.clone()}</option> }).collect_view()}
                            </select>
                            <FieldError message=field_of(declare_error, "release")/>
                        </div>
                        <TextField name="note" id="declare-note" label="Note" error=field_of(declare_error, "note")/>
                        <button type="submit" class="primary">"Send declaration"</button>
                    </ActionForm>
                </details>
            })}
        </section>

        {staff.then(|| view! {
            <section aria-labelledby="audit-title">
                <h2 id="audit-title">"Audit trail"</h2>
                {if org.audit.is_empty() {
                    view! { <p class="empty">"No changes recorded."</p> }.into_any()
                } else {
                    view! {
                        <table class="table audit">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                            <tbody>
                                {org.audit.clone().into_iter().map(|a| view! {
                                    <tr><td>{a.at}</td><td>{a.actor}</td><td>{format!("{} ({})", a.action, a.target)}</td>
                                        <td><code>{a.before.unwrap_or_default()}</code></td><td><code>{a.after.unwrap_or_default()}</code></td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        })}
    }
}

#[component]
pub(super) fn ContactRow(
    c: ContactView,
    manage: bool,
    staff: bool,
    acts: Actions,
) -> impl IntoView {
    let mut roles = Vec::new();
    if c.main {
        roles.push("Main Contact");
    }
    if c.administrative {
        roles.push("Administrative Contact");
    }
    if c.technical {
        roles.push("Technical Contact");
    }
    if c.distribution_list {
        roles.push("distribution list");
    }
    let roles = roles.join(", ");
    let id = c.id;
    let name = c.name.clone();
    let (v_name, v_email, v_phone) = (
        c.name.clone(),
        c.email.clone(),
        c.phone.clone().unwrap_or_default(),
    );
    let make_main = format!("Make {name} the Main Contact");
    let confirm_main = format!("Confirm: make {name} the Main Contact");
    let remove_admin = format!("Remove {name} as Administrative Contact");
    let deactivate = format!("Deactivate {name}");
    let confirm_deactivate = format!("Confirm: deactivate {name}");
    let resend = format!("Re-send invitation to {name}");
    let reset = format!("Send {name} a password reset link");
    let confirm_reset = format!("Confirm: e-mail {name} a reset link");
    let has_password = c.account == "Active";
    let (active, main, administrative, dl) =
        (c.active, c.main, c.administrative, c.distribution_list);
    let pending = c.account == "Invitation sent";
    let (edit, roles_ok, email_ok) = (c.can_edit, c.can_change_roles, c.can_change_email);
    let update_error = last_error(acts.update);
    view! {
        <tr class:inactive=!c.active>
            <th scope="row">{c.name.clone()}{(!c.active).then_some(" (deactivated)")}</th>
            <td>{c.email.clone()}{c.phone.clone().map(|p| view! { <br/><span class="muted">{p}</span> })}</td>
            <td>{roles}</td>
            <td>{c.account.clone()}</td>
            {(manage).then(|| view! {
                <td class="actions">
                    {(active && edit).then(|| view! {
                        <details>
                            <summary>{format!("Edit {name}")}</summary>
                            <ActionForm action=acts.update attr:class="stack" attr:novalidate=""><ReturnHere/>
                                <input type="hidden" name="contact_id" value=id/>
                                <div class="field"><label for=format!("c{id}-name")>"Name"</label><input id=format!("c{id}-name") name="name" value=v_name required=true/></div>
                                <div class="field"><label for=format!("c{id}-email")>"Email"</label><input id=format!("c{id}-email") name="email" type="email" value=v_email required=true readonly=!email_ok aria-describedby=(!email_ok).then(|| format!("c{id}-email-hint"))/>{(!email_ok).then(|| view! { <p class="muted" id=format!("c{id}-email-hint")>"The sign-in address is changed by an administrator or the organization's Main Contact."</p> })}</div>
                                <div class="field"><label for=format!("c{id}-phone")>"Phone"</label><input id=format!("c{id}-phone") name="phone" type="tel" value=v_phone/></div>
                                <div class="field checkbox"><input type="checkbox" id=format!("c{id}-dl") name="distribution_list" checked=dl/><label for=format!("c{id}-dl")>"Distribution list"</label></div>
                                <FormError error=update_error/>
                                <FieldError message=field_of(update_error, "email")/>
                                <button type="submit">"Save"</button>
                            </ActionForm>
                        </details>
                    })}
                    {(active && !main && roles_ok).then(|| view! {
                        <details>
                            <summary>{make_main}</summary>
                            <ActionForm action=acts.transfer><ReturnHere/>
                                <input type="hidden" name="contact_id" value=id/>
                                <p>"The current Main Contact keeps their other roles but no longer receives contractual and billing mail."</p>
                                <button type="submit">{confirm_main}</button>
                            </ActionForm>
                        </details>
                    })}
                    {(active && administrative && roles_ok).then(|| view! {
                        <ActionForm action=acts.remove_admin attr:class="inline"><ReturnHere/>
                            <input type="hidden" name="contact_id" value=id/>
                            <button type="submit">{remove_admin}</button>
                        </ActionForm>
                    })}
                    {(active && !main && edit).then(|| view! {
                        <details>
                            <summary>{deactivate}</summary>
                            <ActionForm action=acts.deactivate><ReturnHere/>
                                <input type="hidden" name="contact_id" value=id/>
                                <p>"They are signed out at once and can no longer sign in."</p>
                                <button type="submit" class="danger">{confirm_deactivate}</button>
                            </ActionForm>
                        </details>
                    })}
                    {(staff && active && has_password && edit).then(|| view! {
                        <details>
                            <summary>{reset}</summary>
                            <ActionForm action=acts.reset><ReturnHere/>
                                <input type="hidden" name="contact_id" value=id/>
                                <p>"They get an e-mail at the address above with a link to choose a new password (it works once, within 60 minutes). Their password stays until they use it."</p>
                                <button type="submit">{confirm_reset}</button>
                            </ActionForm>
                        </details>
                    })}
                    {(staff && active && pending && edit).then(|| view! {
                        <ActionForm action=acts.resend attr:class="inline"><ReturnHere/>
                            <input type="hidden" name="contact_id" value=id/>
                            <button type="submit">{resend}</button>
                        </ActionForm>
                    })}
                </td>
            })}
        </tr>
    }
}

#[component]
pub(super) fn RequestTable(
    rows: Vec<ContactRequestView>,
    staff: bool,
    acts: Actions,
) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th scope="col">"Organization"</th><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Requested"</th><th scope="col">"Status"</th>{staff.then(|| view! { <th scope="col">"Decision"</th> })}</tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let (approve, decline) = (format!("Approve {}", r.name), format!("Decline {}", r.name));
                    view! {
                    <tr>
                        <td><a href=format!("/staff/organizations/{}", r.organization_id)>{r.organization.clone()}</a></td>
                        <th scope="row">{r.name.clone()}{r.distribution_list.then_some(" (list)")}</th>
                        <td>{r.email.clone()}</td>
                        <td>{r.created_at.clone()}</td>
                        <td>{r.status.clone()}</td>
                        {(staff && r.status == "pending").then(|| view! {
                            <td class="actions">
                                <ActionForm action=acts.decide_req attr:class="inline"><ReturnHere/>
                                    <input type="hidden" name="request_id" value=r.id/>
                                    <input type="hidden" name="approve" value="true"/>
                                    <button type="submit">{approve}</button>
                                </ActionForm>
                                <ActionForm action=acts.decide_req attr:class="inline"><ReturnHere/>
                                    <input type="hidden" name="request_id" value=r.id/>
                                    <input type="hidden" name="approve" value="false"/>
                                    <button type="submit">{decline}</button>
                                </ActionForm>
                            </td>
                        })}
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub(super) fn ServerTable(
    rows: Vec<ServerDeclarationView>,
    staff: bool,
    acts: Actions,
) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th scope="col">"Organization"</th><th scope="col">"Server or service"</th><th scope="col">"Kind"</th><th scope="col">"Runs"</th><th scope="col">"Quantity"</th><th scope="col">"Note"</th><th scope="col">"Status"</th>{staff.then(|| view! { <th scope="col">"Decision"</th> })}</tr></thead>
            <tbody>
                {rows.into_iter().map(|s| {
                    let (accept, reject) = (format!("Accept {}", s.name), format!("Reject {}", s.name));
                    view! {
                    <tr>
                        <td><a href=format!("/staff/organizations/{}", s.organization_id)>{s.organization.clone()}</a></td>
                        <th scope="row">{s.name.clone()}</th>
                        <td>{s.kind.clone()}</td>
                        <td>{s.release.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{s.quantity}</td>
                        <td>{s.note.clone()}</td>
                        <td>{s.status.clone()}</td>
                        {(staff && s.status == "pending").then(|| view! {
                            <td class="actions">
                                <ActionForm action=acts.decide_srv attr:class="inline"><ReturnHere/>
                                    <input type="hidden" name="declaration_id" value=s.id/>
                                    <input type="hidden" name="accept" value="true"/>
                                    <button type="submit">{accept}</button>
                                </ActionForm>
                                <ActionForm action=acts.decide_srv attr:class="inline"><ReturnHere/>
                                    <input type="hidden" name="declaration_id" value=s.id/>
                                    <input type="hidden" name="accept" value="false"/>
                                    <button type="submit">{reject}</button>
                                </ActionForm>
                            </td>
                        })}
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
}
