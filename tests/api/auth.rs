//! API-key authentication: both header forms, every refusal with its JSON body, self-service keys.

use chrono::{Duration, Utc};
use customermates::auth::api_key;
use customermates::store::control::{self, NewKeyRow};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[actix_web::test]
async fn the_key_is_accepted_in_x_api_key_and_as_a_bearer_token() {
    let app = spawn_app().await;
    let company = app.create_company("Headers").await;

    let with_header = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("x-api-key", &company.key)
        .send()
        .await
        .unwrap();
    let with_bearer = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&company.key)
        .send()
        .await
        .unwrap();

    assert_eq!(with_header.status(), 200);
    assert_eq!(with_bearer.status(), 200);
}

#[actix_web::test]
async fn every_refusal_is_a_401_with_a_coded_json_body() {
    let app = spawn_app().await;
    let company = app.create_company("Refusals").await;
    let (_, inactive) = app
        .create_user_with_key(&company.id, json!({"status": "inactive"}))
        .await;
    let (_, pending) = app
        .create_user_with_key(&company.id, json!({"status": "pendingAuthorization"}))
        .await;
    let unknown = api_key::generate().plaintext;
    let cases: [(Option<&str>, &str); 6] = [
        (None, "missing_api_key"),
        (Some(""), "missing_api_key"),
        (Some("short"), "invalid_api_key"),
        (Some(&unknown), "invalid_api_key"),
        (Some(&inactive), "user_inactive"),
        (Some(&pending), "user_pending_authorization"),
    ];
    for (key, code) in cases {
        let mut request = app.client.get(app.url("/api/v1/users/me"));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        assert_error(request.send().await.unwrap(), 401, code).await;
    }
}

#[actix_web::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let company = app.create_company("Expiry").await;
    let db = app.state.store.control();
    let user = control::get_user(db, &company.user_id).await.unwrap().unwrap();
    let generated = api_key::generate();
    let id = uuid::Uuid::new_v4().to_string();
    let row = NewKeyRow {
        id: &id,
        name: "old",
        prefix: &generated.prefix,
        hash: &generated.hash,
        expires_at: Some(Utc::now() - Duration::minutes(1)),
    };
    control::create_key(db, &user, &row).await.unwrap();

    let response = app
        .api(Method::GET, &generated.plaintext, "/api/v1/users/me")
        .send()
        .await
        .unwrap();

    assert_error(response, 401, "api_key_expired").await;

    // Nor is it rotated: its replacement would keep the passed expiry, and the old one would be revoked for it.
    let refused = app
        .api(Method::POST, &company.key, &format!("/api/v1/api-keys/{id}/rotate"))
        .send()
        .await
        .unwrap();
    let body = assert_error(refused, 400, "validation_failed").await;
    assert_eq!(
        body["details"],
        json!([{"path": "id", "message": "the key has expired; create a new one"}])
    );
    let (key, _) = control::get_key(db, &id).await.unwrap().unwrap();
    assert!(key.revoked_at.is_none(), "nothing was changed");
}

/// An empty `x-api-key` header (as from an unset variable) sends no key, so a Bearer key beside it is used.
#[actix_web::test]
async fn an_empty_x_api_key_header_leaves_the_bearer_key() {
    let app = spawn_app().await;
    let company = app.create_company("Both").await;
    let response = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("x-api-key", "")
        .bearer_auth(&company.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("x-api-key", " ")
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "missing_api_key").await;
}

#[actix_web::test]
async fn users_create_list_rotate_and_revoke_their_own_keys() {
    let app = spawn_app().await;
    let company = app.create_company("SelfService").await;

    let created = app
        .api(Method::POST, &company.key, "/api/v1/api-keys")
        .json(&json!({"name": "n8n", "expiresInDays": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let second = created["key"].as_str().unwrap().to_owned();
    assert!(created["expiresAt"].is_string());
    assert_eq!(
        app.api(Method::GET, &second, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let listed: Value = app
        .api(Method::GET, &company.key, "/api/v1/api-keys")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["apiKeys"].as_array().unwrap().len(), 2);

    let id = created["id"].as_str().unwrap();
    let rotated = app
        .api(Method::POST, &company.key, &format!("/api/v1/api-keys/{id}/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 201);
    let rotated: Value = rotated.json().await.unwrap();
    assert_eq!(rotated["replaces"], id);
    assert_eq!(rotated["name"], "n8n");
    let third = rotated["key"].as_str().unwrap();
    assert_error(
        app.api(Method::GET, &second, "/api/v1/users/me").send().await.unwrap(),
        401,
        "api_key_revoked",
    )
    .await;
    assert_eq!(
        app.api(Method::GET, third, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let third_id = rotated["id"].as_str().unwrap();
    let revoked = app
        .api(Method::DELETE, &company.key, &format!("/api/v1/api-keys/{third_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_error(
        app.api(Method::GET, third, "/api/v1/users/me").send().await.unwrap(),
        401,
        "api_key_revoked",
    )
    .await;
}

#[actix_web::test]
async fn a_user_cannot_touch_another_users_keys() {
    let app = spawn_app().await;
    let company = app.create_company("Neighbours").await;
    let (other_user, _) = app.create_user_with_key(&company.id, json!({})).await;
    let keys: Value = app
        .admin(Method::GET, &format!("/admin/v1/users/{other_user}/api-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_key = keys["apiKeys"][0]["id"].as_str().unwrap();

    let response = app
        .api(Method::DELETE, &company.key, &format!("/api/v1/api-keys/{other_key}"))
        .send()
        .await
        .unwrap();

    assert_error(response, 404, "api_key_not_found").await;
}

#[actix_web::test]
async fn key_expiry_beyond_365_days_is_refused() {
    let app = spawn_app().await;
    let company = app.create_company("Forever").await;

    let response = app
        .api(Method::POST, &company.key, "/api/v1/api-keys")
        .json(&json!({"expiresInDays": 400}))
        .send()
        .await
        .unwrap();

    let body = assert_error(response, 400, "validation_failed").await;
    assert_eq!(body["details"][0]["path"], "expiresInDays");
}
