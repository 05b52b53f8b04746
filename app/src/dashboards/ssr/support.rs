//! The support dashboard's figures for a period, computed from the clocks'
//! stored outcomes and durations (read by index ranges on their dates), and
//! the live numbers.
//!
//! A clock's outcome is decided once: breached when it falls overdue (or is
//! met late), met when it is met in time. It counts in the period its outcome
//! was decided in, so no clock counts twice across periods.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{level, ticket, ticket_sla, user, Severity};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect,
    RelationDef,
};

use crate::dashboards::{
    AgentLoad, Attainment, Bucket, Capped, Durations, LiveFigures, Period, Spread, SupportFigures,
    DUE_SOON_MINUTES,
};
use crate::error::AppError;
use crate::support::ssr::target_label;

/// The start of day `d`, UTC.
pub(super) fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

const TARGETS: [&str; 3] = ["first_response", "next_response", "resolution"];

/// Clocks joined to their tickets.
pub(super) fn clock_ticket() -> RelationDef {
    ticket_sla::Entity::belongs_to(ticket::Entity)
        .from(ticket_sla::Column::TicketId)
        .to(ticket::Column::Id)
        .into()
}

/// A clock as the figures need it: target, met or breached, durations, and
/// its ticket's level and severity.
type ClockRow = (
    String,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    i16,
);

fn clocks() -> sea_orm::Select<ticket_sla::Entity> {
    ticket_sla::Entity::find()
        .select_only()
        .column(ticket_sla::Column::Target)
        .column(ticket_sla::Column::BreachedAt)
        .column(ticket_sla::Column::UsedSecs)
        .column(ticket_sla::Column::WallSecs)
        .column_as(ticket::Column::LevelId, "level_id")
        .column_as(ticket::Column::Severity, "severity")
        .join(JoinType::InnerJoin, clock_ticket())
}

/// (met, breached, running) per (level or severity key, target).
#[derive(Default)]
struct Tally(BTreeMap<(i64, &'static str), [u64; 3]>);

impl Tally {
    fn add(&mut self, key: i64, target: &str, slot: usize) {
        let t = TARGETS
            .into_iter()
            .find(|x| *x == target)
            .unwrap_or("resolution");
        self.0.entry((key, t)).or_default()[slot] += 1;
    }
}

pub async fn support_figures<C: ConnectionTrait>(
    db: &C,
    period: Period,
    now: DateTime<Utc>,
) -> Result<SupportFigures, AppError> {
    let (from, to) = period.range(now.date_naive());
    let (start, end) = (midnight(from), midnight(to));
    let mut by_level = Tally::default();
    let mut by_severity = Tally::default();
    let mut business: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut calendar: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    // Met in the period (on time or late): durations; on time: met.
    let met: Vec<ClockRow> = clocks()
        .filter(ticket_sla::Column::FulfilledAt.gte(start))
        .filter(ticket_sla::Column::FulfilledAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (target, breached_at, used, wall, level_id, severity) in &met {
        let t = TARGETS
            .into_iter()
            .find(|x| x == target)
            .unwrap_or("resolution");
        business.entry(t).or_default().extend(*used);
        calendar.entry(t).or_default().extend(*wall);
        if breached_at.is_none() {
            by_level.add(i64::from(level_id.unwrap_or(0)), target, 0);
            by_severity.add(i64::from(*severity), target, 0);
        }
    }
    // Breached in the period, met since or not.
    let breached: Vec<ClockRow> = clocks()
        .filter(ticket_sla::Column::BreachedAt.gte(start))
        .filter(ticket_sla::Column::BreachedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (target, _, _, _, level_id, severity) in &breached {
        by_level.add(i64::from(level_id.unwrap_or(0)), target, 1);
        by_severity.add(i64::from(*severity), target, 1);
    }
    // Running now: neither met nor breached, on an open ticket (shown for
    // the periods that reach today).
    let reaches_today = to > now.date_naive();
    let running: Vec<ClockRow> = if !reaches_today {
        Vec::new()
    } else {
        clocks()
            .filter(ticket_sla::Column::FulfilledAt.is_null())
            .filter(ticket_sla::Column::BreachedAt.is_null())
            .filter(ticket::Column::IsOpen.eq(true))
            .into_tuple()
            .all(db)
            .await?
    };
    for (target, _, _, _, level_id, severity) in &running {
        by_level.add(i64::from(level_id.unwrap_or(0)), target, 2);
        by_severity.add(i64::from(*severity), target, 2);
    }
    let levels: BTreeMap<i64, String> = level::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (i64::from(l.id), l.name))
        .collect();
    let rows = |tally: Tally, name: &dyn Fn(i64) -> (String, Option<String>)| {
        tally
            .0
            .into_iter()
            .map(|((key, target), [met, breached, running])| {
                let (label, link) = name(key);
                Attainment {
                    label,
                    target: target_label(target).into(),
                    met,
                    breached,
                    running,
                    link,
                }
            })
            .collect::<Vec<_>>()
    };
    let by_level = rows(by_level, &|id| {
        let name = levels
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "No level".into());
        (name, None)
    });
    let by_severity = rows(by_severity, &|s| {
        (
            Severity::text_of(s as i16),
            Some(format!("/staff/tickets?queue=all&severity={s}")),
        )
    });
    let durations = ["first_response", "resolution"]
        .into_iter()
        .map(|t| Durations {
            target: target_label(t).into(),
            business: Spread::of(business.remove(t).unwrap_or_default()),
            calendar: Spread::of(calendar.remove(t).unwrap_or_default()),
        })
        .collect();
    let (buckets, opened, solved, reopened) = flow(db, from, to).await?;
    Ok(SupportFigures {
        period,
        from,
        to,
        by_level,
        by_severity,
        durations,
        buckets,
        opened,
        solved,
        reopened,
        load: load(db).await?,
    })
}

fn bucket_of(buckets: &[(NaiveDate, NaiveDate)], at: DateTime<Utc>) -> Option<usize> {
    let d = at.date_naive();
    buckets.iter().position(|(a, b)| *a <= d && d < *b)
}

/// Opened and solved per bucket, the backlog at each bucket's end, and the
/// period's totals (opened, solved, solved after a reopen).
async fn flow<C: ConnectionTrait>(
    db: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<Bucket>, u64, u64, u64), AppError> {
    let (start, end) = (midnight(from), midnight(to));
    let spans = Period::buckets(from, to);
    let mut opened = vec![0u64; spans.len()];
    let mut solved = vec![0u64; spans.len()];
    // Tickets that stopped being open in each bucket (solved, or closed
    // without being solved: merged).
    let mut ended = vec![0u64; spans.len()];
    let created: Vec<DateTime<Utc>> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::CreatedAt)
        .filter(ticket::Column::CreatedAt.gte(start))
        .filter(ticket::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for c in &created {
        if let Some(i) = bucket_of(&spans, *c) {
            opened[i] += 1;
        }
    }
    let solved_rows: Vec<(DateTime<Utc>, i32)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::SolvedAt)
        .column(ticket::Column::Reopens)
        .filter(ticket::Column::SolvedAt.gte(start))
        .filter(ticket::Column::SolvedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    let mut reopened = 0;
    for (at, reopens) in &solved_rows {
        if let Some(i) = bucket_of(&spans, *at) {
            solved[i] += 1;
            ended[i] += 1;
        }
        reopened += u64::from(*reopens > 0);
    }
    let merged: Vec<DateTime<Utc>> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::ClosedAt)
        .filter(ticket::Column::ClosedAt.gte(start))
        .filter(ticket::Column::ClosedAt.lt(end))
        .filter(ticket::Column::SolvedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for at in &merged {
        if let Some(i) = bucket_of(&spans, *at) {
            ended[i] += 1;
        }
    }
    // The backlog at the period's end: open now, less what opened since,
    // plus what ended since; then walk back a bucket at a time.
    let open_now = ticket::Entity::find()
        .filter(ticket::Column::IsOpen.eq(true))
        .count(db)
        .await?;
    let opened_since = ticket::Entity::find()
        .filter(ticket::Column::CreatedAt.gte(end))
        .count(db)
        .await?;
    let solved_since = ticket::Entity::find()
        .filter(ticket::Column::SolvedAt.gte(end))
        .count(db)
        .await?;
    let merged_since = ticket::Entity::find()
        .filter(ticket::Column::ClosedAt.gte(end))
        .filter(ticket::Column::SolvedAt.is_null())
        .count(db)
        .await?;
    let mut backlog = (open_now + solved_since + merged_since).saturating_sub(opened_since);
    let mut buckets = Vec::with_capacity(spans.len());
    for (i, (a, b)) in spans.iter().enumerate().rev() {
        buckets.push(Bucket {
            from: *a,
            to: *b,
            opened: opened[i],
            solved: solved[i],
            backlog,
        });
        backlog = (backlog + ended[i]).saturating_sub(opened[i]);
    }
    buckets.reverse();
    let total_solved = solved.iter().sum();
    Ok((buckets, created.len() as u64, total_solved, reopened))
}

/// Open tickets per assignee, most loaded first.
async fn load<C: ConnectionTrait>(db: &C) -> Result<Vec<AgentLoad>, AppError> {
    let counts: Vec<(Option<i32>, i64)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::AssigneeUserId)
        .column_as(ticket::Column::Id.count(), "n")
        .filter(ticket::Column::IsOpen.eq(true))
        .group_by(ticket::Column::AssigneeUserId)
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i32> = counts.iter().filter_map(|(id, _)| *id).collect();
    let names: BTreeMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut rows: Vec<AgentLoad> = counts
        .into_iter()
        .map(|(id, n)| match id {
            Some(id) => AgentLoad {
                name: names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "Former staff".into()),
                open: n.max(0) as u64,
                link: None,
            },
            None => AgentLoad {
                name: "Unassigned".into(),
                open: n.max(0) as u64,
                link: Some("/staff/tickets?queue=unassigned".into()),
            },
        })
        .collect();
    rows.sort_by(|a, b| b.open.cmp(&a.open).then_with(|| a.name.cmp(&b.name)));
    Ok(rows)
}

/// A count read in the queue's index order (two parts: running clocks,
/// then none), stopping past the cap.
async fn capped<C: ConnectionTrait>(
    db: &C,
    q: sea_orm::Select<ticket::Entity>,
) -> Result<Capped, AppError> {
    use crate::support::ssr::queue::{count_capped, COUNT_CAP};
    let n = count_capped(db, &q).await?;
    Ok(Capped {
        count: n.min(COUNT_CAP),
        more: n > COUNT_CAP,
    })
}

/// The live numbers: bounded reads of the queue's indexes.
pub async fn live_figures<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<LiveFigures, AppError> {
    let [open, unassigned, overdue, due_soon] = live_selects(now);
    Ok(LiveFigures {
        open: capped(db, open).await?,
        unassigned: capped(db, unassigned).await?,
        overdue: capped(db, overdue).await?,
        due_soon: capped(db, due_soon).await?,
    })
}

/// The tickets each live number counts: open, open and unassigned, past a
/// target, due within the hour (each read in the queue's two parts).
pub fn live_selects(now: DateTime<Utc>) -> [sea_orm::Select<ticket::Entity>; 4] {
    let open = || {
        ticket::Entity::find()
            .filter(ticket::Column::NextDueAt.is_not_null())
            .filter(ticket::Column::IsOpen.eq(true))
    };
    // Open tickets with no running clock (waiting on the customer, or
    // without an SLA) are open too.
    let all_open = ticket::Entity::find().filter(ticket::Column::IsOpen.eq(true));
    [
        all_open.clone(),
        all_open.filter(ticket::Column::AssigneeUserId.is_null()),
        open().filter(ticket::Column::NextDueAt.lt(now)),
        open()
            .filter(ticket::Column::NextDueAt.gte(now))
            .filter(ticket::Column::NextDueAt.lt(now + Duration::minutes(DUE_SOON_MINUTES))),
    ]
}
