//! The ticket queue at any size: its sort key is kept on the ticket (in the
//! transaction that changes the clocks or the status), so an index answers
//! each queue, and pages are read by keyset, never by OFFSET.
//!
//! The order: tickets with a running clock first, the earliest due first
//! (`next_due_at`, then `updated_at`, `id`); then tickets without one, the
//! latest updated first. Each part is read by its own query, in index order.

use sea_orm::sea_query::{ExprTrait, Query, SimpleExpr};
use sea_orm::{Order, Select};

use super::*;

/// Statuses that leave the queue's open views.
pub const CLOSED_STATUSES: [&str; 2] = ["solved", "closed"];

/// Tickets a page shows.
pub const PAGE_SIZE: u64 = 25;

/// Counting stops here: "1,000+ tickets" is as useful as the exact figure
/// and costs a bounded read.
pub const COUNT_CAP: u64 = 1000;

/// Recomputes ticket `id`'s queue keys from its clocks and status, in the
/// transaction that changed them. One statement, on either database.
pub async fn sync_queue<C: ConnectionTrait>(db: &C, id: i32) -> Result<(), AppError> {
    let next_due = Query::select()
        .expr(Expr::col((ticket_sla::Entity, ticket_sla::Column::DueAt)).min())
        .from(ticket_sla::Entity)
        .and_where(Expr::col((ticket_sla::Entity, ticket_sla::Column::TicketId)).eq(id))
        .to_owned();
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::NextDueAt,
            Expr::SubQuery(None, Box::new(next_due.into())),
        )
        .col_expr(
            ticket::Column::IsOpen,
            Expr::col(ticket::Column::Status).is_not_in(CLOSED_STATUSES),
        )
        .filter(ticket::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The tickets `f` asks for within `scope` (what the viewer may see):
/// staff queues and filters; `organizations`, those a name matched.
pub fn filtered(
    scope: sea_orm::Condition,
    staff: bool,
    user_id: i32,
    f: &TicketFilter,
    organizations: Option<sea_orm::sea_query::SelectStatement>,
    now: DateTime<Utc>,
) -> Result<Select<ticket::Entity>, AppError> {
    use ticket::Column as T;
    let mut q = ticket::Entity::find().filter(scope);
    match f.queue.as_str() {
        "" | "all" => {}
        "open" => q = q.filter(T::IsOpen.eq(true)),
        "unassigned" if staff => {
            q = q
                .filter(T::AssigneeUserId.is_null())
                .filter(T::IsOpen.eq(true))
        }
        "mine" if staff => {
            q = q
                .filter(T::AssigneeUserId.eq(user_id))
                .filter(T::IsOpen.eq(true))
        }
        "breaching" if staff => {
            q = q
                .filter(T::IsOpen.eq(true))
                .filter(T::NextDueAt.lt(now + Duration::hours(4)))
        }
        _ => return Err(AppError::invalid("queue", "Choose a queue from the list.")),
    }
    if !f.status.is_empty() {
        if !TICKET_STATUSES.iter().any(|(k, _)| *k == f.status) {
            return Err(AppError::invalid(
                "status",
                "Choose a status from the list.",
            ));
        }
        q = q.filter(T::Status.eq(f.status.as_str()));
    }
    if !f.severity.is_empty() {
        let s: i16 = f
            .severity
            .parse()
            .ok()
            .filter(|s| (1..=4).contains(s))
            .ok_or_else(|| AppError::invalid("severity", "Choose a severity from 1 to 4."))?;
        q = q.filter(T::Severity.eq(s));
    }
    if staff && !f.organization_id.trim().is_empty() {
        let id: i32 = f.organization_id.trim().parse().map_err(|_| {
            AppError::invalid("organization_id", "Choose an organization from the list.")
        })?;
        q = q.filter(T::OrganizationId.eq(id));
    }
    if let Some(ids) = organizations {
        q = q.filter(T::OrganizationId.in_subquery(ids));
    }
    let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    if let Some((from, to)) = days("opened", &f.opened)? {
        q = q
            .filter(T::CreatedAt.gte(midnight(from)))
            .filter(T::CreatedAt.lt(midnight(to.succ_opt().unwrap_or(to))));
    }
    if let Some((from, to)) = days("solved", &f.solved)? {
        q = q
            .filter(T::SolvedAt.gte(midnight(from)))
            .filter(T::SolvedAt.lt(midnight(to.succ_opt().unwrap_or(to))));
    }
    Ok(q)
}

/// The days `2026-12-01` or `2026-12-01..2026-12-07` name (first, last),
/// for the filter `field`.
pub fn days(
    field: &str,
    s: &str,
) -> Result<Option<(chrono::NaiveDate, chrono::NaiveDate)>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    use chrono::Datelike;
    // Years Portico can have tickets in (and far from the calendar's ends).
    let day = |d: &str| {
        chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| (2000..=9999).contains(&d.year()))
    };
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    match (day(a), day(b)) {
        (Some(a), Some(b)) if a <= b => Ok(Some((a, b))),
        _ => Err(AppError::invalid(
            field,
            format!("Give the day {field} as 2026-12-01, or days as 2026-12-01..2026-12-07."),
        )),
    }
}

/// A position in the queue: the last (or first) ticket of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A ticket with a running clock.
    Due {
        due: DateTime<Utc>,
        updated: DateTime<Utc>,
        id: i32,
    },
    /// A ticket without one.
    Idle { updated: DateTime<Utc>, id: i32 },
}

impl Key {
    pub fn of(t: &ticket::Model) -> Key {
        match t.next_due_at {
            Some(due) => Key::Due {
                due,
                updated: t.updated_at,
                id: t.id,
            },
            None => Key::Idle {
                updated: t.updated_at,
                id: t.id,
            },
        }
    }

    /// For a link: `d<due>.<updated>.<id>` or `i<updated>.<id>`, times in
    /// nanoseconds since 1970 (the precision the database keeps).
    pub fn encode(self) -> String {
        let ns = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(0);
        match self {
            Key::Due { due, updated, id } => format!("d{}.{}.{id}", ns(due), ns(updated)),
            Key::Idle { updated, id } => format!("i{}.{id}", ns(updated)),
        }
    }

    /// `None` for anything [`Key::encode`] did not write.
    pub fn decode(s: &str) -> Option<Key> {
        let time = |p: &str| p.parse::<i64>().ok().map(DateTime::from_timestamp_nanos);
        let (kind, rest) = (s.get(..1)?, s.get(1..)?);
        let parts: Vec<&str> = rest.split('.').collect();
        match (kind, parts.as_slice()) {
            ("d", [due, updated, id]) => Some(Key::Due {
                due: time(due)?,
                updated: time(updated)?,
                id: id.parse().ok()?,
            }),
            ("i", [updated, id]) => Some(Key::Idle {
                updated: time(updated)?,
                id: id.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// Which way a page is read from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    First,
    After(Key),
    Before(Key),
}

/// One page of the queue and the cursors around it.
pub struct QueuePage {
    pub rows: Vec<ticket::Model>,
    pub prev: Option<Key>,
    pub next: Option<Key>,
}

fn cols(c: &[ticket::Column]) -> SimpleExpr {
    Expr::tuple(c.iter().map(|c| Expr::col((ticket::Entity, *c))))
}

fn vals(v: Vec<sea_orm::Value>) -> SimpleExpr {
    Expr::tuple(v.into_iter().map(Expr::val))
}

/// The running part (`due`) or the idle part of `q`, after or before `key`
/// (when it lies in that part), in queue order or (`reverse`) against it;
/// `n` rows. Each is one index range read in index order.
pub fn part_select(
    q: &Select<ticket::Entity>,
    due: bool,
    key: Option<Key>,
    reverse: bool,
    n: u64,
) -> Select<ticket::Entity> {
    use ticket::Column::{Id, NextDueAt, UpdatedAt};
    let mut q = q.clone();
    // The running part runs ascending, the idle part descending.
    let ascending = due != reverse;
    let order = if ascending { Order::Asc } else { Order::Desc };
    // The idle part orders by `next_due_at` too, all NULL: PostgreSQL does
    // not take `IS NULL` as fixing the index's first column, and sorts
    // unless the ORDER BY names it.
    let part = if due {
        NextDueAt.is_not_null()
    } else {
        NextDueAt.is_null()
    };
    q = q
        .filter(part)
        .order_by(NextDueAt, order.clone())
        .order_by(UpdatedAt, order.clone())
        .order_by(Id, order);
    let bound = match key {
        Some(Key::Due {
            due: d,
            updated,
            id,
        }) if due => Some((
            cols(&[NextDueAt, UpdatedAt, Id]),
            vals(vec![d.into(), updated.into(), id.into()]),
        )),
        Some(Key::Idle { updated, id }) if !due => Some((
            cols(&[UpdatedAt, Id]),
            vals(vec![updated.into(), id.into()]),
        )),
        _ => None,
    };
    if let Some((c, v)) = bound {
        q = q.filter(if ascending { c.gt(v) } else { c.lt(v) });
    }
    q.limit(n)
}

async fn part<C: ConnectionTrait>(
    db: &C,
    q: &Select<ticket::Entity>,
    due: bool,
    key: Option<Key>,
    reverse: bool,
    n: u64,
) -> Result<Vec<ticket::Model>, AppError> {
    Ok(part_select(q, due, key, reverse, n).all(db).await?)
}

/// A page of `q` (already filtered to what the viewer may see) from `from`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    q: &Select<ticket::Entity>,
    from: Cursor,
) -> Result<QueuePage, AppError> {
    let want = PAGE_SIZE + 1;
    match from {
        Cursor::First | Cursor::After(_) => {
            let key = match from {
                Cursor::After(k) => Some(k),
                _ => None,
            };
            let mut rows = Vec::new();
            if !matches!(key, Some(Key::Idle { .. })) {
                rows = part(db, q, true, key, false, want).await?;
            }
            if (rows.len() as u64) < want {
                let idle_key = key.filter(|k| matches!(k, Key::Idle { .. }));
                let more = part(db, q, false, idle_key, false, want - rows.len() as u64).await?;
                rows.extend(more);
            }
            let more = rows.len() as u64 > PAGE_SIZE;
            rows.truncate(PAGE_SIZE as usize);
            Ok(QueuePage {
                prev: key.and(rows.first().map(Key::of)),
                next: more.then(|| rows.last().map(Key::of)).flatten(),
                rows,
            })
        }
        Cursor::Before(key) => {
            let mut rows = Vec::new();
            if matches!(key, Key::Idle { .. }) {
                rows = part(db, q, false, Some(key), true, want).await?;
            }
            if (rows.len() as u64) < want {
                let due_key = matches!(key, Key::Due { .. }).then_some(key);
                let more = part(db, q, true, due_key, true, want - rows.len() as u64).await?;
                rows.extend(more);
            }
            if (rows.len() as u64) < want {
                // Nothing before this page but what fits on it: the first page.
                return Box::pin(page(db, q, Cursor::First)).await;
            }
            rows.truncate(PAGE_SIZE as usize);
            rows.reverse();
            Ok(QueuePage {
                prev: rows.first().map(Key::of),
                next: rows.last().map(Key::of),
                rows,
            })
        }
    }
}

/// The ids of at most `limit` tickets `q` matches in one part of the queue
/// (with running clocks, or without): what [`count_capped`] reads.
pub fn count_part(q: &Select<ticket::Entity>, running: bool, limit: u64) -> Select<ticket::Entity> {
    let part = if running {
        ticket::Column::NextDueAt.is_not_null()
    } else {
        ticket::Column::NextDueAt.is_null()
    };
    q.clone()
        .filter(part)
        .select_only()
        .column(ticket::Column::Id)
        .limit(limit)
}

/// How many tickets `q` matches, up to [`COUNT_CAP`] + 1 (more than the cap).
/// Counted a part at a time, each part by the index that serves its page (a
/// count over the whole of `q` could only scan the table for the rare open tickets).
pub async fn count_capped<C: ConnectionTrait>(
    db: &C,
    q: &Select<ticket::Entity>,
) -> Result<u64, AppError> {
    let mut n = 0;
    for running in [true, false] {
        let ids: Vec<i32> = count_part(q, running, COUNT_CAP + 1 - n)
            .into_tuple()
            .all(db)
            .await?;
        n += ids.len() as u64;
        if n > COUNT_CAP {
            break;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_anything_else() {
        let t = DateTime::from_timestamp_nanos(1_780_000_000_123_456_789);
        for k in [
            Key::Due {
                due: t,
                updated: t,
                id: 7,
            },
            Key::Idle { updated: t, id: 9 },
        ] {
            assert_eq!(Key::decode(&k.encode()), Some(k));
        }
        for bad in [
            "",
            "d",
            "x1.2",
            "d1.2",
            "i1.2.3",
            "dA.B.C",
            "i1.99999999999",
        ] {
            assert_eq!(Key::decode(bad), None, "{bad}");
        }
    }
}
