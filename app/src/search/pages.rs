//! The search page: the Staff Console's (every kind the role may open) and
//! the Support Portal's (the person's own visible tickets). A plain GET
//! form, so it reads the same with JavaScript off, and links can be shared.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{search, Hit, SearchQuery, SearchResults, KINDS};
use crate::components::{query_value, ErrorNotice};
use crate::support::TICKET_STATUSES;

#[component]
pub fn StaffSearchPage() -> impl IntoView {
    view! { <SearchPage base="/staff/search"/> }
}

#[component]
pub fn SupportSearchPage() -> impl IntoView {
    view! { <SearchPage base="/support/search"/> }
}

fn link(base: &str, q: &SearchQuery, kind: &str, page: usize) -> String {
    let mut s = format!("{base}?q={}", query_value(&q.q));
    if !kind.is_empty() {
        s.push_str(&format!("&kind={}", query_value(kind)));
    }
    if !q.status.is_empty() {
        s.push_str(&format!("&status={}", query_value(&q.status)));
    }
    if page > 1 {
        s.push_str(&format!("&page={page}"));
    }
    s
}

#[component]
fn SearchPage(base: &'static str) -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let q = query.read();
        SearchQuery {
            q: q.get("q").unwrap_or_default(),
            kind: q.get("kind").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
        }
    };
    let data = Resource::new(asked, |q| search(q.q, q.kind, q.status, q.page));
    view! {
        <Title text="Search"/>
        <h1>"Search"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                let q = asked();
                match data.await {
                    Err(e) => view! {
                        <SearchForm base q=q.clone() results=None error=Some(e.clone())/>
                    }.into_any(),
                    Ok(r) => view! {
                        <SearchForm base q=q.clone() results=Some(r.clone()) error=None/>
                        <Results base r/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SearchForm(
    base: &'static str,
    q: SearchQuery,
    results: Option<SearchResults>,
    error: Option<crate::error::AppError>,
) -> impl IntoView {
    let field_error = |name: &str| error.as_ref().and_then(|e| e.field_message(name));
    let (q_error, kind_error, status_error, page_error) = (
        field_error("q"),
        field_error("kind"),
        field_error("status"),
        field_error("page"),
    );
    // An error about no field (no access, the server) is said above the form.
    let general = error.clone().filter(|_| {
        q_error.is_none() && kind_error.is_none() && status_error.is_none() && page_error.is_none()
    });
    // The kind and the page come from links, not from the form: what is wrong
    // is said above it, with the way back.
    let from_link = kind_error
        .map(|m| (m, link(base, &q, "", 1), "Search everything instead"))
        .or_else(|| page_error.map(|m| (m, link(base, &q, &q.kind, 1), "Go to the first page")));
    let staff = results
        .as_ref()
        .map(|r| r.staff)
        .unwrap_or(base.starts_with("/staff"));
    let scope = results
        .as_ref()
        .map(|r| r.scope.clone())
        .unwrap_or_default();
    let hint = if staff && !scope.is_empty() {
        format!("Every word must occur. Searches {scope}.")
    } else if staff {
        "Every word must occur.".to_string()
    } else {
        "Every word must occur. Searches the tickets you can open: subjects, conversations, who asked.".to_string()
    };
    let kinds = results
        .as_ref()
        .map(|r| r.kinds.clone())
        .unwrap_or_default();
    // Billing clerks search no tickets: no ticket status to choose.
    let show_status = !staff || kinds.is_empty() || kinds.iter().any(|k| k.key == "ticket");
    view! {
        {general.map(|e| view! { <ErrorNotice error=e/> })}
        {from_link.map(|(m, href, what)| view! {
            <p class="notice" role="alert">{m}" "<a href=href>{what}</a></p>
        })}
        <form method="get" action=base role="search" aria-label="Search" class="search-form">
            <div class="field">
                <label for="s-q">"Search for"</label>
                <input id="s-q" type="search" name="q" value=q.q.clone() maxlength="200"
                    aria-describedby="s-q-hint" aria-invalid=q_error.is_some().then_some("true")
                    autocomplete="off"/>
                <p id="s-q-hint" class="hint">{hint}</p>
                {q_error.map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            </div>
            {(kinds.len() > 1).then(|| view! {
                <div class="field">
                    <label for="s-kind">"In"</label>
                    <select id="s-kind" name="kind">
                        <option value="" selected=q.kind.is_empty()>"Everything"</option>
                        {kinds.iter().map(|k| view! {
                            <option value=k.key.clone() selected=q.kind == k.key>{k.label.clone()}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
            {show_status.then(|| view! {
            <div class="field">
                <label for="s-status">"Ticket status"</label>
                <select id="s-status" name="status" aria-describedby="s-status-hint"
                    aria-invalid=status_error.is_some().then_some("true")>
                    <option value="" selected=q.status.is_empty()>"Any"</option>
                    {TICKET_STATUSES.iter().map(|(k, l)| view! {
                        <option value=*k selected=q.status == *k>{*l}</option>
                    }).collect_view()}
                </select>
                {staff.then(|| view! { <p id="s-status-hint" class="hint">"A status searches tickets only."</p> })}
                {status_error.clone().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            </div>
            })}
            <button type="submit" class="primary">"Search"</button>
        </form>
    }
}

#[component]
fn Results(base: &'static str, r: SearchResults) -> impl IntoView {
    let q = r.query.clone();
    if q.q.trim().is_empty() {
        let what = if r.staff {
            format!("Type a few words to search {}.", r.scope)
        } else {
            "Type a few words to search your tickets.".to_string()
        };
        return view! { <p class="empty">{what}</p> }.into_any();
    }
    let kinds = r.kinds.clone();
    let tabs = (kinds.len() > 1).then(|| {
        let all: u64 = kinds.iter().map(|k| k.count).sum();
        let chosen = q.kind.clone();
        view! {
            <nav class="subnav" aria-label="What to search">
                <ul>
                    <li><a href=link(base, &q, "", 1) aria-current=chosen.is_empty().then_some("page")>
                        {format!("Everything ({all})")}</a></li>
                    {kinds.iter().map(|k| view! {
                        <li><a href=link(base, &q, &k.key, 1) aria-current=(chosen == k.key).then_some("page")>
                            {format!("{} ({})", k.label, k.count)}</a></li>
                    }).collect_view()}
                </ul>
            </nav>
        }
    });
    let count = match r.total {
        0 => format!("Nothing found for “{}”.", q.q.trim()),
        1 => "1 result".to_string(),
        n => format!("{n} results"),
    };
    let kind_label = KINDS
        .iter()
        .find(|(k, _)| *k == q.kind)
        .map(|(_, l)| format!(" in {}", l.to_lowercase()))
        .unwrap_or_default();
    let prev = (r.page > 1).then(|| link(base, &q, &q.kind, r.page - 1));
    let next = (r.page < r.pages).then(|| link(base, &q, &q.kind, r.page + 1));
    let capped = r.page == r.pages && r.total as usize > r.pages * super::PAGE_SIZE;
    view! {
        {tabs}
        {r.notice.clone().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        <p role="status" class="muted">{if r.total == 0 { count } else { format!("{count}{kind_label}") }}</p>
        {(r.total == 0).then(|| view! {
            <p class="empty">"Try fewer words, or another spelling. Every word must occur."</p>
        })}
        <ol class="search-results">
            {r.hits.into_iter().map(|h| view! { <HitItem h/> }).collect_view()}
        </ol>
        {capped.then(|| view! { <p class="muted">"Results stop here: add a word to narrow the search."</p> })}
        {(prev.is_some() || next.is_some()).then(|| view! {
            <nav class="pager" aria-label="Result pages">
                {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
                <span>{format!("Page {} of {}", r.page, r.pages)}</span>
                {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
            </nav>
        })}
    }
    .into_any()
}

#[component]
fn HitItem(h: Hit) -> impl IntoView {
    view! {
        <li class="search-hit">
            <p class="hit-title"><span class="badge">{h.kind}</span>" "<a href=h.href>{h.title}</a></p>
            {(!h.facts.is_empty()).then(|| view! {
                <p class="muted hit-facts">{h.facts.iter().filter(|f| !f.is_empty()).cloned().collect::<Vec<_>>().join(" · ")}</p>
            })}
            {(!h.snippet.is_empty()).then(|| view! {
                <p class="hit-snippet">
                    {h.internal.then(|| view! { <span class="badge internal">"Internal note"</span>" " })}
                    {h.snippet.into_iter().map(|p| if p.mark {
                        view! { <mark>{p.text}</mark> }.into_any()
                    } else {
                        view! { <span>{p.text}</span> }.into_any()
                    }).collect_view()}
                </p>
            })}
        </li>
    }
}
