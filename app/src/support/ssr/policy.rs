//! Who may see which tickets, written once: [`scope`] is the condition on
//! `tickets` that lists, counts and single loads all apply, so a page, a
//! live socket, an attachment and a mail reply can never disagree.

use sea_orm::sea_query::Query;
use sea_orm::Condition;

use super::*;

/// How the actor sees the tickets in its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Staff whose role works tickets: every ticket, internal notes included.
    Staff,
    /// A customer with Support Portal access: their organization's tickets
    /// they requested or follow (all of them when it shares tickets).
    Customer,
}

impl Access {
    pub fn is_staff(self) -> bool {
        self == Access::Staff
    }
}

/// Whose tickets an actor reaches: the one rule that [`scope`] (for the
/// database) and search (for its index) both express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Staff whose role works tickets.
    Everything,
    /// A customer whose organization shares tickets.
    Organization(i32),
    /// A customer of an organization that does not share: the tickets they
    /// requested or follow.
    Person { organization: i32, contact: i32 },
}

/// Whose tickets `actor` reaches. Staff without the ticket capability, and
/// customers without the Support Portal, are refused (403).
pub async fn reach<C: ConnectionTrait>(db: &C, actor: &Actor) -> Result<Reach, AppError> {
    match &actor.role {
        ActorRole::Staff(r) if !authz::allows(*r, Capability::TicketsWork) => {
            Err(AppError::Forbidden)
        }
        ActorRole::Staff(_) => Ok(Reach::Everything),
        ActorRole::Customer(c) => {
            if !actor.can_use_support() {
                return Err(AppError::Forbidden);
            }
            let shared = organization::Entity::find_by_id(c.organization_id)
                .one(db)
                .await?
                .is_some_and(|o| o.shared_tickets);
            Ok(if shared {
                Reach::Organization(c.organization_id)
            } else {
                Reach::Person {
                    organization: c.organization_id,
                    contact: c.contact_id,
                }
            })
        }
    }
}

/// The tickets `actor` may see, as a condition on `tickets`. Staff without
/// the ticket capability, and customers without the Support Portal, are
/// refused (403).
pub async fn scope<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
) -> Result<(Condition, Access), AppError> {
    Ok(condition(reach(db, actor).await?))
}

/// The tickets `reach` gives, as a condition on `tickets`.
pub fn condition(reach: Reach) -> (Condition, Access) {
    match reach {
        Reach::Everything => (Condition::all(), Access::Staff),
        Reach::Organization(org) => (
            Condition::all().add(ticket::Column::OrganizationId.eq(org)),
            Access::Customer,
        ),
        Reach::Person {
            organization,
            contact,
        } => (
            Condition::all()
                .add(ticket::Column::OrganizationId.eq(organization))
                .add(
                    Condition::any()
                        .add(ticket::Column::RequesterContactId.eq(contact))
                        .add(
                            ticket::Column::Id.in_subquery(
                                Query::select()
                                    .column(ticket_follower::Column::TicketId)
                                    .from(ticket_follower::Entity)
                                    .and_where(ticket_follower::Column::ContactId.eq(contact))
                                    .to_owned(),
                            ),
                        ),
                ),
            Access::Customer,
        ),
    }
}

/// Loads ticket `id` if it is in `actor`'s scope; 404 otherwise (a ticket
/// the actor may not see is not said to exist).
pub async fn visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i32,
) -> Result<(ticket::Model, bool), AppError> {
    let (cond, access) = scope(db, actor).await?;
    let t = ticket::Entity::find_by_id(id)
        .filter(cond)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((t, access.is_staff()))
}
