//! The catalog's shared vocabulary, read by every feature: the releases
//! (product + version) a ticket or a covered server names (and, once they
//! exist, alerts and packages). Products are kept by the customers
//! feature's catalog pages.

use entity::{product, product_version};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::AppError;

/// A release a ticket or server may name.
#[derive(Debug, Clone)]
pub struct Release {
    pub id: i32,
    pub product: String,
    pub version: String,
    pub lts: bool,
}

impl Release {
    /// "Portico Server 2.4 (LTS)".
    pub fn label(&self) -> String {
        let lts = if self.lts { " (LTS)" } else { "" };
        format!("{} {}{lts}", self.product, self.version)
    }
}

/// The active versions of `products`, by product name then newest first.
pub async fn releases<C: ConnectionTrait>(
    db: &C,
    products: &[i32],
) -> Result<Vec<Release>, AppError> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(products.iter().copied()))
        .filter(product::Column::Active.eq(true))
        .order_by_asc(product::Column::Name)
        .all(db)
        .await?;
    let versions = product_version::Entity::find()
        .filter(product_version::Column::ProductId.is_in(names.iter().map(|p| p.id)))
        .filter(product_version::Column::Active.eq(true))
        .order_by_desc(product_version::Column::Id)
        .all(db)
        .await?;
    Ok(names
        .iter()
        .flat_map(|p| {
            let mut of: Vec<&product_version::Model> =
                versions.iter().filter(|v| v.product_id == p.id).collect();
            of.sort_by_key(|v| std::cmp::Reverse(version_key(&v.version)));
            of.into_iter().map(move |v| Release {
                id: v.id,
                product: p.name.clone(),
                version: v.version.clone(),
                lts: v.lts,
            })
        })
        .collect())
}

/// Orders versions as people read them: "2.10" after "2.9", "2.4.1" after "2.4".
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-'])
        .map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(0), part[digits.len()..].to_owned())
        })
        .collect()
}

/// The labels of releases `ids` (retired ones included), by id.
pub async fn labels<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = i32>,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    let versions = product_version::Entity::find()
        .filter(product_version::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let products = product::Entity::find()
        .filter(product::Column::Id.is_in(versions.iter().map(|v| v.product_id)))
        .all(db)
        .await?;
    Ok(versions
        .into_iter()
        .filter_map(|v| {
            let p = products.iter().find(|p| p.id == v.product_id)?;
            let r = Release {
                id: v.id,
                product: p.name.clone(),
                version: v.version,
                lts: v.lts,
            };
            Some((r.id, r.label()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_sort_as_people_read_them() {
        let mut v = vec!["2.10", "2.4", "2.4.1", "2.9", "10.0"];
        v.sort_by_key(|s| super::version_key(s));
        assert_eq!(v, ["2.4", "2.4.1", "2.9", "2.10", "10.0"]);
    }
}
