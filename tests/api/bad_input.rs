//! Bad input gets a structured 4xx, never a panic or a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_with};

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
