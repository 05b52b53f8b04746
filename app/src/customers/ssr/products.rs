//! Products in the catalog: each product with its versions, and the
//! products a level covers. The releases a ticket or server may name are
//! read by `core::catalog`, which every feature shares.
//!
//! Services: they take a [`Ctx`] and never read the Leptos context.

use entity::{level_product, product, product_version};
use sea_orm::sea_query::{ExprTrait, Func};

use super::*;
use crate::core::ctx::Ctx;

pub async fn create_product(ctx: &Ctx, name: &str, description: &str) -> Result<i32, AppError> {
    authz::require(&ctx.actor, Capability::CatalogManage)?;
    let db = &ctx.state.db;
    let mut p = Problems::default();
    let name = p.check("name", validate::required("product name", name, 120));
    let description = p
        .check(
            "description",
            validate::optional_text("description", description, 2000),
        )
        .flatten();
    p.into_result()?;
    let name = name.unwrap_or_default();
    // Checked inside the write transaction, so two adds of one name queue.
    let txn = crate::core::db::begin_write(db).await?;
    let taken = product::Entity::find()
        .filter(ExprTrait::eq(
            Func::lower(Expr::col(product::Column::Name)),
            name.to_lowercase(),
        ))
        .count(&txn)
        .await?
        > 0;
    if taken {
        return Err(AppError::invalid(
            "name",
            format!("A product called {name} exists already."),
        ));
    }
    let made = product::ActiveModel {
        name: Set(name),
        description: Set(description.unwrap_or_default()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::Entry::new(Action::CatalogProductCreated, Target::Product(made.id))
        .by(ctx.actor.user_id)
        .after(Some(json!({"name": made.name}).to_string()))
        .from(ctx.client_addr.clone())
        .record(&txn)
        .await?;
    txn.commit().await?;
    Ok(made.id)
}

/// A new version of product `product_id`, e.g. "2.6" (`lts`: long-term support).
pub async fn add_version(
    ctx: &Ctx,
    product_id: i32,
    version: &str,
    lts: bool,
) -> Result<i32, AppError> {
    authz::require(&ctx.actor, Capability::CatalogManage)?;
    let db = &ctx.state.db;
    let prod = product::Entity::find_by_id(product_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let v =
        validate::required("version", version, 60).map_err(|m| AppError::invalid("version", m))?;
    if v.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            "version",
            "Write the version without spaces, e.g. 2.6 or 6.10.1.",
        ));
    }
    let txn = crate::core::db::begin_write(db).await?;
    let taken = product_version::Entity::find()
        .filter(product_version::Column::ProductId.eq(product_id))
        .filter(product_version::Column::Version.eq(v.clone()))
        .count(&txn)
        .await?
        > 0;
    if taken {
        return Err(AppError::invalid(
            "version",
            format!("{} {v} is in the catalog already.", prod.name),
        ));
    }
    let made = product_version::ActiveModel {
        product_id: Set(product_id),
        version: Set(v),
        lts: Set(lts),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::Entry::new(Action::CatalogVersionAdded, Target::Product(product_id))
        .by(ctx.actor.user_id)
        .after(Some(
            json!({"product": prod.name, "version": made.version, "lts": lts}).to_string(),
        ))
        .from(ctx.client_addr.clone())
        .record(&txn)
        .await?;
    txn.commit().await?;
    Ok(made.id)
}

/// Every product with its versions, by name.
pub(super) async fn product_views<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<ProductView>, AppError> {
    let versions = product_version::Entity::find()
        .filter(product_version::Column::Active.eq(true))
        .order_by_asc(product_version::Column::Id)
        .all(db)
        .await?;
    Ok(product::Entity::find()
        .filter(product::Column::Active.eq(true))
        .order_by_asc(product::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|p| ProductView {
            versions: versions
                .iter()
                .filter(|v| v.product_id == p.id)
                .map(|v| VersionView {
                    id: v.id,
                    version: v.version.clone(),
                    lts: v.lts,
                })
                .collect(),
            id: p.id,
            name: p.name,
            description: p.description,
        })
        .collect())
}

/// The products each level covers: (level id, product id).
pub(super) async fn coverage<C: ConnectionTrait>(db: &C) -> Result<Vec<(i32, i32)>, AppError> {
    Ok(level_product::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.level_id, c.product_id))
        .collect())
}

/// The product ids a level form ticked, each an existing product; a bad
/// one is reported on `products`.
pub(super) async fn chosen_products<C: ConnectionTrait>(
    db: &C,
    ticked: &[String],
    p: &mut Problems,
) -> Result<Vec<i32>, AppError> {
    let known: Vec<i32> = product::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|x| x.id)
        .collect();
    let mut ids = Vec::new();
    for t in ticked {
        match t.trim().parse::<i32>() {
            Ok(id) if known.contains(&id) => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => {
                p.add("products", "Choose covered products from the list.");
                break;
            }
        }
    }
    Ok(ids)
}

/// Makes `level_id` cover exactly `products`.
pub(super) async fn store_coverage(
    txn: &DatabaseTransaction,
    level_id: i32,
    products: &[i32],
) -> Result<(), AppError> {
    level_product::Entity::delete_many()
        .filter(level_product::Column::LevelId.eq(level_id))
        .exec(txn)
        .await?;
    for &product_id in products {
        level_product::ActiveModel {
            level_id: Set(level_id),
            product_id: Set(product_id),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
