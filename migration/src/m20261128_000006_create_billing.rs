use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .if_not_exists()
                    .col(pk_auto(Documents::Id))
                    .col(integer(Documents::OrganizationId))
                    .col(string_len(Documents::Kind, 16))
                    .col(string_len(Documents::Status, 16))
                    .col(string_len_null(Documents::Number, 48).unique_key())
                    .col(integer_null(Documents::NumberYear))
                    .col(integer_null(Documents::NumberSeq))
                    .col(string_len(Documents::Currency, 3))
                    .col(string_len_null(Documents::PurchaseOrder, 100))
                    .col(integer(Documents::PaymentTermsDays))
                    .col(date_null(Documents::IssueDate))
                    .col(date_null(Documents::DueDate))
                    .col(date_null(Documents::ValidUntil))
                    .col(string_len(Documents::DiscountPercent, 16))
                    .col(text(Documents::Notes))
                    .col(text(Documents::Narrative))
                    .col(text(Documents::Terms))
                    .col(big_integer(Documents::SubtotalMinor))
                    .col(big_integer(Documents::DiscountMinor))
                    .col(big_integer(Documents::TaxMinor))
                    .col(big_integer(Documents::TotalMinor))
                    .col(big_integer(Documents::PaidMinor))
                    .col(integer_null(Documents::SourceDocumentId))
                    .col(integer_null(Documents::SubscriptionId))
                    .col(string_len_null(Documents::DecidedByName, 200))
                    .col(timestamp_with_time_zone_null(Documents::DecidedAt))
                    .col(string_len_null(Documents::DecidedAddr, 64))
                    .col(integer_null(Documents::CreatedBy))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    .col(timestamp_with_time_zone(Documents::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Documents::SentAt))
                    .col(timestamp_with_time_zone_null(Documents::VoidedAt))
                    .col(timestamp_with_time_zone_null(Documents::LastReminderAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_organization")
                            .from(Documents::Table, Documents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_documents_org_status")
                    .table(Documents::Table)
                    .col(Documents::OrganizationId)
                    .col(Documents::Status)
                    .to_owned(),
            )
            .await?;
        // An estimate or proposal converts to one invoice, even under a race.
        manager
            .create_index(
                Index::create()
                    .name("idx_documents_source")
                    .table(Documents::Table)
                    .col(Documents::SourceDocumentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Gapless numbering: one number per (kind, year, sequence), ever.
        manager
            .create_index(
                Index::create()
                    .name("idx_documents_sequence")
                    .table(Documents::Table)
                    .col(Documents::Kind)
                    .col(Documents::NumberYear)
                    .col(Documents::NumberSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocumentLines::Table)
                    .if_not_exists()
                    .col(pk_auto(DocumentLines::Id))
                    .col(integer(DocumentLines::DocumentId))
                    .col(integer(DocumentLines::Position))
                    .col(text(DocumentLines::Description))
                    .col(string_len(DocumentLines::Quantity, 32))
                    .col(string_len(DocumentLines::UnitPrice, 32))
                    .col(string_len(DocumentLines::TaxRate, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_lines_document")
                            .from(DocumentLines::Table, DocumentLines::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocumentCounters::Table)
                    .if_not_exists()
                    .col(string_len(DocumentCounters::Kind, 16))
                    .col(integer(DocumentCounters::Year))
                    .col(integer(DocumentCounters::Last))
                    .primary_key(
                        Index::create()
                            .col(DocumentCounters::Kind)
                            .col(DocumentCounters::Year),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(pk_auto(Payments::Id))
                    .col(integer(Payments::DocumentId))
                    .col(string_len(Payments::Method, 24))
                    .col(date(Payments::PaidOn))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string_len(Payments::Reference, 200))
                    .col(integer_null(Payments::RecordedBy))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_document")
                            .from(Payments::Table, Payments::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocumentLinks::Table)
                    .if_not_exists()
                    .col(pk_auto(DocumentLinks::Id))
                    .col(integer(DocumentLinks::DocumentId))
                    .col(integer_null(DocumentLinks::ContactId))
                    .col(string_len(DocumentLinks::Email, 320))
                    .col(string_len_uniq(DocumentLinks::TokenHash, 64))
                    .col(string_len_null(DocumentLinks::AccessHash, 64).unique_key())
                    .col(timestamp_with_time_zone_null(
                        DocumentLinks::AccessExpiresAt,
                    ))
                    .col(timestamp_with_time_zone(DocumentLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(DocumentLinks::RevokedAt))
                    .col(timestamp_with_time_zone_null(DocumentLinks::SavedAt))
                    .col(timestamp_with_time_zone_null(DocumentLinks::LastOpenedAt))
                    .col(timestamp_with_time_zone(DocumentLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_links_document")
                            .from(DocumentLinks::Table, DocumentLinks::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocumentEvents::Table)
                    .if_not_exists()
                    .col(pk_auto(DocumentEvents::Id))
                    .col(integer(DocumentEvents::DocumentId))
                    .col(string_len(DocumentEvents::Kind, 24))
                    .col(string_len(DocumentEvents::Actor, 320))
                    .col(text_null(DocumentEvents::Detail))
                    .col(timestamp_with_time_zone(DocumentEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_events_document")
                            .from(DocumentEvents::Table, DocumentEvents::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_document_events_document")
                    .table(DocumentEvents::Table)
                    .col(DocumentEvents::DocumentId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DocumentEvents::Table.into_iden(),
            DocumentLinks::Table.into_iden(),
            Payments::Table.into_iden(),
            DocumentCounters::Table.into_iden(),
            DocumentLines::Table.into_iden(),
            Documents::Table.into_iden(),
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
enum Documents {
    Table,
    Id,
    OrganizationId,
    Kind,
    Status,
    Number,
    NumberYear,
    NumberSeq,
    Currency,
    PurchaseOrder,
    PaymentTermsDays,
    IssueDate,
    DueDate,
    ValidUntil,
    DiscountPercent,
    Notes,
    Narrative,
    Terms,
    SubtotalMinor,
    DiscountMinor,
    TaxMinor,
    TotalMinor,
    PaidMinor,
    SourceDocumentId,
    SubscriptionId,
    DecidedByName,
    DecidedAt,
    DecidedAddr,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    SentAt,
    VoidedAt,
    LastReminderAt,
}

#[derive(DeriveIden)]
enum DocumentLines {
    Table,
    Id,
    DocumentId,
    Position,
    Description,
    Quantity,
    UnitPrice,
    TaxRate,
}

#[derive(DeriveIden)]
enum DocumentCounters {
    Table,
    Kind,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    DocumentId,
    Method,
    PaidOn,
    AmountMinor,
    Reference,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DocumentLinks {
    Table,
    Id,
    DocumentId,
    ContactId,
    Email,
    TokenHash,
    AccessHash,
    AccessExpiresAt,
    ExpiresAt,
    RevokedAt,
    SavedAt,
    LastOpenedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DocumentEvents {
    Table,
    Id,
    DocumentId,
    Kind,
    Actor,
    Detail,
    At,
}
