//! Billing Portal.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ErrorNotice;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingHomeData {
    pub organization_name: String,
    pub contacts: Vec<ContactRow>,
}

#[server(prefix = "/api", endpoint = "load_billing_home")]
pub async fn load_billing_home() -> Result<BillingHomeData, AppError> {
    use crate::auth::ssr::{app_state, require_actor};
    use entity::{contact, organization};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    async {
        let actor = require_actor()?;
        if !actor.can_use_billing() {
            return Err(AppError::Forbidden);
        }
        // The organization comes from the session, never from the request.
        let org_id = actor.customer().ok_or(AppError::Forbidden)?.organization_id;
        let state = app_state()?;
        let org = organization::Entity::find_by_id(org_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let contacts = contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(org_id))
            .filter(contact::Column::Active.eq(true))
            .order_by_desc(contact::Column::IsMain)
            .order_by_asc(contact::Column::Name)
            .all(&state.db)
            .await?
            .into_iter()
            .map(|c| {
                let mut roles = Vec::new();
                if c.is_main {
                    roles.push("Main Contact".to_string());
                }
                if c.is_administrative {
                    roles.push("Administrative Contact".to_string());
                }
                if c.is_technical {
                    roles.push("Technical Contact".to_string());
                }
                ContactRow {
                    name: c.name,
                    email: c.email,
                    roles,
                }
            })
            .collect();
        Ok(BillingHomeData {
            organization_name: org.name,
            contacts,
        })
    }
    .await
}

#[component]
pub fn BillingHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_billing_home());
    view! {
        <Title text="Billing Portal"/>
        <h1>"Billing Portal"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <p class="lead">"Billing for " <strong>{d.organization_name}</strong> "."</p>
                        <section aria-labelledby="contacts-title">
                            <h2 id="contacts-title">"Your contacts"</h2>
                            <p><a href="/billing/organization">"Manage contacts, servers and the subscription"</a></p>
                            <table class="table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Roles"</th></tr></thead>
                                <tbody>
                                    {d.contacts.into_iter().map(|c| view! {
                                        <tr><th scope="row">{c.name}</th><td>{c.email}</td><td>{c.roles.join(", ")}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <section aria-labelledby="docs-title">
                            <h2 id="docs-title">"Invoices, estimates and proposals"</h2>
                            <p class="empty">"No documents yet."</p>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
