//! Every dashboard table as CSV (RFC 4180), from the same kept figures the
//! page shows, for the roles that may see that dashboard.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::{business_dashboard, support_dashboard};
use crate::core::actor::Actor;
use crate::core::authz::{self, Capability};
use crate::dashboards::{Period, AGEING_BUCKETS};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTable {
    AttainmentByLevel,
    AttainmentBySeverity,
    Durations,
    Flow,
    Load,
    Renewals,
    Recurring,
    Ageing,
    Awaiting,
}

impl CsvTable {
    pub const ALL: [CsvTable; 9] = [
        CsvTable::AttainmentByLevel,
        CsvTable::AttainmentBySeverity,
        CsvTable::Durations,
        CsvTable::Flow,
        CsvTable::Load,
        CsvTable::Renewals,
        CsvTable::Recurring,
        CsvTable::Ageing,
        CsvTable::Awaiting,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CsvTable::AttainmentByLevel => "sla-by-level",
            CsvTable::AttainmentBySeverity => "sla-by-severity",
            CsvTable::Durations => "response-times",
            CsvTable::Flow => "opened-solved",
            CsvTable::Load => "agent-load",
            CsvTable::Renewals => "renewals",
            CsvTable::Recurring => "recurring-revenue",
            CsvTable::Ageing => "invoice-ageing",
            CsvTable::Awaiting => "awaiting-answer",
        }
    }

    pub fn parse(key: &str) -> Option<CsvTable> {
        CsvTable::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The capability whose dashboard shows this table.
    pub fn capability(self) -> Capability {
        match self {
            CsvTable::AttainmentByLevel
            | CsvTable::AttainmentBySeverity
            | CsvTable::Durations
            | CsvTable::Flow
            | CsvTable::Load => Capability::SupportFigures,
            _ => Capability::BusinessFigures,
        }
    }
}

/// One CSV field: quoted when it must be, and a text that a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@` first) is kept as text.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn push(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

fn opt(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The table `key` (for `period` where it has one) as (file name, CSV).
pub async fn csv_export<C: ConnectionTrait>(
    db: &C,
    actor: Option<&Actor>,
    key: &str,
    period: &str,
    now: DateTime<Utc>,
    refresh: std::time::Duration,
) -> Result<(String, String), AppError> {
    let actor = actor.ok_or(AppError::Unauthenticated)?;
    let table = CsvTable::parse(key).ok_or(AppError::NotFound)?;
    authz::require(actor, table.capability())?;
    let period = Period::parse(period);
    let mut out = String::new();
    let s = |x: &dyn ToString| x.to_string();
    if table.capability() == Capability::SupportFigures {
        let f = support_dashboard(db, period, now, refresh).await?.figures;
        match table {
            CsvTable::AttainmentByLevel | CsvTable::AttainmentBySeverity => {
                let first = if table == CsvTable::AttainmentByLevel {
                    "level"
                } else {
                    "severity"
                };
                push(
                    &mut out,
                    &[
                        first,
                        "target",
                        "met",
                        "breached",
                        "running_now",
                        "met_percent",
                    ]
                    .map(String::from),
                );
                let rows = if table == CsvTable::AttainmentByLevel {
                    &f.by_level
                } else {
                    &f.by_severity
                };
                for r in rows {
                    push(
                        &mut out,
                        &[
                            r.label.clone(),
                            r.target.clone(),
                            s(&r.met),
                            s(&r.breached),
                            s(&r.running),
                            r.percent().map(|p| format!("{p:.1}")).unwrap_or_default(),
                        ],
                    );
                }
            }
            CsvTable::Durations => {
                push(
                    &mut out,
                    &[
                        "target",
                        "count",
                        "business_median_seconds",
                        "business_p90_seconds",
                        "calendar_median_seconds",
                        "calendar_p90_seconds",
                    ]
                    .map(String::from),
                );
                for d in &f.durations {
                    push(
                        &mut out,
                        &[
                            d.target.clone(),
                            s(&d.business.count),
                            opt(d.business.median_secs),
                            opt(d.business.p90_secs),
                            opt(d.calendar.median_secs),
                            opt(d.calendar.p90_secs),
                        ],
                    );
                }
            }
            CsvTable::Flow => {
                push(
                    &mut out,
                    &["from", "to", "opened", "solved", "open_at_end"].map(String::from),
                );
                for b in &f.buckets {
                    let last = b.to - chrono::Duration::days(1);
                    push(
                        &mut out,
                        &[
                            s(&b.from),
                            s(&last),
                            s(&b.opened),
                            s(&b.solved),
                            s(&b.backlog),
                        ],
                    );
                }
            }
            _ => {
                push(&mut out, &["assignee", "open_tickets"].map(String::from));
                for l in &f.load {
                    push(&mut out, &[l.name.clone(), s(&l.open)]);
                }
            }
        }
    } else {
        let f = business_dashboard(db, now, refresh).await?.figures;
        match table {
            CsvTable::Renewals => {
                push(
                    &mut out,
                    &["within_days", "subscriptions", "currency", "value"].map(String::from),
                );
                for w in &f.renewals {
                    if w.value.is_empty() {
                        push(
                            &mut out,
                            &[s(&w.days), s(&w.count), String::new(), String::new()],
                        );
                    }
                    for a in &w.value {
                        push(
                            &mut out,
                            &[
                                s(&w.days),
                                s(&w.count),
                                a.currency.clone(),
                                decimal(a.minor, &a.currency),
                            ],
                        );
                    }
                }
            }
            CsvTable::Recurring => {
                push(
                    &mut out,
                    &[
                        "program",
                        "level",
                        "subscriptions",
                        "currency",
                        "yearly_value",
                    ]
                    .map(String::from),
                );
                for r in &f.recurring {
                    push(
                        &mut out,
                        &[
                            r.program.clone(),
                            r.level.clone(),
                            s(&r.subscriptions),
                            r.yearly.currency.clone(),
                            decimal(r.yearly.minor, &r.yearly.currency),
                        ],
                    );
                }
            }
            CsvTable::Ageing => {
                push(
                    &mut out,
                    &["currency", "bucket", "invoices", "outstanding"].map(String::from),
                );
                for a in &f.ageing {
                    for (i, label) in AGEING_BUCKETS.iter().enumerate() {
                        push(
                            &mut out,
                            &[
                                a.currency.clone(),
                                label.to_string(),
                                s(&a.counts[i]),
                                decimal(a.amounts[i].minor, &a.currency),
                            ],
                        );
                    }
                }
            }
            _ => {
                push(
                    &mut out,
                    &["kind", "count", "currency", "value", "oldest_sent"].map(String::from),
                );
                for w in &f.awaiting {
                    let oldest = w.oldest.map(|d| d.to_string()).unwrap_or_default();
                    if w.value.is_empty() {
                        push(
                            &mut out,
                            &[
                                w.kind.clone(),
                                s(&w.count),
                                String::new(),
                                String::new(),
                                oldest.clone(),
                            ],
                        );
                    }
                    for a in &w.value {
                        push(
                            &mut out,
                            &[
                                w.kind.clone(),
                                s(&w.count),
                                a.currency.clone(),
                                decimal(a.minor, &a.currency),
                                oldest.clone(),
                            ],
                        );
                    }
                }
            }
        }
    }
    let name = match table.capability() {
        Capability::SupportFigures if table != CsvTable::Load => {
            format!("portico-{}-{}.csv", table.key(), period.key())
        }
        _ => format!("portico-{}-{}.csv", table.key(), now.date_naive()),
    };
    Ok((name, out))
}

/// Minor units as a plain decimal a spreadsheet reads ("1234.50").
fn decimal(minor: i64, currency: &str) -> String {
    let scale = crate::billing::money::minor_units(currency).unwrap_or(2);
    crate::billing::money::from_minor(minor, scale).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_kept_as_text() {
        assert_eq!(field("Gold"), "Gold");
        assert_eq!(field("A, B"), "\"A, B\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
    }
}
