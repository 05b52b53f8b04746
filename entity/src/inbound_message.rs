use sea_orm::entity::prelude::*;

/// A message received at the support address, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub from_addr: String,
    pub subject: String,
    pub body: String,
    pub message_id: Option<String>,
    /// `ticket` (opened one), `comment` (added to one) or `held` (for staff review).
    pub outcome: String,
    pub ticket_id: Option<i32>,
    /// Why a message was held.
    pub reason: Option<String>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
