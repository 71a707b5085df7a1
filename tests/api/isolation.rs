//! Tenant isolation: companies never see each other's records or counts.

use futures::future::join_all;
use reqwest::Method;

use crate::helpers::{assert_error, spawn_app};

#[actix_web::test]
async fn two_companies_writing_concurrently_never_see_each_others_records() {
    let app = spawn_app().await;
    let a = app.create_company("Alpha").await;
    let b = app.create_company("Beta").await;
    const EACH: usize = 120;

    let writes = (0..EACH * 2).map(|i| {
        let (company, name) = if i % 2 == 0 {
            (&a, format!("alpha-{i}"))
        } else {
            (&b, format!("beta-{i}"))
        };
        let app = &app;
        async move { app.create_contact(&company.key, &name).await }
    });
    let created = join_all(writes).await;

    let (a_ids, a_total) = app.contacts(&a.key).await;
    let (b_ids, b_total) = app.contacts(&b.key).await;
    assert_eq!((a_total, b_total), (EACH as u64, EACH as u64));
    for contact in &created {
        let id = contact["id"].as_str().unwrap().to_owned();
        let alpha = contact["firstName"].as_str().unwrap().starts_with("alpha");
        let (mine, theirs) = if alpha { (&a, &b) } else { (&b, &a) };
        let seen_by_owner = app
            .api(Method::GET, &mine.key, &format!("/api/v1/contacts/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(seen_by_owner.status(), 200);
        let seen_by_other = app
            .api(Method::GET, &theirs.key, &format!("/api/v1/contacts/{id}"))
            .send()
            .await
            .unwrap();
        assert_error(seen_by_other, 404, "record_not_found").await;
    }
    // The first pages hold only the owner's contacts.
    let names_of = |ids: &[String]| -> Vec<bool> {
        ids.iter()
            .map(|id| {
                created.iter().find(|c| c["id"] == id.as_str()).unwrap()["firstName"]
                    .as_str()
                    .unwrap()
                    .starts_with("alpha")
            })
            .collect()
    };
    assert!(names_of(&a_ids).iter().all(|alpha| *alpha));
    assert!(names_of(&b_ids).iter().all(|alpha| !alpha));
}
