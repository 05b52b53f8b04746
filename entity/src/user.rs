use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a member of the vendor's staff may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum StaffRole {
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "agent")]
    Agent,
    #[sea_orm(string_value = "billing")]
    Billing,
}

impl StaffRole {
    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Admin => "Administrator",
            StaffRole::Agent => "Support agent",
            StaffRole::Billing => "Billing clerk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(StaffRole::Admin),
            "agent" => Some(StaffRole::Agent),
            "billing" => Some(StaffRole::Billing),
            _ => None,
        }
    }
}

/// A person who can sign in: staff (with a role) or a customer contact
/// (linked from `contacts.user_id`). The model is deliberately not `Serialize`:
/// it carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Stored lower-cased so uniqueness is case-insensitive on every backend.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// PHC string (argon2id). `None` for an account that was never activated.
    pub password_hash: Option<String>,
    pub staff_role: Option<StaffRole>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
