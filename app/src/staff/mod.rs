//! Staff Console.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ErrorNotice;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRow {
    pub id: i32,
    pub name: String,
    pub main_contact: Option<String>,
    pub contacts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffDashboard {
    /// The parts of the console this person's role opens, as (path, label).
    pub sections: Vec<(String, String)>,
    /// One page of organizations, by name (those starting with `org` when given).
    pub organizations: Vec<OrganizationRow>,
    /// The organization (id) after which the next page starts, when there is one.
    pub next: Option<String>,
    pub organization_count: u64,
    pub staff_members: u64,
    /// This server process's figures, for admins.
    pub server: Option<ServerFigures>,
    /// Which dashboards this person's role opens.
    pub support_figures: bool,
    pub business_figures: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFigures {
    /// Live ticket pages this process is serving.
    pub live_pages: u64,
    /// Heap memory in use, in bytes (when the platform tells).
    pub heap_bytes: Option<u64>,
}

/// Organizations a dashboard page lists.
pub const ORGANIZATIONS_PAGE: u64 = 25;

#[server(prefix = "/api", endpoint = "load_staff_dashboard")]
pub async fn load_staff_dashboard(
    #[server(default)] org: String,
    #[server(default)] after: String,
) -> Result<StaffDashboard, AppError> {
    use crate::core::authz::{self, Capability};
    use crate::core::web::{app_state, require_staff};
    use entity::{contact, organization, user};
    use sea_orm::sea_query::ExprTrait;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

    async {
        let actor = require_staff(Capability::StaffConsole)?;
        let state = app_state()?;
        let db = &state.db;
        let organization_count = organization::Entity::find().count(db).await?;
        // A page by name, read in the name index's order (never all of them).
        let mut q = organization::Entity::find();
        let prefix = org.trim();
        if !prefix.is_empty() {
            q = q.filter(crate::core::db::starts_with_any_case(
                organization::Column::Name,
                prefix,
            ));
        }
        // After the organization `after` (by id): by name, then id, so equal
        // names neither repeat nor vanish between pages.
        if let Ok(id) = after.trim().parse::<i32>() {
            if let Some(o) = organization::Entity::find_by_id(id).one(db).await? {
                use sea_orm::sea_query::Expr;
                q = q.filter(
                    Expr::tuple([
                        Expr::col((organization::Entity, organization::Column::Name)),
                        Expr::col((organization::Entity, organization::Column::Id)),
                    ])
                    .gt(Expr::tuple([Expr::val(o.name), Expr::val(o.id)])),
                );
            }
        }
        let mut orgs = q
            .order_by_asc(organization::Column::Name)
            .order_by_asc(organization::Column::Id)
            .limit(ORGANIZATIONS_PAGE + 1)
            .all(db)
            .await?;
        let next = (orgs.len() as u64 > ORGANIZATIONS_PAGE).then(|| {
            orgs.truncate(ORGANIZATIONS_PAGE as usize);
            orgs.last().map(|o| o.id.to_string()).unwrap_or_default()
        });
        let contacts = contact::Entity::find()
            .filter(contact::Column::OrganizationId.is_in(orgs.iter().map(|o| o.id)))
            .filter(contact::Column::Active.eq(true))
            .all(db)
            .await?;
        let organizations = orgs
            .into_iter()
            .map(|o| OrganizationRow {
                id: o.id,
                main_contact: contacts
                    .iter()
                    .find(|c| c.organization_id == o.id && c.is_main)
                    .map(|c| c.name.clone()),
                contacts: contacts
                    .iter()
                    .filter(|c| c.organization_id == o.id)
                    .count() as u64,
                name: o.name,
            })
            .collect();
        let staff_members = user::Entity::find()
            .filter(user::Column::StaffRole.is_not_null())
            .filter(user::Column::Active.eq(true))
            .count(db)
            .await?;
        let sections = SECTIONS
            .iter()
            .filter(|(path, _)| match authz::lookup(path) {
                authz::Lookup::Listed(gate, _) => gate.admit(Some(&actor)).is_ok(),
                _ => false,
            })
            .map(|(p, l)| (p.to_string(), l.to_string()))
            .collect();
        let server =
            authz::actor_allows(&actor, Capability::ServerFigures).then(|| ServerFigures {
                live_pages: state.live.open_pages() as u64,
                heap_bytes: crate::core::state::heap_in_use(),
            });
        Ok(StaffDashboard {
            support_figures: authz::actor_allows(&actor, Capability::SupportFigures),
            business_figures: authz::actor_allows(&actor, Capability::BusinessFigures),
            sections,
            organizations,
            next,
            organization_count,
            staff_members,
            server,
        })
    }
    .await
}

/// The console's parts; each is shown to the roles its page's gate admits.
#[cfg(feature = "ssr")]
const SECTIONS: &[(&str, &str)] = &[
    ("/staff/tickets", "Tickets"),
    ("/staff/canned", "Saved replies"),
    ("/staff/inbound", "Mail held for review"),
    ("/staff/orders/new", "Process an Order Form"),
    ("/staff/billing", "Invoices, estimates and proposals"),
    ("/staff/queue", "Requests from customers"),
    ("/staff/catalog", "Programs and levels"),
    ("/staff/mail", "Outgoing mail"),
];

#[component]
pub fn StaffHome() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let params = move || {
        let q = query.read();
        (
            q.get("org").unwrap_or_default(),
            q.get("after").unwrap_or_default(),
        )
    };
    let period = move || query.read().get("period").unwrap_or_default();
    let data = Resource::new(params, |(org, after)| load_staff_dashboard(org, after));
    view! {
        <Title text="Staff Console"/>
        <h1>"Staff Console"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (org, after) = params();
                match data.await {
                    Ok(o) => view! { <Overview overview=o org=org paged=!after.is_empty() period=period()/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(overview: StaffDashboard, org: String, paged: bool, period: String) -> impl IntoView {
    use crate::dashboards::{BusinessSection, SupportSection};
    let count = overview.organization_count;
    // Paging the organizations keeps the dashboard's period, and the other way round.
    let period_q = crate::components::query_value(&period);
    let next = overview.next.clone().map(|id| {
        format!(
            "/staff?org={}&after={id}&period={period_q}",
            crate::components::query_value(&org)
        )
    });
    let first = paged.then(|| {
        format!(
            "/staff?org={}&period={period_q}",
            crate::components::query_value(&org)
        )
    });
    let searching = !org.is_empty();
    view! {
        <nav aria-label="Staff" class="subnav">
            <ul>
                {overview.sections.into_iter().map(|(href, label)| view! {
                    <li><a href=href>{label}</a></li>
                }).collect_view()}
            </ul>
        </nav>
        <ul class="stats" aria-label="At a glance">
            <li><strong>{count}</strong>" customer organizations"</li>
            <li><strong>{overview.staff_members}</strong>" staff members"</li>
            {overview.server.map(|s| view! {
                <li><strong>{s.live_pages}</strong>" live ticket pages open on this server"</li>
                {s.heap_bytes.map(|b| view! {
                    <li><strong>{format!("{:.1} MB", b as f64 / 1_048_576.0)}</strong>" memory in use by this server"</li>
                })}
            })}
        </ul>
        {overview.support_figures.then(|| view! { <SupportSection period=period.clone() org=org.clone()/> })}
        {overview.business_figures.then(|| view! { <BusinessSection/> })}
        <section aria-labelledby="orgs-title">
            <h2 id="orgs-title">"Organizations"</h2>
            <form method="get" action="/staff" class="filters" role="search" aria-label="Find an organization">
                {(!period.is_empty()).then(|| view! { <input type="hidden" name="period" value=period.clone()/> })}
                <div class="field">
                    <label for="org-name">"Name"</label>
                    <input id="org-name" type="search" name="org" value=org.clone() aria-describedby="org-name-hint" autocomplete="off"/>
                    <p id="org-name-hint" class="hint">"The name, or how it starts."</p>
                </div>
                <button type="submit">"Find"</button>
            </form>
            {if overview.organizations.is_empty() {
                if searching && !paged {
                    view! { <p class="empty" role="status">{format!("No organization's name starts with “{org}”.")}</p> }.into_any()
                } else {
                    view! { <p class="empty">"No customer organizations yet. They appear here once an order is processed."</p> }.into_any()
                }
            } else {
                view! {
                    <table class="table">
                        <caption class="visually-hidden">"Customer organizations"</caption>
                        <thead><tr><th scope="col">"Organization"</th><th scope="col">"Main Contact"</th><th scope="col">"Active contacts"</th></tr></thead>
                        <tbody>
                            {overview.organizations.into_iter().map(|o| view! {
                                <tr>
                                    <th scope="row"><a href=format!("/staff/organizations/{}", o.id)>{o.name}</a></th>
                                    <td>{o.main_contact.unwrap_or_else(|| "—".into())}</td>
                                    <td>{o.contacts}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <nav class="pager" aria-label="Pages of organizations">
                {first.map(|href| view! { <a href=href>"First page"</a> })}
                {next.map(|href| view! { <a href=href rel="next">"Next"</a> })}
            </nav>
        </section>
    }
}
