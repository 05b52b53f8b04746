use sea_orm::entity::prelude::*;

/// One line of a document's activity: created, sent, viewed, paid, …
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub document_id: i32,
    pub kind: String,
    /// Who: a person's e-mail address, or `Portico` for the scheduler.
    pub actor: String,
    pub detail: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
