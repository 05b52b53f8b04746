//! The bottom layer, server-only: what every feature builds on and that
//! imports no feature. It grows by the architecture issue's steps; today it
//! holds the authorization tables.

pub mod authz;
