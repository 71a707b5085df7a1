//! A restart on a durable `surrealkv://` store keeps everything.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, serve, settings, spawn_with};

async fn start_when_free(vars: &[(&str, &str)]) -> TestApp {
    for _ in 0..100 {
        match customermates::startup::Application::build(settings(vars)).await {
            Ok(app) => return serve(app),
            Err(error) if format!("{error:?}").contains("locked") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            Err(error) => panic!("restart failed: {error:?}"),
        }
    }
    panic!("the store stayed locked after the server stopped");
}

#[actix_web::test]
async fn restarting_on_a_surrealkv_store_keeps_companies_users_keys_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("store").display());
    let vars = [("CM_DATABASE__URL", url.as_str())];

    let first = spawn_with(&vars).await;
    let company = first.create_company("Durable").await;
    let contact = first.create_contact(&company.key, "Persisted").await;
    first.stop().await;

    // The engine closes its files once the last session of the stopped server is dropped, which happens on
    // the server's worker and arbiter threads shortly after it stops; wait for the store to be free.
    let second = start_when_free(&vars).await;
    let me = second
        .api(Method::GET, &company.key, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the key still works");
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], company.user_id.as_str());
    let (ids, total) = second.contacts(&company.key).await;
    assert_eq!(total, 1);
    assert_eq!(ids, [contact["id"].as_str().unwrap()]);
    let listed: Value = second
        .admin(Method::GET, "/admin/v1/companies")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["companies"][0]["name"], "Durable");
    second.stop().await;
}
