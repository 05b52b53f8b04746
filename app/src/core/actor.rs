//! Who a request acts for. Resolved from the session by the accounts layer
//! (`auth::ssr::session`); never built from anything the client sends.

use entity::StaffRole;

use super::entitlements::Entitlements;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRoles {
    pub organization_id: i32,
    pub organization_name: String,
    pub contact_id: i32,
    pub main: bool,
    pub technical: bool,
    pub administrative: bool,
    pub sole_contact: bool,
    /// What the organization's subscription opens today.
    pub entitlements: Entitlements,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRole {
    Staff(StaffRole),
    Customer(CustomerRoles),
}

/// The signed-in person a request acts for. Resolved from the session cookie
/// by the server's middleware; never built from anything the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i32,
    pub session_id_hash: String,
    pub name: String,
    pub email: String,
    pub role: ActorRole,
}

impl Actor {
    pub fn staff_role(&self) -> Option<StaffRole> {
        match &self.role {
            ActorRole::Staff(r) => Some(*r),
            ActorRole::Customer(_) => None,
        }
    }

    pub fn customer(&self) -> Option<&CustomerRoles> {
        match &self.role {
            ActorRole::Customer(c) => Some(c),
            ActorRole::Staff(_) => None,
        }
    }

    /// Support Portal: Technical Contacts, and a Main Contact who is the sole
    /// contact, while the organization's subscription is open.
    pub fn can_use_support(&self) -> bool {
        self.customer().is_some_and(|c| {
            (c.technical || (c.main && c.sole_contact)) && c.entitlements.support()
        })
    }

    /// Billing Portal: the Main Contact and the Administrative Contact.
    pub fn can_use_billing(&self) -> bool {
        self.customer().is_some_and(|c| c.main || c.administrative)
    }
}
