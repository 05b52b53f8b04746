//! Live ticket pages: a per-ticket Server-Sent Events stream.
//!
//! A change to a ticket publishes its id. With PostgreSQL that is a
//! `NOTIFY portico_tickets` (so every server process on the database hears
//! it, through its `LISTEN`); with SQLite (one process) a local broadcast.
//! Each open stream, woken by its ticket's id, re-checks the viewer's access
//! (session, contact, visibility) and sends what is new: comments after the
//! last one it sent (the event id, so a reconnecting browser gets what it
//! missed, in order, once — internal notes only to staff), and the ticket's
//! status and SLA clocks. When access ends, the stream says so and ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use http::{HeaderMap, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend};
use tokio::sync::broadcast;

use super::ssr::{comments_after_except, live_snapshot, visible};
use crate::auth::ssr::session;
use crate::error::AppError;
use crate::state::AppState;

const CHANNEL: &str = "portico_tickets";
/// Published when who-sees-what may have changed (a contact deactivated,
/// ticket sharing switched): every open stream re-checks its access.
pub const ACCESS_CHANGED: i32 = 0;
/// Access is re-checked at least this often, even without changes.
const RECHECK: Duration = Duration::from_secs(15);
/// How many recently sent comment ids a stream remembers (see `Live::sent`).
const REMEMBERED: usize = 16;

/// This process's fan-out of ticket changes.
pub struct Bus {
    tx: broadcast::Sender<i32>,
    /// Turns true when the server shuts down: open streams end (browsers
    /// reconnect to the next server with the last id they saw).
    closing: tokio::sync::watch::Sender<bool>,
    /// Live streams open in this process.
    open: AtomicUsize,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            tx: broadcast::channel(4096).0,
            closing: tokio::sync::watch::channel(false).0,
            open: AtomicUsize::new(0),
        }
    }
}

impl Bus {
    /// Ends every open stream (graceful shutdown waits for them otherwise).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// How many live pages this process is serving now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i32> {
        self.tx.subscribe()
    }

    /// Delivers to this process's streams (what the PostgreSQL listener calls).
    pub fn deliver(&self, ticket_id: i32) {
        let _ = self.tx.send(ticket_id);
    }
}

/// Tells every open page of ticket `id`, in every process, that it changed.
/// Call after the change is committed.
pub async fn publish(state: &AppState, id: i32) {
    if state.db.get_database_backend() == DbBackend::Postgres {
        // `id` is an integer: nothing to quote.
        if let Err(e) = state
            .db
            .execute_unprepared(&format!("NOTIFY {CHANNEL}, '{id}'"))
            .await
        {
            tracing::warn!(error = %e, "NOTIFY failed; open pages update on their next check");
        }
    } else {
        state.live.deliver(id);
    }
}

/// With PostgreSQL, forwards `NOTIFY portico_tickets` from any process to
/// this process's streams; reconnects when the connection drops.
pub fn start_listener(state: AppState) {
    if state.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    tokio::spawn(async move {
        loop {
            let pool = state.db.get_postgres_connection_pool().clone();
            match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => {
                    if let Err(e) = l.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        loop {
                            match l.recv().await {
                                Ok(n) => {
                                    if let Ok(id) = n.payload().parse::<i32>() {
                                        state.live.deliver(id);
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "ticket listener lost its connection");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "ticket listener cannot connect"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[derive(serde::Deserialize)]
pub struct After {
    after: Option<i32>,
}

/// `GET /tickets/{id}/events`: the live stream of one ticket.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = id.parse::<i32>() else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    let Some(token) = session::token_from_headers(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            AppError::Unauthenticated.to_string(),
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
    // A reconnecting browser says where it stopped; a new page, what it rendered.
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .or(q.after)
        .unwrap_or(0);
    state.live.open.fetch_add(1, Ordering::Relaxed);
    let live = Live {
        state: state.clone(),
        token,
        id,
        staff,
        last,
        rx: state.live.subscribe(),
        closing: state.live.closing.subscribe(),
        sent: std::collections::BTreeSet::new(),
        pending: VecDeque::new(),
        snapshot: 0,
        started: false,
        ended: false,
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK),
    };
    Sse::new(stream(live))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

/// Whether the session behind `token` may still see ticket `id` (and is staff).
async fn check(state: &AppState, token: &str, id: i32) -> Result<bool, AppError> {
    let actor = session::resolve_quietly(&state.db, &state.settings, token)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(visible(&state.db, &actor, id).await?.1)
}

struct Live {
    state: AppState,
    token: String,
    id: i32,
    staff: bool,
    last: i32,
    rx: broadcast::Receiver<i32>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// Comment ids sent lately: a comment whose id was taken before a later
    /// one but committed after it is still sent, and nothing twice.
    sent: std::collections::BTreeSet<i32>,
    pending: VecDeque<Event>,
    /// A hash of the last status/SLA snapshot sent (only changes are sent).
    snapshot: u64,
    started: bool,
    ended: bool,
    recheck: tokio::time::Interval,
}

impl Live {
    /// Queues what changed since the last look; `false` when access has ended.
    async fn refresh(&mut self) -> bool {
        match check(&self.state, &self.token, self.id).await {
            Ok(staff) => self.staff = staff,
            Err(AppError::Unauthenticated | AppError::Forbidden | AppError::NotFound) => {
                self.pending
                    .push_back(Event::default().event("end").data("access ended"));
                return false;
            }
            // A passing database hiccup: keep the stream, look again next time.
            Err(e) => {
                tracing::warn!(error = %e, "live access check failed; retrying later");
                return true;
            }
        }
        let db = &self.state.db;
        // Look a little below the last id sent: ids are taken at insert but
        // seen at commit, so a lower id can appear after a higher one.
        let from = self
            .sent
            .first()
            .map_or(self.last, |lowest| lowest - 1)
            .min(self.last);
        match comments_after_except(db, self.id, from, self.staff, &self.sent).await {
            Ok(comments) => {
                for c in comments {
                    if c.id <= self.last && self.sent.contains(&c.id) {
                        continue;
                    }
                    if c.id <= self.last && self.sent.first().is_none_or(|lowest| c.id < *lowest) {
                        // Older than anything this stream tracks: the page has it.
                        continue;
                    }
                    self.sent.insert(c.id);
                    while self.sent.len() > REMEMBERED {
                        self.sent.pop_first();
                    }
                    self.last = self.last.max(c.id);
                    if let Ok(json) = serde_json::to_string(&c) {
                        self.pending.push_back(
                            Event::default()
                                .event("comment")
                                .id(c.id.to_string())
                                .data(json),
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live comments"),
        }
        match live_snapshot(db, self.id).await {
            Ok(s) => {
                let json = serde_json::to_string(&s).unwrap_or_default();
                let hash = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    json.hash(&mut h);
                    // Never 0, the "nothing sent yet" value.
                    h.finish() | 1
                };
                if self.snapshot != hash {
                    self.pending
                        .push_back(Event::default().event("ticket").data(json));
                    self.snapshot = hash;
                }
            }
            Err(e) => tracing::warn!(error = %e, "live snapshot"),
        }
        true
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.state.live.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The stream a page reads. While idle it holds only `Live` and three small
/// waits; a refresh (queries, rendering) is boxed so its larger state lives
/// only while it runs — an open page costs the server little.
fn stream(live: Live) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(live, |mut live| async move {
        loop {
            if let Some(e) = live.pending.pop_front() {
                return Some((Ok(e), live));
            }
            if live.ended {
                return None;
            }
            if !live.started {
                live.started = true;
                live.ended = !Box::pin(live.refresh()).await;
                continue;
            }
            let changed = tokio::select! {
                r = live.rx.recv() => match r {
                    // 0: something about access changed; every stream re-checks.
                    Ok(id) => id == live.id || id == ACCESS_CHANGED,
                    // Fell behind: look anyway, nothing is lost (we query by id).
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = live.recheck.tick() => true,
                _ = live.closing.changed() => return None,
            };
            if changed {
                live.ended = !Box::pin(live.refresh()).await;
            }
        }
    })
}
