//! Dashboards: how support and the business are going, for staff by role,
//! and an organization's own support record for its Main Contact.
//!
//! The period figures (SLA attainment, medians, opened and solved, backlog,
//! renewals, ageing) are computed by the scheduler every few minutes
//! (`--dashboard-refresh-seconds`, 300 by default) and kept
//! as one row per dashboard and period (`ssr::store`), so a view reads one
//! row whatever the number of tickets; the live numbers (open, overdue,
//! breaching soon) are bounded index counts read on every view and polled by
//! the page.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub mod chart;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{
    BusinessSection, CustomerRecordSection, OrganizationRecordSection, SupportSection,
};

/// A fixed period a dashboard reports on (fixed so its figures can be kept
/// ready rather than computed on every view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    Days7,
    Days30,
    Days90,
    ThisQuarter,
    LastQuarter,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::Days7,
        Period::Days30,
        Period::Days90,
        Period::ThisQuarter,
        Period::LastQuarter,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Period::Days7 => "7d",
            Period::Days30 => "30d",
            Period::Days90 => "90d",
            Period::ThisQuarter => "quarter",
            Period::LastQuarter => "last-quarter",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Days7 => "Last 7 days",
            Period::Days30 => "Last 30 days",
            Period::Days90 => "Last 90 days",
            Period::ThisQuarter => "This quarter",
            Period::LastQuarter => "Last quarter",
        }
    }

    /// The period named `key`; the last 30 days when it names none.
    pub fn parse(key: &str) -> Period {
        Period::ALL
            .into_iter()
            .find(|p| p.key() == key.trim())
            .unwrap_or(Period::Days30)
    }

    /// The days it covers, `[from, to)`, on the day `today` (UTC).
    pub fn range(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let tomorrow = today + Duration::days(1);
        let quarter_start = |d: NaiveDate| {
            let month = (d.month0() / 3) * 3 + 1;
            NaiveDate::from_ymd_opt(d.year(), month, 1).unwrap_or(d)
        };
        match self {
            Period::Days7 => (tomorrow - Duration::days(7), tomorrow),
            Period::Days30 => (tomorrow - Duration::days(30), tomorrow),
            Period::Days90 => (tomorrow - Duration::days(90), tomorrow),
            Period::ThisQuarter => (quarter_start(today), tomorrow),
            Period::LastQuarter => {
                let this = quarter_start(today);
                (quarter_start(this - Duration::days(1)), this)
            }
        }
    }

    /// The chart's buckets over `[from, to)`: days up to a month, weeks
    /// (from `from`, the last one shorter) beyond.
    pub fn buckets(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
        let step = if (to - from).num_days() <= 31 { 1 } else { 7 };
        let mut out = Vec::new();
        let mut d = from;
        while d < to {
            let end = (d + Duration::days(step)).min(to);
            out.push((d, end));
            d = end;
        }
        out
    }
}

/// Clocks decided in a period, met or breached, and those running now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attainment {
    /// The level ("Gold") or severity ("1 — Critical") the row is about.
    pub label: String,
    /// "First response", "Next response" or "Resolution".
    pub target: String,
    pub met: u64,
    pub breached: u64,
    /// Clocks still running now (neither met nor breached yet).
    pub running: u64,
    /// The tickets behind the row, when a queue filter names them.
    pub link: Option<String>,
}

impl Attainment {
    /// Met as a share of the decided clocks, in percent.
    pub fn percent(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met as f64 * 100.0 / decided as f64)
    }
}

/// The median and 90th percentile of some durations, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    pub count: u64,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

impl Spread {
    /// The median (the mean of the two middle values when their number is
    /// even) and the 90th percentile by nearest rank (the smallest value at
    /// or below which 90% of them lie).
    pub fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        let n = values.len();
        if n == 0 {
            return Spread::default();
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2
        };
        let rank = (n * 9).div_ceil(10).max(1);
        Spread {
            count: n as u64,
            median_secs: Some(median),
            p90_secs: Some(values[rank - 1]),
        }
    }
}

/// How long one target took: in the SLA's own (business) time and in
/// calendar time from the ticket's opening.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    pub target: String,
    pub business: Spread,
    pub calendar: Spread,
}

/// One bar of the chart: a day or a week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub from: NaiveDate,
    /// The day after the bucket's last.
    pub to: NaiveDate,
    pub opened: u64,
    pub solved: u64,
    /// Tickets open at the bucket's end.
    pub backlog: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoad {
    /// The assignee's name, or "Unassigned".
    pub name: String,
    pub open: u64,
    pub link: Option<String>,
}

/// The support dashboard's figures for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportFigures {
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by_level: Vec<Attainment>,
    pub by_severity: Vec<Attainment>,
    /// First response, then resolution.
    pub durations: Vec<Durations>,
    pub buckets: Vec<Bucket>,
    pub opened: u64,
    pub solved: u64,
    /// Of the tickets solved in the period, those reopened at least once.
    pub reopened: u64,
    /// Open tickets per assignee (as the figures were computed).
    pub load: Vec<AgentLoad>,
}

/// A count read with a cap: `more` when there are more than `count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capped {
    pub count: u64,
    pub more: bool,
}

impl std::fmt::Display for Capped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.more {
            write!(f, "{}+", self.count)
        } else {
            write!(f, "{}", self.count)
        }
    }
}

/// The numbers read on every view (and polled by the page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFigures {
    pub open: Capped,
    pub unassigned: Capped,
    /// Running clocks already past due.
    pub overdue: Capped,
    /// Running clocks due within the next hour.
    pub due_soon: Capped,
}

/// Minutes ahead that "breaching soon" looks.
pub const DUE_SOON_MINUTES: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportDashboard {
    pub figures: SupportFigures,
    pub computed_at: DateTime<Utc>,
    pub live: LiveFigures,
}

/// Money per currency, formatted on the server (where money is exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub minor: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalWindow {
    /// Terms ending within this many days (after the previous window's).
    pub days: i64,
    pub count: u64,
    /// The renewals' yearly value at the levels' list prices, per currency.
    pub value: Vec<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurring {
    pub program: String,
    pub level: String,
    pub subscriptions: u64,
    /// The active subscriptions' yearly value at list price.
    pub yearly: Amount,
}

/// Outstanding invoices of one currency by days past due: not yet due,
/// 1–30, 31–60, 61–90, over 90.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ageing {
    pub currency: String,
    pub counts: [u64; 5],
    pub amounts: [Amount; 5],
    pub total: Amount,
}

pub const AGEING_BUCKETS: [&str; 5] = [
    "Not yet due",
    "1–30 days overdue",
    "31–60 days overdue",
    "61–90 days overdue",
    "Over 90 days overdue",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Awaiting {
    /// "Estimates" or "Proposals".
    pub kind: String,
    pub count: u64,
    pub value: Vec<Amount>,
    /// When the longest-waiting one was sent.
    pub oldest: Option<NaiveDate>,
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessFigures {
    pub today: NaiveDate,
    pub renewals: Vec<RenewalWindow>,
    pub recurring: Vec<Recurring>,
    pub ageing: Vec<Ageing>,
    pub awaiting: Vec<Awaiting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessDashboard {
    pub figures: BusinessFigures,
    pub computed_at: DateTime<Utc>,
}

/// An invoice the organization owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDue {
    pub number: String,
    pub due_date: Option<NaiveDate>,
    pub outstanding: Amount,
    pub overdue: bool,
    pub link: String,
}

/// An organization's own support record, for its Main Contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub organization: String,
    /// (severity label, open tickets).
    pub open_by_severity: Vec<(String, u64)>,
    /// Clocks decided this quarter.
    pub met: u64,
    pub breached: u64,
    /// This quarter's first responses and resolutions (business time).
    pub first_response: Spread,
    pub resolution: Spread,
    pub quarter_from: NaiveDate,
    /// The current subscription's level and term end.
    pub renewal: Option<(String, NaiveDate)>,
    /// Whether the viewer may see invoices (then `invoices_due` lists them).
    pub invoices_shown: bool,
    pub invoices_due: Vec<InvoiceDue>,
    /// Where the viewer reads the tickets, when they may open them all.
    pub tickets_link: Option<String>,
}

/// "3 h 20 min", "2 d 4 h", "45 min", "30 s".
pub fn duration_text(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[server(prefix = "/api", endpoint = "load_support_dashboard")]
pub async fn load_support_dashboard(
    #[server(default)] period: String,
) -> Result<SupportDashboard, AppError> {
    use crate::core::authz::Capability;
    use crate::core::web::{app_state, require_staff};
    require_staff(Capability::SupportFigures)?;
    let state = app_state()?;
    let refresh = state.settings.dashboard_refresh;
    ssr::support_dashboard(&state.db, Period::parse(&period), Utc::now(), refresh).await
}

#[server(prefix = "/api", endpoint = "load_live_figures")]
pub async fn load_live_figures() -> Result<LiveFigures, AppError> {
    use crate::core::authz::Capability;
    use crate::core::web::{app_state, require_staff};
    require_staff(Capability::SupportFigures)?;
    let state = app_state()?;
    ssr::live_figures(&state.db, Utc::now()).await
}

#[server(prefix = "/api", endpoint = "load_business_dashboard")]
pub async fn load_business_dashboard() -> Result<BusinessDashboard, AppError> {
    use crate::core::authz::Capability;
    use crate::core::web::{app_state, require_staff};
    require_staff(Capability::BusinessFigures)?;
    let state = app_state()?;
    ssr::business_dashboard(&state.db, Utc::now(), state.settings.dashboard_refresh).await
}

/// The signed-in Main Contact's organization's record (`None` for anyone
/// else who uses the Billing Portal).
#[server(prefix = "/api", endpoint = "load_customer_record")]
pub async fn load_customer_record() -> Result<Option<CustomerRecord>, AppError> {
    use crate::core::web::{app_state, require_actor};
    let actor = require_actor()?;
    let state = app_state()?;
    ssr::customer_record(&state.db, &actor, Utc::now()).await
}

/// Organization `organization_id`'s support record, for staff.
#[server(prefix = "/api", endpoint = "load_organization_record")]
pub async fn load_organization_record(organization_id: i32) -> Result<CustomerRecord, AppError> {
    use crate::core::web::{app_state, require_actor};
    let actor = require_actor()?;
    let state = app_state()?;
    ssr::staff_record(&state.db, &actor, organization_id, Utc::now()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_average_the_middle_pair_and_p90_is_the_nearest_rank() {
        assert_eq!(Spread::of(vec![]), Spread::default());
        let s = Spread::of(vec![40, 10, 30, 20]);
        assert_eq!(
            (s.count, s.median_secs, s.p90_secs),
            (4, Some(25), Some(40))
        );
        let s = Spread::of((1..=10).collect());
        assert_eq!((s.median_secs, s.p90_secs), (Some(5), Some(9)));
        let s = Spread::of(vec![7]);
        assert_eq!((s.median_secs, s.p90_secs), (Some(7), Some(7)));
    }

    #[test]
    fn periods_cover_whole_days_and_quarters() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-12-04");
        assert_eq!(
            Period::Days7.range(today),
            (d("2026-11-28"), d("2026-12-05"))
        );
        assert_eq!(
            Period::ThisQuarter.range(today),
            (d("2026-10-01"), d("2026-12-05"))
        );
        assert_eq!(
            Period::LastQuarter.range(today),
            (d("2026-07-01"), d("2026-10-01"))
        );
        assert_eq!(
            Period::LastQuarter.range(d("2026-02-10")),
            (d("2025-10-01"), d("2026-01-01"))
        );
        let (from, to) = Period::Days7.range(today);
        assert_eq!(Period::buckets(from, to).len(), 7);
        let (from, to) = Period::Days90.range(today);
        let weeks = Period::buckets(from, to);
        assert_eq!(weeks.len(), 13);
        assert_eq!(weeks.last().map(|w| (w.1 - w.0).num_days()), Some(6));
        assert_eq!(Period::parse("nonsense"), Period::Days30);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(30), "30 s");
        assert_eq!(duration_text(45 * 60), "45 min");
        assert_eq!(duration_text(3 * 3600 + 20 * 60), "3 h 20 min");
        assert_eq!(duration_text(2 * 86_400 + 4 * 3600 + 59), "2 d 4 h");
    }
}
