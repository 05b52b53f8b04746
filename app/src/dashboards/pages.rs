//! The dashboards' sections: support and business on the Staff Console's
//! home (by role), the support record on the Main Contact's Billing Portal.

use leptos::prelude::*;

use super::chart::{BarChart, Series};
use super::{
    duration_text, Attainment, BusinessDashboard, CustomerRecord, LiveFigures, Period, Spread,
    SupportDashboard, SupportFigures, AGEING_BUCKETS, DUE_SOON_MINUTES,
};
use crate::components::ErrorNotice;

fn csv_link(table: &str, period: Option<Period>) -> String {
    match period {
        Some(p) => format!("/staff/figures.csv?table={table}&period={}", p.key()),
        None => format!("/staff/figures.csv?table={table}"),
    }
}

#[component]
fn CsvLink(table: &'static str, period: Option<Period>, what: &'static str) -> impl IntoView {
    view! {
        <p class="csv"><a href=csv_link(table, period) download="">{format!("Download {what} (CSV)")}</a></p>
    }
}

fn spread_cell(v: Option<i64>) -> String {
    v.map(duration_text).unwrap_or_else(|| "—".into())
}

/// Support figures for the period named `period` (the page's `?period=`);
/// `org` is the organization search the page keeps across periods.
#[component]
pub fn SupportSection(period: String, #[prop(optional)] org: String) -> impl IntoView {
    let period = Period::parse(&period);
    let data = Resource::new(
        move || period,
        |p| super::load_support_dashboard(p.key().to_string()),
    );
    view! {
        <section aria-labelledby="support-figures" class="dashboard">
            <h2 id="support-figures">"Support"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading figures…"</p> }>
                {move || {
                    let org = org.clone();
                    Suspend::new(async move {
                        match data.await {
                            Ok(d) => view! { <SupportBody dashboard=d org=org/> }.into_any(),
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn SupportBody(dashboard: SupportDashboard, org: String) -> impl IntoView {
    let f = dashboard.figures;
    let period = f.period;
    let last = f.to - chrono::Duration::days(1);
    let periods = Period::ALL
        .into_iter()
        .map(|p| {
            let current = (p == period).then_some("page");
            let href = if org.is_empty() {
                format!("/staff?period={}", p.key())
            } else {
                format!(
                    "/staff?period={}&org={}",
                    p.key(),
                    crate::components::query_value(&org)
                )
            };
            view! { <li><a href=href aria-current=current>{p.label()}</a></li> }
        })
        .collect_view();
    let as_of = dashboard
        .computed_at
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    view! {
        <LiveNumbers initial=dashboard.live/>
        <nav aria-label="Period" class="subnav"><ul>{periods}</ul></nav>
        <p class="muted">
            {format!("{}: {} to {}. Figures as of ", period.label(), f.from, last)}
            <time datetime=dashboard.computed_at.to_rfc3339()>{as_of}</time>
            "; computed again every few minutes."
        </p>
        <AttainmentTable title="SLA attainment by level" first="Level" rows=f.by_level.clone() csv="sla-by-level" period=period/>
        <AttainmentTable title="SLA attainment by severity" first="Severity" rows=f.by_severity.clone() csv="sla-by-severity" period=period/>
        <DurationsTable figures=f.clone()/>
        <Flow figures=f.clone()/>
        <LoadTable figures=f/>
    }
}

/// The numbers that change by the minute, read again every 15 seconds
/// while the page is open (shown as served when JavaScript is off).
#[island]
fn LiveNumbers(initial: LiveFigures) -> impl IntoView {
    let live = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            loop {
                crate::components::sleep_ms(15_000).await;
                if let Ok(next) = super::load_live_figures().await {
                    live.set(next);
                }
            }
        });
    });
    view! {
        <ul class="stats" aria-label="Now" aria-live="polite">
            <li><strong data-live="open">{move || live.get().open.to_string()}</strong>" open tickets"</li>
            <li><a href="/staff/tickets?queue=unassigned"><strong data-live="unassigned">{move || live.get().unassigned.to_string()}</strong>" unassigned"</a></li>
            <li><a href="/staff/tickets?queue=breaching"><strong data-live="overdue">{move || live.get().overdue.to_string()}</strong>" past an SLA target"</a></li>
            <li><strong data-live="due-soon">{move || live.get().due_soon.to_string()}</strong>{format!(" due within {DUE_SOON_MINUTES} minutes")}</li>
        </ul>
    }
}

#[component]
fn AttainmentTable(
    title: &'static str,
    first: &'static str,
    rows: Vec<Attainment>,
    csv: &'static str,
    period: Period,
) -> impl IntoView {
    let id = csv;
    view! {
        <h3 id=id>{title}</h3>
        {if rows.is_empty() {
            view! { <p class="empty">"No SLA clocks were met, breached or running in this period."</p> }.into_any()
        } else {
            view! {
                <table class="table" aria-labelledby=id>
                    <thead><tr>
                        <th scope="col">{first}</th><th scope="col">"Target"</th>
                        <th scope="col" class="num">"Met"</th><th scope="col" class="num">"Breached"</th>
                        <th scope="col" class="num">"Attainment"</th><th scope="col" class="num">"Running now"</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| {
                            let pct = r.percent().map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into());
                            let label = match r.link.clone() {
                                Some(href) => view! { <a href=href>{r.label.clone()}</a> }.into_any(),
                                None => view! { <span>{r.label.clone()}</span> }.into_any(),
                            };
                            view! {
                                <tr>
                                    <th scope="row">{label}</th><td>{r.target}</td>
                                    <td class="num">{r.met}</td><td class="num">{r.breached}</td>
                                    <td class="num">{pct}</td><td class="num">{r.running}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <CsvLink table=csv period=Some(period) what=title/>
    }
}

#[component]
fn DurationsTable(figures: SupportFigures) -> impl IntoView {
    let row = |target: String, b: Spread, c: Spread| {
        view! {
            <tr>
                <th scope="row">{target}</th><td class="num">{b.count}</td>
                <td class="num">{spread_cell(b.median_secs)}</td><td class="num">{spread_cell(b.p90_secs)}</td>
                <td class="num">{spread_cell(c.median_secs)}</td><td class="num">{spread_cell(c.p90_secs)}</td>
            </tr>
        }
    };
    view! {
        <h3 id="response-times">"Response and resolution times"</h3>
        <p class="hint">"Business time is the SLA's own clock: the level's business hours, without time spent waiting on the customer. Calendar time runs from the ticket's opening."</p>
        <table class="table" aria-labelledby="response-times">
            <thead><tr>
                <th scope="col">"Target"</th><th scope="col" class="num">"Met"</th>
                <th scope="col" class="num">"Median, business"</th><th scope="col" class="num">"90th percentile, business"</th>
                <th scope="col" class="num">"Median, calendar"</th><th scope="col" class="num">"90th percentile, calendar"</th>
            </tr></thead>
            <tbody>
                {figures.durations.into_iter().map(|d| row(d.target, d.business, d.calendar)).collect_view()}
            </tbody>
        </table>
        <CsvLink table="response-times" period=Some(figures.period) what="response times"/>
    }
}

#[component]
fn Flow(figures: SupportFigures) -> impl IntoView {
    let daily = figures
        .buckets
        .first()
        .is_some_and(|b| (b.to - b.from).num_days() == 1);
    let labels: Vec<String> = figures
        .buckets
        .iter()
        .map(|b| b.from.format("%m-%d").to_string())
        .collect();
    // The tickets a bar counts: opened, or solved, on its days.
    let days_link = |filter: &str, b: &super::Bucket| {
        let last = b.to - chrono::Duration::days(1);
        let days = if last == b.from {
            b.from.to_string()
        } else {
            format!("{}..{last}", b.from)
        };
        format!("/staff/tickets?queue=all&{filter}={days}")
    };
    let opened_link = |b: &super::Bucket| days_link("opened", b);
    let opened = Series {
        name: "opened",
        class: "s0",
        values: figures.buckets.iter().map(|b| b.opened).collect(),
        links: figures
            .buckets
            .iter()
            .map(|b| (b.opened > 0).then(|| opened_link(b)))
            .collect(),
    };
    let solved = Series {
        name: "solved",
        class: "s1",
        values: figures.buckets.iter().map(|b| b.solved).collect(),
        links: figures
            .buckets
            .iter()
            .map(|b| (b.solved > 0).then(|| days_link("solved", b)))
            .collect(),
    };
    let backlog = Series {
        name: "open at the end",
        class: "s2",
        values: figures.buckets.iter().map(|b| b.backlog).collect(),
        links: Vec::new(),
    };
    let links: Vec<(String, String)> = figures
        .buckets
        .iter()
        .map(|b| (opened_link(b), days_link("solved", b)))
        .collect();
    let per = if daily { "day" } else { "week" };
    let reopen = if figures.solved == 0 {
        "No tickets were solved in this period.".to_string()
    } else {
        format!(
            "Reopen rate: {} of the {} tickets solved in this period had been reopened ({:.1} %).",
            figures.reopened,
            figures.solved,
            figures.reopened as f64 * 100.0 / figures.solved as f64
        )
    };
    let quiet = figures.opened == 0 && figures.solved == 0;
    let no_backlog = figures.buckets.iter().all(|b| b.backlog == 0);
    view! {
        <h3 id="flow">{format!("Opened and solved per {per}")}</h3>
        {if quiet {
            view! { <p class="empty">"No tickets were opened or solved in this period."</p> }.into_any()
        } else {
            view! {
                <BarChart summary=format!("Tickets opened and solved per {per}: {} opened and {} solved in all.", figures.opened, figures.solved)
                    labels=labels.clone() series=vec![opened, solved]/>
            }.into_any()
        }}
        <h3 id="backlog">"Backlog"</h3>
        {if no_backlog {
            view! { <p class="empty">"No tickets were open at any point of this period."</p> }.into_any()
        } else {
            view! { <BarChart summary=format!("Open tickets at the end of each {per}.") labels=labels series=vec![backlog]/> }.into_any()
        }}
        <p>{reopen}</p>
        <details>
            <summary>{format!("The numbers per {per}")}</summary>
            <table class="table" aria-labelledby="flow">
                <thead><tr>
                    <th scope="col">{if daily { "Day" } else { "Week from" }}</th>
                    <th scope="col" class="num">"Opened"</th><th scope="col" class="num">"Solved"</th>
                    <th scope="col" class="num">"Open at the end"</th>
                </tr></thead>
                <tbody>
                    {figures.buckets.into_iter().zip(links).map(|(b, (opened_href, solved_href))| {
                        // A count links to its tickets (none for nothing).
                        let cell = |n: u64, what: &str, href: String| {
                            if n == 0 {
                                view! { <span>"0"</span> }.into_any()
                            } else {
                                let label = format!("{n} tickets {what} from {}", b.from);
                                view! { <a href=href aria-label=label>{n}</a> }.into_any()
                            }
                        };
                        view! {
                            <tr><th scope="row">{b.from.to_string()}</th>
                                <td class="num">{cell(b.opened, "opened", opened_href)}</td>
                                <td class="num">{cell(b.solved, "solved", solved_href)}</td>
                                <td class="num">{b.backlog}</td></tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </details>
        <CsvLink table="opened-solved" period=Some(figures.period) what="opened and solved"/>
    }
}

#[component]
fn LoadTable(figures: SupportFigures) -> impl IntoView {
    view! {
        <h3 id="agent-load">"Open tickets per assignee"</h3>
        {if figures.load.is_empty() {
            view! { <p class="empty">"No open tickets."</p> }.into_any()
        } else {
            view! {
                <table class="table" aria-labelledby="agent-load">
                    <thead><tr><th scope="col">"Assignee"</th><th scope="col" class="num">"Open tickets"</th></tr></thead>
                    <tbody>
                        {figures.load.into_iter().map(|l| {
                            let name = match l.link {
                                Some(href) => view! { <a href=href>{l.name}</a> }.into_any(),
                                None => view! { <span>{l.name}</span> }.into_any(),
                            };
                            view! { <tr><th scope="row">{name}</th><td class="num">{l.open}</td></tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <CsvLink table="agent-load" period=None what="open tickets per assignee"/>
    }
}

#[component]
pub fn BusinessSection() -> impl IntoView {
    let data = Resource::new(|| (), |_| super::load_business_dashboard());
    view! {
        <section aria-labelledby="business-figures" class="dashboard">
            <h2 id="business-figures">"Business"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading figures…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <BusinessBody dashboard=d/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn amounts_text(a: &[super::Amount]) -> String {
    if a.is_empty() {
        "—".into()
    } else {
        a.iter()
            .map(|x| x.text.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[component]
fn BusinessBody(dashboard: BusinessDashboard) -> impl IntoView {
    let f = dashboard.figures;
    let as_of = dashboard
        .computed_at
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let mut from = 0;
    let renewals = f
        .renewals
        .iter()
        .map(|w| {
            let label = if from == 0 {
                format!("Within {} days", w.days)
            } else {
                format!("In {} to {} days", from + 1, w.days)
            };
            from = w.days;
            view! { <tr><th scope="row">{label}</th><td class="num">{w.count}</td><td class="num">{amounts_text(&w.value)}</td></tr> }
        })
        .collect_view();
    view! {
        <p class="muted">"Figures as of "<time datetime=dashboard.computed_at.to_rfc3339()>{as_of}</time>"; computed again every few minutes. Values at the levels' list prices, per year."</p>
        <h3 id="renewals">"Renewals due"</h3>
        <table class="table" aria-labelledby="renewals">
            <thead><tr><th scope="col">"Term ends"</th><th scope="col" class="num">"Subscriptions"</th><th scope="col" class="num">"Yearly value"</th></tr></thead>
            <tbody>{renewals}</tbody>
        </table>
        <CsvLink table="renewals" period=None what="renewals"/>
        <h3 id="recurring">"Recurring revenue"</h3>
        {if f.recurring.is_empty() {
            view! { <p class="empty">"No active subscriptions."</p> }.into_any()
        } else {
            view! {
                <table class="table" aria-labelledby="recurring">
                    <thead><tr><th scope="col">"Program"</th><th scope="col">"Level"</th><th scope="col" class="num">"Active subscriptions"</th><th scope="col" class="num">"Per year"</th></tr></thead>
                    <tbody>
                        {f.recurring.iter().map(|r| view! {
                            <tr><td>{r.program.clone()}</td><th scope="row">{r.level.clone()}</th><td class="num">{r.subscriptions}</td><td class="num">{r.yearly.text.clone()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <CsvLink table="recurring-revenue" period=None what="recurring revenue"/>
        <h3 id="ageing">"Invoices outstanding, by age"</h3>
        {if f.ageing.is_empty() {
            view! { <p class="empty">"Nothing is outstanding."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                <table class="table" aria-labelledby="ageing">
                    <thead><tr>
                        <th scope="col">"Currency"</th>
                        {AGEING_BUCKETS.iter().map(|b| view! { <th scope="col" class="num">{*b}</th> }).collect_view()}
                        <th scope="col" class="num">"Total"</th>
                    </tr></thead>
                    <tbody>
                        {f.ageing.iter().map(|a| view! {
                            <tr>
                                <th scope="row">{a.currency.clone()}</th>
                                {a.amounts.iter().zip(a.counts).enumerate().map(|(i, (m, n))| {
                                    let text = m.text.clone();
                                    let amount = if i == 0 || n == 0 {
                                        view! { <span>{text}</span> }.into_any()
                                    } else {
                                        view! { <a href="/staff/billing?kind=invoice&status=overdue">{text}</a> }.into_any()
                                    };
                                    view! { <td class="num">{amount}<br/><span class="muted">{format!("{n} invoice(s)")}</span></td> }
                                }).collect_view()}
                                <td class="num">{a.total.text.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        }}
        <CsvLink table="invoice-ageing" period=None what="invoice ageing"/>
        <h3 id="awaiting">"Awaiting the customer's answer"</h3>
        <table class="table" aria-labelledby="awaiting">
            <thead><tr><th scope="col">"Kind"</th><th scope="col" class="num">"Sent"</th><th scope="col" class="num">"Value"</th><th scope="col">"Waiting since"</th></tr></thead>
            <tbody>
                {f.awaiting.iter().map(|w| view! {
                    <tr>
                        <th scope="row"><a href=w.link.clone()>{w.kind.clone()}</a></th>
                        <td class="num">{w.count}</td><td class="num">{amounts_text(&w.value)}</td>
                        <td>{w.oldest.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <CsvLink table="awaiting-answer" period=None what="offers awaiting an answer"/>
    }
}

/// The Main Contact's view of their organization's support (nothing for
/// anyone else).
#[component]
pub fn CustomerRecordSection() -> impl IntoView {
    let data = Resource::new(|| (), |_| super::load_customer_record());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(r)) => {
                        let heading = format!("{}'s support", r.organization);
                        view! { <CustomerBody record=r heading=heading/> }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An organization's support record on its staff page (the route's `:id`).
#[component]
pub fn OrganizationRecordSection() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i32>().ok());
    let data = Resource::new(id, |id| async move {
        match id {
            Some(id) => super::load_organization_record(id).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(r)) => view! { <CustomerBody record=r heading="Support record".to_string()/> }.into_any(),
                    // The organization page above says what is wrong.
                    Ok(None) | Err(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CustomerBody(record: CustomerRecord, heading: String) -> impl IntoView {
    let decided = record.met + record.breached;
    let attainment = if decided == 0 {
        "No SLA target was met or breached this quarter yet.".to_string()
    } else {
        format!(
            "{} of {} SLA targets met on time this quarter ({:.1} %).",
            record.met,
            decided,
            record.met as f64 * 100.0 / decided as f64
        )
    };
    let open_total: u64 = record.open_by_severity.iter().map(|(_, n)| n).sum();
    view! {
        <section aria-labelledby="support-record" class="dashboard">
            <h2 id="support-record">{heading}</h2>
            <ul class="stats" aria-label="Support at a glance">
                <li><strong>{open_total}</strong>" open tickets"</li>
                <li><strong>{spread_cell(record.first_response.median_secs)}</strong>" median first response this quarter"</li>
                <li><strong>{spread_cell(record.resolution.median_secs)}</strong>" median resolution this quarter"</li>
                {record.renewal.clone().map(|(level, end)| view! {
                    <li><strong>{end.to_string()}</strong>{format!(" {level} term ends")}</li>
                })}
            </ul>
            <p>{attainment}</p>
            {(!record.open_by_severity.is_empty()).then(|| view! {
                <table class="table">
                    <caption>"Open tickets by severity"</caption>
                    <thead><tr><th scope="col">"Severity"</th><th scope="col" class="num">"Open"</th></tr></thead>
                    <tbody>
                        {record.open_by_severity.iter().map(|(s, n)| view! { <tr><th scope="row">{s.clone()}</th><td class="num">{*n}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            })}
            {record.tickets_link.clone().map(|href| view! { <p><a href=href>"Tickets open now"</a></p> })}
            {record.invoices_shown.then(|| view! { <h3>"Invoices due"</h3> })}
            {if !record.invoices_shown {
                ().into_any()
            } else if record.invoices_due.is_empty() {
                view! { <p class="empty">"Nothing is due."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {record.invoices_due.iter().map(|i| view! {
                            <li>
                                <a href=i.link.clone()>{i.number.clone()}</a>
                                {format!(": {} due {}", i.outstanding.text, i.due_date.map(|d| d.to_string()).unwrap_or_else(|| "on receipt".into()))}
                                {i.overdue.then(|| view! { " " <strong class="badge">"Overdue"</strong> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
