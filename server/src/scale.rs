//! A large synthetic dataset for measuring (`server seed-scale`, used by
//! `make bench`): organizations with contacts, years of tickets with their
//! clocks and conversations, most long closed and a realistic backlog open;
//! a subscription per organization and years of invoices, estimates and
//! proposals.
//! Written in batches straight to the tables, with the queue keys the
//! application keeps, so the measured queries see what production would.

use chrono::{DateTime, Duration, Utc};
use entity::{
    contact, document, level, organization, subscription, ticket, ticket_comment, ticket_sla, user,
    StaffRole, SubscriptionStatus,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

/// How much to write.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub organizations: u32,
    pub tickets: u32,
    pub comments_per_ticket: u32,
    pub documents: u32,
}

/// Rows per INSERT: within both databases' bound-parameter limits.
const CHUNK: usize = 400;

/// A small deterministic generator (xorshift64*): the same dataset every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "server",
    "replication",
    "timeout",
    "upgrade",
    "license",
    "backup",
    "cluster",
    "login",
    "certificate",
    "memory",
    "index",
    "query",
    "slow",
    "error",
    "crash",
    "disk",
    "network",
    "proxy",
    "cache",
    "restore",
    "migration",
    "package",
    "kernel",
    "latency",
    "failover",
];

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

async fn next_id<C: ConnectionTrait>(db: &C, table: &str) -> anyhow::Result<i32> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no max id for {table}"))?;
    Ok(row.try_get::<i32>("", "m")? + 1)
}

/// PostgreSQL's sequences move past ids written here; SQLite needs nothing.
async fn bump_sequence<C: ConnectionTrait>(db: &C, table: &str) -> anyhow::Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        ))
        .await?;
    }
    Ok(())
}

async fn insert_chunks<A, C>(db: &C, rows: Vec<A>) -> anyhow::Result<()>
where
    A: sea_orm::ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Adds `scale` to a database that holds the demo data (its levels and staff).
pub async fn seed(db: &DatabaseConnection, scale: Scale) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let now = Utc::now();
    let levels: Vec<i32> = level::Entity::find()
        .select_only()
        .column(level::Column::Id)
        .order_by_asc(level::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    anyhow::ensure!(
        !levels.is_empty(),
        "seed-scale needs the demo data: start once with --demo"
    );
    let agents: Vec<(i32, String)> = user::Entity::find()
        .filter(user::Column::StaffRole.is_in([StaffRole::Agent, StaffRole::Admin]))
        .select_only()
        .columns([user::Column::Id, user::Column::Name])
        .into_tuple()
        .all(db)
        .await?;

    // Organizations, five contacts each (the first the Main Contact).
    let first_org = next_id(db, "organizations").await?;
    let first_contact = next_id(db, "contacts").await?;
    let mut orgs = Vec::new();
    let mut contacts = Vec::new();
    for i in 0..scale.organizations as i32 {
        let id = first_org + i;
        orgs.push(organization::ActiveModel {
            id: Set(id),
            name: Set(format!("Scale Org {i:05}")),
            legal_name: Set(format!("Scale Org {i:05} Ltd")),
            address: Set(format!("{} Bench Street", i + 1)),
            vat_id: Set(None),
            shared_tickets: Set(i % 3 == 0),
            created_at: Set(now - Duration::days(1100)),
        });
        for c in 0..5 {
            contacts.push(contact::ActiveModel {
                id: Set(first_contact + i * 5 + c),
                organization_id: Set(id),
                user_id: Set(None),
                name: Set(format!("Contact {c} of {i:05}")),
                email: Set(format!("c{c}.o{i}@scale.example")),
                phone: Set(None),
                is_main: Set(c == 0),
                is_technical: Set(c > 0),
                is_administrative: Set(c == 0),
                is_distribution_list: Set(false),
                active: Set(true),
                created_at: Set(now - Duration::days(1100)),
            });
        }
    }
    insert_chunks(db, orgs).await?;
    insert_chunks(db, contacts).await?;
    bump_sequence(db, "organizations").await?;
    bump_sequence(db, "contacts").await?;

    // Tickets over three years, oldest first; the last 3% are the open backlog.
    let first_ticket = next_id(db, "tickets").await?;
    let span = Duration::days(1095).num_seconds() as u64;
    let open_from = scale.tickets - scale.tickets * 3 / 100;
    let batch = 5_000u32;
    let mut written = 0u32;
    while written < scale.tickets {
        let txn = db.begin().await?;
        let (mut tickets, mut slas, mut comments) = (Vec::new(), Vec::new(), Vec::new());
        for n in written..(written + batch).min(scale.tickets) {
            let id = first_ticket + n as i32;
            let org = rng.below(u64::from(scale.organizations)) as i32;
            let requester = first_contact + org * 5 + 1 + rng.below(4) as i32;
            let created: DateTime<Utc> = now
                - Duration::seconds((span - span * u64::from(n) / u64::from(scale.tickets)) as i64)
                - Duration::seconds(rng.below(3600) as i64);
            let severity = 1 + rng.below(4) as i16;
            let open = n >= open_from;
            let waiting = open && rng.below(5) == 0;
            let status = match (open, waiting, rng.below(3)) {
                (true, true, _) => "waiting",
                (true, false, 0) => "new",
                (true, false, _) => "open",
                // Solved tickets close after a week: only recent ones are still solved.
                (false, _, 0) if n + scale.tickets / 200 >= open_from => "solved",
                _ => "closed",
            };
            let updated = (created + Duration::minutes(30 + rng.below(5000) as i64)).min(now);
            let assignee = (status != "new" && !agents.is_empty())
                .then(|| agents[rng.below(agents.len() as u64) as usize].0);
            // Running clocks: first response (new) or resolution, due within days (some overdue).
            let due = (open && !waiting)
                .then(|| now + Duration::minutes(rng.below(7 * 24 * 60) as i64 - 6 * 60));
            let minutes = [120, 240, 480, 1440][(severity - 1) as usize];
            for target in ["first_response", "resolution"] {
                let running = due.is_some() && (target == "resolution" || status == "new");
                let minutes = if target == "resolution" {
                    minutes * 12
                } else {
                    minutes
                };
                let met = !open || (target == "first_response" && status != "new");
                let target_time = Duration::minutes(i64::from(minutes));
                let late = updated - created > target_time;
                slas.push(ticket_sla::ActiveModel {
                    ticket_id: Set(id),
                    target: Set(target.into()),
                    minutes: Set(minutes),
                    around_the_clock: Set(true),
                    runs: Set(serde_json::json!([[
                        created,
                        if running { None } else { Some(updated) }
                    ]])
                    .to_string()),
                    due_at: Set(if running { due } else { None }),
                    fulfilled_at: Set(met.then_some(updated)),
                    // Met late: breached when it fell due.
                    breached_at: Set((met && late).then(|| created + target_time)),
                    used_secs: Set(met.then(|| (updated - created).num_seconds())),
                    wall_secs: Set(met.then(|| (updated - created).num_seconds())),
                    warned_at: Set(None),
                    warn_at: Set(if running {
                        due.map(|d| d - Duration::minutes(i64::from(minutes) / 4))
                    } else {
                        None
                    }),
                    ..Default::default()
                });
            }
            tickets.push(ticket::ActiveModel {
                id: Set(id),
                organization_id: Set(first_org + org),
                requester_contact_id: Set(requester),
                subject: Set(format!("{} {}", words(&mut rng, 4), n)),
                description: Set(words(&mut rng, 40)),
                severity: Set(severity),
                product: Set("Portico Server".into()),
                version: Set("2.4".into()),
                product_version_id: Set(None),
                status: Set(status.into()),
                assignee_user_id: Set(assignee),
                token: Set(format!("S{id:015}")),
                level_id: Set(Some(levels[org as usize % levels.len()])),
                created_at: Set(created),
                updated_at: Set(updated),
                solved_at: Set((!open).then_some(updated)),
                closed_at: Set((status == "closed").then_some(updated)),
                next_due_at: Set(due),
                is_open: Set(open),
                reopens: Set(i32::from(rng.below(20) == 0)),
            });
            for c in 0..scale.comments_per_ticket {
                let by_staff = c % 2 == 1;
                let staff = by_staff.then(|| agents.first().cloned()).flatten();
                comments.push(ticket_comment::ActiveModel {
                    ticket_id: Set(id),
                    author_user_id: Set(staff.as_ref().map(|s| s.0)),
                    author_name: Set(staff
                        .map(|s| s.1)
                        .unwrap_or_else(|| format!("Contact of {org:05}"))),
                    by_staff: Set(by_staff),
                    internal: Set(by_staff && c % 4 == 3),
                    body: Set(words(&mut rng, 30)),
                    created_at: Set(created + Duration::minutes(i64::from(c) * 20)),
                    ..Default::default()
                });
            }
        }
        written = (written + batch).min(scale.tickets);
        insert_chunks(&txn, tickets).await?;
        insert_chunks(&txn, slas).await?;
        insert_chunks(&txn, comments).await?;
        txn.commit().await?;
    }
    bump_sequence(db, "tickets").await?;
    seed_billing(db, &mut rng, scale, first_org, &levels, now).await?;
    // Fresh statistics (and on PostgreSQL a vacuumed table, so the measured
    // minutes are not autovacuum's), as a database that grew to this size has.
    let settle = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(settle).await?;
    Ok(format!(
        "seeded {} organizations, {} contacts, {} tickets ({} open), {} comments, {} documents in {:.0?}",
        scale.organizations,
        scale.organizations * 5,
        scale.tickets,
        scale.tickets - open_from,
        u64::from(scale.tickets) * u64::from(scale.comments_per_ticket),
        scale.documents,
        started.elapsed()
    ))
}

/// One active subscription per organization (terms ending over the next
/// year), and `scale.documents` documents over three years: mostly invoices,
/// the older ones paid, recent ones sent or overdue; estimates and proposals
/// accepted, declined or awaiting an answer.
async fn seed_billing(
    db: &DatabaseConnection,
    rng: &mut Rng,
    scale: Scale,
    first_org: i32,
    levels: &[i32],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let today = now.date_naive();
    let subs = (0..scale.organizations as i32)
        .map(|i| {
            let end = today + Duration::days(1 + rng.below(365) as i64);
            subscription::ActiveModel {
                organization_id: Set(first_org + i),
                level_id: Set(levels[i as usize % levels.len()]),
                term_start: Set(end - Duration::days(365)),
                term_end: Set(end),
                status: Set(SubscriptionStatus::Active),
                purchase_order: Set(None),
                payment_method: Set("bank_transfer".into()),
                created_at: Set(now - Duration::days(400)),
                ..Default::default()
            }
        })
        .collect();
    insert_chunks(db, subs).await?;
    let mut docs = Vec::new();
    for n in 0..scale.documents {
        let org = first_org + (n % scale.organizations.max(1)) as i32;
        let age = (scale.documents - n) as i64 * 1095 / i64::from(scale.documents.max(1));
        let issued = today - Duration::days(age);
        let (kind, prefix) = match rng.below(25) {
            0..=19 => ("invoice", "INV"),
            20..=22 => ("estimate", "EST"),
            _ => ("proposal", "PRO"),
        };
        let total = 10_000 + rng.below(990_000) as i64;
        let status = match (kind, age, rng.below(10)) {
            ("invoice", 0..=120, 0..=3) => "sent",
            ("invoice", 0..=120, 4) => "viewed",
            ("invoice", 0..=120, 5) => "partially_paid",
            ("invoice", 121.., 0) => "sent",
            ("invoice", _, _) => "paid",
            (_, 0..=60, 0..=5) => "sent",
            (_, _, 0..=5) => "accepted",
            _ => "declined",
        };
        let paid = match status {
            "paid" => total,
            "partially_paid" => total / 2,
            _ => 0,
        };
        let seq = 1_000_000 + n as i32;
        let year = chrono::Datelike::year(&issued);
        let sent = issued.and_hms_opt(10, 0, 0).map(|t| t.and_utc());
        docs.push(document::ActiveModel {
            organization_id: Set(org),
            kind: Set(kind.into()),
            status: Set(status.into()),
            number: Set(Some(format!("{prefix}-{year}-{seq}"))),
            number_year: Set(Some(year)),
            number_seq: Set(Some(seq)),
            currency: Set("EUR".into()),
            purchase_order: Set(None),
            payment_terms_days: Set(30),
            issue_date: Set(Some(issued)),
            due_date: Set((kind == "invoice").then(|| issued + Duration::days(30))),
            valid_until: Set((kind != "invoice").then(|| issued + Duration::days(30))),
            discount_percent: Set("0".into()),
            notes: Set(String::new()),
            narrative: Set(String::new()),
            terms: Set(String::new()),
            subtotal_minor: Set(total),
            discount_minor: Set(0),
            tax_minor: Set(0),
            total_minor: Set(total),
            paid_minor: Set(paid),
            created_at: Set(sent.unwrap_or(now)),
            updated_at: Set(sent.unwrap_or(now)),
            sent_at: Set(sent),
            ..Default::default()
        });
        if docs.len() == 5_000 {
            insert_chunks(db, std::mem::take(&mut docs)).await?;
        }
    }
    insert_chunks(db, docs).await?;
    Ok(())
}
