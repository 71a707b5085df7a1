//! Change events in the outbox: created, updated with `changes`, deleted, related records, no-op suppression.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, create, id, spawn_app};

async fn events_after(app: &TestApp, key: &str, after: u64) -> Vec<Value> {
    let (status, body) = call(app, key, Method::GET, &format!("/api/v1/events?after={after}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn last_seq(events: &[Value]) -> u64 {
    events.last().map_or(0, |e| e["seq"].as_u64().unwrap())
}

#[actix_web::test]
async fn writes_emit_ordered_events_with_precise_changes() {
    let app = spawn_app().await;
    let c = app.create_company("Events").await;
    let k = &c.key;
    let org = create(&app, k, "organizations", json!({"name": "Acme"})).await;
    let contact = create(
        &app,
        k,
        "contacts",
        json!({"firstName": "Ann", "organizationIds": [id(&org)]}),
    )
    .await;
    let events = events_after(&app, k, 0).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["organization.created", "contact.created", "organization.updated"]
    );
    assert_eq!(
        events[0]["payload"], org,
        "created carries the DTO (a create without links)"
    );
    assert_eq!(
        events[1]["payload"], contact,
        "created carries the DTO (a create with links)"
    );
    assert_eq!(
        events[2]["payload"]["changes"]["contacts"],
        json!({"previous": [], "current": [{"id": id(&contact), "firstName": "Ann", "lastName": ""}]})
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let mark = last_seq(&events);
    let path = format!("/api/v1/contacts/{}", id(&contact));
    call(
        &app,
        k,
        Method::PUT,
        &path,
        Some(json!({"firstName": "Ann", "organizationIds": [id(&org)]})),
    )
    .await;
    assert!(
        events_after(&app, k, mark).await.is_empty(),
        "a no-op update produces no event"
    );

    call(&app, k, Method::PUT, &path, Some(json!({"lastName": "Lee"}))).await;
    let updated = events_after(&app, k, mark).await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["event"], "contact.updated");
    let changes = updated[0]["payload"]["changes"].as_object().unwrap();
    let mut keys: Vec<&str> = changes.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["lastName", "updatedAt"]);
    assert_eq!(changes["lastName"], json!({"previous": "", "current": "Lee"}));
    assert_eq!(updated[0]["payload"]["contact"]["lastName"], "Lee");

    let mark = last_seq(&updated);
    let other = create(&app, k, "organizations", json!({"name": "Beta"})).await;
    call(
        &app,
        k,
        Method::POST,
        &format!("{path}/link"),
        Some(json!({"relation": "organizations", "ids": [id(&other)]})),
    )
    .await;
    let linked = events_after(&app, k, mark + 1).await;
    let kinds: Vec<&str> = linked.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["contact.updated", "organization.updated"]);
    assert_eq!(
        linked[0]["payload"]["changes"]["organizations"],
        json!({"previous": [], "current": [{"id": id(&other), "name": "Beta"}]})
    );

    let mark = last_seq(&linked);
    call(&app, k, Method::DELETE, &path, None).await;
    let deleted = events_after(&app, k, mark).await;
    let kinds: Vec<&str> = deleted.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["contact.deleted", "organization.updated", "organization.updated"]
    );
    assert_eq!(
        deleted[0]["payload"]["lastName"], "Lee",
        "deleted carries the DTO as it was"
    );
    assert_eq!(deleted[0]["userId"], c.user_id.as_str());
    assert_eq!(deleted[0]["companyId"], c.id.as_str());
}

/// A create that links to nothing is written with its events in one statement block; its event payloads must be
/// the very DTOs the caller gets back (notes, custom values and all), in order, for every item of a batch.
#[actix_web::test]
async fn unlinked_creates_carry_their_exact_dtos_in_order() {
    let app = spawn_app().await;
    let c = app.create_company("Unlinked").await;
    let k = &c.key;
    let column = create(
        &app,
        k,
        "custom-columns",
        json!({"entityType": "contact", "type": "singleSelect", "label": "Stage",
               "options": {"options": [{"label": "Lead", "isDefault": true}, {"label": "Won"}]}}),
    )
    .await;
    let mark = last_seq(&events_after(&app, k, 0).await);
    let (status, created) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/contacts/many",
        Some(json!({"contacts": [
            {"firstName": "Ann", "notes": "Met at **the fair**", "emails": ["ann@x.example"]},
            {"firstName": "Bo"},
            {"firstName": "Cy", "lastName": "Dee"}
        ]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let created = created.as_array().unwrap().clone();
    assert_eq!(created.len(), 3);
    assert_eq!(created[0]["notes"], "Met at **the fair**");
    assert_eq!(created[1]["notes"], Value::Null);
    assert_eq!(
        created[1]["customFieldValues"],
        json!([{"columnId": column["id"], "value": column["options"]["options"][0]["value"]}]),
        "single-select default applied"
    );
    let events = events_after(&app, k, mark).await;
    let payloads: Vec<Value> = events.iter().map(|e| e["payload"].clone()).collect();
    assert_eq!(payloads, created);
    assert!(events.iter().all(|e| e["event"] == "contact.created"));
    let (_, fetched) = call(
        &app,
        k,
        Method::GET,
        &format!("/api/v1/contacts/{}", id(&created[0])),
        None,
    )
    .await;
    assert_eq!(fetched["contact"], created[0], "the read-back DTO is the created one");
    let (_, list) = call(&app, k, Method::POST, "/api/v1/contacts/search", Some(json!({}))).await;
    assert_eq!(list["pagination"]["total"], 3, "held counts follow");
}
