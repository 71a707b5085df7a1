//! The platform admin API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[actix_web::test]
async fn a_created_company_comes_with_a_working_key_shown_once() {
    let app = spawn_app().await;
    let body =
        json!({"name": "Acme", "admin": {"email": "Owner@Acme.example", "firstName": "Olga", "lastName": "Owner"}});

    let response = app
        .admin(Method::POST, "/admin/v1/companies")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["company"]["name"], "Acme");
    assert_eq!(created["company"]["status"], "active");
    assert_eq!(created["user"]["email"], "owner@acme.example");
    assert_eq!(created["user"]["status"], "active");
    let key = created["apiKey"]["key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    assert_eq!(created["apiKey"]["prefix"], &key[..8]);

    let me: Value = app
        .api(Method::GET, key, "/api/v1/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["firstName"], "Olga");
    assert_eq!(me["roleName"], "Admin");
    assert_eq!(me["companyId"], created["company"]["id"]);

    let user_id = created["user"]["id"].as_str().unwrap();
    let keys: Value = app
        .admin(Method::GET, &format!("/admin/v1/users/{user_id}/api-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = keys["apiKeys"][0].as_object().unwrap();
    assert_eq!(listed["prefix"], &key[..8]);
    assert!(
        !listed.contains_key("key") && !listed.contains_key("hash"),
        "listing never shows the key: {listed:?}"
    );
}

#[actix_web::test]
async fn admin_routes_refuse_a_missing_or_wrong_token() {
    let app = spawn_app().await;

    let missing = app.client.get(app.url("/admin/v1/companies")).send().await.unwrap();
    assert_error(missing, 401, "missing_admin_token").await;
    let wrong = app
        .client
        .get(app.url("/admin/v1/companies"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "invalid_admin_token").await;
    let company = app.create_company("Keyed").await;
    let api_key_as_admin = app
        .client
        .get(app.url("/admin/v1/companies"))
        .bearer_auth(&company.key)
        .send()
        .await
        .unwrap();
    assert_error(api_key_as_admin, 401, "invalid_admin_token").await;
}

#[actix_web::test]
async fn companies_are_listed_with_counts_and_last_activity() {
    let app = spawn_app().await;
    let company = app.create_company("Counted").await;
    app.create_contact(&company.key, "Ann").await;
    app.create_contact(&company.key, "Bob").await;
    // Asking for the company counts its records; the listing then gives the counts its actor holds.
    company_by_id(&app, &company.id).await;

    let listed = companies(&app).await;
    let entry = listed["companies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == company.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["counts"]["contacts"], 2);
    assert_eq!(entry["counts"]["deals"], 0);
    assert_eq!(entry["userCount"], 1);

    let one = company_by_id(&app, &company.id).await;
    assert_eq!(one["counts"]["contacts"], 2);
    // Activity is stamped off the request path; give it a moment.
    let mut stamped = one["lastActivityAt"].is_string();
    for _ in 0..20 {
        if stamped {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let again = company_by_id(&app, &company.id).await;
        stamped = again["lastActivityAt"].is_string();
    }
    assert!(stamped, "last activity is recorded");
}

/// The listing of every company starts no idle company's actor (at thousands of companies it would start them all)
/// and asks no running one: it gives the counts running actors hold, and says which run. Asking for one company
/// counts it, waking it.
#[actix_web::test]
async fn listing_companies_wakes_no_idle_company() {
    let app = spawn_app().await;
    let idle = app.create_company("Idle").await;
    app.create_contact(&idle.key, "Ann").await;
    let busy = app.create_company("Busy").await;
    app.create_contact(&busy.key, "Bob").await;
    app.state.tenants.evict(&idle.id).await;
    assert!(!app.state.tenants.is_running(&idle.id));
    // The busy company's actor holds its counts once something asked for them (here: the company by id).
    company_by_id(&app, &busy.id).await;

    let listed = companies(&app).await;
    let entry = |id: &str| {
        listed["companies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(entry(&idle.id)["actorRunning"], false);
    assert_eq!(entry(&idle.id)["counts"], Value::Null);
    assert_eq!(entry(&busy.id)["actorRunning"], true);
    assert_eq!(entry(&busy.id)["counts"]["contacts"], 1);
    assert!(!app.state.tenants.is_running(&idle.id), "the listing left it asleep");

    let one = company_by_id(&app, &idle.id).await;
    assert_eq!(one["actorRunning"], false, "as it was when asked");
    assert_eq!(one["counts"]["contacts"], 1);
}

#[actix_web::test]
async fn a_demo_company_gets_the_sample_data_set() {
    let app = spawn_app().await;
    let body = json!({"name": "Demo", "demoData": true, "admin": {"email": "demo-test@example.com", "firstName": "D"}});
    let created: Value = app
        .admin(Method::POST, "/admin/v1/companies")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["company"]["id"].as_str().unwrap();

    let one: Value = app
        .admin(Method::GET, &format!("/admin/v1/companies/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(
        one["counts"],
        json!({"contacts": 8, "organizations": 5, "deals": 6, "services": 3, "tasks": 10})
    );
    let key = created["apiKey"]["key"].as_str().unwrap();
    let page: Value = app
        .api(Method::POST, key, "/api/v1/contacts/search")
        .json(&json!({"pagination": {"pageSize": 100}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alex = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["firstName"] == "Alex")
        .unwrap();
    assert_eq!(alex["organizations"][0]["name"], "North Light Group");
    assert_eq!(alex["deals"][0]["name"], "North Light discovery");
    assert_eq!(alex["users"][0]["id"], created["user"]["id"]);
    assert_eq!(alex["tasks"][0]["name"], "Intro call");
}

#[actix_web::test]
async fn suspending_a_company_locks_its_keys_until_it_is_resumed() {
    let app = spawn_app().await;
    let company = app.create_company("Paused").await;
    assert_eq!(
        app.api(Method::GET, &company.key, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let suspended = app
        .admin(Method::POST, &format!("/admin/v1/companies/{}/suspend", company.id))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), 200);
    let refused = app
        .api(Method::GET, &company.key, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    assert_error(refused, 401, "company_suspended").await;
    assert!(
        !app.state.tenants.is_running(&company.id),
        "a suspended company has no actor"
    );

    app.admin(Method::POST, &format!("/admin/v1/companies/{}/resume", company.id))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.api(Method::GET, &company.key, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[actix_web::test]
async fn deleting_a_company_removes_it_and_its_keys() {
    let app = spawn_app().await;
    let company = app.create_company("Doomed").await;
    app.create_contact(&company.key, "Gone").await;

    let deleted = app
        .admin(Method::DELETE, &format!("/admin/v1/companies/{}", company.id))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);

    let missing = app
        .admin(Method::GET, &format!("/admin/v1/companies/{}", company.id))
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "company_not_found").await;
    let refused = app
        .api(Method::GET, &company.key, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    assert_error(refused, 401, "invalid_api_key").await;
    let again = app
        .admin(Method::DELETE, &format!("/admin/v1/companies/{}", company.id))
        .send()
        .await
        .unwrap();
    assert_error(again, 404, "company_not_found").await;
}

#[actix_web::test]
async fn bad_company_requests_get_field_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": " ", "admin": {"email": "a@b.example", "firstName": "A"}}),
            "name",
        ),
        (
            json!({"name": "X", "admin": {"email": "not-an-email", "firstName": "A"}}),
            "admin.email",
        ),
        (
            json!({"name": "X", "admin": {"email": "a@b.example", "firstName": ""}}),
            "admin.firstName",
        ),
    ];
    for (body, path) in cases {
        let response = app
            .admin(Method::POST, "/admin/v1/companies")
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 400, "validation_failed").await;
        assert_eq!(error["details"][0]["path"], path, "{body}");
    }
    let unknown = app
        .admin(Method::POST, "/admin/v1/companies")
        .json(&json!({"name": "X"}))
        .send()
        .await
        .unwrap();
    assert_error(unknown, 400, "invalid_json").await;
}

#[actix_web::test]
async fn emails_are_unique_across_companies() {
    let app = spawn_app().await;
    let a = app.create_company("A").await;
    let b = app.create_company("B").await;
    let body = json!({"email": "twin@example.com", "firstName": "T"});
    let first = app
        .admin(Method::POST, &format!("/admin/v1/companies/{}/users", a.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);

    let second = app
        .admin(Method::POST, &format!("/admin/v1/companies/{}/users", b.id))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_error(second, 409, "email_taken").await;
}

#[actix_web::test]
async fn unknown_and_malformed_ids_are_told_apart() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    let cases = [
        (
            Method::GET,
            format!("/admin/v1/companies/{unknown}"),
            404,
            "company_not_found",
        ),
        (
            Method::POST,
            format!("/admin/v1/companies/{unknown}/suspend"),
            404,
            "company_not_found",
        ),
        (
            Method::GET,
            format!("/admin/v1/users/{unknown}/api-keys"),
            404,
            "user_not_found",
        ),
        (
            Method::DELETE,
            format!("/admin/v1/api-keys/{unknown}"),
            404,
            "api_key_not_found",
        ),
        (
            Method::GET,
            "/admin/v1/companies/not-a-uuid".to_owned(),
            400,
            "invalid_path",
        ),
    ];
    for (method, path, status, code) in cases {
        let response = app.admin(method, &path).send().await.unwrap();
        assert_error(response, status, code).await;
    }
}

#[actix_web::test]
async fn revoked_keys_stop_working_at_once() {
    let app = spawn_app().await;
    let company = app.create_company("Revoker").await;
    let (user_id, key) = app.create_user_with_key(&company.id, json!({})).await;
    assert_eq!(
        app.api(Method::GET, &key, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let keys: Value = app
        .admin(Method::GET, &format!("/admin/v1/users/{user_id}/api-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_id = keys["apiKeys"][0]["id"].as_str().unwrap();

    let revoked: Value = app
        .admin(Method::DELETE, &format!("/admin/v1/api-keys/{key_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(revoked["revokedAt"].is_string());
    let refused = app.api(Method::GET, &key, "/api/v1/users/me").send().await.unwrap();
    assert_error(refused, 401, "api_key_revoked").await;
}

/// A user added without a role id is an Admin when active, and has no role when pending authorization (approving
/// it by status alone must not make it an administrator); an explicit `null` means no role.
#[actix_web::test]
async fn users_added_without_a_role_get_admin_only_when_active() {
    let app = spawn_app().await;
    let c = app.create_company("Roles by default").await;
    let (_, roles) = crate::helpers::call(&app, &c.key, Method::GET, "/api/v1/roles", None).await;
    let admin_role = roles["items"][0]["id"].clone();
    for (extra, expected) in [
        (json!({}), admin_role.clone()),
        (json!({"status": "inactive"}), admin_role.clone()),
        (json!({"status": "pendingAuthorization"}), Value::Null),
        (json!({"roleId": null}), Value::Null),
        (
            json!({"roleId": admin_role, "status": "pendingAuthorization"}),
            admin_role.clone(),
        ),
    ] {
        let email = format!("u-{}@example.com", uuid::Uuid::new_v4().simple());
        let mut body = json!({"email": email, "firstName": "U"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let response = app
            .admin(Method::POST, &format!("/admin/v1/companies/{}/users", c.id))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let user: Value = response.json().await.unwrap();
        assert_eq!(user["roleId"], expected, "{extra}: {user}");
    }
}

/// `GET /admin/v1/companies/{id}`.
async fn company_by_id(app: &crate::helpers::TestApp, id: &str) -> Value {
    app.admin(Method::GET, &format!("/admin/v1/companies/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET /admin/v1/companies`.
async fn companies(app: &crate::helpers::TestApp) -> Value {
    app.admin(Method::GET, "/admin/v1/companies")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
