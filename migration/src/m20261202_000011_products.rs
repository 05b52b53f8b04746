//! Products in the catalog: each with its versions (series), the products a
//! level covers, and the release a ticket or a covered server is about.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(pk_auto(Products::Id))
                    .col(string_len_uniq(Products::Name, 120))
                    .col(text(Products::Description))
                    .col(boolean(Products::Active))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProductVersions::Table)
                    .if_not_exists()
                    .col(pk_auto(ProductVersions::Id))
                    .col(integer(ProductVersions::ProductId))
                    .col(string_len(ProductVersions::Version, 60))
                    .col(boolean(ProductVersions::Lts))
                    .col(boolean(ProductVersions::Active))
                    .col(timestamp_with_time_zone(ProductVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_versions_product")
                            .from(ProductVersions::Table, ProductVersions::ProductId)
                            .to(Products::Table, Products::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_product_versions_once")
                    .table(ProductVersions::Table)
                    .col(ProductVersions::ProductId)
                    .col(ProductVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LevelProducts::Table)
                    .if_not_exists()
                    .col(integer(LevelProducts::LevelId))
                    .col(integer(LevelProducts::ProductId))
                    .primary_key(
                        Index::create()
                            .col(LevelProducts::LevelId)
                            .col(LevelProducts::ProductId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_level_products_level")
                            .from(LevelProducts::Table, LevelProducts::LevelId)
                            .to(Levels::Table, Levels::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_level_products_product")
                            .from(LevelProducts::Table, LevelProducts::ProductId)
                            .to(Products::Table, Products::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The release a ticket or a covered server is about (checked by the
        // application: SQLite cannot add a column with a foreign key).
        for table in [
            Tickets::Table.into_iden(),
            CoveredServers::Table.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(integer_null(Tickets::ProductVersionId))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Tickets::Table.into_iden(),
            CoveredServers::Table.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Tickets::ProductVersionId)
                        .to_owned(),
                )
                .await?;
        }
        for t in [
            LevelProducts::Table.into_iden(),
            ProductVersions::Table.into_iden(),
            Products::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Name,
    Description,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProductVersions {
    Table,
    Id,
    ProductId,
    Version,
    Lts,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LevelProducts {
    Table,
    LevelId,
    ProductId,
}

#[derive(DeriveIden)]
enum Levels {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    ProductVersionId,
}

#[derive(DeriveIden)]
enum CoveredServers {
    Table,
}
