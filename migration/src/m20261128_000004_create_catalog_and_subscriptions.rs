use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Programs::Table)
                    .if_not_exists()
                    .col(pk_auto(Programs::Id))
                    .col(string_len_uniq(Programs::Name, 120))
                    .col(text(Programs::Description))
                    .col(boolean(Programs::Active).default(true))
                    .col(timestamp_with_time_zone(Programs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Levels::Table)
                    .if_not_exists()
                    .col(pk_auto(Levels::Id))
                    .col(integer(Levels::ProgramId))
                    .col(string_len(Levels::Name, 120))
                    .col(integer(Levels::MaxTechnicalContacts))
                    .col(integer(Levels::IncludedServers))
                    .col(text(Levels::RepositoryChannels))
                    .col(string_len(Levels::KbTier, 32))
                    .col(big_integer(Levels::PriceMinor))
                    .col(string_len(Levels::Currency, 3))
                    .col(string_len(Levels::BillingPeriod, 16))
                    .col(string_len(Levels::Timezone, 64))
                    .col(string_len(Levels::BusinessDays, 16))
                    .col(string_len(Levels::BusinessHoursStart, 5))
                    .col(string_len(Levels::BusinessHoursEnd, 5))
                    .col(text(Levels::Holidays))
                    .col(boolean(Levels::Active).default(true))
                    .col(timestamp_with_time_zone(Levels::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_levels_program")
                            .from(Levels::Table, Levels::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .index(
                        Index::create()
                            .name("uq_levels_program_name")
                            .col(Levels::ProgramId)
                            .col(Levels::Name)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaTargets::Table)
                    .if_not_exists()
                    .col(pk_auto(SlaTargets::Id))
                    .col(integer(SlaTargets::LevelId))
                    .col(small_integer(SlaTargets::Severity))
                    .col(integer(SlaTargets::FirstResponseMinutes))
                    .col(integer(SlaTargets::NextResponseMinutes))
                    .col(integer(SlaTargets::ResolutionMinutes))
                    .col(boolean(SlaTargets::AroundTheClock))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_targets_level")
                            .from(SlaTargets::Table, SlaTargets::LevelId)
                            .to(Levels::Table, Levels::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .name("uq_sla_targets_level_severity")
                            .col(SlaTargets::LevelId)
                            .col(SlaTargets::Severity)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .if_not_exists()
                    .col(pk_auto(Subscriptions::Id))
                    .col(integer(Subscriptions::OrganizationId))
                    .col(integer(Subscriptions::LevelId))
                    .col(date(Subscriptions::TermStart))
                    .col(date(Subscriptions::TermEnd))
                    .col(string_len(Subscriptions::Status, 16))
                    .col(string_len_null(Subscriptions::PurchaseOrder, 64))
                    .col(string_len(Subscriptions::PaymentMethod, 32))
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriptions_organization")
                            .from(Subscriptions::Table, Subscriptions::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriptions_level")
                            .from(Subscriptions::Table, Subscriptions::LevelId)
                            .to(Levels::Table, Levels::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(pk_auto(Orders::Id))
                    .col(integer(Orders::OrganizationId))
                    .col(text(Orders::Form))
                    .col(integer_null(Orders::ProcessedBy))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_organization")
                            .from(Orders::Table, Orders::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CoveredServers::Table)
                    .if_not_exists()
                    .col(pk_auto(CoveredServers::Id))
                    .col(integer(CoveredServers::OrganizationId))
                    .col(string_len(CoveredServers::Name, 200))
                    .col(string_len(CoveredServers::Kind, 64))
                    .col(integer(CoveredServers::Quantity))
                    .col(text(CoveredServers::Note))
                    .col(string_len(CoveredServers::Status, 16))
                    .col(integer_null(CoveredServers::RequestedBy))
                    .col(integer_null(CoveredServers::DecidedBy))
                    .col(timestamp_with_time_zone_null(CoveredServers::DecidedAt))
                    .col(timestamp_with_time_zone(CoveredServers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_covered_servers_organization")
                            .from(CoveredServers::Table, CoveredServers::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContactRequests::Table)
                    .if_not_exists()
                    .col(pk_auto(ContactRequests::Id))
                    .col(integer(ContactRequests::OrganizationId))
                    .col(string_len(ContactRequests::Name, 200))
                    .col(string_len(ContactRequests::Email, 320))
                    .col(string_len_null(ContactRequests::Phone, 64))
                    .col(boolean(ContactRequests::IsDistributionList))
                    .col(string_len(ContactRequests::Status, 16))
                    .col(integer_null(ContactRequests::RequestedBy))
                    .col(integer_null(ContactRequests::DecidedBy))
                    .col(timestamp_with_time_zone_null(ContactRequests::DecidedAt))
                    .col(timestamp_with_time_zone(ContactRequests::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_requests_organization")
                            .from(ContactRequests::Table, ContactRequests::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // The rules "exactly one Main Contact" and "at most one Administrative
        // Contact" are also held by the database, on both backends.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_contacts_one_main ON contacts (organization_id) \
             WHERE is_main = TRUE AND active = TRUE",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_contacts_one_administrative ON contacts (organization_id) \
             WHERE is_administrative = TRUE AND active = TRUE",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ContactRequests::Table.into_iden(),
            CoveredServers::Table.into_iden(),
            Orders::Table.into_iden(),
            Subscriptions::Table.into_iden(),
            SlaTargets::Table.into_iden(),
            Levels::Table.into_iden(),
            Programs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
    Name,
    Description,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Levels {
    Table,
    Id,
    ProgramId,
    Name,
    MaxTechnicalContacts,
    IncludedServers,
    RepositoryChannels,
    KbTier,
    PriceMinor,
    Currency,
    BillingPeriod,
    Timezone,
    BusinessDays,
    BusinessHoursStart,
    BusinessHoursEnd,
    Holidays,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SlaTargets {
    Table,
    Id,
    LevelId,
    Severity,
    FirstResponseMinutes,
    NextResponseMinutes,
    ResolutionMinutes,
    AroundTheClock,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    OrganizationId,
    LevelId,
    TermStart,
    TermEnd,
    Status,
    PurchaseOrder,
    PaymentMethod,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    OrganizationId,
    Form,
    ProcessedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CoveredServers {
    Table,
    Id,
    OrganizationId,
    Name,
    Kind,
    Quantity,
    Note,
    Status,
    RequestedBy,
    DecidedBy,
    DecidedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactRequests {
    Table,
    Id,
    OrganizationId,
    Name,
    Email,
    Phone,
    IsDistributionList,
    Status,
    RequestedBy,
    DecidedBy,
    DecidedAt,
    CreatedAt,
}
