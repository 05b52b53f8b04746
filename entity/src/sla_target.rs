use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub level_id: i32,
    /// 1 (critical) to 4 (low).
    pub severity: i16,
    pub first_response_minutes: i32,
    pub next_response_minutes: i32,
    pub resolution_minutes: i32,
    /// Runs 24x7 when true, else on the level's business-hours calendar.
    pub around_the_clock: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
