//! Indexes the search index's catch-up reads by: the tickets and documents
//! changed since it last looked (`updated_at`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_updated_at")
                    .table(Tickets::Table)
                    .col(Tickets::UpdatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_documents_updated_at")
                    .table(Documents::Table)
                    .col(Documents::UpdatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_documents_updated_at")
                    .table(Documents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tickets_updated_at")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    UpdatedAt,
}
