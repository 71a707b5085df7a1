//! The OpenAPI document: 3.1, complete, and every documented route answers.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn the_document_is_openapi_3_1_with_schemas_security_and_webhooks() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/openapi")).send().await.unwrap();
    assert_eq!(response.status(), 200, "served without a key");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["apiKeyAuth"]["name"], "x-api-key");
    assert_eq!(doc["webhooks"].as_object().unwrap().len(), 15);
    assert!(doc["webhooks"]["contactUpdated"]["post"]["requestBody"].is_object());
    for name in [
        "ContactDto",
        "CreateDeal",
        "UpdateTask",
        "ErrorBody",
        "QueryInput",
        "SearchResult",
        "Column",
        "RoleInput",
    ] {
        assert!(doc["components"]["schemas"][name].is_object(), "schema {name}");
    }
    // Every $ref points at a defined schema.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("Customermates API"));
}

#[actix_web::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    let company = app.create_company("Docs").await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let routes = customermates::http::openapi::routes();
    assert_eq!(
        paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(),
        routes.len()
    );
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let request = if path.starts_with("/admin/") {
                app.admin(method.clone(), &concrete)
            } else {
                app.api(method.clone(), &company.key, &concrete)
            };
            let response = request
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(
                status != 405 && !body.contains("route_not_found"),
                "{method} {path} is documented but not served: {status} {body}"
            );
            assert!(status < 500, "{method} {path} answered {status}: {body}");
        }
    }
}
