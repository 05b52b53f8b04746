use sea_orm::entity::prelude::*;

/// A ticket's history: status and severity changes, assignment, SLA starts,
/// pauses, resumes, breaches and fulfilments.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: i32,
    pub kind: String,
    pub actor: String,
    pub detail: Option<String>,
    /// Shown to staff only (e.g. the reason for a severity change).
    pub staff_only: bool,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
