use sea_orm::entity::prelude::*;

use crate::SubscriptionStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub level_id: i32,
    pub term_start: Date,
    pub term_end: Date,
    pub status: SubscriptionStatus,
    pub purchase_order: Option<String>,
    pub payment_method: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
