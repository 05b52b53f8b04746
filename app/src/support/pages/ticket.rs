//! One ticket: its conversation, clocks and actions, kept current by the live island.

use super::*;

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
                                {(!t.product.is_empty()).then(|| view! { <dt>"Product"</dt><dd>{format!("{} {}", t.product, t.version)}</dd> })}
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
                                    <ActionForm action=comment attr:class="stack" attr:novalidate=""><ReturnHere/>
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
                                    <ActionForm action=follow attr:class="inline"><ReturnHere/>
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
                                    <ActionForm action=assign attr:class="inline"><ReturnHere/>
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
                                    <ActionForm action=merge attr:class="stack" attr:novalidate=""><ReturnHere/>
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <FormError error=m_err/>
                                        <p>"This ticket's conversation moves to the other ticket, and this one closes."</p>
                                        <TextField name="into" label="Number of the ticket to keep" error=field_of(m_err, "into") required=true/>
                                        <div class="field checkbox">
                                            <input type="checkbox" id="merge-share" name="share" aria-describedby="merge-share-hint"/>
                                            <label for="merge-share">"Let this ticket's requester follow the kept ticket"</label>
                                        </div>
                                        <p id="merge-share-hint" class="hint">"They then see its whole conversation, written by someone else. Without it, they keep what the organization lets them see (all its tickets, when it shares them)."</p>
                                        <button type="submit" class="danger">"Confirm: merge into that ticket"</button>
                                    </ActionForm>
                                </details>
                                <details class="card">
                                    <summary>"Change severity"</summary>
                                    <ActionForm action=severity attr:class="stack" attr:novalidate=""><ReturnHere/>
                                        <input type="hidden" name="ticket_id" value=id/>
                                        <FormError error=s_err/>
                                        <div class="field">
                                            <label for="s-sev">"New severity"</label>
                                            <select id="s-sev" name="severity">
                                                {Severity::ALL.iter().map(|s| view! { <option value=s.number().to_string()>{s.text()}</option> }).collect_view()}
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
pub(super) fn LiveTicket(
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
pub(super) fn follow(
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
            crate::components::sleep_ms((wait * (0.5 + js_sys::Math::random())) as u64).await;
            wait = (wait * 2.0).min(30_000.0);
        }
    });
}

/// `ws://` or `wss://` (as the page was served) to this ticket's socket,
/// saying where the page stands: its newest comment and the ids of its
/// newest few.
#[cfg(feature = "hydrate")]
pub(super) fn live_url(id: i32, comments: RwSignal<Vec<CommentView>>) -> Option<String> {
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
pub(super) async fn refused(id: i32) -> bool {
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
