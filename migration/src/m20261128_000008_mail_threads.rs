//! Mail threads: ticket mail carries its ticket in `Message-ID` and
//! `References`, and replies find their ticket through them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The ticket token a message belongs to (`None` for other mail).
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .add_column(string_len_null(OutboxMessages::Thread, 16))
                    .to_owned(),
            )
            .await?;
        // Replies name earlier messages by Message-ID: find them by it.
        manager
            .create_index(
                Index::create()
                    .name("idx_inbound_messages_message_id")
                    .table(InboundMessages::Table)
                    .col(InboundMessages::MessageId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_inbound_messages_message_id")
                    .table(InboundMessages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .drop_column(OutboxMessages::Thread)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Thread,
}

#[derive(DeriveIden)]
enum InboundMessages {
    Table,
    MessageId,
}
