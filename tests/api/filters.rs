//! The query engine: every operator on a built-in field, a relationship field and a custom column.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, create, first_names, id, ids, search, with_and_without_indexes};

async fn column(app: &TestApp, key: &str, body: Value) -> Value {
    let (status, column) = call(app, key, Method::POST, "/api/v1/custom-columns", Some(body)).await;
    assert_eq!(status, 201, "{column}");
    column
}

async fn matching(app: &TestApp, key: &str, plural: &str, filters: Value) -> Vec<String> {
    let mut found = ids(&search(
        app,
        key,
        plural,
        json!({"filters": filters, "pagination": {"pageSize": 100}}),
    )
    .await);
    found.sort();
    found
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

#[actix_web::test]
async fn relationship_filters_follow_edges_with_and_without_values() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("Rel").await;
        let k = &c.key;
        let north = create(&app, k, "organizations", json!({"name": "North"})).await;
        let south = create(&app, k, "organizations", json!({"name": "South"})).await;
        let ann = create(
            &app,
            k,
            "contacts",
            json!({"firstName": "Ann", "organizationIds": [id(&north)]}),
        )
        .await;
        let bob = create(
            &app,
            k,
            "contacts",
            json!({"firstName": "Bob", "organizationIds": [id(&south)]}),
        )
        .await;
        let cy = create(
            &app,
            k,
            "contacts",
            json!({"firstName": "Cy", "organizationIds": [id(&north), id(&south)]}),
        )
        .await;
        let dee = create(&app, k, "contacts", json!({"firstName": "Dee"})).await;
        let (n, s) = (id(&north), id(&south));

        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "in", "value": [n]}])
            )
            .await,
            sorted(vec![id(&ann), id(&cy)])
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "hasSome", "value": [n, s]}])
            )
            .await,
            sorted(vec![id(&ann), id(&bob), id(&cy)])
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "notIn", "value": [n]}])
            )
            .await,
            sorted(vec![id(&bob), id(&dee)])
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "hasNone", "value": [s]}])
            )
            .await,
            sorted(vec![id(&ann), id(&dee)])
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "hasNone"}])
            )
            .await,
            vec![id(&dee)],
            "no links at all"
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "hasSome"}])
            )
            .await
            .len(),
            3,
            "at least one link"
        );
        assert_eq!(
        matching(&app, k, "contacts", json!([{"field": "organizationIds", "operator": "in", "value": [n]}, {"field": "organizationIds", "operator": "in", "value": [s]}])).await,
        vec![id(&cy)],
        "two relationship filters intersect"
    );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "organizationIds", "operator": "in", "value": []}])
            )
            .await
            .len(),
            4,
            "an empty list is ignored"
        );
        assert_eq!(
            matching(
                &app,
                k,
                "organizations",
                json!([{"field": "contactIds", "operator": "in", "value": [id(&bob)]}])
            )
            .await,
            vec![s.clone()]
        );
        let page = search(&app, k, "contacts", json!({"filters": [{"field": "organizationIds", "operator": "in", "value": [n]}], "pagination": {"pageSize": 1}})).await;
        assert_eq!(page["pagination"]["total"], 2, "totals count the whole match");
        assert_eq!(page["items"].as_array().unwrap().len(), 1);

        let ghost = uuid::Uuid::new_v4().to_string();
        let (status, error) = call(
            &app,
            k,
            Method::POST,
            "/api/v1/contacts/search",
            Some(json!({"filters": [{"field": "organizationIds", "operator": "in", "value": [ghost]}]})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            error["details"][0],
            json!({"path": "filters[0].value[0]", "message": "Organization ID not found or not accessible."})
        );
    }
}

#[actix_web::test]
async fn built_in_fields_filter_by_date_email_and_assignee() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("Builtin").await;
        let k = &c.key;
        let ann = create(
            &app,
            k,
            "contacts",
            json!({"firstName": "Ann", "emails": [" Ann@X.example"], "userIds": [c.user_id]}),
        )
        .await;
        let bob = create(&app, k, "contacts", json!({"firstName": "Bob"})).await;
        let created = ann["createdAt"].as_str().unwrap().to_owned();
        let later = bob["createdAt"].as_str().unwrap().to_owned();

        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "emails", "operator": "equals", "value": "ann@x.example"}])
            )
            .await,
            vec![id(&ann)]
        );
        // Addresses are stored trimmed and lowercased; the filter finds one as it was sent.
        assert_eq!(ann["emails"], json!(["ann@x.example"]));
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "emails", "operator": "equals", "value": " Ann@X.example"}])
            )
            .await,
            vec![id(&ann)]
        );
        assert_eq!(
            matching(&app, k, "contacts", json!([{"field": "emails", "operator": "isNull"}])).await,
            vec![id(&bob)]
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "emails", "operator": "isNotNull"}])
            )
            .await,
            vec![id(&ann)]
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "userIds", "operator": "in", "value": [c.user_id]}])
            )
            .await,
            vec![id(&ann)]
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "gt", "value": created}])
            )
            .await,
            vec![id(&bob)]
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "gte", "value": created}])
            )
            .await
            .len(),
            2
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "lt", "value": later}])
            )
            .await,
            vec![id(&ann)]
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "lte", "value": later}])
            )
            .await
            .len(),
            2
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "between", "value": [created, later]}])
            )
            .await
            .len(),
            2
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "updatedAt", "operator": "inLastDays", "value": 1}])
            )
            .await
            .len(),
            2
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "gte", "value": "2000-01-01"}])
            )
            .await
            .len(),
            2,
            "date-only values work"
        );
        assert_eq!(
            matching(
                &app,
                k,
                "contacts",
                json!([{"field": "createdAt", "operator": "lt", "value": "2000-01-01"}])
            )
            .await
            .len(),
            0
        );

        let cases = [
            (
                json!({"field": "firstName", "operator": "equals", "value": "Ann"}),
                "filters[0].field",
            ),
            (
                json!({"field": "emails", "operator": "gt", "value": "x"}),
                "filters[0].field",
            ),
            (
                json!({"field": "createdAt", "operator": "gt", "value": "yesterday"}),
                "filters[0].value",
            ),
            (
                json!({"field": "createdAt", "operator": "between", "value": ["2024-01-01"]}),
                "filters[0].value",
            ),
            (
                json!({"field": "createdAt", "operator": "inLastDays", "value": 0}),
                "filters[0].value",
            ),
            (
                json!({"field": "createdAt", "operator": "inLastDays", "value": 36_501}),
                "filters[0].value",
            ),
        ];
        for (filter, path) in cases {
            let (status, error) = call(
                &app,
                k,
                Method::POST,
                "/api/v1/contacts/search",
                Some(json!({"filters": [filter]})),
            )
            .await;
            assert_eq!(status, 400, "{filter}: {error}");
            assert_eq!(error["details"][0]["path"], path, "{filter}");
            if filter["operator"] == "inLastDays" {
                assert_eq!(
                    error["details"][0]["message"], "must be a whole number of days from 1 to 36500",
                    "the bound is named"
                );
            }
        }
        let (_, error) = call(
            &app,
            k,
            Method::POST,
            "/api/v1/contacts/search",
            Some(json!({"filters": [{"field": "name", "operator": "equals", "value": "x"}]})),
        )
        .await;
        let message = error["details"][0]["message"].as_str().unwrap();
        assert!(
        message.starts_with(
            "Filter field not found or not accessible. Available fields: organizationIds (in, notIn, hasNone, hasSome)"
        ),
        "{message}"
    );
        assert!(
            message.contains("emails (equals, isNull, isNotNull)")
                && message.contains("createdAt (gt, gte, lt, lte, between, inLastDays)"),
            "{message}"
        );
    }
}

#[actix_web::test]
async fn custom_columns_filter_with_their_operators() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("CustomFilters").await;
        let k = &c.key;
        let stage = column(&app, k, json!({"entityType": "deal", "type": "singleSelect", "label": "Stage", "options": {"options": [{"label": "Open"}, {"label": "Won"}]}})).await;
        let (open, won) = (
            stage["options"]["options"][0]["value"].clone(),
            stage["options"]["options"][1]["value"].clone(),
        );
        let price = column(
            &app,
            k,
            json!({"entityType": "deal", "type": "currency", "label": "Price", "options": {"currency": "eur"}}),
        )
        .await;
        let due = column(&app, k, json!({"entityType": "deal", "type": "date", "label": "Due"})).await;
        let period = column(
            &app,
            k,
            json!({"entityType": "deal", "type": "dateRange", "label": "Period"}),
        )
        .await;
        let code = column(&app, k, json!({"entityType": "deal", "type": "plain", "label": "Code"})).await;
        let value = |col: &Value, v: Value| json!({"columnId": col["id"], "value": v});
        let a = create(&app, k, "deals", json!({"name": "A", "customFieldValues": [value(&stage, open.clone()), value(&price, json!("100.5")), value(&due, json!("2024-03-01")), value(&period, json!("2024-01-01,2024-01-31")), value(&code, json!("AB-1"))]})).await;
        let b = create(&app, k, "deals", json!({"name": "B", "customFieldValues": [value(&stage, won.clone()), value(&price, json!("-5")), value(&due, json!("2024-05-01T10:00:00Z")), value(&period, json!("2024-02-01,2024-02-10"))]})).await;
        let none = create(&app, k, "deals", json!({"name": "C"})).await;
        let f = |col: &Value, op: &str, v: Option<Value>| {
            let mut filter = json!({"field": col["id"], "operator": op});
            if let Some(v) = v {
                filter["value"] = v;
            }
            json!([filter])
        };
        let checks: Vec<(Value, Vec<String>)> = vec![
            (f(&stage, "in", Some(json!([won]))), vec![id(&b)]),
            (f(&stage, "notIn", Some(json!([won]))), sorted(vec![id(&a), id(&none)])),
            (f(&stage, "isNull", None), vec![id(&none)]),
            (f(&stage, "isNotNull", None), sorted(vec![id(&a), id(&b)])),
            (f(&price, "gt", Some(json!("0"))), vec![id(&a)]),
            (f(&price, "lte", Some(json!(-5))), vec![id(&b)]),
            (f(&price, "equals", Some(json!("100.5"))), vec![id(&a)]),
            (f(&due, "lt", Some(json!("2024-04-01"))), vec![id(&a)]),
            (
                f(&due, "between", Some(json!(["2024-01-01", "2024-12-31"]))),
                sorted(vec![id(&a), id(&b)]),
            ),
            (f(&period, "contains", Some(json!("2024-01-15"))), vec![id(&a)]),
            (f(&period, "gte", Some(json!("2024-02-01"))), vec![id(&b)]),
            (f(&period, "lte", Some(json!("2024-01-31"))), vec![id(&a)]),
            (f(&code, "contains", Some(json!("ab"))), vec![id(&a)]),
            // An empty text is in every value, and records without a value contain nothing.
            (f(&code, "contains", Some(json!(""))), vec![id(&a)]),
            (f(&code, "equals", Some(json!("AB-1"))), vec![id(&a)]),
            (f(&code, "isNull", None), sorted(vec![id(&b), id(&none)])),
        ];
        for (filters, expected) in checks {
            assert_eq!(matching(&app, k, "deals", filters.clone()).await, expected, "{filters}");
        }
        let (status, error) = call(
            &app,
            k,
            Method::POST,
            "/api/v1/deals/search",
            Some(json!({"filters": f(&price, "gt", Some(json!("cheap")))})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            error["details"][0]["message"],
            "The currency value is invalid. Must be a valid number."
        );
        let sorted_by_price = search(
            &app,
            k,
            "deals",
            json!({"sortDescriptor": {"field": price["id"], "direction": "desc"}}),
        )
        .await;
        let names: Vec<&str> = sorted_by_price["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["A", "B", "C"], "numeric sort, missing values last");
        let ascending = search(
            &app,
            k,
            "deals",
            json!({"sortDescriptor": {"field": price["id"], "direction": "asc"}}),
        )
        .await;
        let names: Vec<&str> = ascending["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["B", "A", "C"]);
    }
}

/// Date and date-time values compare and sort as instants: `…:59.5Z` is after `…:59Z` (as texts it sorts before),
/// a date is midnight UTC, and a range's ends compare the same way.
#[actix_web::test]
async fn date_columns_compare_and_sort_as_instants_not_texts() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("Instants").await;
        let k = &c.key;
        let at = column(
            &app,
            k,
            json!({"entityType": "contact", "type": "dateTime", "label": "At"}),
        )
        .await;
        let span = column(
            &app,
            k,
            json!({"entityType": "contact", "type": "dateTimeRange", "label": "Span"}),
        )
        .await;
        let value = |col: &Value, v: &str| json!({"columnId": col["id"], "value": v});
        let whole = create(&app, k, "contacts", json!({"firstName": "Whole", "customFieldValues": [value(&at, "2024-01-15T09:59:59Z"), value(&span, "2024-01-15T09:59:59Z,2024-01-16T00:00:00Z")]})).await;
        let half = create(&app, k, "contacts", json!({"firstName": "Half", "customFieldValues": [value(&at, "2024-01-15T09:59:59.5Z"), value(&span, "2024-01-15T09:59:59.5Z,2024-01-16T00:00:00Z")]})).await;
        let micro = create(
            &app,
            k,
            "contacts",
            json!({"firstName": "Micro", "customFieldValues": [value(&at, "2024-01-15T09:59:59.500001Z")]}),
        )
        .await;
        let stored = half["customFieldValues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["columnId"] == at["id"]);
        assert_eq!(stored.unwrap()["value"], "2024-01-15T09:59:59.500Z", "{half}");
        let f = |col: &Value, op: &str, v: Value| json!([{"field": col["id"], "operator": op, "value": v}]);
        let checks = [
            (
                f(&at, "gt", json!("2024-01-15T09:59:59Z")),
                sorted(vec![id(&half), id(&micro)]),
            ),
            (
                f(&at, "lte", json!("2024-01-15T09:59:59.5Z")),
                sorted(vec![id(&whole), id(&half)]),
            ),
            (
                f(&at, "gte", json!("2024-01-15")),
                sorted(vec![id(&whole), id(&half), id(&micro)]),
            ),
            (
                f(&at, "lt", json!("2024-01-16")),
                sorted(vec![id(&whole), id(&half), id(&micro)]),
            ),
            (f(&span, "gt", json!("2024-01-15T09:59:59Z")), vec![id(&half)]),
            (f(&span, "contains", json!("2024-01-15T09:59:59.2Z")), vec![id(&whole)]),
        ];
        for (filters, expected) in checks {
            assert_eq!(
                matching(&app, k, "contacts", filters.clone()).await,
                expected,
                "{filters}"
            );
        }
        for (direction, expected) in [
            ("asc", vec![id(&whole), id(&half), id(&micro)]),
            ("desc", vec![id(&micro), id(&half), id(&whole)]),
        ] {
            let page = search(
                &app,
                k,
                "contacts",
                json!({"sortDescriptor": {"field": at["id"], "direction": direction}}),
            )
            .await;
            assert_eq!(ids(&page), expected, "{direction}");
        }
        let (status, error) = call(
            &app,
            k,
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"firstName": "Leap", "customFieldValues": [value(&at, "2016-12-31T23:59:60Z")]})),
        )
        .await;
        assert_eq!(status, 400, "a leap second is not stored: {error}");
    }
}

/// A text column sorts as people read (reference §7.4, "locale-aware string comparison"): case and accents only
/// part values that are otherwise equal, and records without a value come last in both directions.
#[actix_web::test]
async fn text_columns_sort_in_a_human_order() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("Collate").await;
        let k = &c.key;
        let word = column(
            &app,
            k,
            json!({"entityType": "contact", "type": "plain", "label": "Word"}),
        )
        .await;
        for (name, value) in [
            ("z", Some("Zebra")),
            ("a2", Some("apple")),
            ("e", Some("Émile")),
            ("none", None),
            ("b", Some("banana")),
            ("a1", Some("Apple")),
        ] {
            let values = value.map_or(json!([]), |v| json!([{"columnId": word["id"], "value": v}]));
            create(
                &app,
                k,
                "contacts",
                json!({"firstName": name, "customFieldValues": values}),
            )
            .await;
        }
        for (direction, expected) in [
            ("asc", ["a1", "a2", "b", "e", "z", "none"]),
            ("desc", ["z", "e", "b", "a2", "a1", "none"]),
        ] {
            let page = search(
                &app,
                k,
                "contacts",
                json!({"sortDescriptor": {"field": word["id"], "direction": direction}}),
            )
            .await;
            assert_eq!(first_names(&page), expected, "{direction}");
        }
    }
}

/// A single-select column sorts by its options' order (their `index`, then their place in the list), not by the
/// options' ids, which say nothing.
#[actix_web::test]
async fn single_select_columns_sort_in_the_order_of_their_options() {
    for app in with_and_without_indexes().await {
        let c = app.create_company("Stages").await;
        let k = &c.key;
        // Listed out of order on purpose: `index` decides.
        let stage = column(
            &app,
            k,
            json!({"entityType": "contact", "type": "singleSelect", "label": "Stage", "options": {"options": [
            {"label": "Lost", "index": 2}, {"label": "Lead", "index": 0}, {"label": "Customer", "index": 1}]}}),
        )
        .await;
        let value = |label: &str| {
            stage["options"]["options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["label"] == label)
                .unwrap()["value"]
                .clone()
        };
        for (name, label) in [
            ("lost", Some("Lost")),
            ("none", None),
            ("lead", Some("Lead")),
            ("customer", Some("Customer")),
        ] {
            let values = label.map_or(json!([]), |l| json!([{"columnId": stage["id"], "value": value(l)}]));
            create(
                &app,
                k,
                "contacts",
                json!({"firstName": name, "customFieldValues": values}),
            )
            .await;
        }
        for (direction, expected) in [
            ("asc", ["lead", "customer", "lost", "none"]),
            ("desc", ["lost", "customer", "lead", "none"]),
        ] {
            let page = search(
                &app,
                k,
                "contacts",
                json!({"sortDescriptor": {"field": stage["id"], "direction": direction}}),
            )
            .await;
            assert_eq!(first_names(&page), expected, "{direction}");
        }
    }
}
