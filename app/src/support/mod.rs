//! Support Portal.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ErrorNotice;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportHomeData {
    pub organization_name: String,
    pub shared_tickets: bool,
    pub distribution_list: bool,
}

#[server(prefix = "/api", endpoint = "load_support_home")]
pub async fn load_support_home() -> Result<SupportHomeData, AppError> {
    use crate::auth::ssr::{app_state, require_actor};
    use entity::{contact, organization};
    use sea_orm::EntityTrait;

    async {
        let actor = require_actor()?;
        if !actor.can_use_support() {
            return Err(AppError::Forbidden);
        }
        let me = actor.customer().ok_or(AppError::Forbidden)?;
        let state = app_state()?;
        let org = organization::Entity::find_by_id(me.organization_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let contact = contact::Entity::find_by_id(me.contact_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(SupportHomeData {
            organization_name: org.name,
            shared_tickets: org.shared_tickets,
            distribution_list: contact.is_distribution_list,
        })
    }
    .await
}

#[component]
pub fn SupportHome() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_support_home());
    view! {
        <Title text="Support Portal"/>
        <h1>"Support Portal"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <p class="lead">"Technical support for " <strong>{d.organization_name}</strong> "."</p>
                        <p class="muted">{if d.shared_tickets {
                            "Your organization shares tickets: you see your colleagues' tickets too."
                        } else {
                            "You see the tickets you opened; colleagues see theirs."
                        }}</p>
                        {d.distribution_list.then(|| view! {
                            <p class="notice">"This is a shared (distribution list) account: everyone behind this address sees the same tickets."</p>
                        })}
                        <section aria-labelledby="tickets-title">
                            <h2 id="tickets-title">"Your tickets"</h2>
                            <p class="empty">"You have no tickets."</p>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
