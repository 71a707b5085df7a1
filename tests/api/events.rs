//! Change events in the outbox: created, updated with `changes`, deleted, related records, no-op suppression.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, call, create, create_many, id, spawn_app, status_column};

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
    let created = create_many(
        &app,
        k,
        "contacts",
        json!([
            {"firstName": "Ann", "notes": "Met at **the fair**", "emails": ["ann@x.example"]},
            {"firstName": "Bo"},
            {"firstName": "Cy", "lastName": "Dee"}
        ]),
    )
    .await;
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

/// Concurrent creates of one company queue on its actor and are committed together; each request still gets
/// its own answer, an invalid one fails alone, and every record gets exactly one event carrying its DTO.
#[actix_web::test]
async fn concurrent_creates_each_answer_alone_with_one_event_per_record() {
    let app = spawn_app().await;
    let c = app.create_company("Concurrent").await;
    let k = &c.key;
    let org = create(&app, k, "organizations", json!({"name": "Hub"})).await;
    let mark = last_seq(&events_after(&app, k, 0).await);
    const N: usize = 60;
    let requests = (0..N).map(|i| {
        let (plural, body) = match i % 5 {
            0 => ("contacts", json!({"firstName": ""})),
            1 => (
                "contacts",
                json!({"firstName": format!("linked-{i}"), "organizationIds": [id(&org)]}),
            ),
            2 => ("organizations", json!({"name": format!("org-{i}")})),
            _ => (
                "contacts",
                json!({"firstName": format!("plain-{i}"), "emails": [format!("p{i}@x.example")]}),
            ),
        };
        let app = &app;
        async move {
            (
                i,
                call(app, k, Method::POST, &format!("/api/v1/{plural}"), Some(body)).await,
            )
        }
    });
    let answers = futures::future::join_all(requests).await;
    let mut created = Vec::new();
    for (i, (status, body)) in answers {
        if i % 5 == 0 {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["code"], "validation_failed", "{body}");
            continue;
        }
        assert_eq!(status, 201, "{i}: {body}");
        let name = body["firstName"].as_str().or(body["name"].as_str()).unwrap();
        assert!(
            name.ends_with(&format!("-{i}")),
            "request {i} got another's record: {body}"
        );
        if i % 5 == 1 {
            assert_eq!(body["organizations"][0]["id"], id(&org), "{body}");
        }
        created.push(body);
    }
    let events = events_after(&app, k, mark).await;
    let mut created_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"].as_str().unwrap().ends_with(".created"))
        .collect();
    assert_eq!(created_events.len(), created.len(), "one created event per record");
    for dto in &created {
        let position = created_events
            .iter()
            .position(|e| e["payload"]["id"] == dto["id"])
            .unwrap_or_else(|| panic!("no event for {dto}"));
        assert_eq!(created_events.remove(position)["payload"], *dto);
    }
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let (_, contacts) = call(&app, k, Method::POST, "/api/v1/contacts/search", Some(json!({}))).await;
    let (_, orgs) = call(&app, k, Method::POST, "/api/v1/organizations/search", Some(json!({}))).await;
    assert_eq!(contacts["pagination"]["total"], (N / 5) * 3, "held counts follow");
    assert_eq!(orgs["pagination"]["total"], N / 5 + 1);
    let (_, hub) = call(
        &app,
        k,
        Method::GET,
        &format!("/api/v1/organizations/{}", id(&org)),
        None,
    )
    .await;
    assert_eq!(
        hub["organization"]["contacts"].as_array().unwrap().len(),
        N / 5,
        "{hub}"
    );
}

/// A create that links to nothing answers the DTO from the insert itself: for every entity it must be the DTO a
/// later read returns, and the one its event carries.
#[actix_web::test]
async fn created_dtos_of_every_entity_equal_their_read_back() {
    let app = spawn_app().await;
    let c = app.create_company("Readback").await;
    let k = &c.key;
    // A single-select column with a default on each entity: every new record gets its value.
    let mut stage = json!(null);
    for entity in ["contact", "organization", "deal", "service", "task"] {
        let column = create(
            &app,
            k,
            "custom-columns",
            json!({"entityType": entity, "type": "singleSelect", "label": "Stage",
                   "options": {"options": [{"label": "New", "isDefault": true}, {"label": "Won"}]}}),
        )
        .await;
        if entity == "contact" {
            stage = column;
        }
    }
    let won = json!([{"columnId": stage["id"], "value": stage["options"]["options"][1]["value"]}]);
    let mark = last_seq(&events_after(&app, k, 0).await);
    // Full inputs and minimal ones (every default taken), whole numbers where the store keeps floats.
    let cases = [
        (
            "contacts",
            "contact",
            json!({"firstName": "Ann", "lastName": "Lee", "emails": ["ann@x.example"], "notes": "Hi",
                   "customFieldValues": won}),
        ),
        ("contacts", "contact", json!({"firstName": "Bo"})),
        ("organizations", "organization", json!({"name": "Acme"})),
        (
            "organizations",
            "organization",
            json!({"name": "Beta", "notes": "**Key** account"}),
        ),
        ("deals", "deal", json!({"name": "Big deal"})),
        ("services", "service", json!({"name": "Audit", "amount": 120.5})),
        ("services", "service", json!({"name": "Review", "amount": 100})),
        ("tasks", "task", json!({"name": "Call back"})),
        ("tasks", "task", json!({"name": "Write", "notes": "Draft"})),
    ];
    let mut created = Vec::new();
    for (plural, singular, body) in cases {
        let dto = create(&app, k, plural, body).await;
        let (status, fetched) = call(&app, k, Method::GET, &format!("/api/v1/{plural}/{}", id(&dto)), None).await;
        assert_eq!(status, 200, "{fetched}");
        assert_eq!(fetched[singular], dto, "{singular}: created and read back differ");
        created.push(dto);
    }
    let payloads: Vec<Value> = events_after(&app, k, mark)
        .await
        .iter()
        .map(|e| e["payload"].clone())
        .collect();
    assert_eq!(payloads, created);
}

/// `limit` outside 1–500 is a coded 400 like every other bound (it was silently clamped); within it, it pages.
#[actix_web::test]
async fn the_events_limit_is_checked_not_clamped() {
    let app = spawn_app().await;
    let c = app.create_company("Event pages").await;
    create_many(
        &app,
        &c.key,
        "contacts",
        json!([{"firstName": "A"}, {"firstName": "B"}]),
    )
    .await;
    for limit in ["0", "501", "1000000", "-1", "x"] {
        let response = app
            .api(Method::GET, &c.key, &format!("/api/v1/events?limit={limit}"))
            .send()
            .await
            .unwrap();
        crate::helpers::assert_error(response, 400, "invalid_query").await;
    }
    let (status, page) = call(&app, &c.key, Method::GET, "/api/v1/events?limit=1", None).await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{page}"
    );
}

/// A page of events stops once it holds 1 MiB of JSON (the event that crosses it is its last), however high the
/// limit: 300 events of ~6 KB each (after the column's) come in pages of ~170, and paging on from the last `seq`
/// gives every event once, in order. Ranges also read past the 100-key windows and past the last event.
#[actix_web::test]
async fn event_pages_stop_after_a_mebibyte_and_page_on_without_loss() {
    let app = spawn_app().await;
    let c = app.create_company("Event bytes").await;
    let k = &c.key;
    let (_, column) = call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "contact", "type": "plain", "label": "Long"})),
    )
    .await;
    let long = "x".repeat(6_000);
    for batch in 0..3 {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"firstName": format!("P{batch}-{i}"), "customFieldValues": [{"columnId": column["id"], "value": long}]}))
            .collect();
        create_many(&app, k, "contacts", json!(items)).await;
    }
    let page = |after: u64| {
        let app = &app;
        async move {
            let (status, body) = call(
                app,
                k,
                Method::GET,
                &format!("/api/v1/events?after={after}&limit=500"),
                None,
            )
            .await;
            assert_eq!(status, 200);
            body["items"].as_array().unwrap().clone()
        }
    };
    let (mut seen, mut after, mut pages) = (Vec::new(), 0, 0);
    loop {
        let items = page(after).await;
        if items.is_empty() {
            break;
        }
        let sizes: Vec<usize> = items.iter().map(|e| serde_json::to_vec(e).unwrap().len()).collect();
        let total: usize = sizes.iter().sum();
        if after + u64::try_from(items.len()).unwrap() < 301 {
            assert!(total >= 1 << 20, "a page short of the end holds 1 MiB ({total} bytes)");
            assert!(
                total - sizes.last().unwrap() < 1 << 20,
                "only its last event crosses it"
            );
        }
        seen.extend(items.iter().map(|e| e["seq"].as_u64().unwrap()));
        after = last_seq(&items);
        pages += 1;
    }
    // The column's own event, then one per contact.
    assert_eq!(seen, (1..=301).collect::<Vec<u64>>());
    assert_eq!(pages, 2);
}

/// Creating, changing and deleting a custom column are audit events (`custom_column.*`, as the reference's), in the
/// sequence of the other events: created and deleted carry the column, updated `{customColumn, changes}`; a change
/// that changes nothing has none. The values the column change rewrites (here the backfilled default) are told by
/// the column's event, not by an event per record.
#[actix_web::test]
async fn column_changes_are_audit_events_in_the_sequence() {
    let app = spawn_app().await;
    let c = app.create_company("Column events").await;
    let k = &c.key;
    let old = create(&app, k, "tasks", json!({"name": "Old"})).await;
    let mark = last_seq(&events_after(&app, k, 0).await);

    let column = status_column(&app, k).await;
    let (_, backfilled) = call(&app, k, Method::GET, &format!("/api/v1/tasks/{}", id(&old)), None).await;
    assert_eq!(
        backfilled["task"]["customFieldValues"][0]["value"], column["options"]["options"][0]["value"],
        "the existing task got the default"
    );
    let column_id = column["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/custom-columns/{column_id}");
    let created = events_after(&app, k, mark).await;
    assert_eq!(created.len(), 1, "one event, none per backfilled task: {created:#?}");
    assert_eq!(created[0]["event"], "custom_column.created");
    assert_eq!(created[0]["seq"], mark + 1);
    assert_eq!(created[0]["entityId"], column_id.as_str());
    assert_eq!(created[0]["userId"], c.user_id.as_str());
    assert_eq!(created[0]["payload"], column);

    let (status, renamed) = call(&app, k, Method::PUT, &path, Some(json!({"label": "Stage"}))).await;
    assert_eq!(status, 200, "{renamed}");
    let (status, _) = call(&app, k, Method::PUT, &path, Some(json!({"label": "Stage"}))).await;
    assert_eq!(status, 200);
    let updated = events_after(&app, k, mark + 1).await;
    assert_eq!(updated.len(), 1, "the same label again is no change: {updated:#?}");
    assert_eq!(updated[0]["event"], "custom_column.updated");
    assert_eq!(updated[0]["seq"], mark + 2);
    assert_eq!(updated[0]["payload"]["customColumn"], renamed);
    assert_eq!(
        updated[0]["payload"]["changes"],
        json!({"label": {"previous": "Status", "current": "Stage"}})
    );

    let (status, body) = call(&app, k, Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{body}");
    let deleted = events_after(&app, k, mark + 2).await;
    assert_eq!(deleted.len(), 1, "{deleted:#?}");
    assert_eq!(deleted[0]["event"], "custom_column.deleted");
    assert_eq!(deleted[0]["seq"], mark + 3);
    assert_eq!(deleted[0]["payload"], renamed);

    // The sequence goes on from there for record writes.
    create(&app, k, "tasks", json!({"name": "New"})).await;
    let next = events_after(&app, k, mark + 3).await;
    assert_eq!(next[0]["event"], "task.created");
    assert_eq!(next[0]["seq"], mark + 4);
}
