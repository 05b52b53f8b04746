use sea_orm::entity::prelude::*;

/// An invoice, estimate or proposal. Money is exact: totals in minor units
/// of `currency`, line amounts as decimal text (see `app::billing::money`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    /// `invoice`, `estimate` or `proposal`.
    pub kind: String,
    /// `draft`, `sent`, `viewed`, `accepted`, `declined`, `expired`,
    /// `partially_paid`, `paid` or `void`. "Overdue" is derived from the due date.
    pub status: String,
    /// Assigned when the document is first sent, e.g. `INV-2027-00001`.
    pub number: Option<String>,
    pub number_year: Option<i32>,
    pub number_seq: Option<i32>,
    /// ISO 4217 code.
    pub currency: String,
    pub purchase_order: Option<String>,
    pub payment_terms_days: i32,
    pub issue_date: Option<Date>,
    pub due_date: Option<Date>,
    /// Estimates and proposals: the offer stands until this day.
    pub valid_until: Option<Date>,
    /// Decimal percentage, e.g. `10` or `12.5`.
    pub discount_percent: String,
    pub notes: String,
    /// Proposals: narrative sections (plain text, blank lines between paragraphs).
    pub narrative: String,
    pub terms: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    /// The estimate or proposal this invoice was converted from.
    pub source_document_id: Option<i32>,
    pub subscription_id: Option<i32>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_addr: Option<String>,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub voided_at: Option<DateTimeUtc>,
    pub last_reminder_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
