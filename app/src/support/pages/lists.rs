//! The Support Portal home and the staff queue (one ticket table with queues and filters), and the new-ticket form.

use super::*;

/// Tickets with queues and filters; `base` is this page, `item` where a ticket opens.
#[component]
pub(super) fn TicketTable(#[prop(into)] base: String, item: &'static str) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        TicketFilter {
            queue: q.get("queue").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            severity: q.get("severity").unwrap_or_default(),
            organization_id: q.get("organization_id").unwrap_or_default(),
            organization: q.get("organization").unwrap_or_default(),
            opened: q.get("opened").unwrap_or_default(),
            solved: q.get("solved").unwrap_or_default(),
            after: q.get("after").unwrap_or_default(),
            before: q.get("before").unwrap_or_default(),
        }
    };
    let data = Resource::new(filter, list_tickets);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    let f = filter();
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(list) => {
                            // This list's filters, in another queue or at another page.
                            let link = {
                                let f = f.clone();
                                let base = base.clone();
                                move |queue: &str, cursor: &str| {
                                    format!(
                                        "{base}?queue={queue}&status={}&severity={}&organization_id={}&organization={}&opened={}&solved={}{cursor}",
                                        crate::components::query_value(&f.status), crate::components::query_value(&f.severity),
                                        crate::components::query_value(&f.organization_id), crate::components::query_value(&f.organization),
                                        crate::components::query_value(&f.opened), crate::components::query_value(&f.solved)
                                    )
                                }
                            };
                            let staff = list.staff;
                            let prev = list.prev.as_ref().map(|c| link(&f.queue, &format!("&before={}", crate::components::query_value(c))));
                            let next = list.next.as_ref().map(|c| link(&f.queue, &format!("&after={}", crate::components::query_value(c))));
                            let first = (prev.is_some() || !f.after.is_empty() || !f.before.is_empty()).then(|| link(&f.queue, ""));
                            let count = if list.capped {
                                format!("More than {} tickets", list.total_rows)
                            } else if list.total_rows == 1 {
                                "1 ticket".to_string()
                            } else {
                                format!("{} tickets", list.total_rows)
                            };
                            view! {
                                {staff.then(|| view! {
                                    <nav class="subnav" aria-label="Queues">
                                        <ul>
                                            {QUEUES.iter().map(|(k, l)| {
                                                let current = f.queue == *k || (f.queue.is_empty() && *k == "all");
                                                view! { <li><a href=link(k, "") aria-current=current.then_some("page")>{*l}</a></li> }
                                            }).collect_view()}
                                        </ul>
                                    </nav>
                                })}
                                <form method="get" action=base.clone() class="filters" role="search" aria-label="Filter tickets">
                                    <input type="hidden" name="queue" value=f.queue.clone()/>
                                    <div class="field">
                                        <label for="t-status">"Status"</label>
                                        <select id="t-status" name="status">
                                            <option value="" selected=f.status.is_empty()>"All"</option>
                                            {TICKET_STATUSES.iter().map(|(k, l)| view! { <option value=*k selected=f.status == *k>{*l}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field">
                                        <label for="t-sev">"Severity"</label>
                                        <select id="t-sev" name="severity">
                                            <option value="" selected=f.severity.is_empty()>"All"</option>
                                            {Severity::ALL.iter().map(|s| {
                                                let v = s.number().to_string();
                                                let sel = f.severity == v;
                                                view! { <option value=v selected=sel>{s.text()}</option> }
                                            }).collect_view()}
                                        </select>
                                    </div>
                                    {staff.then(|| match list.organization.clone() {
                                        Some(name) => view! {
                                            <fieldset class="field">
                                                <legend>"Organization"</legend>
                                                <input type="hidden" name="organization_id" value=f.organization_id.clone()/>
                                                <p><strong>{name}</strong>" "
                                                    <a href=format!("{base}?queue={}&status={}&severity={}&opened={}&solved={}", crate::components::query_value(&f.queue), crate::components::query_value(&f.status), crate::components::query_value(&f.severity), crate::components::query_value(&f.opened), crate::components::query_value(&f.solved))>"All organizations"</a>
                                                </p>
                                            </fieldset>
                                        }.into_any(),
                                        None => view! {
                                            <div class="field">
                                                <label for="t-org">"Organization"</label>
                                                <input id="t-org" type="search" name="organization" value=f.organization.clone()
                                                    aria-describedby="t-org-hint" autocomplete="off"/>
                                                <p id="t-org-hint" class="hint">"The name, or how it starts."</p>
                                            </div>
                                        }.into_any(),
                                    })}
                                    {[("opened", "Opened", f.opened.clone(), f.solved.clone()), ("solved", "Solved", f.solved.clone(), f.opened.clone())]
                                        .into_iter()
                                        .filter(|(_, _, days, _)| !days.is_empty())
                                        .map(|(name, legend, days, other)| {
                                            // Without this one; the other day filter stays.
                                            let other_name = if name == "opened" { "solved" } else { "opened" };
                                            let any_time = format!(
                                                "{base}?queue={}&status={}&severity={}&organization_id={}&organization={}&{other_name}={}",
                                                crate::components::query_value(&f.queue), crate::components::query_value(&f.status),
                                                crate::components::query_value(&f.severity), crate::components::query_value(&f.organization_id),
                                                crate::components::query_value(&f.organization), crate::components::query_value(&other)
                                            );
                                            view! {
                                                <fieldset class="field">
                                                    <legend>{legend}</legend>
                                                    <input type="hidden" name=name value=days.clone()/>
                                                    <p><strong>{days.replace("..", " to ")}</strong>" (UTC) "
                                                        <a href=any_time>"Any time"</a>
                                                    </p>
                                                </fieldset>
                                            }
                                        })
                                        .collect_view()}
                                    <button type="submit">"Filter"</button>
                                </form>
                                {if list.rows.is_empty() {
                                    view! { <p class="empty" role="status">{list.notice.clone().unwrap_or_else(|| "No tickets here.".into())}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="table">
                                            <caption class="visually-hidden">"Tickets, the next SLA due first"</caption>
                                            <thead><tr>
                                                <th scope="col">"Ticket"</th>
                                                {staff.then(|| view! { <th scope="col">"Organization"</th> })}
                                                <th scope="col">"Requester"</th>
                                                <th scope="col">"Severity"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Assignee"</th>
                                                <th scope="col">"Next SLA due"</th>
                                            </tr></thead>
                                            <tbody>
                                                {list.rows.into_iter().map(|r| view! {
                                                    <tr>
                                                        <th scope="row"><a href=format!("{item}/{}", r.id)>{format!("#{} {}", r.id, r.subject)}</a></th>
                                                        {staff.then(|| view! { <td>{r.organization.clone()}</td> })}
                                                        <td>{r.requester}</td>
                                                        <td>{severity_text(r.severity)}</td>
                                                        <td><span class=format!("badge ticket-{}", r.status)>{status_label(&r.status)}</span></td>
                                                        <td>{r.assignee.unwrap_or_else(|| "—".into())}</td>
                                                        <td class=if r.breached { "breached" } else { "" }>
                                                            {r.next_due.unwrap_or_else(|| "—".into())}
                                                            {r.breached.then_some(" (breached)")}
                                                        </td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                {let empty = list.total_rows == 0 && first.is_none();
                                (!empty).then(|| view! {
                                <nav class="pager" aria-label="Pages">
                                    {first.map(|href| view! { <a href=href>"First page"</a> })}
                                    {prev.map(|href| view! { <a href=href rel="prev">"Previous"</a> })}
                                    <span>{count}</span>
                                    {next.map(|href| view! { <a href=href rel="next">"Next"</a> })}
                                </nav>
                                })}
                            }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn SupportHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_support_home());
    view! {
        <Title text="Support Portal"/>
        <h1>"Support Portal"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <p class="lead">"Technical support for " <strong>{d.organization_name}</strong> "."</p>
                        <p class="muted">{if d.shared_tickets {
                            "Your organization shares tickets: you see your colleagues' tickets too."
                        } else {
                            "You see the tickets you opened or follow; colleagues see theirs."
                        }}</p>
                        {d.distribution_list.then(|| view! {
                            <p class="notice">"This is a shared (distribution list) account: everyone behind this address sees the same tickets."</p>
                        })}
                        <p><a class="button primary" href="/support/tickets/new">"Open a ticket"</a></p>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <section aria-labelledby="tickets-title">
            <h2 id="tickets-title">"Your tickets"</h2>
            <TicketTable base="/support" item="/support/tickets"/>
        </section>
    }
}

#[component]
pub fn StaffTicketsPage() -> impl IntoView {
    view! {
        <Title text="Tickets"/>
        <h1>"Tickets"</h1>
        <TicketTable base="/staff/tickets" item="/staff/tickets"/>
    }
}

#[component]
pub fn NewTicketPage() -> impl IntoView {
    let open = ServerAction::<OpenTicket>::new();
    let error = last_error(open);
    let f = move |name: &str| field_of(error, name.to_string());
    let servers = Resource::new(|| (), |_| ticket_servers());
    let releases = Resource::new(|| (), |_| ticket_releases());
    view! {
        <Title text="Open a ticket"/>
        <h1>"Open a ticket"</h1>
        <ActionForm action=open attr:class="stack" attr:novalidate=""><ReturnHere/>
            <FormError error=error/>
            <TextField name="ticket[subject]" label="Subject" error=f("subject") required=true/>
            <fieldset>
                <legend>"Severity"</legend>
                {Severity::ALL.iter().map(|s| {
                    let (n, d) = (s.number(), s.description());
                    let id = format!("sev-{n}");
                    view! {
                        <div class="choice">
                            <input type="radio" id=id.clone() name="ticket[severity]" value=n.to_string() checked=n == 3/>
                            <label for=id><strong>{s.text()}</strong> ": " {d}</label>
                        </div>
                    }
                }).collect_view()}
                <FieldError message=f("severity")/>
            </fieldset>
            <div class="field">
                <label for="t-release">"Product and version"</label>
                <Suspense fallback=|| view! { <p class="muted">"Loading your products…"</p> }>
                    {move || Suspend::new(async move {
                        match releases.await {
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                            Ok(list) => view! {
                                <select id="t-release" name="ticket[release]" aria-describedby="t-release-hint"
                                    aria-invalid=move || f("release").get().is_some().to_string()>
                                    <option value="">"Not about one product"</option>
                                    {list.into_iter().map(|(id, label)| view! { <option value=id.to_string()>{label}</option> }).collect_view()}
                                </select>
                            }.into_any(),
                        }
                    })}
                </Suspense>
                <p id="t-release-hint" class="hint">"The products your subscription covers."</p>
                <FieldError message=f("release")/>
            </div>
            <fieldset>
                <legend>"Affected servers"</legend>
                <Suspense fallback=|| view! { <p class="muted">"Loading your servers…"</p> }>
                    {move || Suspend::new(async move {
                        match servers.await {
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">"Your organization has no servers on record. Name them in the description; your Main Contact can declare them."</p>
                            }.into_any(),
                            Ok(list) => list.into_iter().enumerate().map(|(i, (sid, label))| {
                                let id = format!("srv-{sid}");
                                view! {
                                    <div class="choice">
                                        <input type="checkbox" id=id.clone() name=format!("ticket[servers][{i}]") value=sid.to_string()/>
                                        <label for=id>{label}</label>
                                    </div>
                                }
                            }).collect_view().into_any(),
                        }
                    })}
                </Suspense>
                <FieldError message=f("servers")/>
            </fieldset>
            <div class="field">
                <label for="t-desc">"Description"</label>
                <textarea id="t-desc" name="ticket[description]" rows="10" required=true aria-describedby="t-desc-hint"></textarea>
                <p id="t-desc-hint" class="hint">"Markdown: **bold**, `code`, lists, links. What happened, what you expected, and what you tried."</p>
                <FieldError message=f("description")/>
            </div>
            <button type="submit" class="primary">"Open ticket"</button>
        </ActionForm>
    }
}
