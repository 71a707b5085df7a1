//! Bad input gets a structured 4xx, never a panic or a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, call, create, id, spawn_with};

#[actix_web::test]
async fn malformed_unknown_oversized_and_mistyped_bodies_get_coded_errors() {
    let app = spawn_with(&[("CM_SERVER__MAX_BODY_BYTES", "4096")]).await;
    let company = app.create_company("Strict").await;
    let post = |body: String, content_type: &'static str| {
        app.api(Method::POST, &company.key, "/api/v1/contacts")
            .header("content-type", content_type)
            .body(body)
    };

    let cases = [
        (post("{\"firstName\": ".into(), "application/json"), 400, "invalid_json"),
        (post("[1, 2]".into(), "application/json"), 400, "validation_failed"),
        (
            post(
                json!({"firstName": "A", "surprise": true}).to_string(),
                "application/json",
            ),
            400,
            "validation_failed",
        ),
        (
            post(json!({"firstName": 42}).to_string(), "application/json"),
            400,
            "validation_failed",
        ),
        // The reference's email rule: no invisible characters, no `..`.
        (
            post(
                json!({"firstName": "A", "emails": ["a\u{200b}@b.co"]}).to_string(),
                "application/json",
            ),
            400,
            "validation_failed",
        ),
        (
            post(
                json!({"firstName": "A", "emails": ["a..b@c.co"]}).to_string(),
                "application/json",
            ),
            400,
            "validation_failed",
        ),
        (
            post(
                json!({"firstName": "A", "notes": "x".repeat(10_000)}).to_string(),
                "application/json",
            ),
            413,
            "payload_too_large",
        ),
        (
            post(json!({"firstName": "A"}).to_string(), "text/plain"),
            415,
            "invalid_content_type",
        ),
        (
            post(json!({"firstName": " "}).to_string(), "application/json"),
            400,
            "validation_failed",
        ),
        (
            post(
                json!({"firstName": "A", "emails": ["nope"]}).to_string(),
                "application/json",
            ),
            400,
            "validation_failed",
        ),
        (
            post(
                json!({"firstName": "A", "emails": (0..101).map(|i| format!("{i}@x.io")).collect::<Vec<_>>()})
                    .to_string(),
                "application/json",
            ),
            400,
            "validation_failed",
        ),
    ];
    for (request, status, code) in cases {
        assert_error(request.send().await.unwrap(), status, code).await;
    }
}

#[actix_web::test]
async fn bad_paths_routes_and_pages_get_coded_errors() {
    let app = spawn_with(&[]).await;
    let company = app.create_company("Paths").await;

    let cases = [
        (
            app.api(Method::GET, &company.key, "/api/v1/contacts/not-a-uuid"),
            400,
            "invalid_path",
        ),
        (
            app.api(
                Method::GET,
                &company.key,
                &format!("/api/v1/contacts/{}", uuid::Uuid::new_v4()),
            ),
            404,
            "record_not_found",
        ),
        (
            app.api(Method::GET, &company.key, "/api/v1/nothing-here"),
            404,
            "route_not_found",
        ),
        (app.client.get(app.url("/nothing-here")), 404, "route_not_found"),
        (
            app.api(Method::POST, &company.key, "/api/v1/contacts/search")
                .json(&json!({"pagination": {"pageSize": 101}})),
            400,
            "validation_failed",
        ),
        (
            app.api(Method::POST, &company.key, "/api/v1/contacts/search")
                .json(&json!({"pagination": {"page": 0}})),
            400,
            "validation_failed",
        ),
        (
            app.api(Method::POST, &company.key, "/api/v1/contacts/many")
                .json(&json!({"contacts": []})),
            400,
            "validation_failed",
        ),
    ];
    for (request, status, code) in cases {
        assert_error(request.send().await.unwrap(), status, code).await;
    }
}

#[actix_web::test]
async fn a_batch_with_one_bad_item_creates_nothing_and_names_the_item() {
    let app = spawn_with(&[]).await;
    let company = app.create_company("Batch").await;
    let body = json!({"contacts": [{"firstName": "Good"}, {"firstName": "Bad", "emails": ["x@y.example", "broken"]}]});

    let response = app
        .api(Method::POST, &company.key, "/api/v1/contacts/many")
        .json(&body)
        .send()
        .await
        .unwrap();

    let error = assert_error(response, 400, "validation_failed").await;
    assert_eq!(error["details"][0]["path"], "contacts[1].emails[1]");
    assert_eq!(app.contacts(&company.key).await.1, 0);
}

#[actix_web::test]
async fn every_response_says_how_long_the_server_took() {
    let app = spawn_with(&[]).await;
    for path in ["/healthz", "/api/v1/users/me", "/nowhere"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let timing = response
            .headers()
            .get("server-timing")
            .expect("Server-Timing")
            .to_str()
            .unwrap()
            .to_owned();
        let millis: f64 = timing.strip_prefix("app;dur=").unwrap().parse().unwrap();
        assert!(millis >= 0.0, "{path}: {timing}");
    }
}

/// The routes whose body is optional read it when one is sent: a body that does not parse is an error, not "no body"
/// (a misspelt filter used to answer with every record, a mistyped expiry to make a key that never expires).
#[actix_web::test]
async fn optional_bodies_are_read_when_sent() {
    let app = spawn_with(&[]).await;
    let company = app.create_company("Optional").await;
    let k = &company.key;
    app.create_contact(k, "Ann").await;
    let json = "application/json";
    let cases = [
        (
            "/api/v1/contacts/search",
            r#"{"filters": [], "typo": 1}"#,
            json,
            400,
            "invalid_json",
        ),
        ("/api/v1/contacts/search", "{not json", json, 400, "invalid_json"),
        (
            "/api/v1/contacts/search",
            r#"{"pagination": {"pageSize": -1}}"#,
            json,
            400,
            "invalid_json",
        ),
        (
            "/api/v1/contacts/search",
            "{}",
            "text/plain",
            415,
            "invalid_content_type",
        ),
        ("/api/v1/users/search", r#"{"typo": 1}"#, json, 400, "invalid_json"),
        (
            "/api/v1/api-keys",
            r#"{"name": "ci", "expiresInDays": "30"}"#,
            json,
            400,
            "invalid_json",
        ),
        (
            "/api/v1/api-keys",
            r#"{"expiresInDays": 0}"#,
            json,
            400,
            "validation_failed",
        ),
    ];
    for (path, body, content_type, status, code) in cases {
        let request = app
            .api(Method::POST, k, path)
            .header("content-type", content_type)
            .body(body);
        assert_error(request.send().await.unwrap(), status, code).await;
    }
    let keys = format!("/admin/v1/users/{}/api-keys", company.user_id);
    let admin = app
        .admin(Method::POST, &keys)
        .header("content-type", json)
        .body(r#"{"expires": 30}"#);
    assert_error(admin.send().await.unwrap(), 400, "invalid_json").await;

    // No body, an empty one, or `null` (the OpenAPI document's `oneOf [null, …]`) is still the default.
    for request in [
        app.api(Method::POST, k, "/api/v1/contacts/search"),
        app.api(Method::POST, k, "/api/v1/contacts/search")
            .header("content-type", "application/json")
            .body(""),
        app.api(Method::POST, k, "/api/v1/contacts/search")
            .header("content-type", "application/json")
            .body("null"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page: serde_json::Value = response.json().await.unwrap();
        assert_eq!(page["pagination"]["total"], 1, "{page}");
    }
    let response = app.api(Method::POST, k, "/api/v1/api-keys").send().await.unwrap();
    assert_eq!(response.status(), 201);
    let response = app.admin(Method::POST, &keys).send().await.unwrap();
    assert_eq!(response.status(), 201);

    // Whatever the framing: chunked (empty, whitespace, a body), or a body over the limit.
    let chunked = |body: &str| {
        let chunk = if body.is_empty() {
            String::new()
        } else {
            format!("{:x}\r\n{body}\r\n", body.len())
        };
        format!(
            "POST /api/v1/contacts/search HTTP/1.1\r\nhost: localhost\r\nx-api-key: {k}\r\n\
             content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{chunk}0\r\n\r\n"
        )
    };
    for (body, status) in [
        ("", 200),
        ("  \n ", 200),
        (r#"{"typo": 1}"#, 400),
        (r#"{"searchTerm": "ann"}"#, 200),
    ] {
        let response = raw_http(&app, &chunked(body)).await;
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{body:?}: {response}"
        );
    }
    let big = format!(r#"{{"searchTerm": "{}"}}"#, "a".repeat(2 << 20));
    let response = app
        .api(Method::POST, k, "/api/v1/contacts/search")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
}

/// Sends a raw HTTP/1.1 request (with `connection: close`) and returns the whole response.
async fn raw_http(app: &crate::helpers::TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// Searches with many filters or many values get a 400 naming the limit, not a crash: 71 filters overflowed the
/// stack of the thread serving the request (the whole server aborted), ~150 made the engine's parser fail (500),
/// and 25,000 copies of one id took seconds.
#[actix_web::test]
async fn searches_with_too_many_filters_or_values_get_a_coded_error() {
    let app = spawn_with(&[]).await;
    let company = app.create_company("Filters").await;
    let k = &company.key;
    let (_, period) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "dateRange", "label": "Period"})),
    )
    .await;
    let organization = create(&app, k, "organizations", json!({"name": "Acme"})).await;
    let ann = create(
        &app,
        k,
        "contacts",
        json!({"firstName": "Ann", "emails": ["ann@x.example"], "organizationIds": [id(&organization)],
               "customFieldValues": [{"columnId": period["id"], "value": "2024-01-01,2024-12-31"}]}),
    )
    .await;
    app.create_contact(k, "Bob").await;

    // The most filters a search takes, of the kinds that compile to the largest conditions, all of them holding.
    let kinds = [
        json!({"field": "emails", "operator": "isNotNull"}),
        json!({"field": period["id"], "operator": "contains", "value": "2024-06-01"}),
        json!({"field": "createdAt", "operator": "between", "value": ["2000-01-01", "2999-01-01"]}),
        json!({"field": "organizationIds", "operator": "hasSome", "value": [id(&organization)]}),
        json!({"field": "dealIds", "operator": "hasNone"}),
    ];
    let most: Vec<_> = kinds.iter().cycle().take(50).cloned().collect();
    let query = json!({"filters": most, "searchTerm": "a n an nn ann x ex exam example ann@x"});
    let (status, page) = call(&app, k, Method::POST, "/api/v1/contacts/search", Some(query)).await;
    assert_eq!((status, page["pagination"]["total"].clone()), (200, json!(1)), "{page}");
    assert_eq!(page["items"][0]["id"], ann["id"]);

    // As many id sets as a search can have (each relationship filter with a value and each search word is one):
    // intersected one after the other, not nested 60 deep.
    let sets = vec![kinds[3].clone(); 50];
    let query = json!({"filters": sets, "searchTerm": "a n an nn ann x ex exam example ann@x"});
    let (status, page) = call(&app, k, Method::POST, "/api/v1/contacts/search", Some(query)).await;
    assert_eq!((status, page["pagination"]["total"].clone()), (200, json!(1)), "{page}");

    let one_more: Vec<_> = kinds.iter().cycle().take(51).cloned().collect();
    let response = app
        .api(Method::POST, k, "/api/v1/contacts/search")
        .json(&json!({"filters": one_more}))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, "validation_failed").await;
    assert_eq!(error["details"][0]["path"], "filters", "{error}");
    assert!(
        error["details"][0]["message"].as_str().unwrap().contains("50"),
        "{error}"
    );

    // 100 values (here one id repeated: counted once), then 101.
    let ids = |n: usize| vec![id(&organization); n];
    let (status, page) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts/search",
        Some(json!({"filters": [{"field": "organizationIds", "operator": "in", "value": ids(100)}]})),
    )
    .await;
    assert_eq!((status, page["pagination"]["total"].clone()), (200, json!(1)), "{page}");
    let response = app
        .api(Method::POST, k, "/api/v1/contacts/search")
        .json(&json!({"filters": [{"field": "organizationIds", "operator": "in", "value": ids(101)}]}))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, "validation_failed").await;
    assert_eq!(error["details"][0]["path"], "filters[0].value", "{error}");

    // A value of the wrong type is named, not dropped.
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts/search",
        Some(json!({"filters": [{"field": period["id"], "operator": "between", "value": ["2024-01-01", true]}]})),
    )
    .await;
    assert_eq!(
        (status, &error["details"][0]["path"]),
        (400, &json!("filters[0].value[1]")),
        "{error}"
    );

    // A relationship array of a create holds at most 1,000 ids.
    let many: Vec<String> = (0..1001).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"firstName": "Many", "organizationIds": many})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["details"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("organizationIds"),
        "{error}"
    );

    // A repeated id is checked once, and a missing one is named at its own place in the list.
    let ghost = uuid::Uuid::new_v4().to_string();
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts/search",
        Some(json!({"filters": [{"field": "organizationIds", "operator": "in",
                                 "value": [id(&organization), id(&organization), ghost]}]})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["details"][0]["path"], "filters[0].value[2]", "{error}");
}

/// Amounts and quantities are bounded so that a deal's totals stay numbers: `1e308 × 2` was stored as infinity and
/// answered as `null`.
#[actix_web::test]
async fn amounts_and_quantities_too_large_for_a_total_are_refused() {
    let app = spawn_with(&[]).await;
    let company = app.create_company("Totals").await;
    let k = &company.key;
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/services",
        Some(json!({"name": "Huge", "amount": 1e308})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["details"][0]["path"].as_str().unwrap().ends_with("amount"),
        "{error}"
    );
    let largest = create(&app, k, "services", json!({"name": "Largest", "amount": 1e15})).await;
    let (status, error) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/deals",
        Some(json!({"name": "D", "services": [{"serviceId": id(&largest), "quantity": 1e10}]})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let path = error["details"][0]["path"].as_str().unwrap();
    assert!(path.ends_with("services[0].quantity"), "{error}");
    let deal = create(
        &app,
        k,
        "deals",
        json!({"name": "D", "services": [{"serviceId": id(&largest), "quantity": 1e9}]}),
    )
    .await;
    assert_eq!(deal["totalValue"].as_f64(), Some(1e24), "{deal}");
    assert_eq!(deal["totalQuantity"].as_f64(), Some(1e9), "{deal}");
}

/// A single-record route's errors name paths of its own request: not the `contacts[0]` or `ids[0]` of the batch
/// operation behind it. A link whose first id is unknown is a 400 at `ids[0]` like at any other place, and only the
/// record of the URL missing is a 404.
#[actix_web::test]
async fn single_record_routes_name_paths_of_their_own_request() {
    let app = crate::helpers::spawn_app().await;
    let c = app.create_company("Paths").await;
    let contact = create(&app, &c.key, "contacts", json!({"firstName": "Ann"})).await;
    let org = create(&app, &c.key, "organizations", json!({"name": "Acme"})).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let link = format!("/api/v1/contacts/{}/link", id(&contact));

    for (ids, paths) in [
        (json!([unknown]), vec!["ids[0]"]),
        (json!([unknown, id(&org)]), vec!["ids[0]"]),
        (json!([id(&org), unknown]), vec!["ids[1]"]),
    ] {
        let response = app
            .api(Method::POST, &c.key, &link)
            .json(&json!({"relation": "organizations", "ids": ids}))
            .send()
            .await
            .unwrap();
        let body = assert_error(response, 400, "validation_failed").await;
        let got: Vec<&str> = body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        assert_eq!(got, paths, "{body}");
        assert_eq!(
            body["details"][0]["message"],
            "Organization ID not found or not accessible."
        );
    }
    let (_, kept) = call(
        &app,
        &c.key,
        Method::GET,
        &format!("/api/v1/contacts/{}", id(&contact)),
        None,
    )
    .await;
    assert_eq!(
        kept["contact"]["organizations"],
        json!([]),
        "a refused link links nothing"
    );

    // The record of the URL missing is a 404, whatever else the body names.
    let stranger = uuid::Uuid::new_v4().to_string();
    for (method, path, body) in [
        (
            Method::POST,
            "link",
            json!({"relation": "organizations", "ids": [id(&org)]}),
        ),
        (
            Method::POST,
            "unlink",
            json!({"relation": "organizations", "ids": [id(&org)]}),
        ),
        (
            Method::POST,
            "link",
            json!({"relation": "organizations", "ids": [stranger]}),
        ),
        (Method::PUT, "", json!({"organizationIds": [stranger]})),
    ] {
        let url = format!("/api/v1/contacts/{unknown}/{path}");
        let missing = app
            .api(method, &c.key, url.trim_end_matches('/'))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(missing, 404, "record_not_found").await;
    }

    for (method, path) in [
        (Method::POST, "/api/v1/contacts".to_owned()),
        (Method::PUT, format!("/api/v1/contacts/{}", id(&contact))),
    ] {
        let response = app.api(method, &c.key, &path).json(&json!([])).send().await.unwrap();
        let body = assert_error(response, 400, "validation_failed").await;
        assert_eq!(body["details"][0]["path"], "", "the body itself: {body}");
    }
    let response = app
        .api(Method::POST, &c.key, "/api/v1/deals")
        .json(&json!({"name": "D", "services": [{"serviceId": unknown}]}))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, 400, "validation_failed").await;
    assert_eq!(body["details"][0]["path"], "services[0].serviceId", "{body}");
}

/// A JSON body that parses but does not fit its route's schema names the field at fault in `details`.
#[actix_web::test]
async fn mistyped_fields_of_typed_bodies_are_named_by_path() {
    let app = crate::helpers::spawn_app().await;
    let c = app.create_company("Typed").await;
    let cases = [
        (
            "/api/v1/contacts/search",
            json!({"pagination": {"page": -1}}),
            "pagination.page",
        ),
        (
            "/api/v1/contacts/search",
            json!({"pagination": {"pageSize": "10"}}),
            "pagination.pageSize",
        ),
        (
            "/api/v1/contacts/search",
            json!({"sortDescriptor": {"field": "name", "direction": "ASC"}}),
            "sortDescriptor.direction",
        ),
        (
            "/api/v1/contacts/search",
            json!({"filters": [{"field": "createdAt", "operator": "gt", "value": "2024-01-01", "x": 1}]}),
            "filters[0].x",
        ),
        (
            "/api/v1/custom-columns",
            json!({"entityType": "contact", "type": "plain", "label": 5}),
            "label",
        ),
        // serde calls these "expected value", as for broken JSON; the body is JSON, so the field is named.
        (
            "/api/v1/contacts/search",
            json!({"sortDescriptor": {"field": "name", "direction": null}}),
            "sortDescriptor.direction",
        ),
        (
            "/api/v1/custom-columns",
            json!({"entityType": 5, "type": "plain", "label": "L"}),
            "entityType",
        ),
    ];
    for (path, body, at) in cases {
        let response = app.api(Method::POST, &c.key, path).json(&body).send().await.unwrap();
        let answer = assert_error(response, 400, "invalid_json").await;
        assert_eq!(answer["details"][0]["path"], at, "{path} {body}: {answer}");
        let message = answer["details"][0]["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.contains(" at line "), "{message}");
    }
    // Not JSON at all, or bytes after the value: no field to name.
    for raw in ["{\"pagination\": ", "{} {}"] {
        let response = app
            .api(Method::POST, &c.key, "/api/v1/contacts/search")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let answer = assert_error(response, 400, "invalid_json").await;
        assert_eq!(answer["details"], json!([]), "{raw}: {answer}");
    }
}

/// Typed bodies are read as actix reads them: compressed as `Content-Encoding` says, with the size limit counted on
/// the decoded bytes, and a wrong or missing content type is a 415.
#[actix_web::test]
async fn typed_bodies_are_decoded_limited_and_typed_like_any_other() {
    use std::io::Write;
    let app = spawn_with(&[("CM_SERVER__MAX_BODY_BYTES", "4096")]).await;
    let c = app.create_company("Encoded").await;
    let gzip = |body: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap()
    };
    let column = json!({"entityType": "contact", "type": "plain", "label": "Zipped"}).to_string();
    let response = app
        .api(Method::POST, &c.key, "/api/v1/custom-columns")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(column.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    // 100 KB of label compresses to a few hundred bytes, and is still too large once decoded.
    let bomb = json!({"entityType": "contact", "type": "plain", "label": "x".repeat(100_000)}).to_string();
    let zipped = gzip(bomb.as_bytes());
    assert!(zipped.len() < 4096);
    let response = app
        .api(Method::POST, &c.key, "/api/v1/custom-columns")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(zipped)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
    for content_type in [None, Some("text/plain")] {
        let mut request = app
            .api(Method::POST, &c.key, "/api/v1/custom-columns")
            .body(column.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        assert_error(request.send().await.unwrap(), 415, "invalid_content_type").await;
    }
    let response = app
        .api(Method::POST, &c.key, "/api/v1/custom-columns")
        .header("content-type", "application/json; charset=utf-8")
        .body("")
        .send()
        .await
        .unwrap();
    let answer = assert_error(response, 400, "invalid_json").await;
    assert_eq!(answer["details"], json!([]));
}
