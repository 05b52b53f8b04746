//! Staff tools: saved replies and held mail.

use super::*;

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
                                        <ActionForm action=delete><ReturnHere/>
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
            <ActionForm action=save attr:class="stack" attr:novalidate=""><ReturnHere/>
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
        <p class="muted">"Messages to the support address that did not become a ticket or a comment: unknown senders, senders not shown to be who they claim (their domain's DMARC did not pass), people without Support Portal access, replies to tickets the sender cannot see, and messages that cannot be filed as they are (too many files, too long). Each says why. Open a ticket from one only when you know who wrote it. The latest 200."</p>
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
                                        <ActionForm action=file attr:class="stack"><ReturnHere/>
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
                                        <ActionForm action=dismiss><ReturnHere/>
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
