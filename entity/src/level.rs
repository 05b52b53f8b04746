use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "levels")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub program_id: i32,
    pub name: String,
    pub max_technical_contacts: i32,
    pub included_servers: i32,
    /// Comma-separated channel names of the enterprise repository.
    pub repository_channels: String,
    pub kb_tier: String,
    /// Price in minor units of `currency` (cents for EUR), per `billing_period`.
    pub price_minor: i64,
    pub currency: String,
    /// `monthly` or `yearly`.
    pub billing_period: String,
    /// IANA time zone of the business-hours calendar.
    pub timezone: String,
    /// ISO weekdays the support desk works, e.g. `1-5`.
    pub business_days: String,
    pub business_hours_start: String,
    pub business_hours_end: String,
    /// Comma-separated `YYYY-MM-DD` dates without business hours.
    pub holidays: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
