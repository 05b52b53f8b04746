//! What the staff queue sorts and filters by, kept on the ticket so an index
//! answers it: the earliest due time of its running SLA clocks and whether it
//! is open. And when each clock's 75% warning falls due, so the scheduler
//! reads only the clocks that need it. And organizations by name, for the
//! console's list.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns) of each index this migration adds.
const INDEXES: &[(&str, &str, &[&str])] = &[
    ("idx_ticket_slas_ticket", "ticket_slas", &["ticket_id"]),
    (
        "idx_ticket_slas_breach",
        "ticket_slas",
        &["breached_at", "due_at"],
    ),
    (
        "idx_ticket_slas_warn",
        "ticket_slas",
        &["warned_at", "warn_at"],
    ),
    // Each queue index leads with next_due_at, which each queue's query
    // constrains (IS NULL or IS NOT NULL): with statistics, SQLite would
    // otherwise skip-scan an index led by a column of few values (is_open,
    // status, an assignee) and sort (seen at 20,000 tickets).
    (
        "idx_tickets_queue",
        "tickets",
        &["next_due_at", "updated_at", "id"],
    ),
    (
        "idx_tickets_open_queue",
        "tickets",
        &["next_due_at", "is_open", "updated_at", "id"],
    ),
    (
        "idx_tickets_status_queue",
        "tickets",
        &["next_due_at", "status", "updated_at", "id"],
    ),
    // An organization has few of all the tickets: its column leads (the
    // customer's scope and the staff filter fix it).
    (
        "idx_tickets_org_queue",
        "tickets",
        &["organization_id", "next_due_at", "updated_at", "id"],
    ),
    ("idx_organizations_name", "organizations", &["name", "id"]),
    (
        "idx_tickets_assignee_queue",
        "tickets",
        &[
            "next_due_at",
            "assignee_user_id",
            "is_open",
            "updated_at",
            "id",
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for mut col in [
            timestamp_with_time_zone_null(Tickets::NextDueAt),
            boolean(Tickets::IsOpen).default(true).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(TicketSlas::Table)
                    .add_column(timestamp_with_time_zone_null(TicketSlas::WarnAt))
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
        // Existing tickets, now that ticket_slas is indexed by ticket: the
        // values the application keeps. Clocks' warning times are filled in
        // by the scheduler's next runs.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE tickets SET \
                 next_due_at = (SELECT MIN(s.due_at) FROM ticket_slas s WHERE s.ticket_id = tickets.id), \
                 is_open = (status NOT IN ('solved', 'closed'))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
                    .table(TicketSlas::Table)
                    .drop_column(TicketSlas::WarnAt)
                    .to_owned(),
            )
            .await?;
        for col in [Tickets::IsOpen, Tickets::NextDueAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
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
    NextDueAt,
    IsOpen,
}

#[derive(DeriveIden)]
enum TicketSlas {
    Table,
    WarnAt,
}
