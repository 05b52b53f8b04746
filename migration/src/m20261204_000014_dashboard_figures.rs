//! What the dashboards read: each SLA clock's time used when it was met (the
//! SLA's own clock, in business time where the level keeps business hours)
//! and the calendar time from opening; how often a ticket was reopened; the
//! indexes the scheduler reads a period's tickets and clocks by; and the
//! table its computed figures are kept in, so a dashboard reads one row
//! instead of scanning a quarter of tickets.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns) of each index this migration adds.
const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "idx_ticket_slas_fulfilled",
        "ticket_slas",
        &["fulfilled_at"],
    ),
    // The met clocks still without durations (after this migration).
    (
        "idx_ticket_slas_durations",
        "ticket_slas",
        &["used_secs", "fulfilled_at"],
    ),
    ("idx_tickets_created", "tickets", &["created_at"]),
    ("idx_tickets_solved", "tickets", &["solved_at"]),
    ("idx_tickets_closed", "tickets", &["closed_at"]),
    (
        "idx_subscriptions_term_end",
        "subscriptions",
        &["status", "term_end"],
    ),
    (
        "idx_documents_kind_status",
        "documents",
        &["kind", "status", "due_date"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [TicketSlas::UsedSecs, TicketSlas::WallSecs] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TicketSlas::Table)
                        .add_column(big_integer_null(col))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Tickets::Table)
                    .add_column(integer(Tickets::Reopens).default(0))
                    .to_owned(),
            )
            .await?;
        for (name, table, cols) in INDEXES {
            let mut index = Index::create();
            index.name(*name).table(Alias::new(*table)).if_not_exists();
            for c in *cols {
                index.col(Alias::new(*c));
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DashboardFigures::Table)
                    .if_not_exists()
                    .col(string(DashboardFigures::Key).primary_key())
                    .col(timestamp_with_time_zone(DashboardFigures::ComputedAt))
                    .col(text(DashboardFigures::Body))
                    .to_owned(),
            )
            .await?;
        // Clocks met before this migration get their durations from the
        // scheduler's next run (it needs the level's calendar).
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DashboardFigures::Table).to_owned())
            .await?;
        for (name, table, _) in INDEXES.iter().rev() {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Tickets::Table)
                    .drop_column(Tickets::Reopens)
                    .to_owned(),
            )
            .await?;
        for col in [TicketSlas::WallSecs, TicketSlas::UsedSecs] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TicketSlas::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Reopens,
}

#[derive(DeriveIden)]
enum TicketSlas {
    Table,
    UsedSecs,
    WallSecs,
}

#[derive(DeriveIden)]
enum DashboardFigures {
    Table,
    Key,
    ComputedAt,
    Body,
}
