//! The live bus: every process's open pages hear about changes here. A
//! feature publishes a [`Change`] after it commits; with PostgreSQL the
//! change goes through `NOTIFY` so pages served by other processes hear it
//! too. What a page does with a change (re-check access, read, send) is its
//! feature's business.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend};
use tokio::sync::{broadcast, watch, OnceCell};
use tokio::time::Instant;

use super::state::AppState;
use crate::error::AppError;

const CHANNEL: &str = "portico_tickets";
/// How `Change::AccessChanged` travels in a `NOTIFY` payload.
const ACCESS_PAYLOAD: &str = "access";
/// How `Change::Organization(id)` travels: `org:<id>`.
const ORGANIZATION_PREFIX: &str = "org:";

/// What changed, as open pages need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Ticket `id` changed (a comment, its status, its clocks).
    Ticket(i32),
    /// Organization `id` or one of its contacts changed (what search finds).
    Organization(i32),
    /// Who sees what may have changed (a contact deactivated, ticket sharing
    /// switched): every open page re-checks its access.
    AccessChanged,
}

impl Change {
    fn payload(self) -> String {
        match self {
            Change::Ticket(id) => id.to_string(),
            Change::Organization(id) => format!("{ORGANIZATION_PREFIX}{id}"),
            Change::AccessChanged => ACCESS_PAYLOAD.to_owned(),
        }
    }

    fn parse(payload: &str) -> Option<Change> {
        // "0" is how processes of the previous release said it: during a
        // rolling upgrade they share the database with this one.
        if payload == ACCESS_PAYLOAD || payload == "0" {
            return Some(Change::AccessChanged);
        }
        if let Some(id) = payload.strip_prefix(ORGANIZATION_PREFIX) {
            return id
                .parse::<i32>()
                .ok()
                .filter(|id| *id > 0)
                .map(Change::Organization);
        }
        payload
            .parse::<i32>()
            .ok()
            .filter(|id| *id > 0)
            .map(Change::Ticket)
    }
}

/// This process's fan-out of changes.
pub struct Bus {
    tx: broadcast::Sender<Change>,
    /// Turns true when the server shuts down: open sockets close (pages
    /// reconnect to the next server with the last id they saw).
    closing: watch::Sender<bool>,
    /// Live sockets open in this process.
    open: AtomicUsize,
    /// Of those, how many each session holds (by session id hash).
    per_session: Mutex<HashMap<String, usize>>,
    /// Per ticket, what all its open pages are sent after a change, read
    /// once instead of once per page. A change to the ticket removes it.
    shared: Mutex<HashMap<i32, Arc<Shared>>>,
}

struct Shared {
    made: Instant,
    value: OnceCell<Arc<dyn Any + Send + Sync>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            tx: broadcast::channel(4096).0,
            closing: watch::channel(false).0,
            open: AtomicUsize::new(0),
            per_session: Mutex::new(HashMap::new()),
            shared: Mutex::new(HashMap::new()),
        }
    }
}

/// Counts one open page for as long as it lives.
pub struct OpenPage(Arc<Bus>, Option<String>);

impl Drop for OpenPage {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        if let Some(session) = self.1.take() {
            let mut held = self.0.per_session.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = held.get_mut(&session) {
                *n -= 1;
                if *n == 0 {
                    held.remove(&session);
                }
            }
        }
    }
}

impl Bus {
    /// Closes every open socket (graceful shutdown waits for them otherwise).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// Turns true when the server is shutting down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// How many live pages this process is serving now.
    pub fn open_pages(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Counts a page as open until the returned value is dropped.
    pub fn open_page(self: &Arc<Self>) -> OpenPage {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenPage(self.clone(), None)
    }

    /// Like [`Bus::open_page`], for a page of session `session` (its id
    /// hash): `None` when that session holds `max` open already.
    pub fn open_page_for(self: &Arc<Self>, session: &str, max: usize) -> Option<OpenPage> {
        let mut held = self.per_session.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(session.to_owned()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        drop(held);
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(OpenPage(self.clone(), Some(session.to_owned())))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Delivers to this process's pages (what the PostgreSQL listener calls).
    pub fn deliver(&self, change: Change) {
        if let Change::Ticket(id) = change {
            // Before the wake-up: a page woken by this change reads after it.
            self.shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        }
        let _ = self.tx.send(change);
    }

    /// What the pages of ticket `id` share now: the first page to ask after a
    /// change runs `read`, the others wait for that read. A value is kept
    /// `fresh_for` at most (some of what pages show turns by the clock alone).
    pub async fn shared<T, F, Fut>(
        &self,
        id: i32,
        fresh_for: Duration,
        read: F,
    ) -> Result<Arc<T>, AppError>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<T>, AppError>>,
    {
        let shared = {
            let mut map = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match map.get(&id) {
                Some(s) if now - s.made < fresh_for => s.clone(),
                _ => {
                    // Keep only what is still good: the map holds the
                    // tickets changed lately, not all ever seen.
                    map.retain(|_, s| now - s.made < fresh_for);
                    let s = Arc::new(Shared {
                        made: now,
                        value: OnceCell::new(),
                    });
                    map.insert(id, s.clone());
                    s
                }
            }
        };
        let value = shared
            .value
            .get_or_try_init(|| async { read().await.map(|v| -> Arc<dyn Any + Send + Sync> { v }) })
            .await?
            .clone();
        value.downcast::<T>().map_err(|_| {
            tracing::error!("live bus: two kinds of shared read under one ticket");
            AppError::Internal
        })
    }
}

/// Tells every open page, in every process, about `change`. Call after the
/// change is committed.
pub async fn publish(state: &AppState, change: Change) {
    if state.db.get_database_backend() == DbBackend::Postgres {
        // The payload is an integer or a fixed word: nothing to quote.
        let sql = format!("NOTIFY {CHANNEL}, '{}'", change.payload());
        if let Err(e) = state.db.execute_unprepared(&sql).await {
            tracing::warn!(error = %e, "NOTIFY failed; open pages update on their next check");
        }
    } else {
        state.live.deliver(change);
    }
}

/// With PostgreSQL, forwards `NOTIFY portico_tickets` from any process to
/// this process's pages; reconnects when the connection drops.
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
                                    if let Some(change) = Change::parse(n.payload()) {
                                        state.live.deliver(change);
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "live listener lost its connection");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "live listener cannot connect"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_the_notify_payload() {
        for c in [
            Change::Ticket(7),
            Change::Organization(3),
            Change::AccessChanged,
        ] {
            assert_eq!(Change::parse(&c.payload()), Some(c));
        }
        assert_eq!(Change::parse("0"), Some(Change::AccessChanged));
        // Not a ticket: negatives, garbage.
        for p in ["-3", "", "x", "org:", "org:-1", "org:x"] {
            assert_eq!(Change::parse(p), None, "{p:?}");
        }
    }

    #[tokio::test]
    async fn one_read_per_change_shared_by_every_page() {
        let bus = Arc::new(Bus::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let read =
            |n: Arc<AtomicUsize>| async move { Ok(Arc::new(n.fetch_add(1, Ordering::SeqCst))) };
        let long = Duration::from_secs(60);
        let a = bus.shared(1, long, || read(reads.clone())).await.unwrap();
        let b = bus.shared(1, long, || read(reads.clone())).await.unwrap();
        assert_eq!((*a, *b), (0, 0), "the second page shares the first read");
        bus.deliver(Change::Ticket(2));
        let c = bus.shared(1, long, || read(reads.clone())).await.unwrap();
        assert_eq!(*c, 0, "another ticket's change keeps this one's read");
        bus.deliver(Change::Ticket(1));
        let d = bus.shared(1, long, || read(reads.clone())).await.unwrap();
        assert_eq!(*d, 1, "a change to the ticket reads again");
        let open = bus.open_page();
        assert_eq!(bus.open_pages(), 1);
        drop(open);
        assert_eq!(bus.open_pages(), 0);
    }
}
