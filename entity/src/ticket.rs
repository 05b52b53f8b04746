use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub requester_contact_id: i32,
    pub subject: String,
    /// Markdown, rendered and sanitised for display.
    pub description: String,
    /// 1 (critical) to 4 (low).
    pub severity: i16,
    /// The product and version as named when the ticket was opened.
    pub product: String,
    pub version: String,
    /// The catalog release it is about, when one was chosen.
    pub product_version_id: Option<i32>,
    /// `new`, `open`, `waiting` (on the customer), `solved` or `closed`.
    pub status: String,
    pub assignee_user_id: Option<i32>,
    /// Random, for threading e-mail replies (`[#T-token]` in subjects).
    pub token: String,
    /// The subscription level whose SLA applied when the ticket was opened.
    pub level_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub solved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// The earliest due time of its running SLA clocks: the queue's sort key,
    /// kept in the same transaction as the clocks (`support::ssr::queue`).
    pub next_due_at: Option<DateTimeUtc>,
    /// Neither solved nor closed; kept with `status`.
    pub is_open: bool,
    /// How many times the ticket was reopened after being solved.
    pub reopens: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
