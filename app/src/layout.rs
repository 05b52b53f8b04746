//! The frame around every page: header with navigation by role, main landmark, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::{SignOutButton, Viewer};

#[component]
pub fn Header() -> impl IntoView {
    let viewer = crate::auth::use_viewer();
    view! {
        <header class="site-header">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <a class="brand" href="/">"Portico"</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let v = viewer.await.ok().flatten();
                    view! { <Navigation viewer=v/> }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn Navigation(viewer: Option<Viewer>) -> impl IntoView {
    match viewer {
        None => view! {
            <nav aria-label="Main">
                <ul><li><A href="/sign-in">"Sign in"</A></li></ul>
            </nav>
        }
        .into_any(),
        Some(v) => view! {
            <nav aria-label="Main">
                <ul>
                    {v.can_use_support.then(|| view! { <li><A href="/support">"Support"</A></li> })}
                    {v.can_use_billing.then(|| view! { <li><A href="/billing">"Billing"</A></li> })}
                    {v.staff_role.is_some().then(|| view! { <li><A href="/staff">"Staff"</A></li> })}
                    {if v.staff_role.is_some() {
                        Some(view! { <li><A href="/staff/search">"Search"</A></li> })
                    } else if v.can_use_support {
                        Some(view! { <li><A href="/support/search">"Search"</A></li> })
                    } else {
                        None
                    }}
                    <li><A href="/account">"Account"</A></li>
                </ul>
            </nav>
            <div class="who">
                <span class="who-name">{v.name}</span>
                {v.organization_name.map(|o| view! { <span class="who-org">{o}</span> })}
                <SignOutButton/>
            </div>
        }
        .into_any(),
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Portico — support and billing for your subscription."</p>
        </footer>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Go to the start page"</a></p>
        </section>
    }
}
