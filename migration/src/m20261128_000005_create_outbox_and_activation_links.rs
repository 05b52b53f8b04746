use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxMessages::Table)
                    .if_not_exists()
                    .col(pk_auto(OutboxMessages::Id))
                    .col(integer_null(OutboxMessages::OrganizationId))
                    .col(string_len(OutboxMessages::Kind, 48))
                    .col(string_len(OutboxMessages::ToAddr, 320))
                    .col(string_len(OutboxMessages::ToName, 200))
                    .col(string_len(OutboxMessages::Subject, 300))
                    .col(text(OutboxMessages::Body))
                    .col(string_len(OutboxMessages::Status, 16))
                    .col(integer(OutboxMessages::Attempts).default(0))
                    .col(timestamp_with_time_zone(OutboxMessages::NextAttemptAt))
                    .col(text_null(OutboxMessages::LastError))
                    .col(timestamp_with_time_zone(OutboxMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxMessages::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(OutboxMessages::Table)
                    .col(OutboxMessages::Status)
                    .col(OutboxMessages::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ActivationLinks::Table)
                    .if_not_exists()
                    .col(pk_auto(ActivationLinks::Id))
                    .col(integer(ActivationLinks::UserId))
                    .col(string_len_uniq(ActivationLinks::TokenHash, 64))
                    .col(timestamp_with_time_zone(ActivationLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ActivationLinks::UsedAt))
                    .col(timestamp_with_time_zone_null(ActivationLinks::RevokedAt))
                    .col(timestamp_with_time_zone(ActivationLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_activation_links_user")
                            .from(ActivationLinks::Table, ActivationLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ActivationLinks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxMessages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Id,
    OrganizationId,
    Kind,
    ToAddr,
    ToName,
    Subject,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum ActivationLinks {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}
