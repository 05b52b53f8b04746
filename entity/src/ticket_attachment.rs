use sea_orm::entity::prelude::*;

/// A file attached to a ticket, stored under the data directory.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: i32,
    pub uploader_user_id: Option<i32>,
    /// The uploaded name, made harmless (no path, no quotes or line breaks).
    pub file_name: String,
    /// The random name on disk; never derived from the upload.
    pub storage_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Attached by staff as internal: staff only.
    pub internal: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
