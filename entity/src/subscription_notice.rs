use sea_orm::entity::prelude::*;

use crate::EndNotice;

/// A notice of a term's end that was handled (sent, or skipped because a
/// renewal continues the term): one row per subscription and kind, inserted
/// before the mail is queued (the unique pair is the claim).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscription_notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub subscription_id: i32,
    pub kind: EndNotice,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
