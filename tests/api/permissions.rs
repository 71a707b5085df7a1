//! The permission matrix: Admin, a readOwn role, a role without read, a pending user.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, call, create, id, search, spawn_app};

#[actix_web::test]
async fn admins_see_all_readown_roles_see_their_records_and_others_are_refused() {
    let app = spawn_app().await;
    let c = app.create_company("Matrix").await;
    let own_role = json!({"name": "Own", "description": "assigned only", "permissions": {"contacts": {"canManage": "yes", "readAccess": "own"}}});
    let (_, own_role) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(own_role)).await;
    let blind_role =
        json!({"name": "Blind", "description": "no contacts", "permissions": {"deals": {"readAccess": "all"}}});
    let (_, blind_role) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(blind_role)).await;
    let (owner, own_key) = app.create_user_with_key(&c.id, json!({"roleId": own_role["id"]})).await;
    let (_, blind_key) = app
        .create_user_with_key(&c.id, json!({"roleId": blind_role["id"]}))
        .await;
    let (_, pending_key) = app
        .create_user_with_key(&c.id, json!({"status": "pendingAuthorization"}))
        .await;

    let mine = create(
        &app,
        &c.key,
        "contacts",
        json!({"firstName": "Mine", "userIds": [owner]}),
    )
    .await;
    let theirs = create(&app, &c.key, "contacts", json!({"firstName": "Theirs"})).await;

    assert_eq!(
        search(&app, &c.key, "contacts", json!({})).await["pagination"]["total"],
        2,
        "admin sees all"
    );
    let own_page = search(&app, &own_key, "contacts", json!({})).await;
    assert_eq!(own_page["pagination"]["total"], 1);
    assert_eq!(own_page["items"][0]["id"], id(&mine).as_str());
    let (status, _) = call(
        &app,
        &own_key,
        Method::GET,
        &format!("/api/v1/contacts/{}", id(&theirs)),
        None,
    )
    .await;
    assert_eq!(status, 404, "an unassigned record is invisible");
    let (status, _) = call(
        &app,
        &own_key,
        Method::PUT,
        &format!("/api/v1/contacts/{}", id(&theirs)),
        Some(json!({"firstName": "X"})),
    )
    .await;
    assert_eq!(status, 404, "and cannot be changed");
    let (status, _) = call(
        &app,
        &own_key,
        Method::PUT,
        &format!("/api/v1/contacts/{}", id(&mine)),
        Some(json!({"firstName": "Mine too"})),
    )
    .await;
    assert_eq!(status, 200);

    let refused = app
        .api(Method::POST, &blind_key, "/api/v1/contacts/search")
        .send()
        .await
        .unwrap();
    let body = assert_error(refused, 403, "forbidden").await;
    assert_eq!(
        body["message"],
        "Access denied. Required permissions: readAll on contacts OR readOwn on contacts"
    );
    let refused = app
        .api(Method::POST, &blind_key, "/api/v1/contacts")
        .json(&json!({"firstName": "X"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(refused, 403, "forbidden").await;
    assert_eq!(
        body["message"],
        "Access denied. Required permissions: create on contacts"
    );
    let deals = app
        .api(Method::POST, &blind_key, "/api/v1/deals/search")
        .send()
        .await
        .unwrap();
    assert_eq!(deals.status(), 200);
    let refused = app
        .api(Method::DELETE, &own_key, &format!("/api/v1/contacts/{}", id(&mine)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 200, "canManage grants delete");

    let pending = app
        .api(Method::POST, &pending_key, "/api/v1/contacts/search")
        .send()
        .await
        .unwrap();
    assert_error(pending, 401, "user_pending_authorization").await;
}

#[actix_web::test]
async fn roles_are_managed_by_admins_and_protected() {
    let app = spawn_app().await;
    let c = app.create_company("Roles").await;
    let (_, roles) = call(&app, &c.key, Method::GET, "/api/v1/roles", None).await;
    let admin_role = roles["items"][0].clone();
    assert_eq!(admin_role["name"], "Admin");
    assert_eq!(admin_role["isSystemRole"], true);

    let body = json!({"name": "Viewer", "description": "reads", "permissions": {"contacts": {"readAccess": "all"}}});
    let (status, viewer) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(body.clone())).await;
    assert_eq!(status, 201);
    let (status, _) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(body)).await;
    assert_eq!(status, 409, "names are unique");
    // Settings a resource does not have, or a resource that is not an object, are named, not ignored.
    for (permissions, path) in [
        (
            json!({"company": {"readAccess": "all"}}),
            "permissions.company.readAccess",
        ),
        (
            json!({"contacts": {"readAcess": "all"}}),
            "permissions.contacts.readAcess",
        ),
        (
            json!({"auditLog": {"canManage": "yes"}}),
            "permissions.auditLog.canManage",
        ),
        (json!({"deals": "all"}), "permissions.deals"),
        (json!({"planets": {}}), "permissions.planets"),
    ] {
        let body = json!({"name": "Odd", "description": "odd", "permissions": permissions});
        let (status, error) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(body)).await;
        assert_eq!((status, &error["details"][0]["path"]), (400, &json!(path)), "{error}");
    }
    let long = json!({"name": "n".repeat(101), "description": "d".repeat(1_001), "permissions": {}});
    let (status, error) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(long)).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        (&error["details"][0]["message"], &error["details"][1]["message"]),
        (
            &json!("Name must be 1 to 100 characters"),
            &json!("Description must be 1 to 1000 characters")
        )
    );
    let (status, error) = call(
        &app,
        &c.key,
        Method::PUT,
        &format!("/api/v1/roles/{}", admin_role["id"].as_str().unwrap()),
        Some(json!({"name": "X", "description": "y", "permissions": {}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["details"][0]["message"], "Cannot update system roles");

    let (user, key) = app.create_user_with_key(&c.id, json!({"roleId": viewer["id"]})).await;
    let (status, _) = call(
        &app,
        &c.key,
        Method::DELETE,
        &format!("/api/v1/roles/{}", viewer["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 409, "a role in use cannot be deleted");

    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"firstName": "X"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, changed) = call(
        &app,
        &c.key,
        Method::PUT,
        &format!("/api/v1/users/{user}"),
        Some(json!({"roleId": admin_role["id"]})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"firstName": "X"})),
    )
    .await;
    assert_eq!(status, 201, "the new role applies at once");

    let (status, _) = call(
        &app,
        &c.key,
        Method::PUT,
        &format!("/api/v1/users/{user}"),
        Some(json!({"status": "inactive"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, &key, Method::GET, "/api/v1/users/me", None).await;
    assert_eq!((status, body["code"].clone()), (401, json!("user_inactive")));
    let (status, error) = call(
        &app,
        &c.key,
        Method::PUT,
        &format!("/api/v1/users/{}", c.user_id),
        Some(json!({"status": "inactive"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["details"][0]["message"], "Cannot update own details.");
    let (status, users) = call(&app, &c.key, Method::POST, "/api/v1/users/search", Some(json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(users["pagination"]["total"], 2);
}

#[actix_web::test]
async fn write_responses_hide_linked_records_the_caller_cannot_read() {
    let app = spawn_app().await;
    let c = app.create_company("Hidden").await;
    let role = json!({"name": "NoDeals", "description": "contacts only", "permissions": {"contacts": {"canManage": "yes", "readAccess": "all"}}});
    let (_, role) = call(&app, &c.key, Method::POST, "/api/v1/roles", Some(role)).await;
    let (_, key) = app.create_user_with_key(&c.id, json!({"roleId": role["id"]})).await;
    let deal = create(&app, &c.key, "deals", json!({"name": "Secret deal"})).await;
    let contact = create(
        &app,
        &c.key,
        "contacts",
        json!({"firstName": "Ann", "dealIds": [id(&deal)]}),
    )
    .await;

    let (status, updated) = call(
        &app,
        &key,
        Method::PUT,
        &format!("/api/v1/contacts/{}", id(&contact)),
        Some(json!({"lastName": "Lee"})),
    )
    .await;

    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["deals"], json!([]), "deals are not readable for this role");
    let (_, admin_view) = call(
        &app,
        &c.key,
        Method::GET,
        &format!("/api/v1/contacts/{}", id(&contact)),
        None,
    )
    .await;
    assert_eq!(
        admin_view["contact"]["deals"].as_array().unwrap().len(),
        1,
        "and the link itself is untouched"
    );
}
