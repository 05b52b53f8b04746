//! How a person proves who they are: sessions. Server-only. The `Actor` a
//! session resolves to, and the request helpers, live in `core`.

pub mod links;
pub mod recovery;
pub mod session;

use super::{Landing, Viewer};
use crate::core::actor::{Actor, CustomerRoles};

impl Actor {
    pub fn landing(&self) -> Landing {
        if self.staff_role().is_some() {
            Landing::Staff
        } else if self.can_use_support() {
            Landing::Support
        } else if self.can_use_billing() {
            Landing::Billing
        } else {
            Landing::Account
        }
    }

    pub fn viewer(&self) -> Viewer {
        Viewer {
            name: self.name.clone(),
            email: self.email.clone(),
            staff_role: self.staff_role(),
            organization_name: self.customer().map(|c| c.organization_name.clone()),
            customer_roles: self.customer().map(role_labels).unwrap_or_default(),
            can_use_support: self.can_use_support(),
            can_use_billing: self.can_use_billing(),
            landing: self.landing(),
            subscription_note: self
                .customer()
                .filter(|c| !c.entitlements.open())
                .map(|c| {
                    let who = if c.main {
                        "contact us to renew it"
                    } else {
                        "your Main Contact can arrange it"
                    };
                    format!(
                        "{} has no open subscription. {} The Support Portal opens again when it is renewed; {who}.",
                        c.organization_name,
                        c.entitlements.describe()
                    )
                }),
        }
    }
}

fn role_labels(c: &CustomerRoles) -> Vec<String> {
    let mut roles = Vec::new();
    if c.main {
        roles.push(
            if c.sole_contact {
                "Main Contact (sole contact)"
            } else {
                "Main Contact"
            }
            .to_string(),
        );
    }
    if c.administrative {
        roles.push("Administrative Contact".to_string());
    }
    if c.technical {
        roles.push("Technical Contact".to_string());
    }
    roles
}
