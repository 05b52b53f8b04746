//! The catalog page: programs and levels, with the level editor.

use super::*;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<SaveLevel>::new();
    let create = ServerAction::<CreateProgram>::new();
    let add_product = ServerAction::<CreateProduct>::new();
    let add_version = ServerAction::<AddProductVersion>::new();
    let catalog = Resource::new(
        move || {
            (
                save.version().get(),
                create.version().get(),
                add_product.version().get(),
                add_version.version().get(),
            )
        },
        |_| load_catalog(),
    );
    let save_error = last_error(save);
    let create_error = last_error(create);
    view! {
        <Title text="Catalog"/>
        <h1>"Programs, levels and products"</h1>
        {move || query.read().get("saved").is_some().then(|| view! { <p class="notice success" role="status">"Saved."</p> })}
        <FormError error=save_error/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(c) => {
                        let programs = c.programs.clone();
                        let products = c.products.clone();
                        let can_edit = c.can_edit;
                        view! {
                            {c.levels.is_empty().then(|| view! { <p class="empty">"No levels in the catalog yet."</p> })}
                            {c.levels.into_iter().map(|l| {
                                let edit = l.clone();
                                let programs = programs.clone();
                                let products = products.clone();
                                view! {
                                    <LevelCard l=l/>
                                    {can_edit.then(|| view! {
                                        <details class="card">
                                            <summary>{format!("Edit {} {}", edit.program, edit.name)}</summary>
                                            <LevelEditor action=save programs=programs products=products level=Some(edit) error=save_error/>
                                        </details>
                                    })}
                                }
                            }).collect_view()}
                            {can_edit.then(|| view! {
                                <details class="card">
                                    <summary>"Add a level"</summary>
                                    <LevelEditor action=save programs=programs.clone() products=products.clone() level=None error=save_error/>
                                </details>
                                <details class="card">
                                    <summary>"Add a program"</summary>
                                    <ActionForm action=create attr:class="stack" attr:novalidate=""><ReturnHere/>
                                        <FormError error=create_error/>
                                        <TextField name="name" label="Program name" error=field_of(create_error, "name") required=true/>
                                        <TextField name="description" label="Program description" error=field_of(create_error, "description")/>
                                        <button type="submit" class="primary">"Add program"</button>
                                    </ActionForm>
                                </details>
                            })}
                            <ProductsSection products=c.products can_edit=can_edit create=add_product add_version=add_version/>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub(super) fn LevelCard(l: LevelView) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby=format!("level-{}", l.id)>
            <h2 id=format!("level-{}", l.id)>{format!("{} — {}", l.program, l.name)}</h2>
            <dl class="facts">
                <dt>"Price"</dt><dd>{format!("{} per {}", l.price, if l.billing_period == "monthly" { "month" } else { "year" })}</dd>
                <dt>"Technical Contacts"</dt><dd>{l.max_technical_contacts}</dd>
                <dt>"Servers included"</dt><dd>{l.included_servers}</dd>
                <dt>"Products covered"</dt><dd>{if l.product_names.is_empty() { "none".to_string() } else { l.product_names.join(", ") }}</dd>
                <dt>"Repository channels"</dt><dd>{l.repository_channels}</dd>
                <dt>"Knowledge base"</dt><dd>{l.kb_tier}</dd>
                <dt>"Business hours"</dt><dd>{l.calendar}</dd>
                <dt>"Holidays"</dt><dd>{if l.holidays.is_empty() { "none".to_string() } else { l.holidays }}</dd>
            </dl>
            <table class="table">
                <caption>"SLA targets"</caption>
                <thead><tr><th scope="col">"Severity"</th><th scope="col">"First response"</th><th scope="col">"Next response"</th><th scope="col">"Resolution"</th><th scope="col">"Clock"</th></tr></thead>
                <tbody>
                    {l.sla.into_iter().map(|t| view! {
                        <tr>
                            <th scope="row">{Severity::from_number(t.severity).map(|s| format!("{} {}", t.severity, s.label())).unwrap_or_default()}</th>
                            <td>{minutes(t.first_response_minutes)}</td>
                            <td>{minutes(t.next_response_minutes)}</td>
                            <td>{minutes(t.resolution_minutes)}</td>
                            <td>{if t.around_the_clock { "24x7" } else { "Business hours" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The form that creates a level (`level` is `None`) or changes one.
#[component]
pub(super) fn LevelEditor(
    action: ServerAction<SaveLevel>,
    programs: Vec<ProgramView>,
    products: Vec<ProductView>,
    level: Option<LevelView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let key = level
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_else(|| "new".into());
    let l = level.clone();
    let val = move |f: fn(&LevelView) -> String| l.as_ref().map(f).unwrap_or_default();
    let input =
        move |field: &'static str, label: &'static str, value: String, kind: &'static str| {
            let id = format!("level-{key}-{field}");
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <input id=id type=kind name=format!("level[{field}]") value=value/>
                    <FieldError message=field_of(error, field)/>
                </div>
            }
        };
    let key2 = level
        .as_ref()
        .map(|l| l.id.to_string())
        .unwrap_or_else(|| "new".into());
    let current_program = level.as_ref().map(|l| l.program_id);
    let period = level
        .as_ref()
        .map(|l| l.billing_period.clone())
        .unwrap_or_else(|| "yearly".into());
    let sla = level.as_ref().map(|l| l.sla.clone()).unwrap_or_default();
    let covered = level
        .as_ref()
        .map(|l| l.products.clone())
        .unwrap_or_default();
    view! {
        <ActionForm action=action attr:class="stack" attr:novalidate=""><ReturnHere/>
            <input type="hidden" name="level[id]" value=level.as_ref().map(|l| l.id.to_string()).unwrap_or_default()/>
            <div class="row">
                <div class="field">
                    <label for=format!("level-{key2}-program")>"Program"</label>
                    <select id=format!("level-{key2}-program") name="level[program_id]">
                        {programs.into_iter().map(|p| view! { <option value=p.id.to_string() selected=Some(p.id) == current_program>{p.name}</option> }).collect_view()}
                    </select>
                    <FieldError message=field_of(error, "program_id")/>
                </div>
                {input("name", "Level name", val(|l| l.name.clone()), "text")}
            </div>
            <div class="row">
                {input("max_technical_contacts", "Maximum Technical Contacts", val(|l| l.max_technical_contacts.to_string()), "number")}
                {input("included_servers", "Servers included", val(|l| l.included_servers.to_string()), "number")}
                {input("kb_tier", "Knowledge-base tier", val(|l| l.kb_tier.clone()), "text")}
            </div>
            {input("repository_channels", "Repository channels", val(|l| l.repository_channels.clone()), "text")}
            <fieldset>
                <legend>"Products this level covers"</legend>
                <input type="hidden" name="level[products_listed]" value="1"/>
                {products.is_empty().then(|| view! { <p class="empty">"No products in the catalog yet: add them below."</p> })}
                {products.into_iter().enumerate().map(|(i, p)| {
                    let id = format!("level-{key2}-product-{}", p.id);
                    view! {
                        <div class="field checkbox">
                            <input id=id.clone() type="checkbox" name=format!("level[products][{i}]") value=p.id.to_string() checked=covered.contains(&p.id)/>
                            <label for=id>{p.name}</label>
                        </div>
                    }
                }).collect_view()}
                <FieldError message=field_of(error, "products")/>
            </fieldset>
            <div class="row">
                {input("price", "Price", val(|l| l.price_input.clone()), "text")}
                {input("currency", "Currency", val(|l| l.currency.clone()), "text")}
                <div class="field">
                    <label for=format!("level-{key2}-period")>"Billing period"</label>
                    <select id=format!("level-{key2}-period") name="level[billing_period]">
                        <option value="yearly" selected=period == "yearly">"Yearly"</option>
                        <option value="monthly" selected=period == "monthly">"Monthly"</option>
                    </select>
                </div>
            </div>
            <div class="row">
                {input("timezone", "Time zone", val(|l| l.timezone.clone()), "text")}
                {input("business_days", "Working days (ISO weekdays)", val(|l| l.business_days.clone()), "text")}
                {input("business_hours_start", "Opens at", val(|l| l.business_hours_start.clone()), "text")}
                {input("business_hours_end", "Closes at", val(|l| l.business_hours_end.clone()), "text")}
            </div>
            {input("holidays", "Holidays (YYYY-MM-DD, comma-separated)", val(|l| l.holidays.clone()), "text")}
            <fieldset>
                <legend>"SLA targets, in minutes"</legend>
                {Severity::ALL.iter().enumerate().map(|(i, s)| {
                    let (sev, label) = (s.number(), s.label());
                    let t = sla.iter().find(|t| t.severity == sev).cloned();
                    let v = |f: fn(&SlaView) -> i32| t.as_ref().map(|t| f(t).to_string()).unwrap_or_default();
                    let id = |x: &str| format!("level-{key2}-sla{i}-{x}");
                    view! {
                        <div class="row" role="group" aria-label=format!("Severity {sev} {label}")>
                            <div class="field"><label for=id("first")>{format!("Severity {sev}: first response")}</label>
                                <input id=id("first") type="number" name=format!("level[sla][{i}][first_response_minutes]") value=v(|t| t.first_response_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.first_response_minutes"))/></div>
                            <div class="field"><label for=id("next")>{format!("Severity {sev}: next response")}</label>
                                <input id=id("next") type="number" name=format!("level[sla][{i}][next_response_minutes]") value=v(|t| t.next_response_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.next_response_minutes"))/></div>
                            <div class="field"><label for=id("res")>{format!("Severity {sev}: resolution")}</label>
                                <input id=id("res") type="number" name=format!("level[sla][{i}][resolution_minutes]") value=v(|t| t.resolution_minutes)/>
                                <FieldError message=field_of(error, format!("sla.{i}.resolution_minutes"))/></div>
                            <div class="field checkbox"><input id=id("247") type="checkbox" name=format!("level[sla][{i}][around_the_clock]") checked=t.as_ref().is_some_and(|t| t.around_the_clock)/>
                                <label for=id("247")>{format!("Severity {sev} runs 24x7")}</label></div>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <button type="submit" class="primary" disabled=move || action.pending().get()>{if level.is_some() { "Save level" } else { "Add level" }}</button>
        </ActionForm>
    }
}
