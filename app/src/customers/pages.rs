//! Customer pages: order intake, the organization page (Main Contact and
//! staff), the staff queue, the catalog, and account activation.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{field_of, last_error, ErrorNotice, FieldError, FormError, TextField};

fn minutes(m: i32) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

// ---- catalog ----------------------------------------------------------------

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<SaveLevel>::new();
    let create = ServerAction::<CreateProgram>::new();
    let catalog = Resource::new(
        move || (save.version().get(), create.version().get()),
        |_| load_catalog(),
    );
    let save_error = last_error(save);
    let create_error = last_error(create);
    view! {
        <Title text="Catalog"/>
        <h1>"Programs and levels"</h1>
        {move || query.read().get("saved").is_some().then(|| view! { <p class="notice success" role="status">"Saved."</p> })}
        <FormError error=save_error/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(c) => {
                        let programs = c.programs.clone();
                        let can_edit = c.can_edit;
                        view! {
                            {c.levels.is_empty().then(|| view! { <p class="empty">"No levels in the catalog yet."</p> })}
                            {c.levels.into_iter().map(|l| {
                                let edit = l.clone();
                                let programs = programs.clone();
                                view! {
                                    <LevelCard l=l/>
                                    {can_edit.then(|| view! {
                                        <details class="card">
                                            <summary>{format!("Edit {} {}", edit.program, edit.name)}</summary>
                                            <LevelEditor action=save programs=programs level=Some(edit) error=save_error/>
                                        </details>
                                    })}
                                }
                            }).collect_view()}
                            {can_edit.then(|| view! {
                                <details class="card">
                                    <summary>"Add a level"</summary>
                                    <LevelEditor action=save programs=programs.clone() level=None error=save_error/>
                                </details>
                                <details class="card">
                                    <summary>"Add a program"</summary>
                                    <ActionForm action=create attr:class="stack" attr:novalidate="">
                                        <FormError error=create_error/>
                                        <TextField name="name" label="Program name" error=field_of(create_error, "name") required=true/>
                                        <TextField name="description" label="Program description" error=field_of(create_error, "description")/>
                                        <button type="submit" class="primary">"Add program"</button>
                                    </ActionForm>
                                </details>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn LevelCard(l: LevelView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby=format!("level-{}", l.id)>
            <h2 id=format!("level-{}", l.id)>{format!("{} — {}", l.program, l.name)}</h2>
            <dl class="facts">
                <dt>"Price"</dt><dd>{format!("{} per {}", l.price, if l.billing_period == "monthly" { "month" } else { "year" })}</dd>
                <dt>"Technical Contacts"</dt><dd>{l.max_technical_contacts}</dd>
                <dt>"Servers included"</dt><dd>{l.included_servers}</dd>
                <dt>"Repository channels"</dt><dd>{l.repository_channels}</dd>
                <dt>"Knowledge base"</dt><dd>{l.kb_tier}</dd>
                <dt>"Business hours"</dt><dd>{l.calendar}</dd>
                <dt>"Holidays"</dt><dd>{if l.holidays.is_empty() { "none".to_string() } else { l.holidays }}</dd>
            </dl>
            <table class="table">
                <caption>"SLA targets"</caption>
                <thead><tr><th scope="col">"Severity"</th><th scope="col">"First response"</th><th scope="col">"Next response"</th><th scope="col">"Resolution"</th><th scope="col">"Clock"</th></tr></thead>
                <tbody>
                    {l.sla.into_iter().map(|t| view! {
                        <tr>
                            <th scope="row">{SEVERITIES.iter().find(|s| s.0 == t.severity).map(|s| format!("{} {}", t.severity, s.1)).unwrap_or_default()}</th>
                            <td>{minutes(t.first_response_minutes)}</td>
                            <td>{minutes(t.next_response_minutes)}</td>
                            <td>{minutes(t.resolution_minutes)}</td>
                            <td>{if t.around_the_clock { "24x7" } else { "Business hours" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The form that creates a level (`level` is `None`) or changes one.
#[component]
fn LevelEditor(
    action: ServerAction<SaveLevel>,
    programs: Vec<ProgramView>,
    level: Option<LevelView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let key = level
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_else(|| "new".into());
    let l = level.clone();
    let val = move |f: fn(&LevelView) -> String| l.as_ref().map(f).unwrap_or_default();
    let input =
        move |field: &'static str, label: &'static str, value: String, kind: &'static str| {
            let id = format!("level-{key}-{field}");
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <input id=id type=kind name=format!("level[{field}]") value=value/>
                    <FieldError message=field_of(error, field)/>
                </div>
            }
        };
    let key2 = level
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_else(|| "new".into());
    let current_program = level.as_ref().map(|l| l.program_id);
    let period = level
        .as_ref()
        .map(|l| l.billing_period.clone())
        .unwrap_or_else(|| "yearly".into());
    let sla = level.as_ref().map(|l| l.sla.clone()).unwrap_or_default();
    view! {
        <ActionForm action=action attr:class="stack" attr:novalidate="">
            <input type="hidden" name="level[id]" value=level.as_ref().map(|l| l.id.to_string()).unwrap_or_default()/>
            <div class="row">
                <div class="field">
                    <label for=format!("level-{key2}-program")>"Program"</label>
                    <select id=format!("level-{key2}-program") name="level[program_id]">
                        {programs.into_iter().map(|p| view! { <option value=p.id.to_string() selected=Some(p.id) == current_program>{p.name}</option> }).collect_view()}
                    </select>
                    <FieldError message=field_of(error, "program_id")/>
                </div>
                {input("name", "Level name", val(|l| l.name.clone()), "text")}
            </div>
            <div class="row">
                {input("max_technical_contacts", "Maximum Technical Contacts", val(|l| l.max_technical_contacts.to_string()), "number")}
                {input("included_servers", "Servers included", val(|l| l.included_servers.to_string()), "number")}
                {input("kb_tier", "Knowledge-base tier", val(|l| l.kb_tier.clone()), "text")}
            </div>
            {input("repository_channels", "Repository channels", val(|l| l.repository_channels.clone()), "text")}
            <div class="row">
                {input("price", "Price", val(|l| l.price_input.clone()), "text")}
                {input("currency", "Currency", val(|l| l.currency.clone()), "text")}
                <div class="field">
                    <label for=format!("level-{key2}-period")>"Billing period"</label>
                    <select id=format!("level-{key2}-period") name="level[billing_period]">
                        <option value="yearly" selected=period == "yearly">"Yearly"</option>
                        <option value="monthly" selected=period == "monthly">"Monthly"</option>
                    </select>
                </div>
            </div>
            <div class="row">
                {input("timezone", "Time zone", val(|l| l.timezone.clone()), "text")}
                {input("business_days", "Working days (ISO weekdays)", val(|l| l.business_days.clone()), "text")}
                {input("business_hours_start", "Opens at", val(|l| l.business_hours_start.clone()), "text")}
                {input("business_hours_end", "Closes at", val(|l| l.business_hours_end.clone()), "text")}
            </div>
            {input("holidays", "Holidays (YYYY-MM-DD, comma-separated)", val(|l| l.holidays.clone()), "text")}
            <fieldset>
                <legend>"SLA targets, in minutes"</legend>
                {SEVERITIES.iter().enumerate().map(|(i, (sev, label, _))| {
                    let t = sla.iter().find(|t| t.severity == *sev).cloned();
                    let v = |f: fn(&SlaView) -> i32| t.as_ref().map(|t| f(t).to_string()).unwrap_or_default();
                    let id = |x: &str| format!("level-{key2}-sla{i}-{x}");
                    view! {
                        <div class="row" role="group" aria-label=format!("Severity {sev} {label}")>
                            <div class="field"><label for=id("first")>{format!("Severity {sev}: first response")}</label>
                                <input id=id("first") type="number" name=format!("level[sla][{i}][first_response_minutes]") value=v(|t| t.first_response_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.first_response_minutes"))/></div>
                            <div class="field"><label for=id("next")>{format!("Severity {sev}: next response")}</label>
                                <input id=id("next") type="number" name=format!("level[sla][{i}][next_response_minutes]") value=v(|t| t.next_response_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.next_response_minutes"))/></div>
                            <div class="field"><label for=id("res")>{format!("Severity {sev}: resolution")}</label>
                                <input id=id("res") type="number" name=format!("level[sla][{i}][resolution_minutes]") value=v(|t| t.resolution_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.resolution_minutes"))/></div>
                            <div class="field checkbox"><input id=id("247") type="checkbox" name=format!("level[sla][{i}][around_the_clock]") checked=t.as_ref().is_some_and(|t| t.around_the_clock)/>
                                <label for=id("247")>{format!("Severity {sev} runs 24x7")}</label></div>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <button type="submit" class="primary" disabled=move || action.pending().get()>{if level.is_some() { "Save level" } else { "Add level" }}</button>
        </ActionForm>
    }
}

// ---- order intake -------------------------------------------------------------

const TECH_ROWS: usize = 5;

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
fn OrderForm(levels: Vec<(i32, String)>, initial_error: Option<AppError>) -> impl IntoView {
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
        <ActionForm action=action attr:class="stack order-form" attr:novalidate="">
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
                            {PAYMENT_METHODS.iter().map(|(k, l)| view! { <option value=*k>{*l}</option> }).collect_view()}
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

// ---- organization page --------------------------------------------------------

/// The Main Contact's organization page (Billing Portal).
#[component]
pub fn MyOrganizationPage() -> impl IntoView {
    view! { <OrganizationPage organization_id=Signal::derive(|| None)/> }
}

/// Staff view of any organization.
#[component]
pub fn StaffOrganizationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.read().get("id").and_then(|s| s.parse::<i32>().ok()));
    view! { <OrganizationPage organization_id=id/> }
}

#[component]
fn OrganizationPage(organization_id: Signal<Option<i32>>) -> impl IntoView {
    let update = ServerAction::<UpdateContact>::new();
    let add = ServerAction::<AddContact>::new();
    let deactivate = ServerAction::<DeactivateContact>::new();
    let remove_admin = ServerAction::<RemoveAdministrativeRole>::new();
    let transfer = ServerAction::<TransferMainContact>::new();
    let resend = ServerAction::<ResendActivation>::new();
    let declare = ServerAction::<DeclareServers>::new();
    let sharing = ServerAction::<SetTicketSharing>::new();
    let decide_req = ServerAction::<DecideContactRequest>::new();
    let decide_srv = ServerAction::<DecideServerDeclaration>::new();
    let data = Resource::new(
        move || {
            (
                organization_id.get(),
                update.version().get(),
                add.version().get(),
                deactivate.version().get(),
                remove_admin.version().get(),
                transfer.version().get(),
                resend.version().get(),
                declare.version().get(),
                sharing.version().get(),
                (decide_req.version().get(), decide_srv.version().get()),
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
        declare,
        sharing,
        decide_req,
        decide_srv,
    };
    view! {
        <Title text="Organization"/>
        <Show when=created>
            <p class="notice success" role="status">"Order processed: the organization, its subscription and contacts exist, and the welcome e-mails are queued."</p>
        </Show>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Organization"</h1><ErrorNotice error=e/> }.into_any(),
                    Ok(o) => view! { <OrganizationBody org=o acts=acts/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateContact>,
    add: ServerAction<AddContact>,
    deactivate: ServerAction<DeactivateContact>,
    remove_admin: ServerAction<RemoveAdministrativeRole>,
    transfer: ServerAction<TransferMainContact>,
    resend: ServerAction<ResendActivation>,
    declare: ServerAction<DeclareServers>,
    sharing: ServerAction<SetTicketSharing>,
    decide_req: ServerAction<DecideContactRequest>,
    decide_srv: ServerAction<DecideServerDeclaration>,
}

#[component]
fn OrganizationBody(org: OrganizationView, acts: Actions) -> impl IntoView {
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
        last_error(acts.sharing),
        last_error(acts.decide_req),
        last_error(acts.decide_srv),
    ];
    let any_error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let add_error = last_error(acts.add);
    let declare_error = last_error(acts.declare);
    // A plain form post comes back with the outcome in the address.
    let query = use_query_map();
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
            <ActionForm action=acts.sharing attr:class="inline">
                <input type="hidden" name="organization_id" value=org_id/>
                <input type="hidden" name="shared" value=(!org.shared_tickets).to_string()/>
                <button type="submit">{if org.shared_tickets { "Stop sharing tickets" } else { "Share tickets between Technical Contacts" }}</button>
            </ActionForm>
        })}
        {org.can_bill.then(|| view! {
            <p class="actions">
                <a href=format!("/staff/billing?organization_id={org_id}")>"Invoices, estimates and proposals"</a>
                <a class="button" href=format!("/staff/billing/new?kind=invoice&organization_id={org_id}")>"New invoice for this organization"</a>
            </p>
        })}
        <FormError error=any_error/>

        <section aria-labelledby="sub-title">
            <h2 id="sub-title">"Subscription"</h2>
            {match org.subscription.clone() {
                None => view! { <p class="empty">"No subscription."</p> }.into_any(),
                Some(s) => view! {
                    <dl class="facts">
                        <dt>"Program and level"</dt><dd>{format!("{} {}", s.program, s.level)}</dd>
                        <dt>"Term"</dt><dd>{format!("{} to {} ({})", s.term_start, s.term_end, s.status)}</dd>
                        <dt>"Technical Contacts"</dt><dd>{format!("{tech_count} of {}", s.max_technical_contacts)}</dd>
                        <dt>"Servers included"</dt><dd>{s.included_servers}</dd>
                        <dt>"Payment"</dt><dd>{s.payment_method}{s.purchase_order.map(|p| format!(", PO {p}"))}</dd>
                    </dl>
                }.into_any(),
            }}
        </section>

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
                <ActionForm action=acts.add attr:class="stack" attr:novalidate="">
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
                    <ActionForm action=acts.declare attr:class="stack" attr:novalidate="">
                        <input type="hidden" name="organization_id" value=org_id/>
                        <FormError error=declare_error/>
                        <TextField name="name" label="Server or service" error=field_of(declare_error, "name") required=true/>
                        <TextField name="kind" label="Kind" error=field_of(declare_error, "kind") required=true/>
                        <TextField name="quantity" label="Quantity" kind="number" error=field_of(declare_error, "quantity") required=true/>
                        <TextField name="note" label="Note" error=field_of(declare_error, "note")/>
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
fn ContactRow(c: ContactView, manage: bool, staff: bool, acts: Actions) -> impl IntoView {
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
                            <ActionForm action=acts.update attr:class="stack" attr:novalidate="">
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
                            <ActionForm action=acts.transfer>
                                <input type="hidden" name="contact_id" value=id/>
                                <p>"The current Main Contact keeps their other roles but no longer receives contractual and billing mail."</p>
                                <button type="submit">{confirm_main}</button>
                            </ActionForm>
                        </details>
                    })}
                    {(active && administrative && roles_ok).then(|| view! {
                        <ActionForm action=acts.remove_admin attr:class="inline">
                            <input type="hidden" name="contact_id" value=id/>
                            <button type="submit">{remove_admin}</button>
                        </ActionForm>
                    })}
                    {(active && !main && edit).then(|| view! {
                        <details>
                            <summary>{deactivate}</summary>
                            <ActionForm action=acts.deactivate>
                                <input type="hidden" name="contact_id" value=id/>
                                <p>"They are signed out at once and can no longer sign in."</p>
                                <button type="submit" class="danger">{confirm_deactivate}</button>
                            </ActionForm>
                        </details>
                    })}
                    {(staff && active && pending && edit).then(|| view! {
                        <ActionForm action=acts.resend attr:class="inline">
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
fn RequestTable(rows: Vec<ContactRequestView>, staff: bool, acts: Actions) -> impl IntoView {
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
                                <ActionForm action=acts.decide_req attr:class="inline">
                                    <input type="hidden" name="request_id" value=r.id/>
                                    <input type="hidden" name="approve" value="true"/>
                                    <button type="submit">{approve}</button>
                                </ActionForm>
                                <ActionForm action=acts.decide_req attr:class="inline">
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
fn ServerTable(rows: Vec<ServerDeclarationView>, staff: bool, acts: Actions) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th scope="col">"Organization"</th><th scope="col">"Server or service"</th><th scope="col">"Kind"</th><th scope="col">"Quantity"</th><th scope="col">"Note"</th><th scope="col">"Status"</th>{staff.then(|| view! { <th scope="col">"Decision"</th> })}</tr></thead>
            <tbody>
                {rows.into_iter().map(|s| {
                    let (accept, reject) = (format!("Accept {}", s.name), format!("Reject {}", s.name));
                    view! {
                    <tr>
                        <td><a href=format!("/staff/organizations/{}", s.organization_id)>{s.organization.clone()}</a></td>
                        <th scope="row">{s.name.clone()}</th>
                        <td>{s.kind.clone()}</td>
                        <td>{s.quantity}</td>
                        <td>{s.note.clone()}</td>
                        <td>{s.status.clone()}</td>
                        {(staff && s.status == "pending").then(|| view! {
                            <td class="actions">
                                <ActionForm action=acts.decide_srv attr:class="inline">
                                    <input type="hidden" name="declaration_id" value=s.id/>
                                    <input type="hidden" name="accept" value="true"/>
                                    <button type="submit">{accept}</button>
                                </ActionForm>
                                <ActionForm action=acts.decide_srv attr:class="inline">
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

// ---- staff queue ----------------------------------------------------------------

#[component]
pub fn StaffQueuePage() -> impl IntoView {
    let decide_req = ServerAction::<DecideContactRequest>::new();
    let decide_srv = ServerAction::<DecideServerDeclaration>::new();
    let acts = Actions {
        update: ServerAction::new(),
        add: ServerAction::new(),
        deactivate: ServerAction::new(),
        remove_admin: ServerAction::new(),
        transfer: ServerAction::new(),
        resend: ServerAction::new(),
        declare: ServerAction::new(),
        sharing: ServerAction::new(),
        decide_req,
        decide_srv,
    };
    let data = Resource::new(
        move || (decide_req.version().get(), decide_srv.version().get()),
        |_| load_staff_queue(),
    );
    let err_a = last_error(decide_req);
    let err_b = last_error(decide_srv);
    view! {
        <Title text="Requests"/>
        <h1>"Requests from customers"</h1>
        <FormError error=err_a/>
        <FormError error=err_b/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(q) => view! {
                        <section aria-labelledby="q-contacts">
                            <h2 id="q-contacts">"Additional Technical Contacts"</h2>
                            {if q.contact_requests.is_empty() {
                                view! { <p class="empty">"Nothing waiting."</p> }.into_any()
                            } else {
                                view! { <RequestTable rows=q.contact_requests staff=true acts=acts/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="q-servers">
                            <h2 id="q-servers">"Servers and services to cover"</h2>
                            {if q.server_declarations.is_empty() {
                                view! { <p class="empty">"Nothing waiting."</p> }.into_any()
                            } else {
                                view! { <ServerTable rows=q.server_declarations staff=true acts=acts/> }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

// ---- activation -----------------------------------------------------------------

#[component]
pub fn ActivatePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<ActivateAccount>::new();
    let error = last_error(action);
    view! {
        <Title text="Set your password"/>
        // The token is in this page's address: never send it on as a referrer.
        <Meta name="referrer" content="no-referrer"/>
        <section class="card narrow" aria-labelledby="activate-title">
            <h1 id="activate-title">"Set your password"</h1>
            <p class="muted">"Choose a password to activate your Portico account. Afterwards you sign in with your e-mail address."</p>
            <ActionForm action=action attr:class="stack" attr:novalidate="">
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
