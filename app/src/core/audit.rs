//! The audit trail: who did what, to what, and when. Server-only.
//!
//! ```ignore
//! audit::Entry::new(Action::ContactUpdated, Target::Contact(c.id))
//!     .by(actor.user_id)
//!     .org(c.organization_id)
//!     .before(before)
//!     .after(after)
//!     .from(client_addr())
//!     .record(&txn)
//!     .await?;
//! ```

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::error::AppError;

/// What happened. Stored as the strings it always was (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    UserSignIn,
    UserSignOut,
    UserPasswordChanged,
    UserActivated,
    PasswordResetRequested,
    PasswordResetSent,
    CatalogProgramCreated,
    CatalogLevelSaved,
    CatalogProductCreated,
    CatalogVersionAdded,
    OrderProcessed,
    ContactAdded,
    ContactRequested,
    ContactUpdated,
    ContactDeactivated,
    ContactAdministrativeRemoved,
    ContactMainTransferred,
    ContactActivationResent,
    ContactRequestApproved,
    ContactRequestDeclined,
    OrganizationTicketSharing,
    ServersDeclared,
    ServersAccepted,
    ServersRejected,
    DocumentSent,
    DocumentPayment,
    DocumentVoided,
    DocumentAccepted,
    DocumentDeclined,
    SubscriptionRenewed,
    SubscriptionCancelled,
    SubscriptionExpired,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        use Action::*;
        match self {
            UserSignIn => "user.sign_in",
            UserSignOut => "user.sign_out",
            UserPasswordChanged => "user.password_changed",
            UserActivated => "user.activated",
            PasswordResetRequested => "user.password_reset_requested",
            PasswordResetSent => "user.password_reset_sent",
            CatalogProgramCreated => "catalog.program_created",
            CatalogLevelSaved => "catalog.level_saved",
            CatalogProductCreated => "catalog.product_created",
            CatalogVersionAdded => "catalog.version_added",
            OrderProcessed => "order.processed",
            ContactAdded => "contact.added",
            ContactRequested => "contact.requested",
            ContactUpdated => "contact.updated",
            ContactDeactivated => "contact.deactivated",
            ContactAdministrativeRemoved => "contact.administrative_removed",
            ContactMainTransferred => "contact.main_transferred",
            ContactActivationResent => "contact.activation_resent",
            ContactRequestApproved => "contact_request.approved",
            ContactRequestDeclined => "contact_request.declined",
            OrganizationTicketSharing => "organization.ticket_sharing",
            ServersDeclared => "servers.declared",
            ServersAccepted => "servers.accepted",
            ServersRejected => "servers.rejected",
            DocumentSent => "document.sent",
            DocumentPayment => "document.payment",
            DocumentVoided => "document.voided",
            DocumentAccepted => "document.accepted",
            DocumentDeclined => "document.declined",
            SubscriptionRenewed => "subscription.renewed",
            SubscriptionCancelled => "subscription.cancelled",
            SubscriptionExpired => "subscription.expired",
        }
    }
}

/// What it happened to. Stored as `kind:id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    User(i32),
    Contact(i32),
    ContactRequest(i32),
    Organization(i32),
    Program(i32),
    Level(i32),
    Product(i32),
    CoveredServer(i32),
    Document(i32),
    Subscription(i32),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, id) = match *self {
            Target::User(id) => ("user", id),
            Target::Contact(id) => ("contact", id),
            Target::ContactRequest(id) => ("contact_request", id),
            Target::Organization(id) => ("organization", id),
            Target::Program(id) => ("program", id),
            Target::Level(id) => ("level", id),
            Target::Product(id) => ("product", id),
            Target::CoveredServer(id) => ("covered_server", id),
            Target::Document(id) => ("document", id),
            Target::Subscription(id) => ("subscription", id),
        };
        write!(f, "{kind}:{id}")
    }
}

/// One event, built by name instead of by position.
#[must_use = "an audit entry is only kept once it is recorded"]
pub struct Entry {
    action: Action,
    target: Target,
    actor_user_id: Option<i32>,
    organization_id: Option<i32>,
    before: Option<String>,
    after: Option<String>,
    client_addr: Option<String>,
}

impl Entry {
    pub fn new(action: Action, target: Target) -> Entry {
        Entry {
            action,
            target,
            actor_user_id: None,
            organization_id: None,
            before: None,
            after: None,
            client_addr: None,
        }
    }

    /// Who did it (none: the system, or someone not signed in).
    pub fn by(mut self, user_id: impl Into<Option<i32>>) -> Entry {
        self.actor_user_id = user_id.into();
        self
    }

    /// The organization it concerns.
    pub fn org(mut self, organization_id: impl Into<Option<i32>>) -> Entry {
        self.organization_id = organization_id.into();
        self
    }

    pub fn before(mut self, before: impl Into<Option<String>>) -> Entry {
        self.before = before.into();
        self
    }

    pub fn after(mut self, after: impl Into<Option<String>>) -> Entry {
        self.after = after.into();
        self
    }

    /// The client address the request came from.
    pub fn from(mut self, client_addr: Option<String>) -> Entry {
        self.client_addr = client_addr;
        self
    }

    /// Records it. Call inside the same transaction as the change it
    /// describes, so the trail and the data never disagree.
    pub async fn record<C: ConnectionTrait>(self, db: &C) -> Result<(), AppError> {
        audit_event::ActiveModel {
            actor_user_id: Set(self.actor_user_id),
            organization_id: Set(self.organization_id),
            action: Set(self.action.as_str().to_owned()),
            target: Set(self.target.to_string()),
            before: Set(self.before),
            after: Set(self.after),
            client_addr: Set(self.client_addr),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_as_before() {
        assert_eq!(
            Action::ContactMainTransferred.as_str(),
            "contact.main_transferred"
        );
        assert_eq!(
            Action::ContactRequestApproved.as_str(),
            "contact_request.approved"
        );
        assert_eq!(Target::ContactRequest(7).to_string(), "contact_request:7");
        assert_eq!(Target::CoveredServer(3).to_string(), "covered_server:3");
    }
}
