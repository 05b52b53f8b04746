//! The Billing Portal home and the staff document list.

use super::*;

/// Documents with filters and pages; `base` is the page's own path, `item`
/// where one document opens.
#[component]
pub(super) fn DocumentTable(#[prop(into)] base: String, item: &'static str) -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        DocumentFilter {
            kind: q.get("kind").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            organization_id: q.get("organization_id").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
        }
    };
    let data = Resource::new(filter, list_documents);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    let f = filter();
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(list) => {
                            let link = {
                                let f = f.clone();
                                let base = base.clone();
                                move |page: u64| {
                                    format!(
                                        "{base}?kind={}&status={}&organization_id={}&page={page}",
                                        f.kind, f.status, f.organization_id
                                    )
                                }
                            };
                            let (prev, next) = (link(list.page.saturating_sub(1)), link(list.page + 1));
                            let has_prev = list.page > 0;
                            let has_next = list.page + 1 < list.pages;
                            view! {
                                <form method="get" action=base.clone() class="filters" role="search" aria-label="Filter documents">
                                    <div class="field">
                                        <label for="f-kind">"Type"</label>
                                        <select id="f-kind" name="kind">
                                            <option value="" selected=f.kind.is_empty()>"All"</option>
                                            {KINDS.iter().map(|(k, l)| view! { <option value=*k selected=f.kind == *k>{*l}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field">
                                        <label for="f-status">"Status"</label>
                                        <select id="f-status" name="status">
                                            <option value="" selected=f.status.is_empty()>"All"</option>
                                            {STATUSES.iter().filter(|(k, _)| list.staff || *k != "draft").map(|(k, l)| view! { <option value=*k selected=f.status == *k>{*l}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    {list.staff.then(|| view! {
                                        <div class="field">
                                            <label for="f-org">"Organization"</label>
                                            <select id="f-org" name="organization_id">
                                                <option value="">"All"</option>
                                                {list.organizations.iter().map(|(id, name)| {
                                                    let v = id.to_string();
                                                    let sel = f.organization_id == v;
                                                    view! { <option value=v selected=sel>{name.clone()}</option> }
                                                }).collect_view()}
                                            </select>
                                        </div>
                                    })}
                                    <button type="submit">"Filter"</button>
                                </form>
                                {if list.rows.is_empty() {
                                    view! { <p class="empty">"No documents match."</p> }.into_any()
                                } else {
                                    let staff = list.staff;
                                    view! {
                                        <table class="table">
                                            <caption class="visually-hidden">"Documents"</caption>
                                            <thead><tr>
                                                <th scope="col">"Document"</th>
                                                {staff.then(|| view! { <th scope="col">"Organization"</th> })}
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Issued"</th>
                                                <th scope="col">"Due / valid until"</th>
                                                <th scope="col" class="num">"Total"</th>
                                                <th scope="col" class="num">"Balance"</th>
                                            </tr></thead>
                                            <tbody>
                                                {list.rows.into_iter().map(|r| {
                                                    let href = format!("{item}/{}", r.id);
                                                    let name = format!("{} {}", label_of(KINDS, &r.kind), r.number);
                                                    view! {
                                                        <tr>
                                                            <th scope="row"><a href=href>{name}</a></th>
                                                            {staff.then(|| view! { <td>{r.organization.clone()}</td> })}
                                                            <td><StatusBadge status=r.status/></td>
                                                            <td>{r.issue_date}</td>
                                                            <td>{r.due_date}</td>
                                                            <td class="num">{r.total}</td>
                                                            <td class="num">{r.balance}</td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <nav class="pager" aria-label="Pages">
                                    {has_prev.then(|| view! { <a href=prev rel="prev">"Previous"</a> })}
                                    <span>{format!("Page {} of {} ({} documents)", list.page + 1, list.pages.max(1), list.total_rows)}</span>
                                    {has_next.then(|| view! { <a href=next rel="next">"Next"</a> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// The Billing Portal's home; `children` come after the organization's
/// own sections (the support record, from the dashboards).
#[component]
pub fn BillingHome(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    let data = Resource::new(|| (), |_| load_billing_home());
    view! {
        <Title text="Billing Portal"/>
        <h1>"Billing Portal"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => view! {
                        <p class="lead">"Billing for " <strong>{d.organization_name}</strong> "."</p>
                        <section aria-labelledby="sub-title" class="card">
                            <h2 id="sub-title">"Your subscription"</h2>
                            {match d.subscription {
                                None => view! { <p class="empty">"No active subscription."</p> }.into_any(),
                                Some(s) => view! {
                                    <dl class="facts">
                                        <dt>"Program and level"</dt><dd>{format!("{} {}", s.program, s.level)}</dd>
                                        <dt>"Term"</dt><dd>{format!("{} to {}", s.term_start, s.term_end)}</dd>
                                        <dt>"Renewal date"</dt><dd>{s.renewal_date}</dd>
                                        <dt>"Status"</dt><dd>{s.status}</dd>
                                        <dt>"Covered servers"</dt><dd>{if s.servers.is_empty() { "None declared".to_string() } else { s.servers.join("; ") }}</dd>
                                    </dl>
                                }.into_any(),
                            }}
                        </section>
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
                    }.into_any(),
                }
            })}
        </Suspense>
        {children.map(|c| c())}
        <section aria-labelledby="docs-title">
            <h2 id="docs-title">"Invoices, estimates and proposals"</h2>
            <DocumentTable base="/billing" item="/billing/documents"/>
        </section>
    }
}

#[component]
pub fn StaffBillingPage() -> impl IntoView {
    view! {
        <Title text="Billing"/>
        <h1>"Invoices, estimates and proposals"</h1>
        <p class="actions">
            <a class="button primary" href="/staff/billing/new?kind=invoice">"New invoice"</a>
            <a class="button" href="/staff/billing/new?kind=estimate">"New estimate"</a>
            <a class="button" href="/staff/billing/new?kind=proposal">"New proposal"</a>
        </p>
        <DocumentTable base="/staff/billing" item="/staff/billing"/>
    }
}
