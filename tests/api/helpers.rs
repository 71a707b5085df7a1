//! `spawn_app` and the typed helpers tests use.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use customermates::config::{Overrides, Settings};
use customermates::http::AppState;
use customermates::startup::Application;
use serde_json::{Value, json};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running server.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    pub handle: ServerHandle,
    pub stopped: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

/// A company made for one test: its id, first user and that user's key.
#[derive(Debug, Clone)]
pub struct TestCompany {
    pub id: String,
    pub user_id: String,
    pub key: String,
}

/// Settings for tests: `mem://`, port 0, a known admin token, no demo company, fault injection on,
/// plus the given `CM_*` variables.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = [
        ("CM_ADMIN__TOKEN", ADMIN_TOKEN),
        ("CM_TESTING__FAULT_INJECTION", "true"),
        ("CM_SERVER__WORKERS", "2"),
        ("CM_LOG__LEVEL", "warn"),
        ("CM_RATE_LIMIT__PER_SECOND", "1000"),
        ("CM_RATE_LIMIT__BURST", "1000"),
        ("CM_RATE_LIMIT__IP_PER_SECOND", "1000"),
        ("CM_RATE_LIMIT__IP_BURST", "1000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    map.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        database_url: map.get("CM_DATABASE__URL").cloned().or_else(|| Some("mem://".into())),
        no_demo: map.get("CM_DEMO__ENABLED").is_none_or(|v| v != "true"),
        config_file: None,
    };
    Settings::load_with_env(&overrides, config::Environment::with_prefix("CM").source(Some(map)))
        .expect("test settings")
}

/// Starts a server with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_with(&[]).await
}

/// Two servers: one where a company's secondary indexes are built as it starts (`tenants.index_threshold` 0),
/// one where they never are (a threshold no test reaches), so searches are checked with and without them.
pub async fn with_and_without_indexes() -> [TestApp; 2] {
    [
        spawn_with(&[("CM_TENANTS__INDEX_THRESHOLD", "0")]).await,
        spawn_with(&[("CM_TENANTS__INDEX_THRESHOLD", "1000000")]).await,
    ]
}

/// Starts a server with extra `CM_*` settings.
pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
    start(settings(vars)).await
}

/// Starts a server with these settings.
pub async fn start(settings: Settings) -> TestApp {
    serve(Application::build(settings).await.expect("server builds"))
}

/// Serves a built application in the background.
pub fn serve(app: Application) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let handle = app.handle();
    let stopped = actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        state,
        handle,
        stopped,
    }
}

impl TestApp {
    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.stopped
            .await
            .expect("server task")
            .expect("server stopped cleanly");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// An admin request with the test admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(ADMIN_TOKEN)
    }

    /// A company API request with `x-api-key`.
    pub fn api(&self, method: reqwest::Method, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).header("x-api-key", key)
    }

    /// Creates a company through the admin API.
    pub async fn create_company(&self, name: &str) -> TestCompany {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"name": name, "admin": {"email": email, "firstName": "Ada", "lastName": "Admin"}});
        let response = self
            .admin(reqwest::Method::POST, "/admin/v1/companies")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "company creation");
        let created: Value = response.json().await.unwrap();
        TestCompany {
            id: created["company"]["id"].as_str().unwrap().to_owned(),
            user_id: created["user"]["id"].as_str().unwrap().to_owned(),
            key: created["apiKey"]["key"].as_str().unwrap().to_owned(),
        }
    }

    /// Adds a user to a company and gives it a key; returns (user id, key).
    pub async fn create_user_with_key(&self, company: &str, extra: Value) -> (String, String) {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let mut body = json!({"email": email, "firstName": "Uma", "lastName": "User"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let response = self
            .admin(reqwest::Method::POST, &format!("/admin/v1/companies/{company}/users"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "user creation");
        let user: Value = response.json().await.unwrap();
        let user_id = user["id"].as_str().unwrap().to_owned();
        let response = self
            .admin(reqwest::Method::POST, &format!("/admin/v1/users/{user_id}/api-keys"))
            .json(&json!({"name": "test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "key creation");
        let key: Value = response.json().await.unwrap();
        (user_id, key["key"].as_str().unwrap().to_owned())
    }

    /// Creates one contact; returns its JSON.
    pub async fn create_contact(&self, key: &str, first_name: &str) -> Value {
        let response = self
            .api(reqwest::Method::POST, key, "/api/v1/contacts")
            .json(&json!({"firstName": first_name, "lastName": "Test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "contact creation");
        response.json().await.unwrap()
    }

    /// The first page (size 100) of contacts: (ids, total).
    pub async fn contacts(&self, key: &str) -> (Vec<String>, u64) {
        let response = self
            .api(reqwest::Method::POST, key, "/api/v1/contacts/search")
            .json(&json!({"pagination": {"page": 1, "pageSize": 100}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "contact search");
        let page: Value = response.json().await.unwrap();
        let ids = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, page["pagination"]["total"].as_u64().unwrap())
    }
}

/// Asserts a JSON error response: status and code, with a message and a hint.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status for {code}");
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["hint"].as_str().is_some_and(|h| !h.is_empty()), "{body}");
    assert!(body["details"].is_array(), "every error body has `details`: {body}");
    body
}

/// Sends a JSON request with a key and returns (status, body).
pub async fn call(app: &TestApp, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.api(method, key, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Creates one record of an entity (by plural path) and returns its DTO.
pub async fn create(app: &TestApp, key: &str, plural: &str, body: Value) -> Value {
    let (status, dto) = call(
        app,
        key,
        reqwest::Method::POST,
        &format!("/api/v1/{plural}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "create {plural}: {dto}");
    dto
}

/// Creates a single-select "Status" column on tasks with the options Open (the default) and Done; returns its DTO.
pub async fn status_column(app: &TestApp, key: &str) -> Value {
    let body = serde_json::json!({"entityType": "task", "type": "singleSelect", "label": "Status",
        "options": {"options": [{"label": "Open", "isDefault": true}, {"label": "Done"}]}});
    create(app, key, "custom-columns", body).await
}

/// Creates records of an entity in one call (`POST /api/v1/{plural}/many`, the items under the plural key) and
/// returns their DTOs (asserting 201).
pub async fn create_many(app: &TestApp, key: &str, plural: &str, items: Value) -> Vec<Value> {
    let (status, body) = call(
        app,
        key,
        reqwest::Method::POST,
        &format!("/api/v1/{plural}/many"),
        Some(serde_json::json!({ plural: items })),
    )
    .await;
    assert_eq!(status, 201, "create many {plural}: {body}");
    body.as_array().cloned().unwrap_or_default()
}

/// Updates one record of an entity (by plural path and id) and returns its DTO (asserting 200).
pub async fn update(app: &TestApp, key: &str, plural: &str, id: &str, body: Value) -> Value {
    let (status, dto) = call(
        app,
        key,
        reqwest::Method::PUT,
        &format!("/api/v1/{plural}/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "update {plural}: {dto}");
    dto
}

/// Searches an entity; returns the response body (asserting 200).
pub async fn search(app: &TestApp, key: &str, plural: &str, query: Value) -> Value {
    let (status, body) = call(
        app,
        key,
        reqwest::Method::POST,
        &format!("/api/v1/{plural}/search"),
        Some(query),
    )
    .await;
    assert_eq!(status, 200, "search {plural}: {body}");
    body
}

/// Ids of the items of a search response.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The first names of the items of a contacts search response, in order.
pub fn first_names(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["firstName"].as_str().unwrap())
        .collect()
}

/// The id of a DTO.
pub fn id(dto: &Value) -> String {
    dto["id"].as_str().unwrap().to_owned()
}
