//! Schema migrations, applied at boot by `server serve` and on demand by `server migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_users_and_sessions;
mod m20261128_000002_create_organizations_and_contacts;
mod m20261128_000003_create_audit_events;
mod m20261128_000004_create_catalog_and_subscriptions;
mod m20261128_000005_create_outbox_and_activation_links;
mod m20261128_000006_create_billing;
mod m20261128_000007_create_tickets;
mod m20261128_000008_mail_threads;
mod m20261128_000009_ticket_servers;
mod m20261202_000010_subscription_notices;
mod m20261202_000011_products;
mod m20261203_000012_quota_indexes;
mod m20261203_000013_queue_keys;
mod m20261204_000014_dashboard_figures;
mod m20261204_000015_sign_in_throttle;
mod m20261207_000016_search_marks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_users_and_sessions::Migration),
            Box::new(m20261128_000002_create_organizations_and_contacts::Migration),
            Box::new(m20261128_000003_create_audit_events::Migration),
            Box::new(m20261128_000004_create_catalog_and_subscriptions::Migration),
            Box::new(m20261128_000005_create_outbox_and_activation_links::Migration),
            Box::new(m20261128_000006_create_billing::Migration),
            Box::new(m20261128_000007_create_tickets::Migration),
            Box::new(m20261128_000008_mail_threads::Migration),
            Box::new(m20261128_000009_ticket_servers::Migration),
            Box::new(m20261202_000010_subscription_notices::Migration),
            Box::new(m20261202_000011_products::Migration),
            Box::new(m20261203_000012_quota_indexes::Migration),
            Box::new(m20261203_000013_queue_keys::Migration),
            Box::new(m20261204_000014_dashboard_figures::Migration),
            Box::new(m20261204_000015_sign_in_throttle::Migration),
            Box::new(m20261207_000016_search_marks::Migration),
        ]
    }
}
