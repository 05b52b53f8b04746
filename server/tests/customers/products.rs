//! Products in the catalog: administrators add products and versions and
//! choose what each level covers; tickets and declared servers name a
//! release from the products the organization's level covers, nothing else.

use super::common::release_id;
use super::*;
use entity::{covered_server, product, ticket};

db_tests!(
    administrators_keep_products_and_what_levels_cover,
    tickets_and_servers_name_only_covered_releases,
);

fn problem_fields(v: &Value) -> Vec<String> {
    let text = v.to_string();
    ["name", "version", "products", "release"]
        .into_iter()
        .filter(|f| text.contains(&format!("\"{f}\"")))
        .map(str::to_owned)
        .collect()
}

async fn administrators_keep_products_and_what_levels_cover(srv: &TestServer) {
    let db = &srv.state.db;
    let admin = srv.sign_in("admin@example.com").await;
    let agent = srv.sign_in("agent@example.com").await;
    let add = |cookie: String, name: &'static str| async move {
        srv.call(
            "create_product",
            Some(&cookie),
            &[("name", name), ("description", "Edge nodes")],
        )
        .await
    };
    assert_eq!(add(agent.clone(), "Portico Edge").await.status(), 403);
    let res = add(admin.clone(), "Portico Edge").await;
    assert_eq!(res.status(), 200);
    let edge: i32 = res.json().await.unwrap();
    // The same name in other letters is the same product.
    let res = add(admin.clone(), "portico edge").await;
    assert_eq!(res.status(), 400);
    assert_eq!(problem_fields(&res.json().await.unwrap()), ["name"]);
    assert_eq!(product::Entity::find().count(db).await.unwrap(), 3);

    let version = |v: &'static str, lts: bool| {
        let admin = admin.clone();
        async move {
            let id = edge.to_string();
            let mut form = vec![("product_id", id.as_str()), ("version", v)];
            if lts {
                form.push(("lts", "yes"));
            }
            srv.call("add_product_version", Some(&admin), &form).await
        }
    };
    assert_eq!(version("1.0", true).await.status(), 200);
    for bad in ["1.0", "", "1 .1"] {
        let res = version(bad, false).await;
        assert_eq!(res.status(), 400, "{bad:?}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(problem_fields(&v), ["version"], "{bad:?}: {v}");
    }

    // A level covers exactly the products ticked in its form.
    let levels: Value = srv
        .call("list_levels", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    let basic = levels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Basic")
        .unwrap()
        .clone();
    assert_eq!(
        basic["product_names"],
        serde_json::json!(["Portico Server"])
    );
    let mut form: Vec<(String, String)> = Vec::new();
    for key in [
        "id",
        "program_id",
        "name",
        "max_technical_contacts",
        "included_servers",
        "repository_channels",
        "kb_tier",
        "currency",
        "billing_period",
        "timezone",
        "business_days",
        "business_hours_start",
        "business_hours_end",
        "holidays",
    ] {
        let v = match &basic[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        form.push((format!("level[{key}]"), v));
    }
    form.push((
        "level[price]".into(),
        basic["price_input"].as_str().unwrap().into(),
    ));
    for (i, t) in basic["sla"].as_array().unwrap().iter().enumerate() {
        for f in [
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
        ] {
            form.push((format!("level[sla][{i}][{f}]"), t[f].to_string()));
        }
    }
    // A form without the product list (an older page, another client)
    // leaves the coverage as it is.
    let res = call_form(srv, "save_level", Some(&admin), &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let covered = || async {
        let levels: Value = srv
            .call("list_levels", Some(&admin), &[])
            .await
            .json()
            .await
            .unwrap();
        levels
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "Basic")
            .unwrap()["product_names"]
            .clone()
    };
    assert_eq!(covered().await, serde_json::json!(["Portico Server"]));
    form.push(("level[products_listed]".into(), "1".into()));
    // Ticked: the second and third checkbox only (the first is absent).
    let mut with = form.clone();
    with.push(("level[products][1]".into(), edge.to_string()));
    with.push(("level[products][2]".into(), "999999".into()));
    let res = call_form(srv, "save_level", Some(&admin), &with).await;
    assert_eq!(res.status(), 400, "an unknown product is refused");
    assert_eq!(problem_fields(&res.json().await.unwrap()), ["products"]);
    let mut with = form.clone();
    with.push(("level[products][1]".into(), edge.to_string()));
    let res = call_form(srv, "save_level", Some(&admin), &with).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(covered().await, serde_json::json!(["Portico Edge"]));
    // The catalog page lists products and versions.
    let page = srv
        .get("/staff/catalog", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Portico Edge") && page.contains("1.0 (LTS)"));
}

async fn tickets_and_servers_name_only_covered_releases(srv: &TestServer) {
    let db = &srv.state.db;
    // Acme is on Standard, which covers Portico Server but not Portico Tools.
    let tech = srv.sign_in("tech1@acme.example").await;
    let offered: Value = srv
        .call("ticket_releases", Some(&tech), &[])
        .await
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "Portico Server 2.6",
            "Portico Server 2.5",
            "Portico Server 2.4 (LTS)"
        ]
    );
    let server_24 = release_id(srv, "Portico Server", "2.4").await;
    let tools = release_id(srv, "Portico Tools", "1.0").await;
    let open = |release: String| {
        let tech = tech.clone();
        async move {
            srv.call(
                "open_ticket",
                Some(&tech),
                &[
                    ("ticket[subject]", "Which release?"),
                    ("ticket[description]", "It fails on start."),
                    ("ticket[severity]", "3"),
                    ("ticket[release]", release.as_str()),
                ],
            )
            .await
        }
    };
    let before = ticket::Entity::find().count(db).await.unwrap();
    for bad in [tools.clone(), "abc".into(), "999999".into()] {
        let res = open(bad.clone()).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(problem_fields(&res.json().await.unwrap()), ["release"]);
    }
    assert_eq!(ticket::Entity::find().count(db).await.unwrap(), before);
    let res = open(server_24.clone()).await;
    assert_eq!(res.status(), 200);
    let id: i32 = res.json().await.unwrap();
    let t = ticket::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.product.as_str(), t.version.as_str(), t.product_version_id),
        ("Portico Server", "2.4", Some(server_24.parse().unwrap()))
    );
    let page = srv
        .get(&format!("/support/tickets/{id}"), Some(&tech))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<dt>Product</dt>"), "{page}");
    // Not about one product: allowed, and the page shows no empty line.
    let res = open(String::new()).await;
    assert_eq!(res.status(), 200);
    let bare: i32 = res.json().await.unwrap();
    let page = srv
        .get(&format!("/support/tickets/{bare}"), Some(&tech))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<dt>Product</dt>"), "{page}");

    // The Main Contact declares a server running a covered release.
    let main = srv.sign_in("main@acme.example").await;
    let declare = |release: String| {
        let main = main.clone();
        async move {
            srv.call(
                "declare_servers",
                Some(&main),
                &[
                    ("name", "edge-7"),
                    ("kind", "KVM host"),
                    ("quantity", "2"),
                    ("note", ""),
                    ("release", release.as_str()),
                ],
            )
            .await
        }
    };
    let res = declare(tools).await;
    assert_eq!(res.status(), 400);
    assert_eq!(problem_fields(&res.json().await.unwrap()), ["release"]);
    assert_eq!(declare(server_24.clone()).await.status(), 200);
    let s = covered_server::Entity::find()
        .filter(covered_server::Column::Name.eq("edge-7"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].product_version_id, Some(server_24.parse().unwrap()));
    let org: Value = srv
        .call("load_organization", Some(&main), &[])
        .await
        .json()
        .await
        .unwrap();
    let row = org["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "edge-7")
        .unwrap();
    assert_eq!(row["release"], "Portico Server 2.4 (LTS)");
}
