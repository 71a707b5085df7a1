//! Contacts over REST: create, create many, page, get; read scopes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, search, spawn_app};

#[actix_web::test]
async fn contacts_are_created_singly_and_in_batches_and_paged_with_totals() {
    let app = spawn_app().await;
    let company = app.create_company("Pages").await;
    let one = app.create_contact(&company.key, "Solo").await;
    assert_eq!(one["lastName"], "Test");
    assert_eq!(one["organizations"], json!([]));

    let batch: Vec<Value> = (0..30).map(|i| json!({"firstName": format!("B{i}"), "emails": [format!("B{i}@Example.com"), format!("b{i}@example.com")]})).collect();
    let response = app
        .api(Method::POST, &company.key, "/api/v1/contacts/many")
        .json(&json!({"contacts": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Vec<Value> = response.json().await.unwrap();
    assert_eq!(created.len(), 30);
    assert_eq!(created[3]["firstName"], "B3");
    assert_eq!(
        created[3]["emails"],
        json!(["b3@example.com"]),
        "emails are lowercased and de-duplicated"
    );

    let page: Value = app
        .api(Method::POST, &company.key, "/api/v1/contacts/search")
        .json(&json!({"pagination": {"page": 2, "pageSize": 25}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["pagination"],
        json!({"page": 2, "pageSize": 25, "totalPages": 2, "total": 31})
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 6);
    // No pagination: the first 100 (reference §7.5), and likewise with a page but no size.
    for body in [json!({}), json!({"pagination": {"page": 1}})] {
        let page = search(&app, &company.key, "contacts", body).await;
        assert_eq!(
            page["pagination"],
            json!({"page": 1, "pageSize": 100, "totalPages": 1, "total": 31})
        );
        assert_eq!(page["items"].as_array().unwrap().len(), 31);
    }

    let id = one["id"].as_str().unwrap();
    let fetched: Value = app
        .api(Method::GET, &company.key, &format!("/api/v1/contacts/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["contact"]["firstName"], "Solo");
    assert_eq!(fetched["customColumns"], json!([]));
}

#[actix_web::test]
async fn a_user_without_a_role_is_refused_with_the_permission_named() {
    let app = spawn_app().await;
    let company = app.create_company("Roles").await;
    let db = app.state.store.control();
    let (user_id, key) = app.create_user_with_key(&company.id, json!({})).await;
    // Take the role away (role management arrives with the CRM core).
    db.query("UPDATE type::record('user', $id) SET roleId = NONE")
        .bind(("id", user_id))
        .await
        .unwrap()
        .check()
        .unwrap();
    app.state.verifier.forget_company(&company.id);

    let read = app
        .api(Method::POST, &key, "/api/v1/contacts/search")
        .send()
        .await
        .unwrap();
    let body = assert_error(read, 403, "forbidden").await;
    assert_eq!(
        body["message"],
        "Access denied. Required permissions: readAll on contacts OR readOwn on contacts"
    );
    let write = app
        .api(Method::POST, &key, "/api/v1/contacts")
        .json(&json!({"firstName": "X"}))
        .send()
        .await
        .unwrap();
    assert_error(write, 403, "forbidden").await;
}
