//! Customer pages: order intake, the organization page (Main Contact and
//! staff), the staff queue, the catalog, and account activation.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{
    field_of, last_error, ErrorNotice, FieldError, FormError, ReturnHere, TextField,
};
use entity::{PaymentMethod, Severity};

mod activation;
mod catalog;
mod orders;
mod organization;
mod products;
mod queue;
mod subscription;
pub use activation::ActivatePage;
pub use catalog::CatalogPage;
pub use orders::OrderPage;
use organization::*;
pub use organization::{MyOrganizationPage, StaffOrganizationPage};
use products::ProductsSection;
pub use queue::StaffQueuePage;
use subscription::SubscriptionSection;

fn minutes(m: i32) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}
