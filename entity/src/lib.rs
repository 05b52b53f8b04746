//! SeaORM entities shared by the server and the browser build.
//!
//! These stay plain declarations; finders, validation and transactions live in
//! `app` beside the features that use them. The enums here are also the shapes
//! the pages receive, which is why this crate compiles for wasm32.

pub mod activation_link;
pub mod audit_event;
pub mod canned_reply;
pub mod contact;
pub mod contact_request;
pub mod covered_server;
pub mod dashboard_figure;
pub mod document;
pub mod document_counter;
pub mod document_event;
pub mod document_line;
pub mod document_link;
pub mod inbound_message;
pub mod level;
pub mod level_product;
pub mod order;
pub mod organization;
pub mod outbox_message;
pub mod payment;
pub mod product;
pub mod product_version;
pub mod program;
pub mod session;
pub mod sign_in_throttle;
pub mod sla_target;
pub mod subscription;
pub mod subscription_notice;
pub mod ticket;
pub mod ticket_attachment;
pub mod ticket_comment;
pub mod ticket_event;
pub mod ticket_follower;
pub mod ticket_server;
pub mod ticket_sla;
pub mod user;

pub mod enums;
pub use enums::{EndNotice, PaymentMethod, Severity, SubscriptionStatus};
pub use user::StaffRole;
