//! Demo data for `make run` and the browser tests. Every account's password is
//! `portico-demo`. Loaded only into a database that has no users yet.

use app::auth::ssr::password::Passwords;
use chrono::Utc;
use entity::{contact, organization, user, StaffRole};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait,
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
    for (name, legal, address, people) in orgs {
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
