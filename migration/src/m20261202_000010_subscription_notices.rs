//! The subscription life cycle: which notices of a term's end were sent
//! (each once: the unique pair is the claim), and an index for reading an
//! organization's terms.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SubscriptionNotices::Table)
                    .if_not_exists()
                    .col(pk_auto(SubscriptionNotices::Id))
                    .col(integer(SubscriptionNotices::SubscriptionId))
                    .col(string_len(SubscriptionNotices::Kind, 32))
                    .col(timestamp_with_time_zone(SubscriptionNotices::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscription_notices_subscription")
                            .from(
                                SubscriptionNotices::Table,
                                SubscriptionNotices::SubscriptionId,
                            )
                            .to(Subscriptions::Table, Subscriptions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_subscription_notices_once")
                    .table(SubscriptionNotices::Table)
                    .col(SubscriptionNotices::SubscriptionId)
                    .col(SubscriptionNotices::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_subscriptions_organization")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::OrganizationId)
                    .col(Subscriptions::TermEnd)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_subscriptions_status_end")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::Status)
                    .col(Subscriptions::TermEnd)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_subscriptions_status_end",
            "ix_subscriptions_organization",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Subscriptions::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(SubscriptionNotices::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SubscriptionNotices {
    Table,
    Id,
    SubscriptionId,
    Kind,
    SentAt,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    OrganizationId,
    Status,
    TermEnd,
}
