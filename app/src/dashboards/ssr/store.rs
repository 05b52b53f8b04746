//! The computed figures, kept one row per dashboard and period: written by
//! the scheduler when older than the refresh age (`--dashboard-refresh-seconds`),
//! read by every view.

use chrono::{DateTime, Duration, Utc};
use entity::dashboard_figure;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{business::business_figures, support::support_figures};
use crate::dashboards::Period;
use crate::error::AppError;

pub fn support_key(p: Period) -> String {
    format!("support:{}", p.key())
}

pub const BUSINESS_KEY: &str = "business";

/// Whether figures computed at `at` are older than `max_age` at `now`.
pub fn too_old(at: DateTime<Utc>, now: DateTime<Utc>, max_age: std::time::Duration) -> bool {
    now - at >= Duration::from_std(max_age).unwrap_or(Duration::MAX)
}

pub async fn read<C: ConnectionTrait, T: DeserializeOwned>(
    db: &C,
    key: &str,
) -> Result<Option<(T, DateTime<Utc>)>, AppError> {
    let Some(row) = dashboard_figure::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match serde_json::from_str(&row.body) {
        Ok(v) => Ok(Some((v, row.computed_at))),
        // Figures kept by an older version: computed again.
        Err(e) => {
            tracing::info!(key, error = %e, "kept dashboard figures unreadable; computing again");
            Ok(None)
        }
    }
}

pub async fn write<C: ConnectionTrait, T: Serialize>(
    db: &C,
    key: &str,
    value: &T,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "dashboard figures not serializable");
        AppError::Internal
    })?;
    dashboard_figure::Entity::insert(dashboard_figure::ActiveModel {
        key: Set(key.to_owned()),
        computed_at: Set(at),
        body: Set(body),
    })
    .on_conflict(
        OnConflict::column(dashboard_figure::Column::Key)
            .update_columns([
                dashboard_figure::Column::ComputedAt,
                dashboard_figure::Column::Body,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The figures kept under `key`, computed by `compute` (and kept) when
/// there are none yet or they are older than twice `refresh` (the
/// scheduler, which keeps them fresh, is behind or stopped).
pub async fn kept_or_computed<C, T, F, Fut>(
    db: &C,
    key: &str,
    now: DateTime<Utc>,
    refresh: std::time::Duration,
    compute: F,
) -> Result<(T, DateTime<Utc>), AppError>
where
    C: ConnectionTrait,
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let kept = read::<C, T>(db, key).await?;
    if let Some(kept) = kept.filter(|k| !too_old(k.1, now, refresh * 2)) {
        return Ok(kept);
    }
    let f = compute().await?;
    write(db, key, &f, now).await?;
    Ok((f, now))
}

/// Computes every dashboard's figures now and keeps them.
pub async fn refresh<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<(), AppError> {
    for p in Period::ALL {
        let f = support_figures(db, p, now).await?;
        write(db, &support_key(p), &f, now).await?;
    }
    let b = business_figures(db, now).await?;
    write(db, BUSINESS_KEY, &b, now).await
}

/// Computes the figures again when the kept ones are older than `max_age`
/// (or missing); whether it did.
pub async fn refresh_if_stale<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    max_age: std::time::Duration,
) -> Result<bool, AppError> {
    let kept = dashboard_figure::Entity::find_by_id(BUSINESS_KEY.to_owned())
        .one(db)
        .await?;
    if kept.is_some_and(|k| !too_old(k.computed_at, now, max_age)) {
        return Ok(false);
    }
    refresh(db, now).await?;
    Ok(true)
}
