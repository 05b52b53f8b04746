//! Live ticket pages: a per-ticket WebSocket.
//!
//! A change to a ticket publishes it on the live bus (`core::live`). With PostgreSQL that is a
//! `NOTIFY portico_tickets` (so every server process on the database hears
//! it, through its `LISTEN`); with SQLite (one process) a local broadcast.
//! Each open socket, woken by its ticket's id, re-checks the viewer's access
//! (session, contact, visibility) and sends what is new as a [`LiveEvent`]:
//! comments after the last one it sent (a reconnecting page says which one
//! that was, `?after=ID`, and gets what it missed, in order, once — internal
//! notes only to staff), and the ticket's status and SLA clocks. When access
//! ends, the socket says so and closes.
//!
//! Why a WebSocket and not Server-Sent Events: an idle SSE response keeps its
//! whole HTTP/1 connection alive in hyper (read and write buffers, ~28 KB),
//! while an upgraded socket keeps only the TCP stream and the buffers set
//! here, so an open page costs the server a few kilobytes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::ssr::{comment_tail, comments_after_except, live_snapshot, visible};
use super::LiveEvent;
use crate::auth::ssr::session;
use crate::core::live::{Change, OpenPage};
use crate::core::state::AppState;
use crate::error::AppError;

/// Access is re-checked at least this often, even without changes (and the
/// socket pinged, so proxies keep it and dead peers are found).
const RECHECK: Duration = Duration::from_secs(15);
/// A page only listens: what a browser sends is pongs and a close frame. The
/// read buffer is allocated up front for every socket, so it stays small.
const READ_BUFFER: usize = 1024;
/// The largest message a page may send (anything bigger closes the socket).
const MAX_INCOMING: usize = 4096;
/// The largest message the socket may hold unsent: above any one message
/// (a comment renders to at most 256 KiB of text, a few MB as escaped HTML
/// in JSON), so no comment can make a page's socket fail.
const MAX_QUEUED: usize = 16 << 20;
/// A page that takes longer than this to accept a message is dropped (it
/// reconnects if it is still there).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// A page not heard from for this long is gone (its browser answers every
/// ping, sent each [`RECHECK`]).
const SILENT_FOR: Duration = Duration::from_secs(2 * RECHECK.as_secs() + 5);
/// How many recently sent comment ids a socket remembers (see `Live::sent`).
const REMEMBERED: usize = 16;
/// How many of a ticket's newest comments its pages share (see [`Shared`]).
const TAIL: u64 = 32;
/// How long what a ticket's pages share is good for without a change: SLA
/// clocks turn "breached" by the clock alone.
const SHARED_FOR: Duration = Duration::from_secs(1);

/// A ticket's newest comments and its state, as JSON [`LiveEvent`]s. Holds
/// internal notes: each socket filters them by its own viewer's access.
struct Content {
    /// (id, internal note, message), oldest first.
    tail: Vec<(i32, bool, Utf8Bytes)>,
    /// Whether `tail` is every comment the ticket has.
    complete: bool,
    snapshot: Utf8Bytes,
    /// A hash of `snapshot`, never 0 (the "nothing sent yet" value).
    snapshot_hash: u64,
}

fn message(event: &LiveEvent) -> Utf8Bytes {
    serde_json::to_string(event).unwrap_or_default().into()
}

async fn read_content(db: &sea_orm::DatabaseConnection, id: i32) -> Result<Arc<Content>, AppError> {
    let (comments, complete) = comment_tail(db, id, TAIL).await?;
    let snapshot = message(&LiveEvent::Ticket(live_snapshot(db, id).await?));
    let snapshot_hash = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        snapshot.as_str().hash(&mut h);
        h.finish() | 1
    };
    Ok(Arc::new(Content {
        tail: comments
            .into_iter()
            .map(|c| (c.id, c.internal, message(&LiveEvent::Comment(c))))
            .collect(),
        complete,
        snapshot,
        snapshot_hash,
    }))
}

/// Where a page stands: the newest comment id it has (`after`) and the ids
/// of its newest few (`have`, comma-separated). A comment that took a lower
/// id than `after` but committed after the page read is sent too: it is
/// not among `have`.
#[derive(serde::Deserialize)]
pub struct After {
    after: Option<i32>,
    have: Option<String>,
}

impl After {
    fn last(&self) -> i32 {
        self.after.unwrap_or(0).max(0)
    }

    /// The newest [`REMEMBERED`] ids of `have` up to `after` (garbage ignored).
    fn have(&self) -> std::collections::BTreeSet<i32> {
        let last = self.last();
        let mut ids: std::collections::BTreeSet<i32> = self
            .have
            .as_deref()
            .unwrap_or("")
            .split(',')
            .take(4 * REMEMBERED)
            .filter_map(|v| v.trim().parse().ok())
            .filter(|id| (1..=last).contains(id))
            .collect();
        while ids.len() > REMEMBERED {
            ids.pop_first();
        }
        ids
    }
}

/// `GET /tickets/{id}/live`: the live socket of one ticket. Access is
/// checked before the upgrade, so a refusal is a plain HTTP status (401,
/// 403, 404 like the ticket page); cross-site handshakes are refused by the
/// router's Origin check.
pub async fn socket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<After>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(id) = id.parse::<i32>() else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    let Some(token) = session::token_from_headers(&state.settings, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            AppError::Unauthenticated.to_string(),
        )
            .into_response();
    };
    // A session's open pages are capped: each holds a socket and a task.
    // Decided first, so the page's plain GET (asking why it was refused)
    // gets the 429 too, and a refused page costs no queries.
    let max = state.settings.quotas.live_pages_per_session;
    let Some(open) = state.live.open_page_for(&session::hash_token(&token), max) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!("This browser has {max} live ticket pages open already; close some, and reload this one."),
        )
            .into_response();
    };
    let staff = match check(&state, &token, id).await {
        Ok(staff) => staff,
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, e.to_string()).into_response();
        }
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let live = Live {
        _open: open,
        state: state.clone(),
        token,
        id,
        staff,
        // A new page says what it rendered; a reconnecting one, where it stopped.
        last: q.last(),
        rx: state.live.subscribe(),
        closing: state.live.closing(),
        sent: q.have(),
        pending: VecDeque::new(),
        snapshot: 0,
        ended: false,
        unsure: false,
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK),
    };
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_QUEUED)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |socket| run(socket, live))
}

/// Whether the session behind `token` may still see ticket `id` (and is staff).
async fn check(state: &AppState, token: &str, id: i32) -> Result<bool, AppError> {
    let actor = session::resolve_quietly(&state.db, &state.settings, token)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(visible(&state.db, &actor, id).await?.1)
}

struct Live {
    _open: OpenPage,
    state: AppState,
    token: String,
    id: i32,
    staff: bool,
    last: i32,
    rx: broadcast::Receiver<Change>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// Comment ids sent lately: a comment whose id was taken before a later
    /// one but committed after it is still sent, and nothing twice.
    sent: std::collections::BTreeSet<i32>,
    /// Messages (JSON [`LiveEvent`]s) waiting to be sent.
    pending: VecDeque<Utf8Bytes>,
    /// A hash of the last status/SLA snapshot sent (only changes are sent).
    snapshot: u64,
    ended: bool,
    /// The last access check failed (not a refusal: the database, say):
    /// until one succeeds, every look checks first and sends nothing.
    unsure: bool,
    recheck: tokio::time::Interval,
}

impl Live {
    /// Whether comment `id` is news to this page; if so, remembers it.
    fn take(&mut self, id: i32) -> bool {
        if self.sent.contains(&id) {
            return false;
        }
        if id <= self.last && self.sent.first().is_none_or(|lowest| id < *lowest) {
            // Older than anything this socket tracks: the page has it.
            return false;
        }
        self.sent.insert(id);
        while self.sent.len() > REMEMBERED {
            self.sent.pop_first();
        }
        self.last = self.last.max(id);
        true
    }

    /// Queues what changed since the last look; `false` when access has ended.
    /// `check_access`: decide this viewer's access again first. A change to
    /// the ticket alone reuses the last decision; everything that changes
    /// access (sign-out, password, contacts, sharing, subscriptions)
    /// publishes `AccessChanged`, and [`RECHECK`] catches the rest (a
    /// session timing out) within seconds.
    async fn refresh(&mut self, check_access: bool) -> bool {
        // Access is this viewer's own; only what every page of the ticket is
        // shown alike is shared.
        if check_access || self.unsure {
            match check(&self.state, &self.token, self.id).await {
                Ok(staff) => {
                    self.staff = staff;
                    self.unsure = false;
                }
                Err(AppError::Unauthenticated | AppError::Forbidden | AppError::NotFound) => {
                    self.pending
                        .push_back(message(&LiveEvent::End("access ended".into())));
                    return false;
                }
                // A passing database hiccup: keep the socket, look again next time.
                Err(e) => {
                    tracing::warn!(error = %e, "live access check failed; retrying later");
                    self.unsure = true;
                    return true;
                }
            }
        }
        let state = self.state.clone();
        let content = state
            .live
            .shared(self.id, SHARED_FOR, || read_content(&state.db, self.id))
            .await;
        let content: Arc<Content> = match content {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "live ticket read failed; retrying later");
                return true;
            }
        };
        // Look a little below the last id sent: ids are taken at insert but
        // seen at commit, so a lower id can appear after a higher one.
        let from = self
            .sent
            .first()
            .map_or(self.last, |lowest| lowest - 1)
            .min(self.last);
        if content.complete || content.tail.first().is_some_and(|(id, ..)| *id <= from) {
            for (id, internal, json) in &content.tail {
                // Internal notes never reach a customer.
                if *id > from && (self.staff || !internal) && self.take(*id) {
                    self.pending.push_back(json.clone());
                }
            }
        } else {
            // Further behind than the shared tail (a page back after many
            // comments): its own read.
            match comments_after_except(&state.db, self.id, from, self.staff, &self.sent).await {
                Ok(comments) => {
                    for c in comments {
                        if self.take(c.id) {
                            self.pending.push_back(message(&LiveEvent::Comment(c)));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "live comments"),
            }
        }
        if self.snapshot != content.snapshot_hash {
            self.pending.push_back(content.snapshot.clone());
            self.snapshot = content.snapshot_hash;
        }
        true
    }
}

/// What woke an idle socket.
enum Wake {
    /// The ticket changed: look, with the access decided last.
    Look,
    /// Access may have changed (or a change was missed): decide it again, then look.
    Check,
    /// The periodic access check, with a ping.
    Recheck,
    /// The page sent something that needs no answer (a pong).
    Nothing,
    /// The page went away.
    Gone,
    /// The server is shutting down.
    Shutdown,
}

/// Serves one open page. While idle it holds only `Live`, the socket and
/// four small waits; a refresh (queries, rendering) is boxed so its larger
/// state lives only while it runs.
async fn run(mut socket: WebSocket, mut live: Live) {
    live.ended = !Box::pin(live.refresh(true)).await;
    let mut heard = Instant::now();
    loop {
        while let Some(text) = live.pending.pop_front() {
            if !send(&mut socket, Message::Text(text)).await {
                return;
            }
        }
        if live.ended {
            close(&mut socket, close_code::NORMAL, "access ended").await;
            return;
        }
        let wake = tokio::select! {
            r = live.rx.recv() => match r {
                Ok(Change::Ticket(id)) if id == live.id => Wake::Look,
                // Every socket decides its access again.
                Ok(Change::AccessChanged) => Wake::Check,
                Ok(_) => Wake::Nothing,
                // Fell behind (an access change may be among what it missed):
                // check and look, nothing is lost (we query by id).
                Err(broadcast::error::RecvError::Lagged(_)) => Wake::Check,
                Err(broadcast::error::RecvError::Closed) => Wake::Shutdown,
            },
            _ = live.recheck.tick() => Wake::Recheck,
            _ = live.closing.changed() => Wake::Shutdown,
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Wake::Gone,
                Some(Ok(_)) => {
                    heard = Instant::now();
                    Wake::Nothing
                }
            },
        };
        match wake {
            Wake::Nothing => {}
            Wake::Gone => return,
            Wake::Shutdown => {
                // The page reconnects, to this server's successor.
                close(&mut socket, close_code::AWAY, "server restarting").await;
                return;
            }
            Wake::Recheck => {
                if heard.elapsed() > SILENT_FOR
                    || !send(&mut socket, Message::Ping(Default::default())).await
                {
                    return;
                }
                live.ended = !Box::pin(live.refresh(true)).await;
            }
            Wake::Check => live.ended = !Box::pin(live.refresh(true)).await,
            Wake::Look => live.ended = !Box::pin(live.refresh(false)).await,
        }
    }
}

/// Sends one message; `false` when the page is gone or does not take it
/// within [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send(socket, Message::Close(Some(frame))).await;
}
