use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Whose mail this is (for per-organization views); `None` for staff mail.
    pub organization_id: Option<i32>,
    pub kind: String,
    pub to_addr: String,
    pub to_name: String,
    pub subject: String,
    pub body: String,
    /// `pending` or `sent`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// The token of the ticket this message is about, for mail threading.
    pub thread: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
