use sea_orm::entity::prelude::*;

/// A link e-mailed to one recipient of one document.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub document_id: i32,
    pub contact_id: Option<i32>,
    /// The address the link was sent to: the only one it may create an account for.
    pub email: String,
    /// SHA-256 of the token in the e-mailed link.
    pub token_hash: String,
    /// SHA-256 of the cookie the link was swapped for.
    pub access_hash: Option<String>,
    /// The cookie works until then (at most 12 hours, never past the link).
    pub access_expires_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// When the recipient created their account from this link ("Save").
    pub saved_at: Option<DateTimeUtc>,
    pub last_opened_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
