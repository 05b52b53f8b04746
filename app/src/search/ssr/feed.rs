//! Keeps the search index current. When the index is missing (or of an
//! older version) it is built from the database in the background, while
//! the server already answers (search says it is still being built). Then:
//! every change on the live bus (`Change::Ticket`, `Change::Organization`,
//! heard from every process through the change feed) is indexed within a
//! moment, and every few seconds the tickets and documents changed since
//! the last look (`updated_at`) are read again, which also catches a change
//! made while no process was listening. Organizations and contacts (a few
//! thousand rows) are read whole at start and every half hour.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{document, organization, ticket};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::core::live::Change;
use crate::core::search::{Entry, Opened};
use crate::core::state::AppState;
use crate::error::AppError;

use super::{entries, DOCUMENT, ORGANIZATION, TICKET};

/// How often a process that only reads the index tries to take over writing it.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(30);
/// How often organizations and contacts are read whole.
const ORGANIZATIONS_EVERY: Duration = Duration::from_secs(1800);
/// A look reads again what changed this long before the last change it
/// saw (clocks of several processes, transactions committing late).
const OVERLAP_SECS: i64 = 5;
/// Rows read per query while building or catching up.
const BATCH: u64 = 500;
/// Entries gathered before a commit while building.
const COMMIT_EVERY: usize = 20_000;
/// A change is indexed after this pause (what else arrives joins it).
const GATHER: Duration = Duration::from_millis(100);

/// What the index's last commit says about itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Mark {
    /// A full build has been committed.
    complete: bool,
    /// The newest `updated_at` of the tickets indexed.
    tickets: Option<DateTime<Utc>>,
    documents: Option<DateTime<Utc>>,
}

impl Mark {
    fn read(idx: &Opened) -> Mark {
        idx.payload()
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default()
    }

    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Opens the index below the data directory and keeps it current (in this
/// process when it is the one that writes it).
pub fn start(state: AppState) {
    let idx = match state.search.open(&state.settings.data_dir) {
        Ok(i) => i,
        // Logged; search answers that it is unavailable.
        Err(_) => return,
    };
    tokio::spawn(async move {
        // Another process writes it: take over when that process is gone.
        let mut closing = state.live.closing();
        while !idx.try_to_write() {
            tokio::select! {
                _ = closing.changed() => return,
                _ = tokio::time::sleep(TAKE_OVER_EVERY) => {}
            }
        }
        if let Err(e) = run(&state, idx).await {
            tracing::error!(error = %e, "search index: keeping it current stopped");
        }
    });
}

async fn write(
    idx: &Arc<Opened>,
    remove: Vec<(&'static str, i32)>,
    add: Vec<Entry>,
    mark: &Mark,
) -> Result<(), AppError> {
    let idx = idx.clone();
    let payload = mark.json();
    tokio::task::spawn_blocking(move || idx.write(&remove, add, &payload))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "search index: a write did not finish");
            AppError::Internal
        })?
}

/// Indexes what `kind`'s `ids` hold now; those gone from the database leave the index.
async fn reindex(
    state: &AppState,
    idx: &Arc<Opened>,
    tickets: &[i32],
    organizations: &[i32],
    documents: &[i32],
    mark: &Mark,
) -> Result<(), AppError> {
    let db = &state.db;
    let mut add = Vec::new();
    for ids in tickets.chunks(BATCH as usize) {
        add.extend(entries::tickets(db, ids).await?);
    }
    for ids in organizations.chunks(BATCH as usize) {
        add.extend(entries::organizations(db, ids).await?);
    }
    for ids in documents.chunks(BATCH as usize) {
        add.extend(entries::documents(db, ids).await?);
    }
    let present: BTreeSet<(&str, i32)> = add.iter().map(|e| (e.kind, e.id)).collect();
    let remove = tickets
        .iter()
        .map(|id| (TICKET, *id))
        .chain(organizations.iter().map(|id| (ORGANIZATION, *id)))
        .chain(documents.iter().map(|id| (DOCUMENT, *id)))
        .filter(|k| !present.contains(k))
        .collect();
    write(idx, remove, add, mark).await
}

/// Runs `$body` with every id of a table, in batches (`$ids`).
macro_rules! every_id {
    ($db:expr, $entity:ty, $col:expr, |$ids:ident| $body:block) => {{
        let mut after = 0;
        loop {
            let $ids: Vec<i32> = <$entity>::find()
                .select_only()
                .column($col)
                .filter($col.gt(after))
                .order_by_asc($col)
                .limit(BATCH)
                .into_tuple()
                .all($db)
                .await?;
            let Some(last) = $ids.last().copied() else {
                break;
            };
            after = last;
            $body
        }
    }};
}

/// Builds the whole index from the database.
async fn build(state: &AppState, idx: &Arc<Opened>) -> Result<Mark, AppError> {
    let started = std::time::Instant::now();
    // What changes during the build is read again by the first look.
    let since = Utc::now() - chrono::Duration::seconds(OVERLAP_SECS);
    tracing::info!("search index: building it from the database");
    let building = Mark::default();
    {
        let (idx, payload) = (idx.clone(), building.json());
        tokio::task::spawn_blocking(move || idx.clear(&payload))
            .await
            .map_err(|_| AppError::Internal)??;
    }
    let db = &state.db;
    let mut pending: Vec<Entry> = Vec::new();
    let mut total = 0usize;
    every_id!(db, ticket::Entity, ticket::Column::Id, |ids| {
        pending.extend(entries::tickets(db, &ids).await?);
        if pending.len() >= COMMIT_EVERY {
            total += pending.len();
            write(idx, Vec::new(), std::mem::take(&mut pending), &building).await?;
        }
    });
    every_id!(db, organization::Entity, organization::Column::Id, |ids| {
        pending.extend(entries::organizations(db, &ids).await?);
    });
    every_id!(db, document::Entity, document::Column::Id, |ids| {
        pending.extend(entries::documents(db, &ids).await?);
        if pending.len() >= COMMIT_EVERY {
            total += pending.len();
            write(idx, Vec::new(), std::mem::take(&mut pending), &building).await?;
        }
    });
    let done = Mark {
        complete: true,
        tickets: Some(since),
        documents: Some(since),
    };
    total += pending.len();
    write(idx, Vec::new(), pending, &done).await?;
    {
        let idx = idx.clone();
        tokio::task::spawn_blocking(move || idx.settle())
            .await
            .map_err(|_| AppError::Internal)??;
    }
    tracing::info!(
        entries = total,
        seconds = started.elapsed().as_secs_f64(),
        "search index built"
    );
    Ok(done)
}

/// Reads organizations and contacts whole (they are few; a missed change is mended here).
async fn organizations(state: &AppState, idx: &Arc<Opened>, mark: &Mark) -> Result<(), AppError> {
    let db = &state.db;
    let mut add = Vec::new();
    every_id!(db, organization::Entity, organization::Column::Id, |ids| {
        add.extend(entries::organizations(db, &ids).await?);
    });
    write(idx, Vec::new(), add, mark).await
}

/// Indexes the rows of `$entity` changed after `$since`, in batches read by
/// (`updated_at`, id) so that many rows changed at one instant are all
/// read; each batch's commit records how far it got: the newest change
/// seen, but never later than [`OVERLAP_SECS`] ago, so that a transaction
/// committing a moment late is still read by the next look (and, once
/// changes stop, the looks stop reading them again).
macro_rules! changed_since {
    ($state:expr, $idx:expr, $mark:expr, $entity:ty, $id:expr, $updated:expr, $since:expr, $which:ident, $apply:ident) => {{
        use sea_orm::sea_query::{Expr, ExprTrait};
        let mut from: (DateTime<Utc>, i32) = ($since, i32::MAX);
        let settled = Utc::now() - chrono::Duration::seconds(OVERLAP_SECS);
        loop {
            let rows: Vec<(i32, DateTime<Utc>)> = <$entity>::find()
                .select_only()
                .column($id)
                .column($updated)
                .filter(
                    Expr::tuple([Expr::col($updated), Expr::col($id)])
                        .gt(Expr::tuple([Expr::val(from.0), Expr::val(from.1)])),
                )
                .order_by_asc($updated)
                .order_by_asc($id)
                .limit(BATCH)
                .into_tuple()
                .all(&$state.db)
                .await?;
            let Some(&(last_id, last_at)) = rows.last() else {
                break;
            };
            from = (last_at, last_id);
            let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
            let mut mark = $mark.clone();
            mark.$which = std::cmp::max(Some(std::cmp::min(last_at, settled)), $mark.$which);
            $apply($state, $idx, &ids, &mark).await?;
            $mark.$which = mark.$which;
            if (rows.len() as u64) < BATCH {
                break;
            }
        }
    }};
}

async fn reindex_tickets(
    state: &AppState,
    idx: &Arc<Opened>,
    ids: &[i32],
    mark: &Mark,
) -> Result<(), AppError> {
    reindex(state, idx, ids, &[], &[], mark).await
}

async fn reindex_documents(
    state: &AppState,
    idx: &Arc<Opened>,
    ids: &[i32],
    mark: &Mark,
) -> Result<(), AppError> {
    reindex(state, idx, &[], &[], ids, mark).await
}

/// Indexes the tickets and documents changed since the last look.
async fn look(state: &AppState, idx: &Arc<Opened>, mark: &mut Mark) -> Result<(), AppError> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let since = mark.tickets.unwrap_or(epoch);
    changed_since!(
        state,
        idx,
        mark,
        ticket::Entity,
        ticket::Column::Id,
        ticket::Column::UpdatedAt,
        since,
        tickets,
        reindex_tickets
    );
    let since = mark.documents.unwrap_or(epoch);
    changed_since!(
        state,
        idx,
        mark,
        document::Entity,
        document::Column::Id,
        document::Column::UpdatedAt,
        since,
        documents,
        reindex_documents
    );
    Ok(())
}

/// The tickets of organizations `orgs`.
async fn tickets_of(state: &AppState, orgs: &[i32]) -> Result<Vec<i32>, AppError> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::OrganizationId.is_in(orgs.to_vec()))
        .into_tuple()
        .all(&state.db)
        .await?)
}

async fn run(state: &AppState, idx: Arc<Opened>) -> Result<(), AppError> {
    // Listening before building: what changes meanwhile is not lost.
    let mut rx = state.live.subscribe();
    let mut closing = state.live.closing();
    let mut mark = Mark::read(&idx);
    let building = !mark.complete;
    if building {
        // Retried until the database answers (the server may start before it).
        loop {
            match build(state, &idx).await {
                Ok(m) => {
                    mark = m;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "search index: build failed; trying again"),
            }
            tokio::select! {
                _ = closing.changed() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
    let mut look_tick = tokio::time::interval(state.settings.search_look);
    let mut org_tick = tokio::time::interval(ORGANIZATIONS_EVERY);
    // A slow look is not followed by a burst of the looks it delayed.
    look_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    org_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if building {
        // Organizations were read whole by the build just now.
        org_tick.reset();
    }
    enum Wake {
        Look,
        Organizations,
        Heard(Result<Change, RecvError>),
        Stop,
    }
    loop {
        let wake = tokio::select! {
            _ = closing.changed() => Wake::Stop,
            _ = look_tick.tick() => Wake::Look,
            _ = org_tick.tick() => Wake::Organizations,
            r = rx.recv() => Wake::Heard(r),
        };
        let result = match wake {
            Wake::Stop | Wake::Heard(Err(RecvError::Closed)) => return Ok(()),
            Wake::Look => look(state, &idx, &mut mark).await,
            Wake::Organizations => organizations(state, &idx, &mark).await,
            Wake::Heard(first) => {
                let mut tickets = BTreeSet::new();
                let mut orgs = BTreeSet::new();
                let mut lagged = false;
                let mut note = |r: Result<Change, RecvError>| match r {
                    Ok(Change::Ticket(id)) => {
                        tickets.insert(id);
                    }
                    Ok(Change::Organization(id)) => {
                        orgs.insert(id);
                    }
                    Ok(Change::AccessChanged) | Err(RecvError::Closed) => {}
                    Err(RecvError::Lagged(_)) => lagged = true,
                };
                note(first);
                // What arrives in the next moment is indexed with it.
                tokio::time::sleep(GATHER).await;
                loop {
                    match rx.try_recv() {
                        Ok(c) => note(Ok(c)),
                        Err(TryRecvError::Lagged(n)) => note(Err(RecvError::Lagged(n))),
                        Err(_) => break,
                    }
                }
                if lagged {
                    // What was missed is read from the database.
                    match look(state, &idx, &mut mark).await {
                        Ok(()) => organizations(state, &idx, &mark).await,
                        e => e,
                    }
                } else if tickets.is_empty() && orgs.is_empty() {
                    Ok(())
                } else {
                    let orgs: Vec<i32> = orgs.into_iter().collect();
                    // Their tickets carry their people's names and addresses.
                    match tickets_of(state, &orgs).await {
                        Ok(more) => {
                            tickets.extend(more);
                            let tickets: Vec<i32> = tickets.into_iter().collect();
                            reindex(state, &idx, &tickets, &orgs, &[], &mark).await
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        };
        if let Err(e) = result {
            // The next look reads it again.
            tracing::warn!(error = %e, "search index: an update failed");
        }
    }
}
