use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .if_not_exists()
                    .col(pk_auto(Tickets::Id))
                    .col(integer(Tickets::OrganizationId))
                    .col(integer(Tickets::RequesterContactId))
                    .col(string_len(Tickets::Subject, 200))
                    .col(text(Tickets::Description))
                    .col(small_integer(Tickets::Severity))
                    .col(string_len(Tickets::Product, 120))
                    .col(string_len(Tickets::Version, 60))
                    .col(string_len(Tickets::Status, 16))
                    .col(integer_null(Tickets::AssigneeUserId))
                    .col(string_len_uniq(Tickets::Token, 16))
                    .col(integer_null(Tickets::LevelId))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Tickets::SolvedAt))
                    .col(timestamp_with_time_zone_null(Tickets::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tickets_organization")
                            .from(Tickets::Table, Tickets::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_org_status")
                    .table(Tickets::Table)
                    .col(Tickets::OrganizationId)
                    .col(Tickets::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketComments::Table)
                    .if_not_exists()
                    .col(pk_auto(TicketComments::Id))
                    .col(integer(TicketComments::TicketId))
                    .col(integer_null(TicketComments::AuthorUserId))
                    .col(string_len(TicketComments::AuthorName, 200))
                    .col(boolean(TicketComments::ByStaff))
                    .col(boolean(TicketComments::Internal))
                    .col(text(TicketComments::Body))
                    .col(timestamp_with_time_zone(TicketComments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_comments_ticket")
                            .from(TicketComments::Table, TicketComments::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_comments_ticket")
                    .table(TicketComments::Table)
                    .col(TicketComments::TicketId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketFollowers::Table)
                    .if_not_exists()
                    .col(integer(TicketFollowers::TicketId))
                    .col(integer(TicketFollowers::ContactId))
                    .primary_key(
                        Index::create()
                            .col(TicketFollowers::TicketId)
                            .col(TicketFollowers::ContactId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_followers_ticket")
                            .from(TicketFollowers::Table, TicketFollowers::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketSlas::Table)
                    .if_not_exists()
                    .col(pk_auto(TicketSlas::Id))
                    .col(integer(TicketSlas::TicketId))
                    .col(string_len(TicketSlas::Target, 24))
                    .col(integer(TicketSlas::Minutes))
                    .col(boolean(TicketSlas::AroundTheClock))
                    .col(text(TicketSlas::Runs))
                    .col(timestamp_with_time_zone_null(TicketSlas::DueAt))
                    .col(timestamp_with_time_zone_null(TicketSlas::FulfilledAt))
                    .col(timestamp_with_time_zone_null(TicketSlas::BreachedAt))
                    .col(timestamp_with_time_zone_null(TicketSlas::WarnedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_slas_ticket")
                            .from(TicketSlas::Table, TicketSlas::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_slas_due")
                    .table(TicketSlas::Table)
                    .col(TicketSlas::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .if_not_exists()
                    .col(pk_auto(TicketEvents::Id))
                    .col(integer(TicketEvents::TicketId))
                    .col(string_len(TicketEvents::Kind, 32))
                    .col(string_len(TicketEvents::Actor, 320))
                    .col(text_null(TicketEvents::Detail))
                    .col(boolean(TicketEvents::StaffOnly))
                    .col(timestamp_with_time_zone(TicketEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_events_ticket")
                            .from(TicketEvents::Table, TicketEvents::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketAttachments::Table)
                    .if_not_exists()
                    .col(pk_auto(TicketAttachments::Id))
                    .col(integer(TicketAttachments::TicketId))
                    .col(integer_null(TicketAttachments::UploaderUserId))
                    .col(string_len(TicketAttachments::FileName, 200))
                    .col(string_len_uniq(TicketAttachments::StorageName, 64))
                    .col(big_integer(TicketAttachments::SizeBytes))
                    .col(string_len(TicketAttachments::Sha256, 64))
                    .col(boolean(TicketAttachments::Internal))
                    .col(timestamp_with_time_zone(TicketAttachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_attachments_ticket")
                            .from(TicketAttachments::Table, TicketAttachments::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CannedReplies::Table)
                    .if_not_exists()
                    .col(pk_auto(CannedReplies::Id))
                    .col(string_len_uniq(CannedReplies::Title, 120))
                    .col(text(CannedReplies::Body))
                    .col(integer_null(CannedReplies::CreatedBy))
                    .col(timestamp_with_time_zone(CannedReplies::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InboundMessages::Table)
                    .if_not_exists()
                    .col(pk_auto(InboundMessages::Id))
                    .col(string_len(InboundMessages::FromAddr, 320))
                    .col(string_len(InboundMessages::Subject, 300))
                    .col(text(InboundMessages::Body))
                    .col(string_len_null(InboundMessages::MessageId, 300))
                    .col(string_len(InboundMessages::Outcome, 16))
                    .col(integer_null(InboundMessages::TicketId))
                    .col(text_null(InboundMessages::Reason))
                    .col(timestamp_with_time_zone(InboundMessages::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            InboundMessages::Table.into_iden(),
            CannedReplies::Table.into_iden(),
            TicketAttachments::Table.into_iden(),
            TicketEvents::Table.into_iden(),
            TicketSlas::Table.into_iden(),
            TicketFollowers::Table.into_iden(),
            TicketComments::Table.into_iden(),
            Tickets::Table.into_iden(),
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
enum Tickets {
    Table,
    Id,
    OrganizationId,
    RequesterContactId,
    Subject,
    Description,
    Severity,
    Product,
    Version,
    Status,
    AssigneeUserId,
    Token,
    LevelId,
    CreatedAt,
    UpdatedAt,
    SolvedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum TicketComments {
    Table,
    Id,
    TicketId,
    AuthorUserId,
    AuthorName,
    ByStaff,
    Internal,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketFollowers {
    Table,
    TicketId,
    ContactId,
}

#[derive(DeriveIden)]
enum TicketSlas {
    Table,
    Id,
    TicketId,
    Target,
    Minutes,
    AroundTheClock,
    Runs,
    DueAt,
    FulfilledAt,
    BreachedAt,
    WarnedAt,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TicketId,
    Kind,
    Actor,
    Detail,
    StaffOnly,
    At,
}

#[derive(DeriveIden)]
enum TicketAttachments {
    Table,
    Id,
    TicketId,
    UploaderUserId,
    FileName,
    StorageName,
    SizeBytes,
    Sha256,
    Internal,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CannedReplies {
    Table,
    Id,
    Title,
    Body,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InboundMessages {
    Table,
    Id,
    FromAddr,
    Subject,
    Body,
    MessageId,
    Outcome,
    TicketId,
    Reason,
    ReceivedAt,
}
