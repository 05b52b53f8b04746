//! Customers: the catalog, order intake, organizations, contacts, servers
//! to cover, account activation and the requests staff decide on.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

// ---- what the pages receive -------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaView {
    pub severity: i16,
    pub first_response_minutes: i32,
    pub next_response_minutes: i32,
    pub resolution_minutes: i32,
    pub around_the_clock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramView {
    pub id: i32,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub programs: Vec<ProgramView>,
    pub levels: Vec<LevelView>,
    pub products: Vec<ProductView>,
    /// The viewer may change the catalog (administrators).
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub id: i32,
    pub version: String,
    pub lts: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    pub id: i32,
    pub program_id: i32,
    pub program: String,
    pub name: String,
    pub max_technical_contacts: i32,
    pub included_servers: i32,
    pub repository_channels: String,
    pub kb_tier: String,
    pub price: String,
    pub billing_period: String,
    pub calendar: String,
    pub holidays: String,
    pub sla: Vec<SlaView>,
    /// The catalog products this level covers (ids).
    pub products: Vec<i32>,
    /// Their names, for reading.
    pub product_names: Vec<String>,
    /// The raw values, to fill the edit form.
    pub price_input: String,
    pub currency: String,
    pub timezone: String,
    pub business_days: String,
    pub business_hours_start: String,
    pub business_hours_end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub program: String,
    pub level: String,
    pub term_start: String,
    pub term_end: String,
    pub status: String,
    pub max_technical_contacts: i32,
    pub included_servers: i32,
    pub purchase_order: Option<String>,
    pub payment_method: String,
    /// Where it stands today, in a sentence ("Active until 2027-12-31.").
    pub standing: String,
    /// Whether the subscription opens the portals today.
    pub open: bool,
    /// Every term, the latest first.
    pub terms: Vec<TermView>,
    /// Staff: a renewal would start on this day…
    pub renew_from: String,
    /// …and end on this one unless they choose another.
    pub renew_until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermView {
    pub term_start: String,
    pub term_end: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactView {
    pub id: i32,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub main: bool,
    pub technical: bool,
    pub administrative: bool,
    pub distribution_list: bool,
    pub active: bool,
    /// "Active", "Invitation sent" or "No account".
    pub account: String,
    /// Whether the viewer may change this contact's details (and deactivate
    /// them, or re-send their invitation).
    pub can_edit: bool,
    /// Whether the viewer may change the address this contact signs in with.
    pub can_change_email: bool,
    /// Whether the viewer may hand this contact the Main Contact role or take
    /// away their Administrative Contact role.
    pub can_change_roles: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRequestView {
    pub id: i32,
    pub organization_id: i32,
    pub organization: String,
    pub name: String,
    pub email: String,
    pub distribution_list: bool,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDeclarationView {
    pub id: i32,
    pub organization_id: i32,
    pub organization: String,
    pub name: String,
    pub kind: String,
    pub quantity: i32,
    pub note: String,
    /// The release it runs ("Portico Server 2.4"), when named.
    pub release: Option<String>,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationView {
    pub id: i32,
    pub name: String,
    pub legal_name: String,
    pub address: String,
    pub vat_id: Option<String>,
    pub shared_tickets: bool,
    pub subscription: Option<SubscriptionView>,
    pub contacts: Vec<ContactView>,
    pub requests: Vec<ContactRequestView>,
    pub servers: Vec<ServerDeclarationView>,
    pub technical_contacts: usize,
    /// The viewer may change contacts (staff, or this organization's Main Contact).
    pub can_manage: bool,
    pub viewer_is_staff: bool,
    /// Staff whose role switches ticket sharing.
    pub can_share_tickets: bool,
    /// Staff whose role writes documents.
    pub can_bill: bool,
    /// Staff whose role works tickets (a link to this organization's queue).
    pub can_work_tickets: bool,
    /// Whether the viewer may declare servers for cover.
    pub can_declare_servers: bool,
    /// Staff whose role renews and cancels subscriptions.
    pub can_manage_subscription: bool,
    /// The releases a declared server may run: the products the level covers.
    pub releases: Vec<(i32, String)>,
    /// Staff only: the organization's audit trail, newest first.
    pub audit: Vec<AuditView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffQueue {
    pub contact_requests: Vec<ContactRequestView>,
    pub server_declarations: Vec<ServerDeclarationView>,
}

// ---- what the forms send ----------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicalContactInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub distribution_list: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderForm {
    #[serde(default)]
    pub organization_name: String,
    #[serde(default)]
    pub legal_name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub vat_id: String,
    #[serde(default)]
    pub level_id: String,
    #[serde(default)]
    pub term_start: String,
    #[serde(default)]
    pub term_end: String,
    #[serde(default)]
    pub main_name: String,
    #[serde(default)]
    pub main_email: String,
    #[serde(default)]
    pub main_phone: String,
    #[serde(default)]
    pub technical_contacts: Vec<TechnicalContactInput>,
    #[serde(default)]
    pub purchase_order: String,
    #[serde(default)]
    pub payment_method: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaInput {
    #[serde(default)]
    pub first_response_minutes: String,
    #[serde(default)]
    pub next_response_minutes: String,
    #[serde(default)]
    pub resolution_minutes: String,
    /// A checkbox: present when the target runs 24x7.
    #[serde(default)]
    pub around_the_clock: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelForm {
    /// Empty to create a level, else the id of the level to change.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub max_technical_contacts: String,
    #[serde(default)]
    pub included_servers: String,
    #[serde(default)]
    pub repository_channels: String,
    #[serde(default)]
    pub kb_tier: String,
    /// Decimal, e.g. `9000.00`.
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub billing_period: String,
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub business_days: String,
    #[serde(default)]
    pub business_hours_start: String,
    #[serde(default)]
    pub business_hours_end: String,
    #[serde(default)]
    pub holidays: String,
    /// Severities 1 to 4, in order.
    #[serde(default)]
    pub sla: Vec<SlaInput>,
    /// Ids of the products the level covers (checkboxes; unticked ones are absent).
    #[serde(default)]
    pub products: Vec<String>,
    /// Present when the form listed the products: only then is `products`
    /// the whole coverage (a form without the list leaves it as it is).
    #[serde(default)]
    pub products_listed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddOutcome {
    /// The contact exists and was invited.
    Added,
    /// Over the level's limit: the request waits for staff.
    Requested,
}

// ---- server functions ---------------------------------------------------------

#[server(prefix = "/api", endpoint = "list_levels")]
pub async fn list_levels() -> Result<Vec<LevelView>, AppError> {
    crate::core::web::require_staff(crate::core::authz::Capability::CatalogRead)?;
    ssr::list_levels().await
}

#[server(prefix = "/api", endpoint = "load_catalog")]
pub async fn load_catalog() -> Result<Catalog, AppError> {
    ssr::load_catalog().await
}

#[server(prefix = "/api", endpoint = "create_program")]
pub async fn create_program(name: String, description: String) -> Result<i32, AppError> {
    ssr::create_program(name, description).await
}

#[server(prefix = "/api", endpoint = "save_level")]
pub async fn save_level(level: LevelForm) -> Result<i32, AppError> {
    ssr::save_level(level).await
}

#[server(prefix = "/api", endpoint = "create_product")]
pub async fn create_product(name: String, description: String) -> Result<i32, AppError> {
    let ctx = crate::core::web::ctx()?;
    let id = ssr::products::create_product(&ctx, &name, &description).await?;
    crate::core::web::redirect_back_with("saved=product");
    Ok(id)
}

#[server(prefix = "/api", endpoint = "add_product_version")]
pub async fn add_product_version(
    product_id: i32,
    version: String,
    #[server(default)] lts: Option<String>,
) -> Result<i32, AppError> {
    let ctx = crate::core::web::ctx()?;
    let id = ssr::products::add_version(&ctx, product_id, &version, lts.is_some()).await?;
    crate::core::web::redirect_back_with("saved=version");
    Ok(id)
}

#[server(prefix = "/api", endpoint = "process_order")]
pub async fn process_order(order: OrderForm) -> Result<i32, AppError> {
    ssr::process_order(order).await
}

#[server(prefix = "/api", endpoint = "load_organization")]
pub async fn load_organization(organization_id: Option<i32>) -> Result<OrganizationView, AppError> {
    ssr::load_organization(organization_id).await
}

#[server(prefix = "/api", endpoint = "update_contact")]
pub async fn update_contact(
    contact_id: i32,
    name: String,
    email: String,
    phone: String,
    distribution_list: Option<String>,
) -> Result<(), AppError> {
    ssr::update_contact(contact_id, name, email, phone, distribution_list.is_some()).await
}

#[server(prefix = "/api", endpoint = "add_contact")]
pub async fn add_contact(
    organization_id: Option<i32>,
    role: String,
    name: String,
    email: String,
    phone: String,
    distribution_list: Option<String>,
) -> Result<AddOutcome, AppError> {
    ssr::add_contact(
        organization_id,
        role,
        name,
        email,
        phone,
        distribution_list.is_some(),
    )
    .await
}

#[server(prefix = "/api", endpoint = "deactivate_contact")]
pub async fn deactivate_contact(contact_id: i32) -> Result<(), AppError> {
    ssr::deactivate_contact(contact_id).await
}

#[server(prefix = "/api", endpoint = "remove_administrative_role")]
pub async fn remove_administrative_role(contact_id: i32) -> Result<(), AppError> {
    ssr::remove_administrative_role(contact_id).await
}

#[server(prefix = "/api", endpoint = "transfer_main_contact")]
pub async fn transfer_main_contact(contact_id: i32) -> Result<(), AppError> {
    ssr::transfer_main_contact(contact_id).await
}

#[server(prefix = "/api", endpoint = "resend_activation")]
pub async fn resend_activation(contact_id: i32) -> Result<(), AppError> {
    ssr::resend_activation(contact_id).await
}

#[server(prefix = "/api", endpoint = "send_password_reset")]
pub async fn send_password_reset(contact_id: i32) -> Result<(), AppError> {
    ssr::send_password_reset(contact_id).await
}

#[server(prefix = "/api", endpoint = "decide_contact_request")]
pub async fn decide_contact_request(request_id: i32, approve: bool) -> Result<(), AppError> {
    ssr::decide_contact_request(request_id, approve).await
}

#[server(prefix = "/api", endpoint = "declare_servers")]
pub async fn declare_servers(
    organization_id: Option<i32>,
    name: String,
    kind: String,
    quantity: String,
    note: String,
    #[server(default)] release: String,
) -> Result<(), AppError> {
    ssr::declare_servers(organization_id, name, kind, quantity, note, release).await
}

#[server(prefix = "/api", endpoint = "decide_server_declaration")]
pub async fn decide_server_declaration(declaration_id: i32, accept: bool) -> Result<(), AppError> {
    ssr::decide_server_declaration(declaration_id, accept).await
}

#[server(prefix = "/api", endpoint = "set_ticket_sharing")]
pub async fn set_ticket_sharing(organization_id: i32, shared: bool) -> Result<(), AppError> {
    ssr::set_ticket_sharing(organization_id, shared).await
}

#[server(prefix = "/api", endpoint = "renew_subscription")]
pub async fn renew_subscription(organization_id: i32, term_end: String) -> Result<i32, AppError> {
    let ctx = crate::core::web::ctx()?;
    let id = ssr::subscriptions::renew(&ctx, organization_id, &term_end).await?;
    crate::core::web::redirect_back_with("done=renewed");
    Ok(id)
}

#[server(prefix = "/api", endpoint = "cancel_subscription")]
pub async fn cancel_subscription(
    organization_id: i32,
    reason: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), AppError> {
    let ctx = crate::core::web::ctx()?;
    ssr::subscriptions::cancel(&ctx, organization_id, &reason, confirm.is_some()).await?;
    crate::core::web::redirect_back_with("done=cancelled");
    Ok(())
}

#[server(prefix = "/api", endpoint = "load_staff_queue")]
pub async fn load_staff_queue() -> Result<StaffQueue, AppError> {
    ssr::load_staff_queue().await
}

#[server(prefix = "/api", endpoint = "activate_account")]
pub async fn activate_account(
    token: String,
    new_password: String,
    confirm_password: String,
) -> Result<String, AppError> {
    ssr::activate_account(token, new_password, confirm_password).await
}
