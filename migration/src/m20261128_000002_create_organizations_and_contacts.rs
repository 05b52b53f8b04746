use sea_orm_migration::{prelude::*, schema::*};

use super::m20261128_000001_create_users_and_sessions::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .if_not_exists()
                    .col(pk_auto(Organizations::Id))
                    .col(string_len(Organizations::Name, 200))
                    .col(string_len(Organizations::LegalName, 200))
                    .col(text(Organizations::Address))
                    .col(string_len_null(Organizations::VatId, 64))
                    .col(boolean(Organizations::SharedTickets).default(false))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .if_not_exists()
                    .col(pk_auto(Contacts::Id))
                    .col(integer(Contacts::OrganizationId))
                    .col(integer_null(Contacts::UserId).unique_key())
                    .col(string_len(Contacts::Name, 200))
                    .col(string_len(Contacts::Email, 320))
                    .col(string_len_null(Contacts::Phone, 64))
                    .col(boolean(Contacts::IsMain).default(false))
                    .col(boolean(Contacts::IsTechnical).default(false))
                    .col(boolean(Contacts::IsAdministrative).default(false))
                    .col(boolean(Contacts::IsDistributionList).default(false))
                    .col(boolean(Contacts::Active).default(true))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_organization")
                            .from(Contacts::Table, Contacts::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_user")
                            .from(Contacts::Table, Contacts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_contacts_organization")
                    .table(Contacts::Table)
                    .col(Contacts::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contacts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    LegalName,
    Address,
    VatId,
    SharedTickets,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    OrganizationId,
    UserId,
    Name,
    Email,
    Phone,
    IsMain,
    IsTechnical,
    IsAdministrative,
    IsDistributionList,
    Active,
    CreatedAt,
}
