use sea_orm::entity::prelude::*;

/// One SLA target of one ticket and its clock.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_slas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: i32,
    /// `first_response`, `next_response` or `resolution`.
    pub target: String,
    pub minutes: i32,
    pub around_the_clock: bool,
    /// JSON list of `[start, end|null]` RFC 3339 pairs: when the clock ran.
    pub runs: String,
    /// When the target falls due; `None` while paused or once fulfilled.
    pub due_at: Option<DateTimeUtc>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub breached_at: Option<DateTimeUtc>,
    /// When the assignee was warned at 75% of the target.
    pub warned_at: Option<DateTimeUtc>,
    /// When 75% of the target will have been used; `None` with `due_at`.
    pub warn_at: Option<DateTimeUtc>,
    /// When met: the time the clock counted (business time where the level
    /// keeps business hours; never the time spent waiting on the customer).
    pub used_secs: Option<i64>,
    /// When met: the calendar time from the ticket's opening.
    pub wall_secs: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
