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

/// The kept figures for `period` (see [`store::kept_or_computed`]) and the
/// live numbers.
pub async fn support_dashboard<C: ConnectionTrait>(
    db: &C,
    period: Period,
    now: DateTime<Utc>,
    refresh: Duration,
) -> Result<SupportDashboard, AppError> {
    let key = store::support_key(period);
    let (figures, computed_at) = store::kept_or_computed(db, &key, now, refresh, || {
        support::support_figures(db, period, now)
    })
    .await?;
    Ok(SupportDashboard {
        figures,
        computed_at,
        live: live_figures(db, now).await?,
    })
}

/// The kept business figures (see [`store::kept_or_computed`]).
pub async fn business_dashboard<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    refresh: Duration,
) -> Result<BusinessDashboard, AppError> {
    let (figures, computed_at) =
        store::kept_or_computed(db, store::BUSINESS_KEY, now, refresh, || {
            business::business_figures(db, now)
        })
        .await?;
    Ok(BusinessDashboard {
        figures,
        computed_at,
    })
}
