//! Demo data for `make run` and the browser tests. Every account's password is
//! `portico-demo`. Loaded only into a database that has no users yet.

use anyhow::Context as _;
use app::core::password::Passwords;
use chrono::Utc;
use entity::{
    contact, covered_server, level, level_product, organization, product, product_version, program,
    sla_target, subscription, user, StaffRole,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set, TransactionTrait,
};

pub const DEMO_PASSWORD: &str = "portico-demo";

pub struct DemoLogin {
    pub email: &'static str,
    pub what: &'static str,
}

pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        email: "admin@example.com",
        what: "staff: administrator",
    },
    DemoLogin {
        email: "agent@example.com",
        what: "staff: support agent",
    },
    DemoLogin {
        email: "billing@example.com",
        what: "staff: billing clerk",
    },
    DemoLogin {
        email: "main@acme.example",
        what: "Main Contact of Acme Corp",
    },
    DemoLogin {
        email: "tech1@acme.example",
        what: "Technical Contact of Acme Corp",
    },
    DemoLogin {
        email: "tech2@acme.example",
        what: "Technical Contact of Acme Corp",
    },
    DemoLogin {
        email: "main@globex.example",
        what: "Main Contact and sole contact of Globex",
    },
];

struct Person {
    email: &'static str,
    name: &'static str,
    main: bool,
    technical: bool,
}

/// Loads the demo when the database has no users. Returns whether it did.
pub async fn load_demo_if_empty(db: &DatabaseConnection) -> anyhow::Result<bool> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let passwords = Passwords::new(2);
    let now = Utc::now();
    let txn = db.begin().await?;

    for (email, name, role) in [
        ("admin@example.com", "Ada Admin", StaffRole::Admin),
        ("agent@example.com", "Sam Agent", StaffRole::Agent),
        ("billing@example.com", "Bea Billing", StaffRole::Billing),
    ] {
        let hash = passwords
            .hash(DEMO_PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        user::ActiveModel {
            email: Set(email.into()),
            name: Set(name.into()),
            password_hash: Set(Some(hash.0)),
            staff_role: Set(Some(role)),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }

    let levels = load_demo_catalog(&txn).await?;
    let orgs: [(&str, &str, &str, Vec<Person>); 2] = [
        (
            "Acme Corp",
            "Acme Corporation S.L.",
            "Calle Mayor 1, 28013 Madrid, Spain",
            vec![
                Person {
                    email: "main@acme.example",
                    name: "Maria Main",
                    main: true,
                    technical: false,
                },
                Person {
                    email: "tech1@acme.example",
                    name: "Tomas Tech",
                    main: false,
                    technical: true,
                },
                Person {
                    email: "tech2@acme.example",
                    name: "Tina Tech",
                    main: false,
                    technical: true,
                },
            ],
        ),
        (
            "Globex",
            "Globex Corporation Ltd",
            "1 Cypress Creek, Springfield",
            vec![Person {
                email: "main@globex.example",
                name: "Gus Globex",
                main: true,
                technical: false,
            }],
        ),
    ];
    for ((name, legal, address, people), level_id) in orgs.into_iter().zip([levels[1], levels[0]]) {
        let org = organization::ActiveModel {
            name: Set(name.into()),
            legal_name: Set(legal.into()),
            address: Set(address.into()),
            vat_id: Set(None),
            shared_tickets: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let today = now.date_naive();
        subscription::ActiveModel {
            organization_id: Set(org.id),
            level_id: Set(level_id),
            term_start: Set(today),
            term_end: Set(today + chrono::Duration::days(365)),
            status: Set(entity::SubscriptionStatus::Active),
            purchase_order: Set(None),
            payment_method: Set("bank_transfer".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // Acme's inventory: what its tickets name as affected servers.
        if name == "Acme Corp" {
            for (server, kind) in [
                ("web-1", "VM"),
                ("db-1", "bare metal"),
                ("db-2", "bare metal"),
            ] {
                covered_server::ActiveModel {
                    organization_id: Set(org.id),
                    name: Set(server.into()),
                    kind: Set(kind.into()),
                    quantity: Set(1),
                    note: Set(String::new()),
                    status: Set("accepted".into()),
                    requested_by: Set(None),
                    decided_by: Set(None),
                    decided_at: Set(Some(now)),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        for p in people {
            let hash = passwords
                .hash(DEMO_PASSWORD)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let u = user::ActiveModel {
                email: Set(p.email.into()),
                name: Set(p.name.into()),
                password_hash: Set(Some(hash.0)),
                staff_role: Set(None),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            contact::ActiveModel {
                organization_id: Set(org.id),
                user_id: Set(Some(u.id)),
                name: Set(p.name.into()),
                email: Set(p.email.into()),
                phone: Set(None),
                is_main: Set(p.main),
                is_technical: Set(p.technical),
                is_administrative: Set(false),
                is_distribution_list: Set(false),
                active: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// (severity, first response, next response, resolution in minutes, 24x7?)
type Sla = [(i16, i32, i32, i32, bool); 4];

/// One program with three levels of distinct limits. Returns the level ids,
/// cheapest first.
/// Demo invoices, proposals and estimates for Acme Corp, issued through the
/// billing code itself (numbers, links and mail as staff would make them),
/// and a few tickets, opened and answered the same way.
pub async fn load_demo_documents(state: &app::core::state::AppState) -> anyhow::Result<()> {
    let acme = organization::Entity::find()
        .filter(organization::Column::Name.eq("Acme Corp"))
        .one(&state.db)
        .await?
        .context("the demo organization Acme Corp is missing")?;
    app::billing::ssr::load_demo_documents(state, acme.id, "billing@example.com")
        .await
        .map_err(|e| anyhow::anyhow!("loading demo documents: {e}"))?;
    app::support::ssr::load_demo_tickets(state)
        .await
        .map_err(|e| anyhow::anyhow!("loading demo tickets: {e}"))
}

async fn load_demo_catalog(txn: &sea_orm::DatabaseTransaction) -> anyhow::Result<Vec<i32>> {
    let now = Utc::now();
    let prog = program::ActiveModel {
        name: Set("Enterprise Support".into()),
        description: Set("Support subscription for the open-source cloud platform: SLA-backed help, the enterprise repository and the knowledge base.".into()),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    const H: i32 = 60;
    const D: i32 = 24 * 60;
    let catalog: [(&str, i32, i32, &str, &str, i64, Sla); 3] = [
        (
            "Basic",
            1,
            2,
            "stable",
            "standard",
            300_000,
            [
                (1, 4 * H, 8 * H, 5 * D, false),
                (2, 8 * H, D, 10 * D, false),
                (3, D, 2 * D, 20 * D, false),
                (4, 2 * D, 4 * D, 40 * D, false),
            ],
        ),
        (
            "Standard",
            3,
            10,
            "stable, lts",
            "standard",
            900_000,
            [
                (1, 2 * H, 4 * H, 2 * D, true),
                (2, 4 * H, 8 * H, 5 * D, false),
                (3, 8 * H, D, 10 * D, false),
                (4, D, 2 * D, 20 * D, false),
            ],
        ),
        (
            "Premium",
            8,
            50,
            "stable, lts, enterprise-tools",
            "premium",
            2_400_000,
            [
                (1, 30, H, D, true),
                (2, 2 * H, 4 * H, 3 * D, true),
                (3, 8 * H, D, 7 * D, false),
                (4, D, 2 * D, 14 * D, false),
            ],
        ),
    ];
    let products = load_demo_products(txn).await?;
    let mut ids = Vec::new();
    for (name, techs, servers, channels, kb, price, sla) in catalog {
        let l = level::ActiveModel {
            program_id: Set(prog.id),
            name: Set(name.into()),
            max_technical_contacts: Set(techs),
            included_servers: Set(servers),
            repository_channels: Set(channels.into()),
            kb_tier: Set(kb.into()),
            price_minor: Set(price),
            currency: Set("EUR".into()),
            billing_period: Set("yearly".into()),
            timezone: Set("Europe/Madrid".into()),
            business_days: Set("1-5".into()),
            business_hours_start: Set("09:00".into()),
            business_hours_end: Set("18:00".into()),
            holidays: Set("2026-12-25, 2027-01-01, 2027-01-06".into()),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        for (severity, first, next, resolution, around_the_clock) in sla {
            sla_target::ActiveModel {
                level_id: Set(l.id),
                severity: Set(severity),
                first_response_minutes: Set(first),
                next_response_minutes: Set(next),
                resolution_minutes: Set(resolution),
                around_the_clock: Set(around_the_clock),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        // Every level covers the server; Premium also the tools.
        let covers = if name == "Premium" {
            &products[..]
        } else {
            &products[..1]
        };
        for &product_id in covers {
            level_product::ActiveModel {
                level_id: Set(l.id),
                product_id: Set(product_id),
            }
            .insert(txn)
            .await?;
        }
        ids.push(l.id);
    }
    Ok(ids)
}

/// Two products with their versions. Returns the product ids: server, tools.
async fn load_demo_products(txn: &sea_orm::DatabaseTransaction) -> anyhow::Result<Vec<i32>> {
    let now = Utc::now();
    let mut ids = Vec::new();
    for (name, description, versions) in [
        (
            "Portico Server",
            "The cloud platform's server.",
            &[("2.4", true), ("2.5", false), ("2.6", false)][..],
        ),
        (
            "Portico Tools",
            "Enterprise Tools: backup, migration and monitoring.",
            &[("1.0", false)][..],
        ),
    ] {
        let p = product::ActiveModel {
            name: Set(name.into()),
            description: Set(description.into()),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        for &(version, lts) in versions {
            product_version::ActiveModel {
                product_id: Set(p.id),
                version: Set(version.into()),
                lts: Set(lts),
                active: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        ids.push(p.id);
    }
    Ok(ids)
}
