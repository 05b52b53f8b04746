//! The bottom layer, server-only: what every feature builds on and that
//! imports no feature (`app/tests/layers.rs` checks it).
//!
//! - `state`: settings and the `AppState` every request shares
//! - `db`: transactions
//! - `actor`: who a request acts for
//! - `ctx`: what a service takes: state, actor, client address
//! - `web`: the request as server functions see it (state, actor, client
//!   address from the Leptos context), cookies, going back after a form
//! - `catalog`: the releases (product + version) features name
//! - `entitlements`: what an organization's subscription opens today
//! - `authz`: the staff capability table and the gate of every route
//! - `audit`: the audit trail
//! - `password`, `throttle`: password hashing and sign-in throttling
//! - `live`: the live bus open pages listen on

pub mod actor;
pub mod audit;
pub mod authz;
pub mod catalog;
pub mod ctx;
pub mod db;
pub mod entitlements;
pub mod live;
pub mod password;
pub mod search;
pub mod state;
pub mod throttle;
pub mod web;
