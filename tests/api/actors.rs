//! Tenant actors: replaced after a panic or a stop, evicted when idle, restarted transparently.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_with};

#[actix_web::test]
async fn an_actor_that_panics_is_replaced_and_earlier_writes_survive() {
    let app = spawn_app().await;
    let company = app.create_company("Crashy").await;
    let before = app.create_contact(&company.key, "Before").await;

    let response = app
        .admin(Method::POST, &format!("/admin/v1/companies/{}/actor/panic", company.id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["panicked"], true);

    let after = app.create_contact(&company.key, "After").await;
    let (ids, total) = app.contacts(&company.key).await;
    assert_eq!(total, 2);
    assert!(ids.contains(&before["id"].as_str().unwrap().to_owned()));
    assert!(ids.contains(&after["id"].as_str().unwrap().to_owned()));
}

#[actix_web::test]
async fn a_panic_in_one_company_leaves_other_companies_served() {
    let app = spawn_app().await;
    let crashy = app.create_company("Crashy").await;
    let calm = app.create_companies_on_every_arbiter().await;

    app.admin(Method::POST, &format!("/admin/v1/companies/{}/actor/panic", crashy.id))
        .send()
        .await
        .unwrap();

    for company in &calm {
        app.create_contact(&company.key, "Still here").await;
        assert_eq!(app.contacts(&company.key).await.1, 1);
    }
}

#[actix_web::test]
async fn a_stopped_actor_is_restarted_on_the_next_request() {
    let app = spawn_app().await;
    let company = app.create_company("Stopped").await;
    app.create_contact(&company.key, "Kept").await;
    assert!(app.state.tenants.is_running(&company.id));

    app.state.tenants.evict(&company.id).await;
    assert!(!app.state.tenants.is_running(&company.id));

    assert_eq!(app.contacts(&company.key).await.1, 1);
    assert!(app.state.tenants.is_running(&company.id));
}

#[actix_web::test]
async fn idle_actors_stop_after_the_timeout_and_restart_transparently() {
    let app = spawn_with(&[
        ("CM_TENANTS__IDLE_TIMEOUT_SECS", "1"),
        ("CM_TENANTS__SWEEP_INTERVAL_SECS", "1"),
    ])
    .await;
    let company = app.create_company("Sleepy").await;
    app.create_contact(&company.key, "Rested").await;
    assert!(app.state.tenants.is_running(&company.id));

    let mut stopped = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !app.state.tenants.is_running(&company.id) {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "the idle actor stopped");
    assert_eq!(app.state.tenants.running(), 0);

    let (_, total) = app.contacts(&company.key).await;
    assert_eq!(total, 1);
    app.create_contact(&company.key, "Awake").await;
    assert_eq!(app.contacts(&company.key).await.1, 2);
}

impl crate::helpers::TestApp {
    /// Enough companies that every tenant arbiter hosts at least one actor.
    async fn create_companies_on_every_arbiter(&self) -> Vec<crate::helpers::TestCompany> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut companies = Vec::new();
        for i in 0..cores * 2 {
            companies.push(self.create_company(&format!("Calm {i}")).await);
        }
        companies
    }
}
