//! What a service needs to act: the shared state, who acts and from where.
//! Built once per request (from the Leptos context by [`super::web::ctx`]);
//! services take `&Ctx` and never read the Leptos context themselves, so
//! they run the same from a page, a handler, the API or a test.

use super::actor::Actor;
use super::state::AppState;

#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub actor: Actor,
    /// The client address the server recorded, for the audit trail.
    pub client_addr: Option<String>,
}
