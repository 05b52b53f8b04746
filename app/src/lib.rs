#![recursion_limit = "1024"]
//! Portico: pages, components and server functions, organised by feature.

pub mod auth;
pub mod billing;
pub mod components;
pub mod customers;
pub mod dashboards;
pub mod error;
pub mod layout;
pub mod mail;
pub mod search;
pub mod staff;
pub mod support;
pub mod validate;

#[cfg(feature = "ssr")]
pub mod core;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use auth::{current_viewer, use_viewer, AccountPage, SignInPage, ViewerResource};
use layout::{Footer, Header, NotFound};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let viewer: ViewerResource = Resource::new(|| (), |_| current_viewer());
    provide_context(viewer);

    // Async rendering: every page arrives complete, so it reads the same with
    // JavaScript off, and its status code is known before the first byte.
    view! {
        <Stylesheet id="leptos" href="/pkg/portico.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Portico".to_string() } else { format!("{t} · Portico") }/>
        <Router>
            <Header/>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff") view=staff::StaffHome ssr=SsrMode::Async/>
                    <Route path=path!("/support") view=support::pages::SupportHome ssr=SsrMode::Async/>
                    <Route path=path!("/support/tickets/new") view=support::pages::NewTicketPage ssr=SsrMode::Async/>
                    <Route path=path!("/support/tickets/:id") view=support::pages::TicketPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/tickets") view=support::pages::StaffTicketsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/search") view=search::StaffSearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/support/search") view=search::SupportSearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/tickets/:id") view=support::pages::TicketPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/canned") view=support::pages::CannedRepliesPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/inbound") view=support::pages::HeldMailPage ssr=SsrMode::Async/>
                    <Route path=path!("/billing") view=BillingPortal ssr=SsrMode::Async/>
                    <Route path=path!("/billing/documents/:id") view=billing::pages::CustomerDocumentPage ssr=SsrMode::Async/>
                    <Route path=path!("/d/:id") view=billing::pages::LinkDocumentPage ssr=SsrMode::Async/>
                    <Route path=path!("/documents/open") view=billing::pages::OpenLinkPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/billing") view=billing::pages::StaffBillingPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/billing/new") view=billing::pages::DocumentEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/billing/:id") view=billing::pages::StaffDocumentPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/billing/:id/edit") view=billing::pages::DocumentEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("/billing/organization") view=customers::pages::MyOrganizationPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/orders/new") view=customers::pages::OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/organizations/:id") view=StaffOrganization ssr=SsrMode::Async/>
                    <Route path=path!("/staff/queue") view=customers::pages::StaffQueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/catalog") view=customers::pages::CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/mail") view=mail::OutboxPageView ssr=SsrMode::Async/>
                    <Route path=path!("/activate") view=customers::pages::ActivatePage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=auth::ForgotPasswordPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
            <HydrationMarker/>
        </Router>
    }
}

/// Marks the moment the browser's islands came alive (browser tests wait for it).
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The Billing Portal's home with the Main Contact's support record.
#[component]
fn BillingPortal() -> impl IntoView {
    view! {
        <billing::pages::BillingHome>
            <dashboards::CustomerRecordSection/>
        </billing::pages::BillingHome>
    }
}

/// A staff organization page with the organization's support record.
#[component]
fn StaffOrganization() -> impl IntoView {
    view! {
        <customers::pages::StaffOrganizationPage>
            <dashboards::OrganizationRecordSection/>
        </customers::pages::StaffOrganizationPage>
    }
}

/// Referenced by the browser crate so the islands are linked into the bundle.
pub fn link_islands() {}

#[component]
fn HomePage() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Title text="Welcome"/>
        <section class="hero">
            <h1>"Portico"</h1>
            <p class="lead">"Your support subscription in one place: SLA-tracked tickets with live updates in the Support Portal; invoices, estimates and your subscription in the Billing Portal."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match viewer.await.ok().flatten() {
                        Some(v) => view! {
                            <p><a class="button primary" href=v.landing.path()>"Continue to your portal"</a></p>
                        }.into_any(),
                        None => view! {
                            <p><a class="button primary" href="/sign-in">"Sign in"</a></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
