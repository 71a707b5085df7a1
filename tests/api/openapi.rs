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
    // 11 operations for each of the 5 entities, and 29 others (users, roles, columns, events, API keys, admin,
    // health, this document). The document is collected from the calls that register the routes, so this count
    // moves only when a route is added or removed.
    let operations: Vec<(&String, &String, &Value)> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().iter().map(move |(m, op)| (path, m, op)))
        .collect();
    assert_eq!(operations.len(), 11 * 5 + 29);
    let mut ids = std::collections::HashSet::new();
    for (path, method, operation) in &operations {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id:?} missing or repeated"
        );
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path}: summary"
        );
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: success response"
        );
        if path.starts_with("/api/v1/") && path.as_str() != "/api/v1/openapi" {
            assert_eq!(
                operation["security"],
                serde_json::json!([{"apiKeyAuth": []}]),
                "{method} {path}"
            );
            for status in ["400", "401", "403", "404", "409", "413", "429"] {
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path}: {status}"
                );
            }
        }
        if path.starts_with("/admin/v1/") {
            assert_eq!(
                operation["security"],
                serde_json::json!([{"adminToken": []}]),
                "{method} {path}"
            );
        }
        if path.contains("{id}") {
            assert_eq!(operation["parameters"][0]["name"], "id", "{method} {path}");
            assert_eq!(
                operation["parameters"][0]["schema"]["format"], "uuid",
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        paths["/api/v1/contacts"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateContact"
    );
    assert_eq!(
        paths["/api/v1/deals/many"]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/UpdateDealBatch"
    );
    assert_eq!(paths["/api/v1/events"]["get"]["parameters"][0]["name"], "after");
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
