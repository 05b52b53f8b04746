//! The catalog: programs and subscription levels with their SLA targets and calendars.

use super::*;

pub async fn list_levels() -> Result<Vec<LevelView>, AppError> {
    let state = app_state()?;
    let programs = program::Entity::find().all(&state.db).await?;
    let levels = level::Entity::find()
        .filter(level::Column::Active.eq(true))
        .order_by_asc(level::Column::ProgramId)
        .order_by_asc(level::Column::PriceMinor)
        .all(&state.db)
        .await?;
    let targets = sla_target::Entity::find()
        .order_by_asc(sla_target::Column::Severity)
        .all(&state.db)
        .await?;
    let coverage = super::products::coverage(&state.db).await?;
    let products = super::products::product_views(&state.db).await?;
    Ok(levels
        .into_iter()
        .map(|l| LevelView {
            id: l.id,
            program_id: l.program_id,
            price_input: format_price(l.price_minor, "").trim().to_string(),
            currency: l.currency.clone(),
            timezone: l.timezone.clone(),
            business_days: l.business_days.clone(),
            business_hours_start: l.business_hours_start.clone(),
            business_hours_end: l.business_hours_end.clone(),
            program: programs
                .iter()
                .find(|p| p.id == l.program_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            price: format_price(l.price_minor, &l.currency),
            calendar: format!(
                "ISO weekdays {}, {}–{} ({})",
                l.business_days, l.business_hours_start, l.business_hours_end, l.timezone
            ),
            sla: targets
                .iter()
                .filter(|t| t.level_id == l.id)
                .map(|t| SlaView {
                    severity: t.severity,
                    first_response_minutes: t.first_response_minutes,
                    next_response_minutes: t.next_response_minutes,
                    resolution_minutes: t.resolution_minutes,
                    around_the_clock: t.around_the_clock,
                })
                .collect(),
            products: coverage
                .iter()
                .filter(|(lv, _)| *lv == l.id)
                .map(|(_, p)| *p)
                .collect(),
            product_names: products
                .iter()
                .filter(|p| coverage.contains(&(l.id, p.id)))
                .map(|p| p.name.clone())
                .collect(),
            name: l.name,
            max_technical_contacts: l.max_technical_contacts,
            included_servers: l.included_servers,
            repository_channels: l.repository_channels,
            kb_tier: l.kb_tier,
            billing_period: l.billing_period,
            holidays: l.holidays,
        })
        .collect())
}

pub async fn load_catalog() -> Result<Catalog, AppError> {
    let actor = require_staff(Capability::CatalogRead)?;
    let state = app_state()?;
    let programs = program::Entity::find()
        .order_by_asc(program::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| ProgramView {
            id: p.id,
            name: p.name,
            description: p.description,
        })
        .collect();
    Ok(Catalog {
        programs,
        levels: list_levels().await?,
        products: super::products::product_views(&state.db).await?,
        can_edit: authz::actor_allows(&actor, Capability::CatalogManage),
    })
}

pub async fn create_program(name: String, description: String) -> Result<i32, AppError> {
    let actor = require_staff(Capability::CatalogManage)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let name = p.check("name", validate::required("program name", &name, 120));
    let description = p
        .check(
            "description",
            validate::optional_text("description", &description, 2000),
        )
        .flatten();
    if let Some(n) = &name {
        if program::Entity::find()
            .filter(program::Column::Name.eq(n.clone()))
            .count(&state.db)
            .await?
            > 0
        {
            p.add("name", format!("A program called {n} exists already."));
        }
    }
    p.into_result()?;
    let txn = crate::core::db::begin_write(&state.db).await?;
    let prog = program::ActiveModel {
        name: Set(name.unwrap_or_default()),
        description: Set(description.unwrap_or_default()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::Entry::new(Action::CatalogProgramCreated, Target::Program(prog.id))
        .by(actor.user_id)
        .after(Some(json!({"name": prog.name}).to_string()))
        .from(client_addr())
        .record(&txn)
        .await?;
    txn.commit().await?;
    crate::core::web::redirect_back_with("saved=program");
    Ok(prog.id)
}

/// A price written with at most two decimals, in minor units; exact, no floats.
pub fn parse_price(s: &str) -> Result<i64, String> {
    let s = s.trim().replace([',', ' '], "");
    let msg = || "Write the price as a number with at most two decimals, e.g. 9000.00.".to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(msg());
    }
    let whole: i64 = whole.parse().map_err(|_| msg())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| msg())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|v| *v <= 100_000_000_000)
        .ok_or_else(msg)
}

pub(super) fn hhmm(label: &str, s: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| format!("Write the {label} as HH:MM, e.g. 09:00."))
}

pub(super) fn weekdays(s: &str) -> Result<String, String> {
    let v = s.trim().replace(' ', "");
    let ok = !v.is_empty()
        && v.split(',').all(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            matches!((a.parse::<u8>(), b.parse::<u8>()), (Ok(a), Ok(b)) if (1..=7).contains(&a) && (1..=7).contains(&b) && a <= b)
        });
    if ok {
        Ok(v)
    } else {
        Err(
            "Write the working days as ISO weekdays (1 = Monday … 7 = Sunday), e.g. 1-5 or 1-4,6."
                .into(),
        )
    }
}

pub(super) fn holidays(s: &str) -> Result<String, String> {
    let mut days = Vec::new();
    for d in s
        .split([',', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let parsed = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| format!("\u{201c}{d}\u{201d} is not a date; list holidays as YYYY-MM-DD, separated by commas."))?;
        days.push(parsed.format("%Y-%m-%d").to_string());
    }
    days.sort();
    days.dedup();
    Ok(days.join(", "))
}

pub(super) fn timezone(s: &str) -> Result<String, String> {
    let v = s.trim();
    let ok = v == "UTC"
        || (v.contains('/')
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)));
    if ok {
        Ok(v.to_string())
    } else {
        Err("Use an IANA time zone name, e.g. Europe/Madrid or UTC.".into())
    }
}

/// Creates or changes a level, with its SLA targets, in one transaction.
pub async fn save_level(f: LevelForm) -> Result<i32, AppError> {
    let actor = require_staff(Capability::CatalogManage)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let existing = match f.id.trim() {
        "" => None,
        id => Some(
            level::Entity::find_by_id(id.parse::<i32>().map_err(|_| AppError::NotFound)?)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
    };
    let program_id = match f.program_id.trim().parse::<i32>() {
        Ok(id)
            if program::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .is_some() =>
        {
            Some(id)
        }
        _ => {
            p.add("program_id", "Choose the program this level belongs to.");
            None
        }
    };
    let name = p.check("name", validate::required("level name", &f.name, 120));
    let techs = p.check(
        "max_technical_contacts",
        validate::number(
            "maximum of Technical Contacts",
            &f.max_technical_contacts,
            1,
            1000,
        ),
    );
    let servers = p.check(
        "included_servers",
        validate::number(
            "number of included servers",
            &f.included_servers,
            0,
            100_000,
        ),
    );
    let channels = p.check(
        "repository_channels",
        validate::required("repository channels", &f.repository_channels, 500),
    );
    let kb = p.check(
        "kb_tier",
        validate::required("knowledge-base tier", &f.kb_tier, 32),
    );
    let price = p.check("price", parse_price(&f.price));
    let currency = f.currency.trim().to_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        p.add(
            "currency",
            "Use a three-letter ISO 4217 code, e.g. EUR or USD.",
        );
    }
    if !matches!(f.billing_period.as_str(), "monthly" | "yearly") {
        p.add("billing_period", "Choose monthly or yearly billing.");
    }
    let tz = p.check("timezone", timezone(&f.timezone));
    let days = p.check("business_days", weekdays(&f.business_days));
    let start = p.check(
        "business_hours_start",
        hhmm("opening time", &f.business_hours_start),
    );
    let end = p.check(
        "business_hours_end",
        hhmm("closing time", &f.business_hours_end),
    );
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            p.add("business_hours_end", "The desk must close after it opens.");
        }
    }
    let hols = p.check("holidays", holidays(&f.holidays));
    let mut sla = Vec::new();
    for sev in 1..=4usize {
        let input = f.sla.get(sev - 1).cloned().unwrap_or_default();
        let field = |x: &str| format!("sla.{}.{x}", sev - 1);
        let first = p.check(
            &field("first_response_minutes"),
            validate::number(
                "first response (minutes)",
                &input.first_response_minutes,
                1,
                525_600,
            ),
        );
        let next = p.check(
            &field("next_response_minutes"),
            validate::number(
                "next response (minutes)",
                &input.next_response_minutes,
                1,
                525_600,
            ),
        );
        let res = p.check(
            &field("resolution_minutes"),
            validate::number(
                "resolution (minutes)",
                &input.resolution_minutes,
                1,
                5_256_000,
            ),
        );
        if let (Some(a), Some(r)) = (first, res) {
            if r < a {
                p.add(
                    field("resolution_minutes"),
                    "Resolution cannot come before the first response.",
                );
            }
        }
        sla.push((
            sev as i16,
            first,
            next,
            res,
            input.around_the_clock.is_some(),
        ));
    }
    if let (Some(pid), Some(n)) = (program_id, &name) {
        let clash = level::Entity::find()
            .filter(level::Column::ProgramId.eq(pid))
            .filter(level::Column::Name.eq(n.clone()))
            .filter(level::Column::Id.ne(existing.as_ref().map(|l| l.id).unwrap_or(-1)))
            .count(&state.db)
            .await?;
        if clash > 0 {
            p.add(
                "name",
                format!("This program already has a level called {n}."),
            );
        }
    }
    let covered = super::products::chosen_products(&state.db, &f.products, &mut p).await?;
    p.into_result()?;

    let txn = crate::core::db::begin_write(&state.db).await?;
    let before = existing.as_ref().map(|l| json!({"name": l.name, "max_technical_contacts": l.max_technical_contacts, "price_minor": l.price_minor}).to_string());
    let mut a = match &existing {
        Some(l) => l.clone().into_active_model(),
        None => level::ActiveModel {
            active: Set(true),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    a.program_id = Set(program_id.unwrap_or_default());
    a.name = Set(name.unwrap_or_default());
    a.max_technical_contacts = Set(techs.unwrap_or(1) as i32);
    a.included_servers = Set(servers.unwrap_or(0) as i32);
    a.repository_channels = Set(channels.unwrap_or_default());
    a.kb_tier = Set(kb.unwrap_or_default());
    a.price_minor = Set(price.unwrap_or(0));
    a.currency = Set(currency);
    a.billing_period = Set(f.billing_period.clone());
    a.timezone = Set(tz.unwrap_or_default());
    a.business_days = Set(days.unwrap_or_default());
    a.business_hours_start = Set(start
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default());
    a.business_hours_end = Set(end
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default());
    a.holidays = Set(hols.unwrap_or_default());
    let saved = match existing {
        Some(_) => a.update(&txn).await?,
        None => a.insert(&txn).await?,
    };
    sla_target::Entity::delete_many()
        .filter(sla_target::Column::LevelId.eq(saved.id))
        .exec(&txn)
        .await?;
    for (severity, first, next, res, around_the_clock) in sla {
        sla_target::ActiveModel {
            level_id: Set(saved.id),
            severity: Set(severity),
            first_response_minutes: Set(first.unwrap_or(1) as i32),
            next_response_minutes: Set(next.unwrap_or(1) as i32),
            resolution_minutes: Set(res.unwrap_or(1) as i32),
            around_the_clock: Set(around_the_clock),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    if f.products_listed.is_some() {
        super::products::store_coverage(&txn, saved.id, &covered).await?;
    }
    audit::Entry::new(Action::CatalogLevelSaved, Target::Level(saved.id)).by(actor.user_id).before(before).after(Some(json!({"name": saved.name, "max_technical_contacts": saved.max_technical_contacts, "price_minor": saved.price_minor, "products": covered}).to_string())).from(client_addr()).record(&txn).await?;
    txn.commit().await?;
    crate::core::web::redirect_back_with("saved=level");
    Ok(saved.id)
}
