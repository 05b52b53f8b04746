//! The business dashboard's figures: renewals ahead, recurring revenue,
//! what customers owe by age, and offers awaiting an answer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{document, level, program, subscription, SubscriptionStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::billing::money;
use crate::dashboards::{Ageing, Amount, Awaiting, BusinessFigures, Recurring, RenewalWindow};
use crate::error::AppError;

/// The renewal windows, in days from today.
pub const RENEWAL_WINDOWS: [i64; 3] = [30, 60, 90];

pub fn amount(minor: i64, currency: &str) -> Amount {
    Amount {
        currency: currency.to_owned(),
        minor,
        text: money::format(minor, currency),
    }
}

fn amounts(per_currency: BTreeMap<String, i64>) -> Vec<Amount> {
    per_currency
        .into_iter()
        .map(|(c, m)| amount(m, &c))
        .collect()
}

/// The ageing bucket of an invoice due on `due` (none: not yet due).
pub fn ageing_bucket(due: Option<NaiveDate>, today: NaiveDate) -> usize {
    let late = due.map(|d| (today - d).num_days()).unwrap_or(0);
    match late {
        i64::MIN..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

pub async fn business_figures<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<BusinessFigures, AppError> {
    let today = now.date_naive();
    let levels: BTreeMap<i32, level::Model> = level::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let programs: BTreeMap<i32, String> = program::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    // Active subscriptions (a term not yet over). A renewal adds the next
    // term beside the current one, so an organization's term is due for
    // renewal only when no later term follows it, and only the term running
    // today counts as revenue.
    let active: Vec<(i32, i32, NaiveDate, NaiveDate)> = subscription::Entity::find()
        .select_only()
        .column(subscription::Column::OrganizationId)
        .column(subscription::Column::LevelId)
        .column(subscription::Column::TermStart)
        .column(subscription::Column::TermEnd)
        .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
        .filter(subscription::Column::TermEnd.gte(today))
        .into_tuple()
        .all(db)
        .await?;
    let mut last_end: BTreeMap<i32, NaiveDate> = BTreeMap::new();
    for (org, _, _, end) in &active {
        let e = last_end.entry(*org).or_insert(*end);
        *e = (*e).max(*end);
    }
    let yearly = |l: &level::Model| {
        let per_year = if l.billing_period == "monthly" { 12 } else { 1 };
        l.price_minor * per_year
    };
    let mut renewals: Vec<(u64, BTreeMap<String, i64>)> =
        vec![Default::default(); RENEWAL_WINDOWS.len()];
    let mut per_level: BTreeMap<i32, u64> = BTreeMap::new();
    for (org, level_id, start, end) in &active {
        if *start <= today {
            *per_level.entry(*level_id).or_default() += 1;
        }
        if last_end.get(org) != Some(end) {
            continue;
        }
        let days = (*end - today).num_days();
        let Some(w) = RENEWAL_WINDOWS.iter().position(|limit| days <= *limit) else {
            continue;
        };
        renewals[w].0 += 1;
        if let Some(l) = levels.get(level_id) {
            *renewals[w].1.entry(l.currency.clone()).or_default() += yearly(l);
        }
    }
    let renewals = RENEWAL_WINDOWS
        .iter()
        .zip(renewals)
        .map(|(days, (count, value))| RenewalWindow {
            days: *days,
            count,
            value: amounts(value),
        })
        .collect();
    let mut recurring: Vec<Recurring> = per_level
        .into_iter()
        .filter_map(|(id, n)| {
            let l = levels.get(&id)?;
            Some(Recurring {
                program: programs.get(&l.program_id).cloned().unwrap_or_default(),
                level: l.name.clone(),
                subscriptions: n,
                yearly: amount(yearly(l) * n as i64, &l.currency),
            })
        })
        .collect();
    recurring.sort_by(|a, b| (&a.program, &a.level).cmp(&(&b.program, &b.level)));
    Ok(BusinessFigures {
        today,
        renewals,
        recurring,
        ageing: ageing(db, today).await?,
        awaiting: awaiting(db).await?,
    })
}

/// What customers owe on issued invoices, per currency and age.
async fn ageing<C: ConnectionTrait>(db: &C, today: NaiveDate) -> Result<Vec<Ageing>, AppError> {
    let open: Vec<(String, Option<NaiveDate>, i64, i64)> = document::Entity::find()
        .select_only()
        .column(document::Column::Currency)
        .column(document::Column::DueDate)
        .column(document::Column::TotalMinor)
        .column(document::Column::PaidMinor)
        .filter(document::Column::Kind.eq("invoice"))
        .filter(document::Column::Status.is_in(["sent", "viewed", "partially_paid"]))
        .into_tuple()
        .all(db)
        .await?;
    let mut per: BTreeMap<String, ([u64; 5], [i64; 5])> = BTreeMap::new();
    for (currency, due, total, paid) in open {
        let owed = total - paid;
        if owed <= 0 {
            continue;
        }
        let b = ageing_bucket(due, today);
        let e = per.entry(currency).or_default();
        e.0[b] += 1;
        e.1[b] += owed;
    }
    Ok(per
        .into_iter()
        .map(|(currency, (counts, minor))| Ageing {
            total: amount(minor.iter().sum(), &currency),
            amounts: minor.map(|m| amount(m, &currency)),
            counts,
            currency,
        })
        .collect())
}

/// An offer's currency, total, when it was sent and when issued.
type OfferRow = (String, i64, Option<DateTime<Utc>>, Option<NaiveDate>);

/// Estimates and proposals sent and not yet accepted or declined.
async fn awaiting<C: ConnectionTrait>(db: &C) -> Result<Vec<Awaiting>, AppError> {
    let mut out = Vec::new();
    for (kind, label) in [("estimate", "Estimates"), ("proposal", "Proposals")] {
        let rows: Vec<OfferRow> = document::Entity::find()
            .select_only()
            .column(document::Column::Currency)
            .column(document::Column::TotalMinor)
            .column(document::Column::SentAt)
            .column(document::Column::IssueDate)
            .filter(document::Column::Kind.eq(kind))
            .filter(document::Column::Status.is_in(["sent", "viewed"]))
            .into_tuple()
            .all(db)
            .await?;
        let mut value: BTreeMap<String, i64> = BTreeMap::new();
        for (currency, total, _, _) in &rows {
            *value.entry(currency.clone()).or_default() += total;
        }
        let oldest = rows
            .iter()
            .filter_map(|(_, _, sent, issued)| sent.map(|s| s.date_naive()).or(*issued))
            .min();
        out.push(Awaiting {
            kind: label.into(),
            count: rows.len() as u64,
            value: amounts(value),
            oldest,
            link: format!("/staff/billing?kind={kind}"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoices_age_by_days_past_their_due_date() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-12-04");
        assert_eq!(ageing_bucket(None, today), 0);
        assert_eq!(ageing_bucket(Some(d("2026-12-04")), today), 0);
        assert_eq!(ageing_bucket(Some(d("2026-12-03")), today), 1);
        assert_eq!(ageing_bucket(Some(d("2026-11-04")), today), 1);
        assert_eq!(ageing_bucket(Some(d("2026-11-03")), today), 2);
        assert_eq!(ageing_bucket(Some(d("2026-09-05")), today), 3);
        assert_eq!(ageing_bucket(Some(d("2026-09-04")), today), 4);
    }
}
