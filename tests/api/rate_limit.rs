//! Per-key and per-IP quotas with RateLimit headers.

use reqwest::Method;

use crate::helpers::{assert_error, spawn_with};

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[actix_web::test]
async fn a_spent_quota_gets_429_with_retry_after_and_other_keys_are_unaffected() {
    let app = spawn_with(&[("CM_RATE_LIMIT__PER_SECOND", "1"), ("CM_RATE_LIMIT__BURST", "5")]).await;
    let busy = app.create_company("Busy").await;
    let quiet = app.create_company("Quiet").await;

    let mut remaining = Vec::new();
    for _ in 0..5 {
        let response = app
            .api(Method::GET, &busy.key, "/api/v1/users/me")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), Some(5));
        assert!(header(&response, "ratelimit-reset").is_some());
        remaining.push(header(&response, "ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);

    let refused = app
        .api(Method::GET, &busy.key, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    let retry_after = header(&refused, "retry-after").expect("Retry-After");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "ratelimit-remaining"), Some(0));
    assert_error(refused, 429, "rate_limited").await;

    let other = app
        .api(Method::GET, &quiet.key, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(header(&other, "ratelimit-remaining"), Some(4));
}

#[actix_web::test]
async fn failed_authentication_is_limited_per_ip() {
    let app = spawn_with(&[("CM_RATE_LIMIT__IP_PER_SECOND", "1"), ("CM_RATE_LIMIT__IP_BURST", "3")]).await;
    let company = app.create_company("Guessed").await;

    for _ in 0..3 {
        let response = app.api(Method::GET, "wrong", "/api/v1/users/me").send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(header(&response, "ratelimit-remaining").is_some());
    }
    let refused = app.api(Method::GET, "wrong", "/api/v1/users/me").send().await.unwrap();
    assert!(header(&refused, "retry-after").is_some());
    assert_error(refused, 429, "rate_limited").await;

    // A valid key is limited by its own quota, not the IP's.
    assert_eq!(
        app.api(Method::GET, &company.key, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
