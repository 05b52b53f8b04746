//! Who may do what: one capability table for the staff roles, and one gate
//! per server function, page and handler. The server's guard refuses a
//! request its gate does not admit before any feature code runs; features
//! then check the objects themselves (which organization, which ticket) and
//! ask [`allows`] for the finer staff rules. A server function, page or
//! handler without a row here is refused, and the role matrix test in
//! `server/tests/auth.rs` fails on it.

use entity::StaffRole;

use crate::core::actor::Actor;
use crate::error::AppError;

/// Something a staff role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Open the Staff Console's home.
    StaffConsole,
    /// Read organizations, contacts, subscriptions and customers' requests.
    CustomersRead,
    /// Read the programs, levels and products of the catalog.
    CatalogRead,
    /// Change programs, levels and products.
    CatalogManage,
    /// Read and answer tickets: conversations, internal notes, attachments,
    /// live pages, assignment, merging, severity, followers.
    TicketsWork,
    /// Keep the saved replies.
    CannedReplies,
    /// Review mail held at the support address.
    HeldMail,
    /// Add, change and remove Technical Contacts; decide customers' requests for more.
    TechnicalContacts,
    /// Decide the servers customers declare for cover.
    ServerDeclarations,
    /// Switch an organization between private and shared tickets.
    TicketSharing,
    /// Turn a received Order Form into an organization and subscription.
    OrdersProcess,
    /// Renew a subscription (a new term) or cancel it.
    Subscriptions,
    /// Draft, issue, send, void and convert documents; record payments.
    Documents,
    /// Change Main and Administrative Contact details.
    BillingContacts,
    /// Send a contact a fresh activation link (to the kinds of contact the
    /// role may change).
    ResendActivation,
    /// Send a contact who has a password a reset link (to the kinds of
    /// contact the role may change).
    PasswordReset,
    /// Change the e-mail address a contact signs in with.
    SignInEmail,
    /// Read the outgoing mail queue.
    Outbox,
    /// See this server process's figures (live pages, memory).
    ServerFigures,
    /// The support dashboard: SLA attainment, response times, backlog, load.
    SupportFigures,
    /// The business dashboard: renewals, recurring revenue, invoice ageing.
    BusinessFigures,
    /// Search: each kind (tickets, organizations and contacts, documents)
    /// only for the roles that may open it, internal notes only for those
    /// that read them.
    Search,
}

use Capability::*;
use StaffRole::{Admin, Agent, Billing};

/// The staff role table: one row per capability, naming the roles that have it.
/// Administrators have everything; a role that is staff is not thereby
/// anything more.
pub const STAFF_TABLE: &[(Capability, &[StaffRole])] = &[
    (StaffConsole, &[Admin, Agent, Billing]),
    (CustomersRead, &[Admin, Agent, Billing]),
    (CatalogRead, &[Admin, Agent, Billing]),
    (CatalogManage, &[Admin]),
    (TicketsWork, &[Admin, Agent]),
    (CannedReplies, &[Admin, Agent]),
    (HeldMail, &[Admin, Agent]),
    (TechnicalContacts, &[Admin, Agent]),
    (ServerDeclarations, &[Admin, Agent]),
    (TicketSharing, &[Admin, Agent]),
    (OrdersProcess, &[Admin, Billing]),
    (Subscriptions, &[Admin, Billing]),
    (Documents, &[Admin, Billing]),
    (BillingContacts, &[Admin, Billing]),
    (ResendActivation, &[Admin, Agent, Billing]),
    (PasswordReset, &[Admin, Agent, Billing]),
    (SignInEmail, &[Admin]),
    (Outbox, &[Admin]),
    (ServerFigures, &[Admin]),
    (SupportFigures, &[Admin, Agent]),
    (BusinessFigures, &[Admin, Billing]),
    (Search, &[Admin, Agent, Billing]),
];

/// Whether staff role `role` has capability `cap`.
pub fn allows(role: StaffRole, cap: Capability) -> bool {
    STAFF_TABLE
        .iter()
        .any(|(c, roles)| *c == cap && roles.contains(&role))
}

/// The staff roles that have `cap`.
pub fn roles_with(cap: Capability) -> Vec<StaffRole> {
    STAFF_TABLE
        .iter()
        .filter(|(c, _)| *c == cap)
        .flat_map(|(_, roles)| roles.iter().copied())
        .collect()
}

/// Whether `actor` is staff with capability `cap`.
pub fn actor_allows(actor: &Actor, cap: Capability) -> bool {
    actor.staff_role().is_some_and(|r| allows(r, cap))
}

/// Staff with `cap`, or refused (403).
pub fn require(actor: &Actor, cap: Capability) -> Result<(), AppError> {
    if actor_allows(actor, cap) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Which customers a gate admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    /// No customer.
    None,
    /// Any signed-in customer.
    Any,
    /// Technical Contacts, and a Main Contact who is the sole contact.
    Support,
    /// Main and Administrative Contacts.
    Billing,
}

/// Who may call a server function or open a page or handler at all. Objects
/// are checked by the feature afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// Signed-out visitors too (sign-in, activation links, document links).
    pub anonymous: bool,
    /// Staff with this capability.
    pub staff: Option<Capability>,
    pub customers: Portal,
}

impl Gate {
    pub const ANYONE: Gate = Gate {
        anonymous: true,
        staff: None,
        customers: Portal::Any,
    };
    pub const SIGNED_IN: Gate = Gate {
        anonymous: false,
        staff: None,
        customers: Portal::Any,
    };

    /// Staff with `cap` only.
    pub const fn staff(cap: Capability) -> Gate {
        Gate {
            anonymous: false,
            staff: Some(cap),
            customers: Portal::None,
        }
    }

    /// Customers of `portal` only.
    pub const fn customers(portal: Portal) -> Gate {
        Gate {
            anonymous: false,
            staff: None,
            customers: portal,
        }
    }

    /// Staff with `cap`, or customers of `portal`.
    pub const fn either(cap: Capability, portal: Portal) -> Gate {
        Gate {
            anonymous: false,
            staff: Some(cap),
            customers: portal,
        }
    }

    /// Whether the gate admits `actor` (`None`: signed out); the refusal says
    /// whether signing in could help.
    pub fn admit(&self, actor: Option<&Actor>) -> Result<(), AppError> {
        let open_to_all_signed_in = self.staff.is_none() && self.customers == Portal::Any;
        let Some(actor) = actor else {
            return if self.anonymous {
                Ok(())
            } else {
                Err(AppError::Unauthenticated)
            };
        };
        let admitted = match actor.staff_role() {
            Some(role) => open_to_all_signed_in || self.staff.is_some_and(|c| allows(role, c)),
            None => match self.customers {
                Portal::None => false,
                Portal::Any => true,
                Portal::Support => actor.can_use_support(),
                Portal::Billing => actor.can_use_billing(),
            },
        };
        if admitted {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

const SUPPORT: Portal = Portal::Support;
const BILLING: Portal = Portal::Billing;
const ANY: Portal = Portal::Any;

/// Every server function (its endpoint under `/api/`) and its gate.
pub const ENDPOINTS: &[(&str, Gate)] = &[
    // accounts
    ("current_viewer", Gate::ANYONE),
    ("sign_in", Gate::ANYONE),
    ("sign_out", Gate::ANYONE),
    ("change_password", Gate::SIGNED_IN),
    ("activate_account", Gate::ANYONE),
    ("request_password_reset", Gate::ANYONE),
    // catalog and orders
    ("list_levels", Gate::staff(CatalogRead)),
    ("load_catalog", Gate::staff(CatalogRead)),
    ("create_program", Gate::staff(CatalogManage)),
    ("save_level", Gate::staff(CatalogManage)),
    ("create_product", Gate::staff(CatalogManage)),
    ("add_product_version", Gate::staff(CatalogManage)),
    ("process_order", Gate::staff(OrdersProcess)),
    ("renew_subscription", Gate::staff(Subscriptions)),
    ("cancel_subscription", Gate::staff(Subscriptions)),
    // organizations and contacts: which organization, and which contact a
    // staff role may change (Technical vs Main/Administrative), is decided per
    // object, so customers of another organization get 404, not 403
    ("load_organization", Gate::either(CustomersRead, ANY)),
    ("update_contact", Gate::either(CustomersRead, ANY)),
    ("add_contact", Gate::either(CustomersRead, ANY)),
    ("deactivate_contact", Gate::either(CustomersRead, ANY)),
    (
        "remove_administrative_role",
        Gate::either(BillingContacts, ANY),
    ),
    ("transfer_main_contact", Gate::either(BillingContacts, ANY)),
    ("resend_activation", Gate::staff(ResendActivation)),
    ("send_password_reset", Gate::staff(PasswordReset)),
    ("decide_contact_request", Gate::staff(TechnicalContacts)),
    ("declare_servers", Gate::either(ServerDeclarations, ANY)),
    ("decide_server_declaration", Gate::staff(ServerDeclarations)),
    ("set_ticket_sharing", Gate::staff(TicketSharing)),
    ("load_staff_queue", Gate::staff(CustomersRead)),
    // staff console
    ("load_staff_dashboard", Gate::staff(StaffConsole)),
    ("load_outbox", Gate::staff(Outbox)),
    ("load_support_dashboard", Gate::staff(SupportFigures)),
    ("load_live_figures", Gate::staff(SupportFigures)),
    ("load_business_dashboard", Gate::staff(BusinessFigures)),
    // The Main Contact's support record (anyone else in the portal gets none).
    ("load_customer_record", Gate::customers(BILLING)),
    ("load_organization_record", Gate::staff(CustomersRead)),
    // search: what each person finds is decided by the search itself
    ("search", Gate::either(Search, SUPPORT)),
    // billing (documents are also opened by whoever holds an e-mailed link)
    ("load_billing_home", Gate::customers(BILLING)),
    ("list_documents", Gate::either(Documents, BILLING)),
    ("load_document", Gate::ANYONE),
    ("decide_document", Gate::ANYONE),
    ("save_document_account", Gate::ANYONE),
    ("load_document_editor", Gate::staff(Documents)),
    ("save_document", Gate::staff(Documents)),
    ("send_document", Gate::staff(Documents)),
    ("record_payment", Gate::staff(Documents)),
    ("void_document", Gate::staff(Documents)),
    ("convert_to_invoice", Gate::staff(Documents)),
    // support
    ("load_support_home", Gate::customers(SUPPORT)),
    ("list_tickets", Gate::either(TicketsWork, SUPPORT)),
    ("load_ticket", Gate::either(TicketsWork, SUPPORT)),
    ("open_ticket", Gate::customers(SUPPORT)),
    ("ticket_servers", Gate::customers(SUPPORT)),
    ("ticket_releases", Gate::customers(SUPPORT)),
    ("add_comment", Gate::either(TicketsWork, SUPPORT)),
    ("add_follower", Gate::either(TicketsWork, SUPPORT)),
    ("assign_ticket", Gate::staff(TicketsWork)),
    ("change_severity", Gate::staff(TicketsWork)),
    ("merge_ticket", Gate::staff(TicketsWork)),
    ("list_canned_replies", Gate::staff(CannedReplies)),
    ("save_canned_reply", Gate::staff(CannedReplies)),
    ("delete_canned_reply", Gate::staff(CannedReplies)),
    ("list_held_mail", Gate::staff(HeldMail)),
    ("file_held_mail", Gate::staff(HeldMail)),
    ("dismiss_held_mail", Gate::staff(HeldMail)),
];

/// Every page route (as the router lists it) and its gate.
pub const PAGES: &[(&str, Gate)] = &[
    ("/", Gate::ANYONE),
    ("/sign-in", Gate::ANYONE),
    ("/activate", Gate::ANYONE),
    ("/forgot-password", Gate::ANYONE),
    ("/d/{id}", Gate::ANYONE),
    ("/documents/open", Gate::ANYONE),
    ("/account", Gate::SIGNED_IN),
    ("/staff", Gate::staff(StaffConsole)),
    ("/staff/tickets", Gate::staff(TicketsWork)),
    ("/staff/search", Gate::staff(Search)),
    ("/staff/tickets/{id}", Gate::staff(TicketsWork)),
    ("/staff/canned", Gate::staff(CannedReplies)),
    ("/staff/inbound", Gate::staff(HeldMail)),
    ("/staff/billing", Gate::staff(Documents)),
    ("/staff/billing/new", Gate::staff(Documents)),
    ("/staff/billing/{id}", Gate::staff(Documents)),
    ("/staff/billing/{id}/edit", Gate::staff(Documents)),
    ("/staff/orders/new", Gate::staff(OrdersProcess)),
    ("/staff/organizations/{id}", Gate::staff(CustomersRead)),
    ("/staff/queue", Gate::staff(CustomersRead)),
    ("/staff/catalog", Gate::staff(CatalogRead)),
    ("/staff/mail", Gate::staff(Outbox)),
    ("/support", Gate::customers(SUPPORT)),
    ("/support/tickets/new", Gate::customers(SUPPORT)),
    ("/support/search", Gate::customers(SUPPORT)),
    ("/support/tickets/{id}", Gate::customers(SUPPORT)),
    ("/billing", Gate::customers(BILLING)),
    ("/billing/documents/{id}", Gate::customers(BILLING)),
    ("/billing/organization", Gate::customers(BILLING)),
];

/// Every route the server adds beside the pages and server functions.
pub const HANDLERS: &[(&str, Gate)] = &[
    ("/healthz", Gate::ANYONE),
    ("/documents/open", Gate::ANYONE),
    // Each table asks its dashboard's capability (support or business).
    ("/staff/figures.csv", Gate::staff(StaffConsole)),
    // The document's own rule decides (staff, its organization, or its link).
    ("/documents/{id}/pdf", Gate::ANYONE),
    ("/tickets/{id}/live", Gate::either(TicketsWork, SUPPORT)),
    (
        "/tickets/{id}/attachments",
        Gate::either(TicketsWork, SUPPORT),
    ),
    (
        "/tickets/{id}/attachments/{attachment}",
        Gate::either(TicketsWork, SUPPORT),
    ),
];

/// What the guard decides for a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A listed server function, page or handler.
    Listed(Gate, Kind),
    /// A path under `/api/` with no row: refused (fail closed).
    UnlistedEndpoint,
    /// Anything else: built assets, and paths that lead to "not found".
    Unlisted,
}

/// Which table a path was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Endpoint,
    Page,
    Handler,
}

/// The gate of `path`.
pub fn lookup(path: &str) -> Lookup {
    if let Some(name) = path.strip_prefix("/api/") {
        return match ENDPOINTS.iter().find(|(n, _)| *n == name) {
            Some((_, g)) => Lookup::Listed(*g, Kind::Endpoint),
            None => Lookup::UnlistedEndpoint,
        };
    }
    let find = |table: &[(&str, Gate)]| {
        table
            .iter()
            .find(|(pattern, _)| matches_route(pattern, path))
            .map(|(_, g)| *g)
    };
    match (find(PAGES), find(HANDLERS)) {
        (Some(g), _) => Lookup::Listed(g, Kind::Page),
        (None, Some(g)) => Lookup::Listed(g, Kind::Handler),
        (None, None) => Lookup::Unlisted,
    }
}

/// Whether `path` fits `pattern`, where a `{name}` or `:name` segment stands for any one segment.
pub fn matches_route(pattern: &str, path: &str) -> bool {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) => {
                let wildcard = a.starts_with('{') || a.starts_with(':');
                if !(wildcard && !b.is_empty() || a == b) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The staff role table of the product, written out: what each role may
    /// and may not do.
    #[test]
    fn the_product_role_table() {
        for cap in STAFF_TABLE.iter().map(|(c, _)| *c) {
            assert!(allows(Admin, cap), "administrators do everything: {cap:?}");
        }
        for cap in [
            TicketsWork,
            CannedReplies,
            HeldMail,
            TechnicalContacts,
            ServerDeclarations,
            TicketSharing,
            CustomersRead,
            SupportFigures,
        ] {
            assert!(allows(Agent, cap), "support agents: {cap:?}");
        }
        for cap in [
            OrdersProcess,
            Subscriptions,
            Documents,
            BillingContacts,
            CustomersRead,
            BusinessFigures,
        ] {
            assert!(allows(Billing, cap), "billing clerks: {cap:?}");
        }
        // A billing clerk never opens ticket conversations or internal notes
        // (nor the support figures, which name assignees and workloads).
        for cap in [
            TicketsWork,
            CannedReplies,
            HeldMail,
            TicketSharing,
            SupportFigures,
        ] {
            assert!(!allows(Billing, cap), "billing clerks must not: {cap:?}");
        }
        for cap in [
            OrdersProcess,
            Subscriptions,
            Documents,
            BillingContacts,
            CatalogManage,
            BusinessFigures,
        ] {
            assert!(!allows(Agent, cap), "support agents must not: {cap:?}");
        }
        // Changing a sign-in address is an administrator's (or the Main Contact's).
        assert!(!allows(Agent, SignInEmail) && !allows(Billing, SignInEmail));
    }

    #[test]
    fn every_capability_has_one_row() {
        let caps: Vec<_> = STAFF_TABLE.iter().map(|(c, _)| *c).collect();
        for (i, c) in caps.iter().enumerate() {
            assert!(!caps[i + 1..].contains(c), "{c:?} has two rows");
        }
    }

    #[test]
    fn every_endpoint_and_route_has_one_row() {
        for table in [ENDPOINTS, PAGES, HANDLERS] {
            let names: Vec<_> = table.iter().map(|(n, _)| *n).collect();
            for (i, n) in names.iter().enumerate() {
                assert!(!names[i + 1..].contains(n), "{n} has two rows");
            }
        }
    }

    #[test]
    fn routes_match_by_segment() {
        assert!(matches_route("/staff/tickets/{id}", "/staff/tickets/12"));
        assert!(matches_route("/staff/tickets/:id", "/staff/tickets/12/"));
        assert!(!matches_route("/staff/tickets/{id}", "/staff/tickets/"));
        assert!(!matches_route("/staff/tickets/{id}", "/staff/tickets/1/x"));
        assert!(matches_route("/", "/"));
        assert!(!matches_route("/staff", "/staffing"));
        assert_eq!(lookup("/api/nope"), Lookup::UnlistedEndpoint);
        assert_eq!(lookup("/pkg/portico.js"), Lookup::Unlisted);
        assert_eq!(
            lookup("/staff/billing/3/edit"),
            Lookup::Listed(Gate::staff(Documents), Kind::Page)
        );
        assert_eq!(
            lookup("/tickets/3/attachments/9"),
            Lookup::Listed(Gate::either(TicketsWork, SUPPORT), Kind::Handler)
        );
    }
}
