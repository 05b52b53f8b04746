use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(pk_auto(AuditEvents::Id))
                    .col(integer_null(AuditEvents::ActorUserId))
                    .col(integer_null(AuditEvents::OrganizationId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::Target, 200))
                    .col(text_null(AuditEvents::Before))
                    .col(text_null(AuditEvents::After))
                    .col(string_len_null(AuditEvents::ClientAddr, 64))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_organization")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::OrganizationId)
                    .col(AuditEvents::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    ActorUserId,
    OrganizationId,
    Action,
    Target,
    Before,
    After,
    ClientAddr,
    CreatedAt,
}
