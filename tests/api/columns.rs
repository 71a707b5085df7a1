//! Custom columns: the ten types, their value rules, per-column merge, defaults and deletion.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{call, create, first_names, id, ids, search, spawn_app, status_column};

#[actix_web::test]
async fn each_column_type_takes_valid_values_and_refuses_invalid_ones_with_its_message() {
    let app = spawn_app().await;
    let c = app.create_company("Types").await;
    let k = &c.key;
    let select = json!({"options": [{"label": "One", "color": "info", "isDefault": false, "index": 0}]});
    let list = json!({"color": "info", "allowMultiple": true});
    let types = [
        ("plain", Value::Null, "anything at all", None),
        ("email", list.clone(), "a@b.example, c@d.example", Some("not-an-email")),
        ("phone", list.clone(), "+491234567890", Some("0049 123")),
        (
            "link",
            list,
            "https://example.com, mailto:x@y.example",
            Some("ftp://nope"),
        ),
        ("currency", json!({"currency": "usd"}), "-12.50", Some("twelve")),
        ("singleSelect", select, "", Some("not-an-option")),
        ("date", Value::Null, "2024-01-15", Some("15.01.2024")),
        (
            "dateTime",
            json!({"displayFormat": "relative"}),
            "2024-01-15T10:30:00Z",
            Some("2024-01-15T10:30:00+02:00"),
        ),
        (
            "dateRange",
            Value::Null,
            "2024-01-15,2024-01-22",
            Some("2024-01-22,2024-01-15"),
        ),
        (
            "dateTimeRange",
            Value::Null,
            "2024-01-15T09:00:00Z,2024-01-15T17:00:00Z",
            Some("2024-01-15"),
        ),
    ];
    for (kind, options, good, bad) in types {
        let mut body = json!({"entityType": "contact", "type": kind, "label": kind});
        if !options.is_null() {
            body["options"] = options;
        }
        let (status, column) = call(&app, k, Method::POST, "/api/v1/custom-columns", Some(body)).await;
        assert_eq!(status, 201, "{kind}: {column}");
        let good = if kind == "singleSelect" {
            column["options"]["options"][0]["value"].as_str().unwrap().to_owned()
        } else {
            good.to_owned()
        };
        let contact = create(
            &app,
            k,
            "contacts",
            json!({"firstName": kind, "customFieldValues": [{"columnId": column["id"], "value": good}]}),
        )
        .await;
        assert_eq!(
            contact["customFieldValues"],
            json!([{"columnId": column["id"], "value": good}]),
            "{kind}"
        );
        if let Some(bad) = bad {
            let (status, error) = call(
                &app,
                k,
                Method::POST,
                "/api/v1/contacts",
                Some(json!({"firstName": "x", "customFieldValues": [{"columnId": column["id"], "value": bad}]})),
            )
            .await;
            assert_eq!(status, 400, "{kind} accepted {bad}");
            assert_eq!(error["details"][0]["path"], "customFieldValues[0].value");
            assert!(
                error["details"][0]["message"].as_str().unwrap().contains("invalid"),
                "{error}"
            );
        }
    }
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "currency", "label": "X", "options": {"currency": "doubloons"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["details"][0]["path"], "options.currency");
    let (status, _) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "hologram", "label": "X"})),
    )
    .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn values_merge_per_column_null_clears_one_and_deleting_a_column_deletes_its_values() {
    let app = spawn_app().await;
    let c = app.create_company("Merge").await;
    let k = &c.key;
    let mut columns = Vec::new();
    for label in ["A", "B", "C"] {
        let (_, column) = call(
            &app,
            k,
            Method::POST,
            "/api/v1/custom-columns",
            Some(json!({"entityType": "organization", "type": "plain", "label": label})),
        )
        .await;
        columns.push(column["id"].as_str().unwrap().to_owned());
    }
    let org = create(&app, k, "organizations", json!({"name": "O", "customFieldValues": [{"columnId": columns[0], "value": "a"}, {"columnId": columns[1], "value": "b"}]})).await;
    let path = format!("/api/v1/organizations/{}", id(&org));
    let (_, updated) = call(&app, k, Method::PUT, &path, Some(json!({"customFieldValues": [{"columnId": columns[1], "value": null}, {"columnId": columns[2], "value": "c"}]}))).await;
    let mut expected = vec![
        json!({"columnId": columns[0], "value": "a"}),
        json!({"columnId": columns[2], "value": "c"}),
    ];
    expected.sort_by(|x, y| x["columnId"].as_str().cmp(&y["columnId"].as_str()));
    assert_eq!(
        updated["customFieldValues"],
        json!(expected),
        "only listed columns changed"
    );

    let (status, _) = call(
        &app,
        k,
        Method::DELETE,
        &format!("/api/v1/custom-columns/{}", columns[0]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, after) = call(&app, k, Method::GET, &path, None).await;
    assert_eq!(
        after["organization"]["customFieldValues"],
        json!([{"columnId": columns[2], "value": "c"}])
    );
    let (_, cleared) = call(&app, k, Method::PUT, &path, Some(json!({"customFieldValues": null}))).await;
    assert_eq!(cleared["customFieldValues"], json!([]), "REST null clears all values");

    let (status, error) = call(
        &app,
        k,
        Method::PUT,
        &path,
        Some(json!({"customFieldValues": [{"columnId": columns[0], "value": "x"}]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        error["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Custom column ID not found or not accessible. Available columns:")
    );
}

#[actix_web::test]
async fn single_select_defaults_are_backfilled_and_removed_options_fall_back_to_the_default() {
    let app = spawn_app().await;
    let c = app.create_company("Defaults").await;
    let k = &c.key;
    let before = create(&app, k, "tasks", json!({"name": "Old"})).await;
    let column = status_column(&app, k).await;
    let open = column["options"]["options"][0]["value"].as_str().unwrap().to_owned();
    let done = column["options"]["options"][1]["value"].as_str().unwrap().to_owned();
    let (_, old) = call(&app, k, Method::GET, &format!("/api/v1/tasks/{}", id(&before)), None).await;
    assert_eq!(
        old["task"]["customFieldValues"][0]["value"],
        open.as_str(),
        "existing records get the default"
    );
    let new = create(&app, k, "tasks", json!({"name": "New"})).await;
    assert_eq!(
        new["customFieldValues"][0]["value"],
        open.as_str(),
        "new records get the default"
    );
    let finished = create(
        &app,
        k,
        "tasks",
        json!({"name": "Finished", "customFieldValues": [{"columnId": column["id"], "value": done}]}),
    )
    .await;

    let change = json!({"options": {"options": [{"label": "Open", "value": open, "isDefault": true}]}});
    let (status, _) = call(
        &app,
        k,
        Method::PUT,
        &format!("/api/v1/custom-columns/{}", column["id"].as_str().unwrap()),
        Some(change),
    )
    .await;
    assert_eq!(status, 200);
    let (_, moved) = call(&app, k, Method::GET, &format!("/api/v1/tasks/{}", id(&finished)), None).await;
    assert_eq!(
        moved["task"]["customFieldValues"][0]["value"],
        open.as_str(),
        "a removed option falls back to the default"
    );
}

/// A column id in another form of the same UUID (upper case, without hyphens) finds the column everywhere a column
/// id is taken: a custom value, a filter, a sort, and the column's own routes, as the path always did.
#[actix_web::test]
async fn a_column_id_in_upper_case_or_without_hyphens_finds_the_column_everywhere() {
    let app = spawn_app().await;
    let c = app.create_company("Forms").await;
    let k = &c.key;
    let (_, column) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "plain", "label": "Code"})),
    )
    .await;
    let stored = column["id"].as_str().unwrap().to_owned();
    let upper = stored.to_uppercase();
    let bare = stored.replace('-', "");
    let ann = create(
        &app,
        k,
        "contacts",
        json!({"firstName": "Ann", "customFieldValues": [{"columnId": upper, "value": "b"}]}),
    )
    .await;
    assert_eq!(ann["customFieldValues"], json!([{"columnId": stored, "value": "b"}]));
    create(
        &app,
        k,
        "contacts",
        json!({"firstName": "Bob", "customFieldValues": [{"columnId": bare, "value": "a"}]}),
    )
    .await;

    for form in [&upper, &bare] {
        let page = search(
            &app,
            k,
            "contacts",
            json!({"filters": [{"field": form, "operator": "equals", "value": "b"}]}),
        )
        .await;
        assert_eq!(ids(&page), [id(&ann)], "filter by {form}");
        let page = search(
            &app,
            k,
            "contacts",
            json!({"sortDescriptor": {"field": form, "direction": "asc"}}),
        )
        .await;
        assert_eq!(first_names(&page), ["Bob", "Ann"], "sort by {form}");
    }
    let (status, renamed) = call(
        &app,
        k,
        Method::PUT,
        &format!("/api/v1/custom-columns/{upper}"),
        Some(json!({"label": "Ref"})),
    )
    .await;
    assert_eq!(
        (status, &renamed["id"], &renamed["label"]),
        (200, &json!(stored), &json!("Ref"))
    );
    // Not a UUID in any form: not found, with the columns there are.
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"firstName": "Cy", "customFieldValues": [{"columnId": format!("{stored}x"), "value": "c"}]})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["details"][0]["path"], "customFieldValues[0].columnId");
}

/// A key of `options` that no column of the type has is a 400 at its path, not dropped; the options a column is
/// answered with go back unchanged.
#[actix_web::test]
async fn unknown_option_keys_are_refused_and_answered_options_are_taken_back() {
    let app = spawn_app().await;
    let c = app.create_company("Option keys").await;
    let k = &c.key;
    let select = json!({"options": [{"label": "One", "color": "info", "isDefault": false, "index": 0}]});
    let cases = [
        (
            "link",
            json!({"color": "info", "allowMultiple": true, "alowMultiple": false}),
            "alowMultiple",
        ),
        (
            "email",
            json!({"color": "info", "allowMultiple": false, "currency": "usd"}),
            "currency",
        ),
        (
            "currency",
            json!({"currency": "usd", "displayFormat": "relative"}),
            "displayFormat",
        ),
        (
            "dateTime",
            json!({"displayFormat": "relative", "color": "info"}),
            "color",
        ),
        (
            "singleSelect",
            json!({"options": select["options"], "allowMultiple": true}),
            "allowMultiple",
        ),
    ];
    for (kind, mut options, extra) in cases {
        let body = json!({"entityType": "deal", "type": kind, "label": kind, "options": options});
        let (status, error) = call(&app, k, Method::POST, "/api/v1/custom-columns", Some(body)).await;
        assert_eq!(status, 400, "{kind}: {error}");
        assert_eq!(
            error["details"][0]["path"],
            format!("options.{extra}"),
            "{kind}: {error}"
        );
        options.as_object_mut().unwrap().remove(extra);
        let body = json!({"entityType": "deal", "type": kind, "label": kind, "options": options});
        let (status, column) = call(&app, k, Method::POST, "/api/v1/custom-columns", Some(body)).await;
        assert_eq!(status, 201, "{kind}: {column}");
        let path = format!("/api/v1/custom-columns/{}", column["id"].as_str().unwrap());
        let (status, again) = call(&app, k, Method::PUT, &path, Some(json!({"options": column["options"]}))).await;
        assert_eq!(
            (status, &again["options"]),
            (200, &column["options"]),
            "{kind}: {again}"
        );
    }
}

/// `allowMultiple` is turned off only once no record holds several values in the column (they could not be written
/// back as they are); then single values stay, and a list is refused.
#[actix_web::test]
async fn allow_multiple_goes_off_only_when_no_record_holds_several_values() {
    let app = spawn_app().await;
    let c = app.create_company("Lists").await;
    let k = &c.key;
    let (_, column) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "email", "label": "Mail", "options": {"color": "info", "allowMultiple": true}})),
    )
    .await;
    let path = format!("/api/v1/custom-columns/{}", column["id"].as_str().unwrap());
    let value = |v: &str| json!({"customFieldValues": [{"columnId": column["id"], "value": v}]});
    let mut first = value("a@b.example, c@d.example");
    first["firstName"] = json!("Ann");
    let ann = create(&app, k, "contacts", first).await;
    let mut second = value("e@f.example");
    second["firstName"] = json!("Bob");
    create(&app, k, "contacts", second).await;

    let off = json!({"options": {"color": "info", "allowMultiple": false}});
    let (status, error) = call(&app, k, Method::PUT, &path, Some(off.clone())).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["details"][0]["path"], "options.allowMultiple");
    assert!(
        error["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 record(s) hold several values"),
        "{error}"
    );
    let contact = format!("/api/v1/contacts/{}", id(&ann));
    let (status, _) = call(&app, k, Method::PUT, &contact, Some(value("a@b.example"))).await;
    assert_eq!(status, 200);
    let (status, updated) = call(&app, k, Method::PUT, &path, Some(off)).await;
    assert_eq!(
        (status, &updated["options"]["allowMultiple"]),
        (200, &json!(false)),
        "{updated}"
    );
    let (status, _) = call(&app, k, Method::PUT, &contact, Some(value("a@b.example, c@d.example"))).await;
    assert_eq!(status, 400, "a list is refused once the column takes one value");
}

/// A link column that takes one URL refuses a value that reads as several (each comma-separated part a URL), and
/// keeps a URL that merely holds a comma; turning `allowMultiple` off counts only the values that read as several.
#[actix_web::test]
async fn a_single_link_column_takes_one_url_and_a_comma_alone_is_no_list() {
    let app = spawn_app().await;
    let c = app.create_company("Links").await;
    let k = &c.key;
    let (_, column) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "organization", "type": "link", "label": "Site", "options": {"color": "info", "allowMultiple": false}})),
    )
    .await;
    let path = format!("/api/v1/custom-columns/{}", column["id"].as_str().unwrap());
    let site = |v: &str| json!({"name": "O", "customFieldValues": [{"columnId": column["id"], "value": v}]});
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/organizations",
        Some(site("https://a.example, https://b.example")),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["details"][0]["path"], "customFieldValues[0].value");
    let comma = create(&app, k, "organizations", site("https://example.com/a,b")).await;
    assert_eq!(comma["customFieldValues"][0]["value"], "https://example.com/a,b");

    let on = json!({"options": {"color": "info", "allowMultiple": true}});
    let off = json!({"options": {"color": "info", "allowMultiple": false}});
    let (status, _) = call(&app, k, Method::PUT, &path, Some(on)).await;
    assert_eq!(status, 200);
    let (status, updated) = call(&app, k, Method::PUT, &path, Some(off.clone())).await;
    assert_eq!(status, 200, "a URL with a comma is one value: {updated}");
    let (status, _) = call(
        &app,
        k,
        Method::PUT,
        &path,
        Some(json!({"options": {"color": "info", "allowMultiple": true}})),
    )
    .await;
    assert_eq!(status, 200);
    create(&app, k, "organizations", site("https://a.example, https://b.example")).await;
    let (status, error) = call(&app, k, Method::PUT, &path, Some(off)).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 record(s) hold several values"),
        "{error}"
    );
}
