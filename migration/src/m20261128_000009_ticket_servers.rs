//! The servers a ticket affects, from its organization's inventory.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketServers::Table)
                    .if_not_exists()
                    .col(integer(TicketServers::TicketId))
                    .col(integer(TicketServers::CoveredServerId))
                    .primary_key(
                        Index::create()
                            .col(TicketServers::TicketId)
                            .col(TicketServers::CoveredServerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_servers_ticket")
                            .from(TicketServers::Table, TicketServers::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_servers_server")
                            .from(TicketServers::Table, TicketServers::CoveredServerId)
                            .to(CoveredServers::Table, CoveredServers::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TicketServers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TicketServers {
    Table,
    TicketId,
    CoveredServerId,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CoveredServers {
    Table,
    Id,
}
