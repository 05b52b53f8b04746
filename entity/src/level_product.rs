use sea_orm::entity::prelude::*;

/// A product a subscription level covers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "level_products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub level_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
