//! Dashboards, server side: the figures (computed ahead by the scheduler),
//! the live numbers, an organization's own record, and CSV exports.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::dashboards::{BusinessDashboard, Period, SupportDashboard};
use crate::error::AppError;

pub mod business;
mod csv;
mod customer;
pub mod store;
pub mod support;

pub use csv::{csv_export, CsvTable};
pub use customer::{customer_record, staff_record};
pub use store::{refresh, refresh_if_stale};
pub use support::live_figures;

/// The kept figures for `period`, computed now when there are none yet or
/// they are older than twice `refresh` (the scheduler, which keeps them
/// fresh, is behind or stopped).
pub async fn support_dashboard<C: ConnectionTrait>(
    db: &C,
    period: Period,
    now: DateTime<Utc>,
    refresh: Duration,
) -> Result<SupportDashboard, AppError> {
    let key = store::support_key(period);
    let kept = store::read(db, &key).await?;
    let (figures, computed_at) = match kept.filter(|k| !store::too_old(k.1, now, refresh * 2)) {
        Some(kept) => kept,
        None => {
            let f = support::support_figures(db, period, now).await?;
            store::write(db, &key, &f, now).await?;
            (f, now)
        }
    };
    Ok(SupportDashboard {
        figures,
        computed_at,
        live: live_figures(db, now).await?,
    })
}

/// The kept business figures (as [`support_dashboard`]).
pub async fn business_dashboard<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    refresh: Duration,
) -> Result<BusinessDashboard, AppError> {
    let kept = store::read(db, store::BUSINESS_KEY).await?;
    let (figures, computed_at) = match kept.filter(|k| !store::too_old(k.1, now, refresh * 2)) {
        Some(kept) => kept,
        None => {
            let f = business::business_figures(db, now).await?;
            store::write(db, store::BUSINESS_KEY, &f, now).await?;
            (f, now)
        }
    };
    Ok(BusinessDashboard {
        figures,
        computed_at,
    })
}
