//! The sign-in throttle's counts, in the database, so every server process
//! of one installation counts the same failures (a guesser spreading its
//! attempts over several processes behind a balancer gains nothing).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Throttle::Table)
                    .if_not_exists()
                    .col(string(Throttle::Key).primary_key())
                    .col(integer(Throttle::Failures))
                    .col(timestamp_with_time_zone(Throttle::LastFailureAt))
                    .col(timestamp_with_time_zone(Throttle::BlockedUntil))
                    .to_owned(),
            )
            .await?;
        // The scheduler forgets old counts by this.
        manager
            .create_index(
                Index::create()
                    .name("idx_throttle_last_failure")
                    .table(Throttle::Table)
                    .col(Throttle::LastFailureAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Throttle::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Throttle {
    #[sea_orm(iden = "sign_in_throttle")]
    Table,
    Key,
    Failures,
    LastFailureAt,
    BlockedUntil,
}
