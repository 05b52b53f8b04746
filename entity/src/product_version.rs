use sea_orm::entity::prelude::*;

/// A version (series) of a product, e.g. "2.4" of "Portico Server": what
/// tickets and covered servers name, and what alerts and packages target.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub product_id: i32,
    pub version: String,
    /// A long-term-support release.
    pub lts: bool,
    /// Offered for new tickets and servers (old ones keep naming it).
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
