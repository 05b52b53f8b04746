//! Billing: invoices, estimates and proposals; payments; secure document
//! links; the Billing Portal. Money is exact (see `money`), computed on the
//! server; pages receive formatted text.

#[cfg(feature = "ssr")]
pub mod money;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod pdf;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const KINDS: &[(&str, &str)] = &[
    ("invoice", "Invoice"),
    ("estimate", "Estimate"),
    ("proposal", "Proposal"),
];

pub const STATUSES: &[(&str, &str)] = &[
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("viewed", "Viewed"),
    ("accepted", "Accepted"),
    ("declined", "Declined"),
    ("expired", "Expired"),
    ("partially_paid", "Partially paid"),
    ("paid", "Paid"),
    ("overdue", "Overdue"),
    ("void", "Void"),
];

pub fn label_of(table: &'static [(&'static str, &'static str)], key: &str) -> &'static str {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

/// Documents per page in lists.
pub const PAGE_SIZE: u64 = 25;

// ---- what the pages receive -------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub id: i32,
    pub kind: String,
    /// The number, or "Draft" before the first sending.
    pub number: String,
    pub organization: String,
    /// As shown: "overdue" replaces "sent"/"viewed"/"partially_paid" past the due date.
    pub status: String,
    pub issue_date: String,
    pub due_date: String,
    pub total: String,
    pub balance: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentList {
    pub rows: Vec<DocumentRow>,
    pub page: u64,
    pub pages: u64,
    pub total_rows: u64,
    /// Staff see every organization; customers their own.
    pub staff: bool,
    /// Staff filter choices: (id, name).
    pub organizations: Vec<(i32, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFilter {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub page: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxView {
    pub rate: String,
    pub base: String,
    pub tax: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub paid_on: String,
    pub method: String,
    pub amount: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub at: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

/// What the person looking at a document may do with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentActions {
    pub edit: bool,
    pub send: bool,
    pub record_payment: bool,
    pub void: bool,
    pub convert: bool,
    pub decide: bool,
    /// A link viewer without an account may create one ("Save").
    pub save_account: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: i32,
    pub kind: String,
    pub title: String,
    pub number: Option<String>,
    pub status: String,
    pub organization_id: i32,
    pub organization: String,
    pub legal_name: String,
    pub address: String,
    pub vat_id: Option<String>,
    pub currency: String,
    pub purchase_order: Option<String>,
    pub payment_terms_days: i32,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub valid_until: Option<String>,
    pub discount_percent: String,
    pub notes: String,
    pub narrative: String,
    pub terms: String,
    pub lines: Vec<LineView>,
    pub taxes: Vec<TaxView>,
    pub subtotal: String,
    pub discount: String,
    pub tax: String,
    pub total: String,
    pub paid: String,
    pub balance: String,
    pub payments: Vec<PaymentView>,
    /// Staff only: the document's activity, oldest first.
    pub events: Vec<EventView>,
    /// "Accepted by … on … from …", for decided estimates and proposals.
    pub decision: Option<String>,
    pub source: Option<(i32, String)>,
    pub converted_to: Option<(i32, String)>,
    pub actions: DocumentActions,
    /// Link viewers: the address the link was sent to.
    pub link_email: Option<String>,
    /// Where the PDF of this document downloads from.
    pub pdf_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSummary {
    pub program: String,
    pub level: String,
    pub term_start: String,
    pub term_end: String,
    pub renewal_date: String,
    pub status: String,
    pub servers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingHomeData {
    pub organization_name: String,
    pub subscription: Option<SubscriptionSummary>,
    pub contacts: Vec<ContactRow>,
}

/// The editor's starting point: the draft (or blanks) and the choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorData {
    pub form: DocumentForm,
    pub organizations: Vec<(i32, String)>,
    pub currencies: Vec<String>,
    pub title: String,
}

// ---- what the forms send ----------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub unit_price: String,
    #[serde(default)]
    pub tax_rate: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentForm {
    /// Empty for a new draft, else the id of the draft to change.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub organization_id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub purchase_order: String,
    #[serde(default)]
    pub payment_terms_days: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub discount_percent: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub narrative: String,
    #[serde(default)]
    pub terms: String,
    /// Rows left empty are ignored.
    #[serde(default)]
    pub lines: Vec<LineForm>,
}

// ---- server functions ---------------------------------------------------------

#[server(prefix = "/api", endpoint = "load_billing_home")]
pub async fn load_billing_home() -> Result<BillingHomeData, AppError> {
    ssr::load_billing_home().await
}

#[server(prefix = "/api", endpoint = "list_documents")]
pub async fn list_documents(
    #[server(default)] filter: DocumentFilter,
) -> Result<DocumentList, AppError> {
    ssr::list_documents(filter).await
}

#[server(prefix = "/api", endpoint = "load_document")]
pub async fn load_document(document_id: i32) -> Result<DocumentView, AppError> {
    ssr::load_document(document_id).await
}

#[server(prefix = "/api", endpoint = "load_document_editor")]
pub async fn load_document_editor(
    document_id: Option<i32>,
    organization_id: Option<i32>,
    kind: Option<String>,
) -> Result<EditorData, AppError> {
    ssr::load_document_editor(document_id, organization_id, kind).await
}

#[server(prefix = "/api", endpoint = "save_document")]
pub async fn save_document(document: DocumentForm) -> Result<i32, AppError> {
    ssr::save_document(document).await
}

#[server(prefix = "/api", endpoint = "send_document")]
pub async fn send_document(document_id: i32) -> Result<(), AppError> {
    ssr::send_document(document_id).await
}

#[server(prefix = "/api", endpoint = "record_payment")]
pub async fn record_payment(
    document_id: i32,
    method: String,
    paid_on: String,
    amount: String,
    reference: String,
) -> Result<(), AppError> {
    ssr::record_payment(document_id, method, paid_on, amount, reference).await
}

#[server(prefix = "/api", endpoint = "void_document")]
pub async fn void_document(document_id: i32, reason: String) -> Result<(), AppError> {
    ssr::void_document(document_id, reason).await
}

#[server(prefix = "/api", endpoint = "convert_to_invoice")]
pub async fn convert_to_invoice(document_id: i32) -> Result<i32, AppError> {
    ssr::convert_to_invoice(document_id).await
}

#[server(prefix = "/api", endpoint = "decide_document")]
pub async fn decide_document(
    document_id: i32,
    decision: String,
    name: String,
) -> Result<(), AppError> {
    ssr::decide_document(document_id, decision, name).await
}

#[server(prefix = "/api", endpoint = "save_document_account")]
pub async fn save_document_account(document_id: i32) -> Result<String, AppError> {
    ssr::save_document_account(document_id).await
}
