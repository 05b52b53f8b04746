//! Support pages: the customer's tickets and the new-ticket form, one
//! ticket (customer and staff), and the staff queues. Plain forms: the pages
//! work without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{field_of, last_error, ErrorNotice, FieldError, FormError, TextField};
use crate::customers::SEVERITIES;

fn status_label(s: &str) -> &'static str {
    TICKET_STATUSES
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

fn severity_text(s: i16) -> String {
    SEVERITIES
        .iter()
        .find(|(n, _, _)| *n == s)
        .map(|(n, l, _)| format!("{n} — {l}"))
        .unwrap_or_else(|| s.to_string())
}

#[component]
fn Done() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let text = match q.get("done").as_deref() {
            Some("comment") => Some("Comment added."),
            Some("assigned") => Some("Assignment saved."),
            Some("severity") => Some("Severity changed."),
            Some("follower") => Some("Follower added."),
            Some("attached") => Some("File attached."),
            Some("merged") => {
                Some("Tickets merged: the duplicate is closed and its conversation is here.")
            }
            Some("canned") => Some("Saved reply added."),
            Some("canned-deleted") => Some("Saved reply deleted."),
            Some("filed") => Some("Ticket opened from the message; it is in the ticket queues."),
            Some("dismissed") => Some("Message dismissed."),
            _ => q
                .get("opened")
                .map(|_| "Ticket opened. We will answer within your SLA."),
        };
        text.map(|t| view! { <p class="notice success" role="status">{t}</p> })
    }
}

/// Tickets with queues and filters; `base` is this page, `item` where a ticket opens.
#[component]
fn TicketTable(#[prop(into)] base: String, item: &'static str) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        TicketFilter {
            queue: q.get("queue").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            severity: q.get("severity").unwrap_or_default(),
            organization_id: q.get("organization_id").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
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
                            let link = {
                                let f = f.clone();
                                let base = base.clone();
                                move |queue: &str, page: u64| {
                                    format!(
                                        "{base}?queue={queue}&status={}&severity={}&organization_id={}&page={page}",
                                        f.status, f.severity, f.organization_id
                                    )
                                }
                            };
                            let staff = list.staff;
                            let (prev, next) = (link(&f.queue, list.page.saturating_sub(1)), link(&f.queue, list.page + 1));
                            let has_prev = list.page > 0;
                            let has_next = list.page + 1 < list.pages;
                            view! {
                                {staff.then(|| view! {
                                    <nav class="subnav" aria-label="Queues">
                                        {QUEUES.iter().map(|(k, l)| {
                                            let current = f.queue == *k || (f.queue.is_empty() && *k == "all");
                                            view! { <a href=link(k, 0) aria-current=current.then_some("page")>{*l}</a> }
                                        }).collect_view()}
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
                                            {SEVERITIES.iter().map(|(n, l, _)| {
                                                let v = n.to_string();
                                                let sel = f.severity == v;
                                                view! { <option value=v selected=sel>{format!("{n} — {l}")}</option> }
                                            }).collect_view()}
                                        </select>
                                    </div>
                                    {staff.then(|| view! {
                                        <div class="field">
                                            <label for="t-org">"Organization"</label>
                                            <select id="t-org" name="organization_id">
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
                                    view! { <p class="empty">"No tickets here."</p> }.into_any()
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
                                <nav class="pager" aria-label="Pages">
                                    {has_prev.then(|| view! { <a href=prev rel="prev">"Previous"</a> })}
                                    <span>{format!("Page {} of {} ({} tickets)", list.page + 1, list.pages.max(1), list.total_rows)}</span>
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
    view! {
        <Title text="Open a ticket"/>
        <h1>"Open a ticket"</h1>
        <ActionForm action=open attr:class="stack" attr:novalidate="">
            <FormError error=error/>
            <TextField name="ticket[subject]" label="Subject" error=f("subject") required=true/>
            <fieldset>
                <legend>"Severity"</legend>
                {SEVERITIES.iter().map(|(n, l, d)| {
                    let id = format!("sev-{n}");
                    view! {
                        <div class="choice">
                            <input type="radio" id=id.clone() name="ticket[severity]" value=n.to_string() checked=*n == 3/>
                            <label for=id><strong>{format!("{n} — {l}")}</strong> ": " {*d}</label>
                        </div>
                    }
                }).collect_view()}
                <FieldError message=f("severity")/>
            </fieldset>
            <div class="row">
                <TextField name="ticket[product]" label="Product" error=f("product")/>
                <TextField name="ticket[version]" label="Version" error=f("version")/>
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

/// One ticket, for its customer (`/support/tickets/:id`) or staff (`/staff/tickets/:id`).
#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.read().get("id").and_then(|s| s.parse::<i32>().ok()));
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => load_ticket(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let comment = ServerAction::<AddComment>::new();
    let assign = ServerAction::<AssignTicket>::new();
    let severity = ServerAction::<ChangeSeverity>::new();
    let follow = ServerAction::<AddFollower>::new();
    let merge = ServerAction::<MergeTicket>::new();
    let m_err = last_error(merge);
    let (c_err, a_err, s_err, f_err) = (
        last_error(comment),
        last_error(assign),
        last_error(severity),
        last_error(follow),
    );
    view! {
        <Title text="Ticket"/>
        <Done/>
        <FormError error=a_err/>
        <FormError error=f_err/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Ticket"</h1><ErrorNotice error=e/> }.into_any(),
                    Ok(t) => {
                        let id = t.id;
                        let staff = t.staff;
                        view! {
                            <p><a href=if staff { "/staff/tickets" } else { "/support" }>"← All tickets"</a></p>
                            <h1>{format!("#{} {}", t.id, t.subject)}</h1>
                            <dl class="facts">
                                <dt>"Organization"</dt><dd>{t.organization.clone()}</dd>
                                <dt>"Requester"</dt><dd>{t.requester.clone()}</dd>
                                <dt>"Severity"</dt><dd>{severity_text(t.severity)}</dd>
                                <dt>"Product"</dt><dd>{format!("{} {}", t.product, t.version)}</dd>
                                <dt>"Affected servers"</dt><dd>{if t.servers.is_empty() { "—".to_string() } else { t.servers.join(", ") }}</dd>
                                <dt>"Assignee"</dt><dd>{t.assignee.clone().unwrap_or_else(|| "Not assigned yet".into())}</dd>
                                <dt>"Opened"</dt><dd>{t.created_at.clone()}</dd>
                                <dt>"Followers"</dt><dd>{if t.followers.is_empty() { "None".to_string() } else { t.followers.join(", ") }}</dd>
                            </dl>
                            <article class="comment description" aria-label="Description">
                                <div class="markdown" inner_html=t.description_html.clone()></div>
                            </article>
                            <LiveTicket id=id status=t.status.clone() slas=t.slas.clone() comments=t.comments.clone()/>
                            {(t.status != "closed").then(|| view! {
                                <section class="card" aria-labelledby="reply-title">
                                    <h2 id="reply-title">{if staff { "Reply or add a note" } else { "Add a comment" }}</h2>
                                    <ActionForm action=comment attr:class="stack" attr:novalidate="">
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <FormError error=c_err/>
                                        <div class="field">
                                            <label for="c-body">"Comment (Markdown)"</label>
                                            <textarea id="c-body" name="body" rows="6" required=!staff></textarea>
                                            <FieldError message=field_of(c_err, "body")/>
                                        </div>
                                        {(staff && !t.canned.is_empty()).then(|| view! {
                                            <div class="field">
                                                <label for="c-canned">"Add a saved reply"</label>
                                                <select id="c-canned" name="canned_id">
                                                    <option value="">"None"</option>
                                                    {t.canned.iter().map(|(cid, title)| view! { <option value=cid.to_string()>{title.clone()}</option> }).collect_view()}
                                                </select>
                                                <FieldError message=field_of(c_err, "canned_id")/>
                                            </div>
                                        })}
                                        {staff.then(|| view! {
                                            <div class="choice">
                                                <input type="checkbox" id="c-internal" name="internal"/>
                                                <label for="c-internal">"Internal note (staff only; never shown or sent to the customer)"</label>
                                            </div>
                                            <div class="field">
                                                <label for="c-status">"Then set the status"</label>
                                                <select id="c-status" name="status">
                                                    <option value="">"Leave as it is"</option>
                                                    <option value="open">"Open"</option>
                                                    <option value="waiting">"Waiting on customer (pauses the SLA)"</option>
                                                    <option value="solved">"Solved"</option>
                                                </select>
                                                <FieldError message=field_of(c_err, "status")/>
                                            </div>
                                        })}
                                        <button type="submit" class="primary">{if staff { "Save" } else { "Add comment" }}</button>
                                    </ActionForm>
                                </section>
                            })}
                            {(t.status != "closed").then(|| view! {
                                <section class="card" aria-labelledby="attach-title">
                                    <h2 id="attach-title">"Attach a file"</h2>
                                    <UploadForm id=id max_mb=t.attachment_max_mb staff=staff/>
                                </section>
                            })}
                            {(!t.colleagues.is_empty()).then(|| view! {
                                <details class="card">
                                    <summary>"Add a colleague as follower"</summary>
                                    <ActionForm action=follow attr:class="inline">
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <label for="f-contact">"Colleague"</label>
                                        <select id="f-contact" name="contact_id">
                                            {t.colleagues.iter().map(|(cid, name)| view! { <option value=cid.to_string()>{name.clone()}</option> }).collect_view()}
                                        </select>
                                        <button type="submit">"Add follower"</button>
                                    </ActionForm>
                                </details>
                            })}
                            {staff.then(|| view! {
                                <details class="card">
                                    <summary>"Assign"</summary>
                                    <ActionForm action=assign attr:class="inline">
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <label for="a-user">"Assignee"</label>
                                        <select id="a-user" name="assignee_id">
                                            <option value="">"Nobody"</option>
                                            {t.assignees.iter().map(|(uid, name)| view! { <option value=uid.to_string()>{name.clone()}</option> }).collect_view()}
                                        </select>
                                        <button type="submit">"Assign"</button>
                                    </ActionForm>
                                </details>
                                <details class="card">
                                    <summary>"Merge into another ticket (duplicate)"</summary>
                                    <ActionForm action=merge attr:class="stack" attr:novalidate="">
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <FormError error=m_err/>
                                        <p>"This ticket's conversation moves to the other ticket, its requester follows it, and this one closes."</p>
                                        <TextField name="into" label="Number of the ticket to keep" error=field_of(m_err, "into") required=true/>
                                        <button type="submit" class="danger">"Confirm: merge into that ticket"</button>
                                    </ActionForm>
                                </details>
                                <details class="card">
                                    <summary>"Change severity"</summary>
                                    <ActionForm action=severity attr:class="stack" attr:novalidate="">
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <FormError error=s_err/>
                                        <div class="field">
                                            <label for="s-sev">"New severity"</label>
                                            <select id="s-sev" name="severity">
                                                {SEVERITIES.iter().map(|(n, l, _)| view! { <option value=n.to_string()>{format!("{n} — {l}")}</option> }).collect_view()}
                                            </select>
                                            <FieldError message=field_of(s_err, "severity")/>
                                        </div>
                                        <TextField name="reason" label="Reason (staff only)" error=field_of(s_err, "reason") required=true/>
                                        <button type="submit">"Change severity"</button>
                                    </ActionForm>
                                </details>
                            })}
                            <section aria-labelledby="history-title">
                                <h2 id="history-title">"History"</h2>
                                <ol class="activity">
                                    {t.events.into_iter().map(|e| view! {
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

/// The live part of a ticket page: status, SLA clocks and the conversation.
/// Rendered on the server; in the browser it follows the ticket's event
/// stream and shows new comments and changes without a reload.
#[island]
fn LiveTicket(
    id: i32,
    status: String,
    slas: Vec<TicketSlaView>,
    comments: Vec<CommentView>,
) -> impl IntoView {
    let status = RwSignal::new(status);
    let slas = RwSignal::new(slas);
    let comments = RwSignal::new(comments);
    let live = RwSignal::new(false);
    // Following ended for good (access gone): the page says so.
    let stopped = RwSignal::new(false);
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, stopped);
    #[cfg(feature = "hydrate")]
    Effect::new(move |prev: Option<()>| {
        if prev.is_none() {
            follow(id, status, slas, comments, live, stopped);
        }
    });
    view! {
        <p class="live-status" aria-live="polite">
            "Status: " {move || view! { <span class=format!("badge ticket-{}", status.get())>{status_label(&status.get())}</span> }}
            <span class="muted" data-live=move || live.get().to_string() data-live-stopped=move || stopped.get().to_string()>
                {move || if live.get() { " · live" } else if stopped.get() { " · not updating: reload the page to see changes" } else { "" }}
            </span>
        </p>
        <section aria-labelledby="sla-title">
            <h2 id="sla-title">"Service level"</h2>
            {move || {
                let list = slas.get();
                if list.is_empty() {
                    view! { <p class="empty">"No SLA applies (no active subscription)."</p> }.into_any()
                } else {
                    view! {
                        <ul class="sla">
                            {list.into_iter().map(|s| view! {
                                <li class=format!("sla-{}", s.state)>
                                    <strong>{s.target}</strong> {format!(" ({}): ", s.budget)}
                                    {match s.state.as_str() {
                                        "running" => format!("due {}", s.due.unwrap_or_default()),
                                        "paused" => "paused while waiting on the customer".to_string(),
                                        "met" => "met".to_string(),
                                        _ => format!("breached{}", s.due.map(|d| format!(" (was due {d})")).unwrap_or_default()),
                                    }}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
        <section aria-labelledby="conv-title">
            <h2 id="conv-title">"Conversation"</h2>
            {move || comments.with(|c| c.is_empty()).then(|| view! { <p class="empty">"No comments yet."</p> })}
            <ol class="comments" aria-live="polite" aria-relevant="additions">
                <For each=move || comments.get() key=|c| c.id let:c>
                    <li class=if c.internal { "comment internal" } else if c.by_staff { "comment staff" } else { "comment" }>
                        <p class="meta"><strong>{c.author.clone()}</strong> " · " {c.at.clone()} {c.internal.then_some(" · internal note (staff only)")}</p>
                        <div class="markdown" inner_html=c.body_html.clone()></div>
                    </li>
                </For>
            </ol>
        </section>
    }
}

/// Follows the ticket's live socket and applies what arrives. A dropped
/// connection is tried again (after about 1 s, doubling up to 30 s, with
/// jitter so pages do not all return at once) from where the page stands,
/// so nothing is missed or shown twice. It stops for good on `end` (the
/// viewer's access ended), or when a failed attempt turns out refused.
#[cfg(feature = "hydrate")]
fn follow(
    id: i32,
    status: RwSignal<String>,
    slas: RwSignal<Vec<TicketSlaView>>,
    comments: RwSignal<Vec<CommentView>>,
    live: RwSignal<bool>,
    stopped: RwSignal<bool>,
) {
    use futures::StreamExt;
    use gloo_net::websocket::{futures::WebSocket, Message};
    leptos::task::spawn_local(async move {
        let mut wait = 1_000.0f64;
        loop {
            let Some(url) = live_url(id, comments) else {
                return;
            };
            let opened = js_sys::Date::now();
            let mut heard = false;
            if let Ok(mut socket) = WebSocket::open(&url) {
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    // The server's first message is the ticket as it is now.
                    heard = true;
                    live.set(true);
                    match serde_json::from_str::<LiveEvent>(&text) {
                        Ok(LiveEvent::Comment(c)) => comments.update(|list| {
                            // In id order: a comment may commit after a newer one.
                            if let Err(at) = list.binary_search_by_key(&c.id, |x| x.id) {
                                list.insert(at, c);
                            }
                        }),
                        Ok(LiveEvent::Ticket(s)) => {
                            status.set(s.status);
                            slas.set(s.slas);
                        }
                        Ok(LiveEvent::End(_)) => {
                            live.set(false);
                            stopped.set(true);
                            return;
                        }
                        Err(_) => {}
                    }
                }
            }
            live.set(false);
            if !heard && refused(id).await {
                stopped.set(true);
                return;
            }
            if js_sys::Date::now() - opened > 10_000.0 {
                // It had been up a while: this is a fresh drop.
                wait = 1_000.0;
            }
            sleep((wait * (0.5 + js_sys::Math::random())) as u64).await;
            wait = (wait * 2.0).min(30_000.0);
        }
    });
}

/// `ws://` or `wss://` (as the page was served) to this ticket's socket,
/// saying where the page stands: its newest comment and the ids of its
/// newest few.
#[cfg(feature = "hydrate")]
fn live_url(id: i32, comments: RwSignal<Vec<CommentView>>) -> Option<String> {
    let (after, have) = comments.with_untracked(|list| {
        let after = list.iter().map(|c| c.id).max().unwrap_or(0);
        let newest = list.len().saturating_sub(16);
        let have: Vec<String> = list[newest..].iter().map(|c| c.id.to_string()).collect();
        (after, have.join(","))
    });
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    Some(format!(
        "{scheme}://{host}/tickets/{id}/live?after={after}&have={have}"
    ))
}

/// Whether the server refuses this page the ticket's socket (signed out,
/// access gone): it answers a plain request with the same status as the
/// handshake, before looking for an upgrade.
#[cfg(feature = "hydrate")]
async fn refused(id: i32) -> bool {
    use wasm_bindgen::JsCast as _;
    let Some(window) = web_sys::window() else {
        return false;
    };
    let answer = window.fetch_with_str(&format!("/tickets/{id}/live"));
    match wasm_bindgen_futures::JsFuture::from(answer).await {
        Ok(res) => res
            .dyn_into::<web_sys::Response>()
            .is_ok_and(|r| matches!(r.status(), 401 | 403 | 404)),
        // Offline, or the server is down: keep trying.
        Err(_) => false,
    }
}

#[cfg(feature = "hydrate")]
async fn sleep(ms: u64) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::from_millis(ms),
    );
    let _ = wait.await;
}

/// Saved replies staff answer with (`/staff/canned`).
#[component]
pub fn CannedRepliesPage() -> impl IntoView {
    let save = ServerAction::<SaveCannedReply>::new();
    let delete = ServerAction::<DeleteCannedReply>::new();
    let data = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_canned_replies(),
    );
    let error = last_error(save);
    view! {
        <Title text="Saved replies"/>
        <h1>"Saved replies"</h1>
        <Done/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No saved replies yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="canned">
                            {list.into_iter().map(|c| view! {
                                <li class="card">
                                    <h2>{c.title.clone()}</h2>
                                    <p class="pre">{c.body}</p>
                                    <details>
                                        <summary>{format!("Delete “{}”…", c.title)}</summary>
                                        <ActionForm action=delete>
                                            <input type="hidden" name="canned_id" value=c.id/>
                                            <button type="submit" class="danger">"Confirm: delete"</button>
                                        </ActionForm>
                                    </details>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
        <section class="card" aria-labelledby="new-canned">
            <h2 id="new-canned">"Add a saved reply"</h2>
            <ActionForm action=save attr:class="stack" attr:novalidate="">
                <FormError error=error/>
                <TextField name="title" label="Title" error=field_of(error, "title") required=true/>
                <div class="field">
                    <label for="cr-body">"Reply (Markdown)"</label>
                    <textarea id="cr-body" name="body" rows="6" required=true></textarea>
                    <FieldError message=field_of(error, "body")/>
                </div>
                <button type="submit" class="primary">"Save reply"</button>
            </ActionForm>
        </section>
    }
}

/// Mail to the support address held for review (`/staff/inbound`).
#[component]
pub fn HeldMailPage() -> impl IntoView {
    let file = ServerAction::<FileHeldMail>::new();
    let dismiss = ServerAction::<DismissHeldMail>::new();
    let data = Resource::new(
        move || (file.version().get(), dismiss.version().get()),
        |_| list_held_mail(),
    );
    let error = last_error(file);
    let dismiss_error = last_error(dismiss);
    view! {
        <Title text="Held mail"/>
        <h1>"Mail held for review"</h1>
        <p class="muted">"Messages to the support address that did not become a ticket or a comment: unknown senders, people without Support Portal access, replies to tickets the sender cannot see. The latest 200."</p>
        <Done/>
        <FormError error=error/>
        <FormError error=dismiss_error/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing held."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="mail-list">
                            {list.into_iter().map(|m| view! {
                                <li class="card">
                                    <p><strong>{m.subject}</strong> " — " {m.from.clone()} " · " {m.received_at}</p>
                                    <p class="muted">{format!("Held: {}", m.reason)}</p>
                                    <details><summary>"Message"</summary><p class="pre">{m.body}</p></details>
                                    <details>
                                        <summary>"Open a ticket from this message…"</summary>
                                        <ActionForm action=file attr:class="stack">
                                            <input type="hidden" name="message_id" value=m.id/>
                                            <div class="field">
                                                <label for=format!("file-{}", m.id)>"For the contact with e-mail address"</label>
                                                <input type="email" id=format!("file-{}", m.id) name="email" value=m.from.clone() required=true/>
                                                <p class="hint">"An active contact who may use the Support Portal; the ticket is theirs, as if they had sent it."</p>
                                            </div>
                                            <button type="submit" class="primary">"Open the ticket"</button>
                                        </ActionForm>
                                    </details>
                                    <details>
                                        <summary>"Dismiss…"</summary>
                                        <p>"The message leaves this list; its record stays."</p>
                                        <ActionForm action=dismiss>
                                            <input type="hidden" name="message_id" value=m.id/>
                                            <button type="submit" class="danger">"Confirm: dismiss"</button>
                                        </ActionForm>
                                    </details>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The attachment form. Without JavaScript a plain multipart post; as an
/// island it uploads in the background and shows the progress, and the new
/// file arrives in the conversation through the live stream.
#[island]
fn UploadForm(id: i32, max_mb: u64, staff: bool) -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let message = RwSignal::new(None::<(bool, String)>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            upload_with_progress(&ev, id, progress, message);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="post" action=format!("/tickets/{id}/attachments") enctype="multipart/form-data" class="stack" on:submit=on_submit>
            <div class="field">
                <label for="a-file">{format!("File (up to {max_mb} MB)")}</label>
                <input type="file" id="a-file" name="file" required=true/>
            </div>
            {staff.then(|| view! {
                <div class="choice">
                    <input type="checkbox" id="a-internal" name="internal"/>
                    <label for="a-internal">"Internal (staff only)"</label>
                </div>
            })}
            {move || progress.get().map(|p| view! {
                <progress max="100" value=format!("{p:.0}") aria-label="Upload progress">{format!("{p:.0}%")}</progress>
            })}
            {move || message.get().map(|(ok, text)| view! {
                <p class=if ok { "notice success" } else { "notice error" } role="status">{text}</p>
            })}
            <button type="submit" disabled=move || progress.get().is_some()>"Attach"</button>
        </form>
    }
}

#[cfg(feature = "hydrate")]
fn upload_with_progress(
    ev: &leptos::ev::SubmitEvent,
    id: i32,
    progress: RwSignal<Option<f64>>,
    message: RwSignal<Option<(bool, String)>>,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
    else {
        return;
    };
    let (Ok(data), Ok(xhr)) = (
        web_sys::FormData::new_with_form(&form),
        web_sys::XmlHttpRequest::new(),
    ) else {
        return;
    };
    if xhr
        .open("POST", &format!("/tickets/{id}/attachments"))
        .is_err()
    {
        return;
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    progress.set(Some(0.0));
    message.set(None);
    if let Ok(upload) = xhr.upload() {
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some(e.loaded() / e.total() * 100.0));
                }
            });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let done = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        let status = done.status().unwrap_or(0);
        let text = done.response_text().ok().flatten().unwrap_or_default();
        if status == 200 {
            message.set(Some((true, "File attached.".into())));
            form.reset();
        } else if text.is_empty() {
            message.set(Some((
                false,
                format!("The upload failed ({status}). Try again."),
            )));
        } else {
            message.set(Some((false, text)));
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        progress.set(None);
        message.set(Some((
            false,
            "The upload was interrupted. Check the connection and try again.".into(),
        )));
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_form_data(Some(&data)).is_err() {
        progress.set(None);
        message.set(Some((
            false,
            "The upload could not start. Try again.".into(),
        )));
    }
}
