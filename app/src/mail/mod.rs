//! Outgoing mail. Every message is written to the outbox in the same
//! transaction as the change that caused it; the server's mail worker
//! delivers it later, so a crash or an SMTP outage delays mail, never drops it.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ErrorNotice;
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod ssr {
    use chrono::Utc;
    use entity::outbox_message;
    use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

    use crate::error::AppError;

    pub struct Mail {
        pub kind: &'static str,
        pub organization_id: Option<i32>,
        pub to_addr: String,
        pub to_name: String,
        pub subject: String,
        pub body: String,
        /// The ticket token of ticket mail: its `Message-ID` and `References`
        /// carry it, so a reply finds its ticket even without the subject tag.
        pub thread: Option<String>,
    }

    pub async fn enqueue<C: ConnectionTrait>(db: &C, mail: Mail) -> Result<(), AppError> {
        let now = Utc::now();
        outbox_message::ActiveModel {
            organization_id: Set(mail.organization_id),
            kind: Set(mail.kind.to_owned()),
            to_addr: Set(mail.to_addr),
            to_name: Set(mail.to_name),
            subject: Set(mail.subject),
            body: Set(mail.body),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            thread: Set(mail.thread),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(())
    }

    /// Removes one-time tokens from a delivered message's stored copy.
    pub fn scrub_tokens(body: &str) -> String {
        let mut out = String::with_capacity(body.len());
        let mut rest = body;
        while let Some(i) = rest.find("token=") {
            out.push_str(&rest[..i + 6]);
            rest = &rest[i + 6..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            out.push_str("(removed after delivery)");
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn tokens_are_scrubbed_and_the_rest_is_kept() {
            let b = "Open http://x/activate?token=abc_DEF-123 now.\nAgain: ?token=zz";
            assert_eq!(
                super::scrub_tokens(b),
                "Open http://x/activate?token=(removed after delivery) now.\nAgain: ?token=(removed after delivery)"
            );
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: i32,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxPage {
    pub rows: Vec<OutboxRow>,
    pub page: u64,
    pub pages: u64,
    pub smtp_configured: bool,
}

pub const OUTBOX_PAGE_SIZE: u64 = 25;

/// The staff "Outgoing mail" page: what was sent, what waits, and why.
#[server(prefix = "/api", endpoint = "load_outbox")]
pub async fn load_outbox(page: u64) -> Result<OutboxPage, AppError> {
    use crate::core::web::{app_state, require_staff};
    use entity::outbox_message;
    use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

    require_staff(crate::core::authz::Capability::Outbox)?;
    let state = app_state()?;
    let paginator = outbox_message::Entity::find()
        .order_by_desc(outbox_message::Column::Id)
        .paginate(&state.db, OUTBOX_PAGE_SIZE);
    let pages = paginator.num_pages().await?.max(1);
    let page = page.min(pages - 1);
    let rows = paginator
        .fetch_page(page)
        .await?
        .into_iter()
        .map(|m| OutboxRow {
            id: m.id,
            to: format!("{} <{}>", m.to_name, m.to_addr),
            subject: m.subject,
            // With a relay configured, links travel by mail only. Without
            // one (the demo), this page is how an administrator hands them on.
            // A password reset link is never shown: with it, one
            // administrator could take another's account.
            body: if state.settings.smtp_configured || m.kind == "password_reset" {
                ssr::scrub_tokens(&m.body)
            } else {
                m.body
            },
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            sent_at: m
                .sent_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        })
        .collect();
    Ok(OutboxPage {
        rows,
        page,
        pages,
        smtp_configured: state.settings.smtp_configured,
    })
}

#[component]
pub fn OutboxPageView() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let data = Resource::new(page, load_outbox);
    view! {
        <Title text="Outgoing mail"/>
        <h1>"Outgoing mail"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(p) => view! {
                        {(!p.smtp_configured).then(|| view! {
                            <p class="notice">"No SMTP relay is configured: messages wait here and are sent once one is (see --smtp-host)."</p>
                        })}
                        {if p.rows.is_empty() {
                            view! { <p class="empty">"No mail yet."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="mail-list">
                                    {p.rows.into_iter().map(|m| view! {
                                        <li class="card">
                                            <details>
                                                <summary>
                                                    <strong>{m.subject}</strong>
                                                    " — " {m.to}
                                                    <span class=format!("badge {}", m.status)>{m.status.clone()}</span>
                                                </summary>
                                                <p class="muted">
                                                    "Queued " {m.created_at}
                                                    {m.sent_at.map(|s| format!(", sent {s}"))}
                                                    {(m.attempts > 0).then(|| format!(", {} attempt(s)", m.attempts))}
                                                </p>
                                                {m.last_error.map(|e| view! { <p class="notice error">"Last error: " {e}</p> })}
                                                <pre class="mail-body">{m.body}</pre>
                                            </details>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <nav aria-label="Pages" class="pager">
                                    {(p.page > 0).then(|| view! { <a href=format!("/staff/mail?page={}", p.page - 1)>"Newer"</a> })}
                                    <span>{format!("Page {} of {}", p.page + 1, p.pages)}</span>
                                    {(p.page + 1 < p.pages).then(|| view! { <a href=format!("/staff/mail?page={}", p.page + 1)>"Older"</a> })}
                                </nav>
                            }.into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
