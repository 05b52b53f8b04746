//! Figures the scheduler computed for a dashboard, kept as one row per
//! dashboard and period (a materialized view, refreshed every few minutes).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboard_figures")]
pub struct Model {
    /// e.g. `support:30d`, `business`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub computed_at: DateTimeUtc,
    /// The figures, as JSON.
    pub body: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
