//! Indexes the quotas read by: a person's comments in the last hour, and a
//! ticket's files.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_comments_author_time")
                    .table(TicketComments::Table)
                    .col(TicketComments::AuthorUserId)
                    .col(TicketComments::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_attachments_ticket")
                    .table(TicketAttachments::Table)
                    .col(TicketAttachments::TicketId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_ticket_attachments_ticket")
                    .table(TicketAttachments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_ticket_comments_author_time")
                    .table(TicketComments::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum TicketComments {
    Table,
    AuthorUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketAttachments {
    Table,
    TicketId,
}
