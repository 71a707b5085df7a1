//! The MCP endpoint: transport rules, both protocol eras, the tool surface and its guards.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, create, id, spawn_app, spawn_with};

/// Posts one JSON-RPC message with a key; returns (status, body or Null).
async fn rpc(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/mcp"))
        .header("x-api-key", key)
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.headers().get("mcp-session-id").is_none(),
        "stateless: no session id"
    );
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

/// Calls a tool; returns the result object.
async fn tool(app: &TestApp, key: &str, name: &str, arguments: Value) -> Value {
    let (status, body) = rpc(
        app,
        key,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[actix_web::test]
async fn the_handshake_negotiates_versions_and_describes_the_server() {
    let app = spawn_app().await;
    let c = app.create_company("Mcp").await;
    for (asked, answered) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2099-01-01", "2025-11-25"),
    ] {
        let (status, body) = rpc(&app, &c.key, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"]["protocolVersion"], answered);
        assert_eq!(body["result"]["serverInfo"]["name"], "customermates");
        assert!(
            body["result"]["instructions"]
                .as_str()
                .unwrap()
                .contains("get_entity_configuration")
        );
        assert!(body["result"]["capabilities"]["tools"].is_object());
    }
    let (status, body) = rpc(
        &app,
        &c.key,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!((status, body), (202, Value::Null));
    let (_, pong) = rpc(&app, &c.key, json!({"jsonrpc": "2.0", "id": "p", "method": "ping"})).await;
    assert_eq!(pong, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));
    let (_, prompts) = rpc(
        &app,
        &c.key,
        json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/list"}),
    )
    .await;
    let name = prompts["result"]["prompts"][0]["name"].as_str().unwrap();
    let (_, prompt) = rpc(
        &app,
        &c.key,
        json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": name}}),
    )
    .await;
    assert!(
        prompt["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("Never send null")
    );
}

#[actix_web::test]
async fn transport_errors_follow_the_spec() {
    let app = spawn_app().await;
    let c = app.create_company("Transport").await;
    let post = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/mcp"))
            .header("x-api-key", c.key.clone())
            .header("content-type", content_type)
            .body(body)
    };
    let tools_list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    // An unknown version, whatever its form, is unsupported (not a modern request missing its `_meta`).
    let versions = ["1900-01-01", "bogus", "9999-01-01"].map(|v| {
        let request = post(tools_list, "application/json").header("mcp-protocol-version", v);
        (request, 400, Some(-32600))
    });
    let mut cases: Vec<(reqwest::RequestBuilder, u16, Option<i64>)> = versions.into_iter().collect();
    cases.extend([
        (post("{not json", "application/json"), 400, Some(-32700)),
        (
            post(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, "application/json"),
            400,
            Some(-32600),
        ),
        (
            post(r#"{"id":1,"method":"ping"}"#, "application/json"),
            400,
            Some(-32600),
        ),
        (
            post(r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, "application/json"),
            400,
            Some(-32600),
        ),
        (
            post(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, "text/plain"),
            415,
            Some(-32000),
        ),
        (
            post(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, "application/json"),
            202,
            None,
        ),
        (
            post(r#"{"jsonrpc":"2.0","id":1,"method":"nope/nope"}"#, "application/json"),
            200,
            Some(-32601),
        ),
        (
            app.client
                .get(app.url("/api/v1/mcp"))
                .header("x-api-key", c.key.clone()),
            405,
            Some(-32000),
        ),
        (app.client.delete(app.url("/api/v1/mcp")), 405, Some(-32000)),
        (
            post(tools_list, "application/json").header("origin", "http://evil.example.com"),
            403,
            Some(-32000),
        ),
        (
            post(tools_list, "application/json").header("host", "evil.example.com"),
            403,
            Some(-32000),
        ),
        (
            app.client
                .post(app.url("/api/v1/mcp"))
                .header("content-type", "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            401,
            None,
        ),
    ]);
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        if let Some(code) = code {
            assert_eq!(body["error"]["code"], code, "{body}");
        }
        if status == 401 {
            assert_eq!(body["code"], "missing_api_key");
        }
    }
    let ok = post(tools_list, "application/json")
        .header("origin", "http://127.0.0.1:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "a loopback origin is allowed");
    let bearer = app
        .client
        .post(app.url("/api/v1/mcp"))
        .bearer_auth(&c.key)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200, "Authorization: Bearer works too");
}

#[actix_web::test]
async fn the_per_request_era_checks_meta_and_headers() {
    let app = spawn_app().await;
    let c = app.create_company("Modern").await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let send = |method: &'static str,
                name: Option<&'static str>,
                params: Value,
                headers: Vec<(&'static str, &'static str)>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/mcp"))
            .header("x-api-key", c.key.clone())
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let _ = name;
        request
    };
    let good = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "server/discover"),
    ];
    let discover = send("server/discover", None, json!({"_meta": meta}), good)
        .send()
        .await
        .unwrap();
    assert_eq!(discover.status(), 200);
    let body: Value = discover.json().await.unwrap();
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(
        body["result"]["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
    assert_eq!(
        body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "customermates"
    );

    let list = send(
        "tools/list",
        None,
        json!({"_meta": meta}),
        vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
    )
    .send()
    .await
    .unwrap();
    let body: Value = list.json().await.unwrap();
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 49);
    assert!(body["result"]["ttlMs"].is_number() && body["result"]["cacheScope"].is_string());

    let call = json!({"_meta": meta, "name": "count_entity", "arguments": {"entity": "contact"}});
    let cases = vec![
        (
            send(
                "tools/call",
                None,
                call.clone(),
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "count_entity"),
                ],
            ),
            200,
            None,
        ),
        (
            send(
                "tools/call",
                None,
                call.clone(),
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "=?base64?Y291bnRfZW50aXR5?="),
                ],
            ),
            200,
            None,
        ),
        (
            send(
                "tools/call",
                None,
                call.clone(),
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "other"),
                ],
            ),
            400,
            Some(-32020),
        ),
        (
            send(
                "tools/call",
                None,
                call.clone(),
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/list"),
                    ("mcp-name", "count_entity"),
                ],
            ),
            400,
            Some(-32020),
        ),
        (
            send(
                "tools/call",
                None,
                call,
                vec![("mcp-method", "tools/call"), ("mcp-name", "count_entity")],
            ),
            400,
            Some(-32020),
        ),
        (
            send(
                "tools/list",
                None,
                json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
                vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
            ),
            400,
            Some(-32602),
        ),
        (
            send(
                "tools/list",
                None,
                json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}),
                vec![("mcp-protocol-version", "1900-01-01"), ("mcp-method", "tools/list")],
            ),
            400,
            Some(-32022),
        ),
        (
            send(
                "ping",
                None,
                json!({"_meta": meta}),
                vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", "ping")],
            ),
            404,
            Some(-32601),
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        match code {
            Some(code) => assert_eq!(body["error"]["code"], code, "{body}"),
            None => assert_eq!(body["result"]["resultType"], "complete", "{body}"),
        }
    }
}

#[actix_web::test]
async fn tools_list_is_the_49_tools_in_reference_order_with_clean_schemas() {
    let app = spawn_app().await;
    let c = app.create_company("List").await;
    let (_, body) = rpc(&app, &c.key, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    let tools = body["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 49);
    assert_eq!(
        &names[..3],
        ["get_entity_configuration", "filter_entity", "count_entity"]
    );
    assert_eq!(names.last(), Some(&"delete_custom_column"));
    assert!(body["result"].get("nextCursor").is_none());
    let text = body["result"].to_string();
    for banned in ["$ref", "$defs", "$schema"] {
        assert!(!text.contains(banned), "{banned}");
    }
    // Size tracked: the list is sent on every connection; keep it under this bound.
    assert!(text.len() < 120_000, "tools/list grew to {} bytes", text.len());
    let (_, again) = rpc(&app, &c.key, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    assert_eq!(body, again, "stable order and content");
    let (_, cursor) = rpc(
        &app,
        &c.key,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "garbage"}}),
    )
    .await;
    assert_eq!(cursor["error"]["code"], -32602);
}

#[actix_web::test]
async fn agents_create_filter_get_link_update_and_delete_through_tools() {
    let app = spawn_app().await;
    let c = app.create_company("Agent").await;
    let k = &c.key;
    let created = tool(
        &app,
        k,
        "create_organizations",
        json!({"organizations": [{"name": "Acme"}]}),
    )
    .await;
    let org = created["structuredContent"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text(&created).starts_with("items[1]{id,name}:"), "{}", text(&created));
    let created = tool(
        &app,
        k,
        "create_contacts",
        json!({"contacts": [{"firstName": "Ada", "lastName": "Lovelace", "organizationIds": [org]}]}),
    )
    .await;
    let ada = created["structuredContent"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let filtered = tool(
        &app,
        k,
        "filter_entity",
        json!({"entity": "contact", "filters": [{"field": "organizationIds", "operator": "in", "value": [org]}]}),
    )
    .await;
    assert_eq!(filtered["structuredContent"]["total"], 1);
    assert_eq!(filtered["structuredContent"]["items"][0]["name"], "Ada Lovelace");
    let counted = tool(&app, k, "count_entity", json!({"entity": "contact"})).await;
    assert_eq!(counted["structuredContent"]["total"], 1);
    let found = tool(&app, k, "search_all_entities", json!({"searchTerm": "acme"})).await;
    assert_eq!(found["structuredContent"]["results"][1]["total"], 1);
    // An entity named again is searched once.
    let arguments = json!({"searchTerm": "acme", "entities": vec!["organization"; 1000]});
    let once = tool(&app, k, "search_all_entities", arguments).await;
    assert_eq!(
        once["structuredContent"]["results"].as_array().map(Vec::len),
        Some(1),
        "{once}"
    );
    let include = json!({"items": [{"entity": "contact", "id": ada, "include": true}]});
    assert_eq!(tool(&app, k, "get_entities", include).await["isError"], true);

    let noted = tool(
        &app,
        k,
        "update_entity_notes",
        json!({"entity": "contact", "items": [{"id": ada, "notes": "First call"}]}),
    )
    .await;
    assert_eq!(text(&noted), "Updated notes for 1 contact(s)");
    tool(
        &app,
        k,
        "append_entity_notes",
        json!({"entity": "contact", "items": [{"id": ada, "notes": "Second call"}]}),
    )
    .await;
    // An append past the notes limit is named at the tool's own argument.
    let long = tool(
        &app,
        k,
        "append_entity_notes",
        json!({"entity": "contact", "items": [{"id": ada, "notes": "x".repeat(65_535)}]}),
    )
    .await;
    assert_eq!(long["isError"], true);
    assert!(text(&long).contains("at items[0].notes"), "{}", text(&long));
    let got = tool(
        &app,
        k,
        "get_entities",
        json!({"items": [{"entity": "contact", "id": ada, "include": "withNotes"}, {"entity": "deal", "id": org}]}),
    )
    .await;
    assert_eq!(
        got["structuredContent"]["items"][0]["notes"],
        "First call\n\nSecond call"
    );
    assert_eq!(
        got["structuredContent"]["items"][0]["contact"]["organizations"][0]["id"],
        org.as_str()
    );
    assert_eq!(got["structuredContent"]["items"][1]["error"], "Deal not found");

    let deal = tool(&app, k, "create_deals", json!({"deals": [{"name": "Big"}]})).await["structuredContent"]["items"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let linked = tool(
        &app,
        k,
        "link_entities",
        json!({"entity": "contact", "sourceId": ada, "relation": "deals", "ids": [deal]}),
    )
    .await;
    assert_eq!(text(&linked), format!("Linked 1 deals to contact {ada} (was 0, now 1)"));
    let unlinked = tool(
        &app,
        k,
        "unlink_entities",
        json!({"entity": "contact", "sourceId": ada, "relation": "deals", "ids": [deal]}),
    )
    .await;
    assert!(text(&unlinked).ends_with("(was 1, now 0)"));

    let updated = tool(
        &app,
        k,
        "update_contacts",
        json!({"contacts": [{"id": ada, "lastName": "King"}]}),
    )
    .await;
    assert_eq!(text(&updated), "Updated 1 contact(s)");
    let deleted = tool(&app, k, "delete_entities", json!({"entity": "contact", "ids": [ada]})).await;
    assert_eq!(text(&deleted), "Deleted 1 contact(s)");
}

#[actix_web::test]
async fn guards_and_errors_are_tool_results_that_say_how_to_fix_the_call() {
    let app = spawn_app().await;
    let c = app.create_company("Guards").await;
    let k = &c.key;
    let org = create(&app, k, "organizations", json!({"name": "Acme"})).await;
    let contact = create(
        &app,
        k,
        "contacts",
        json!({"firstName": "Ada", "organizationIds": [id(&org)]}),
    )
    .await;

    let guarded = tool(
        &app,
        k,
        "update_contacts",
        json!({"contacts": [{"id": id(&contact), "organizationIds": null}]}),
    )
    .await;
    assert_eq!(guarded["isError"], true);
    assert!(
        text(&guarded).contains("Refusing to set 'organizationIds' to null"),
        "{}",
        text(&guarded)
    );
    let (_, still) = crate::helpers::call(
        &app,
        k,
        Method::GET,
        &format!("/api/v1/contacts/{}", id(&contact)),
        None,
    )
    .await;
    assert_eq!(
        still["contact"]["organizations"].as_array().unwrap().len(),
        1,
        "nothing was wiped"
    );

    let select = tool(&app, k, "create_single_select_custom_column", json!({"entityType": "deal", "label": "Stage", "options": [{"label": "Open", "color": "info", "isDefault": true, "index": 0}]})).await;
    let column = select["structuredContent"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        select["structuredContent"]["message"],
        "Custom field \"Stage\" created successfully"
    );
    let wrong = tool(
        &app,
        k,
        "update_plain_custom_column",
        json!({"id": column, "label": "X"}),
    )
    .await;
    assert_eq!(wrong["isError"], true);
    assert!(
        text(&wrong).contains("Use update_single_select_custom_column instead."),
        "{}",
        text(&wrong)
    );
    let listed = tool(&app, k, "list_custom_columns", json!({"entityType": "deal"})).await;
    assert_eq!(listed["structuredContent"]["items"][0]["type"], "singleSelect");

    let bad_filter = tool(
        &app,
        k,
        "filter_entity",
        json!({"entity": "contact", "filters": [{"field": "name", "operator": "equals", "value": "x"}]}),
    )
    .await;
    assert_eq!(bad_filter["isError"], true);
    assert!(
        text(&bad_filter).starts_with("Validation error: ✖ Filter field not found or not accessible."),
        "{}",
        text(&bad_filter)
    );
    let bad_args = tool(&app, k, "filter_entity", json!({"entity": "planet"})).await;
    assert_eq!(bad_args["isError"], true);
    let bad_page = tool(&app, k, "filter_entity", json!({"entity": "contact", "pageSize": 7})).await;
    assert_eq!(bad_page["isError"], true);
    let item = json!({"entity": "contact", "id": uuid::Uuid::new_v4().to_string()});
    let too_many = tool(&app, k, "get_entities", json!({"items": vec![item; 101]})).await;
    assert_eq!(too_many["isError"], true);
    assert!(text(&too_many).contains("at most 100 items"), "{}", text(&too_many));
    let (_, unknown) = rpc(&app, k, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "launch_rockets", "arguments": {}}})).await;
    assert_eq!(unknown["error"]["code"], -32602);

    let me = tool(&app, k, "get_current_user", json!({})).await;
    assert_eq!(me["structuredContent"]["roleName"], "Admin");
    let company = tool(&app, k, "update_company", json!({"name": "Guards GmbH", "street": "Main 1", "city": "Berlin", "postalCode": "10115", "country": "de", "currency": "eur"})).await;
    assert_eq!(company["structuredContent"]["message"], "Company profile updated");
    let profile = tool(&app, k, "get_company", json!({})).await;
    assert_eq!(profile["structuredContent"]["city"], "Berlin");
    let roles = tool(&app, k, "list_roles", json!({})).await;
    assert_eq!(roles["structuredContent"]["items"][0]["name"], "Admin");
    let users = tool(&app, k, "list_users", json!({})).await;
    assert_eq!(users["structuredContent"]["total"], 1);
    let profile = tool(
        &app,
        k,
        "update_my_profile",
        json!({"firstName": "Ada", "lastName": "Admin", "country": "gb"}),
    )
    .await;
    assert_eq!(profile["structuredContent"]["message"], "Profile updated");

    // Profiles out of bounds are validation errors naming the field (a 201-character company name was an internal
    // error; a country outside the list and names of any length were stored), and change nothing.
    let address = json!({"street": "Main 1", "city": "Berlin", "postalCode": "10115", "country": "de"});
    let with = |extra: Value| {
        let mut arguments = address.clone();
        arguments
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        arguments
    };
    for (name, arguments, path) in [
        ("update_company", with(json!({"name": "n".repeat(201)})), "name"),
        (
            "update_company",
            with(json!({"name": "N", "city": "c".repeat(201)})),
            "city",
        ),
        ("update_company", with(json!({"name": "N", "country": "xx"})), "country"),
        (
            "update_my_profile",
            json!({"firstName": "f".repeat(101), "lastName": "A", "country": "de"}),
            "firstName",
        ),
        (
            "update_my_profile",
            json!({"firstName": "Ada", "lastName": "A", "country": "xx"}),
            "country",
        ),
    ] {
        let refused = tool(&app, k, name, arguments).await;
        assert_eq!(refused["isError"], true, "{name}: {refused}");
        assert!(
            text(&refused).starts_with("Validation error: ✖") && text(&refused).contains(&format!("→ at {path}")),
            "{name}: {}",
            text(&refused)
        );
    }
    let profile = tool(&app, k, "get_company", json!({})).await;
    assert_eq!(profile["structuredContent"]["name"], "Guards GmbH");
    let me = tool(&app, k, "get_current_user", json!({})).await;
    assert_eq!(
        (
            &me["structuredContent"]["firstName"],
            &me["structuredContent"]["country"]
        ),
        (&json!("Ada"), &json!("gb"))
    );
}

#[actix_web::test]
async fn a_key_of_one_company_never_reads_another_companys_records() {
    let app = spawn_app().await;
    let a = app.create_company("A").await;
    let b = app.create_company("B").await;
    let secret = create(&app, &b.key, "contacts", json!({"firstName": "Secret"})).await;
    let got = tool(
        &app,
        &a.key,
        "get_entities",
        json!({"items": [{"entity": "contact", "id": id(&secret)}]}),
    )
    .await;
    assert_eq!(got["structuredContent"]["items"][0]["error"], "Contact not found");
    let update = tool(
        &app,
        &a.key,
        "update_contacts",
        json!({"contacts": [{"id": id(&secret), "firstName": "Mine"}]}),
    )
    .await;
    assert_eq!(update["isError"], true);
    assert!(text(&update).contains("Contact ID not found or not accessible."));
}

#[actix_web::test]
async fn a_spent_quota_answers_tool_calls_with_the_wait_not_a_429() {
    let app = spawn_with(&[("CM_RATE_LIMIT__PER_SECOND", "1"), ("CM_RATE_LIMIT__BURST", "2")]).await;
    let c = app.create_company("Quota").await;
    for _ in 0..2 {
        tool(&app, &c.key, "count_entity", json!({"entity": "contact"})).await;
    }
    let response = app.client.post(app.url("/api/v1/mcp")).header("x-api-key", &c.key)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "count_entity", "arguments": {"entity": "contact"}}}))
        .send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("ratelimit-remaining").unwrap(), "0");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["isError"], true);
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Wait 1 second,"),
        "{body}"
    );
}

#[actix_web::test]
async fn concurrent_appends_keep_every_note_and_profile_changes_reach_assignments() {
    let app = spawn_app().await;
    let c = app.create_company("Appends").await;
    let contact = create(
        &app,
        &c.key,
        "contacts",
        json!({"firstName": "Ann", "userIds": [c.user_id]}),
    )
    .await;
    let appends = (0..8).map(|i| {
        let (app, key, contact) = (&app, c.key.clone(), id(&contact));
        async move {
            tool(
                app,
                &key,
                "append_entity_notes",
                json!({"entity": "contact", "items": [{"id": contact, "notes": format!("line {i}")}]}),
            )
            .await
        }
    });
    for result in futures::future::join_all(appends).await {
        assert_ne!(result["isError"], true, "{result}");
    }
    let got = tool(
        &app,
        &c.key,
        "get_entities",
        json!({"items": [{"entity": "contact", "id": id(&contact), "include": "withNotes"}]}),
    )
    .await;
    let notes = got["structuredContent"]["items"][0]["notes"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..8 {
        assert!(notes.contains(&format!("line {i}")), "line {i} lost: {notes}");
    }

    tool(
        &app,
        &c.key,
        "update_my_profile",
        json!({"firstName": "Renamed", "lastName": "Person", "country": "de"}),
    )
    .await;
    let got = tool(
        &app,
        &c.key,
        "get_entities",
        json!({"items": [{"entity": "contact", "id": id(&contact)}]}),
    )
    .await;
    assert_eq!(
        got["structuredContent"]["items"][0]["contact"]["users"][0]["firstName"],
        "Renamed"
    );
}

#[actix_web::test]
async fn every_tool_runs_its_main_path() {
    let app = spawn_app().await;
    let c = app.create_company("Every").await;
    let k = &c.key;
    let ok = |result: &Value, tool: &str| assert_ne!(result["isError"], true, "{tool}: {result}");
    let mut ids = std::collections::HashMap::new();
    for (tool_name, plural, item) in [
        ("create_organizations", "organizations", json!({"name": "Org"})),
        (
            "create_contacts",
            "contacts",
            json!({"firstName": "Ann", "lastName": ""}),
        ),
        ("create_services", "services", json!({"name": "Svc", "amount": 10})),
        ("create_deals", "deals", json!({"name": "Deal"})),
        ("create_tasks", "tasks", json!({"name": "Task"})),
    ] {
        let result = tool(&app, k, tool_name, json!({plural: [item]})).await;
        ok(&result, tool_name);
        ids.insert(
            plural,
            result["structuredContent"]["items"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for (tool_name, plural, change) in [
        ("update_organizations", "organizations", json!({"name": "Org 2"})),
        ("update_contacts", "contacts", json!({"lastName": "Lee"})),
        ("update_services", "services", json!({"amount": 12})),
        (
            "update_deals",
            "deals",
            json!({"services": [{"serviceId": ids["services"], "quantity": 2}]}),
        ),
        ("update_tasks", "tasks", json!({"contactIds": [ids["contacts"]]})),
    ] {
        let mut item = change;
        item["id"] = json!(ids[plural]);
        let result = tool(&app, k, tool_name, json!({plural: [item]})).await;
        ok(&result, tool_name);
        assert!(
            text(&result).starts_with("Updated 1 "),
            "{tool_name}: {}",
            text(&result)
        );
    }
    let deal = tool(
        &app,
        k,
        "get_entities",
        json!({"items": [{"entity": "deal", "id": ids["deals"]}]}),
    )
    .await;
    assert_eq!(deal["structuredContent"]["items"][0]["deal"]["totalValue"], 24.0);

    let config = tool(&app, k, "get_entity_configuration", json!({"entity": "deal"})).await;
    ok(&config, "get_entity_configuration");
    assert!(
        config["structuredContent"]["filterableFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "serviceIds")
    );

    let mut columns = Vec::new();
    for (kind, extra) in [
        ("plain", json!({})),
        ("date", json!({"displayFormat": "numericalLong"})),
        ("datetime", json!({})),
        ("date_range", json!({})),
        ("datetime_range", json!({})),
        ("currency", json!({"currency": "usd"})),
        (
            "single_select",
            json!({"options": [{"label": "A", "color": "info", "isDefault": false, "index": 0}]}),
        ),
        ("link", json!({"color": "info", "allowMultiple": false})),
        ("email", json!({"color": "info", "allowMultiple": true})),
        ("phone", json!({"color": "info", "allowMultiple": false})),
    ] {
        let mut args = extra.clone();
        args["entityType"] = json!("organization");
        args["label"] = json!(kind);
        let created = tool(&app, k, &format!("create_{kind}_custom_column"), args).await;
        ok(&created, kind);
        let id = created["structuredContent"]["id"].as_str().unwrap().to_owned();
        let mut change = extra;
        change["id"] = json!(id);
        change["label"] = json!(format!("{kind} renamed"));
        if kind == "single_select" {
            change["options"] = json!([{"label": "B", "color": "success", "isDefault": true, "index": 0}]);
        }
        let updated = tool(&app, k, &format!("update_{kind}_custom_column"), change).await;
        ok(&updated, kind);
        assert_eq!(updated["structuredContent"]["label"], format!("{kind} renamed"));
        columns.push((kind, id));
    }
    let listed = tool(&app, k, "list_custom_columns", json!({})).await;
    assert_eq!(listed["structuredContent"]["items"].as_array().unwrap().len(), 10);
    let plain = &columns[0].1;
    let set = tool(&app, k, "update_entity_custom_fields", json!({"entity": "organization", "items": [{"id": ids["organizations"], "customFieldValues": [{"columnId": plain, "value": "hello"}]}]})).await;
    assert_eq!(text(&set), "Updated custom fields on 1 organization(s)");
    let bad = tool(&app, k, "update_entity_custom_fields", json!({"entity": "organization", "items": [{"id": ids["organizations"], "customFieldValues": [{"columnId": columns[7].1, "value": "not a url"}]}]})).await;
    assert_eq!(bad["isError"], true);
    assert!(text(&bad).contains("The URL value is invalid"), "{}", text(&bad));
    let removed = tool(&app, k, "delete_custom_column", json!({"id": plain})).await;
    assert_eq!(text(&removed), format!("Deleted custom column {plain}"));
    let gone = tool(&app, k, "delete_custom_column", json!({"id": plain})).await;
    assert_eq!(gone["isError"], true);

    for (entity, plural) in [
        ("task", "tasks"),
        ("deal", "deals"),
        ("service", "services"),
        ("contact", "contacts"),
        ("organization", "organizations"),
    ] {
        let deleted = tool(
            &app,
            k,
            "delete_entities",
            json!({"entity": entity, "ids": [ids[plural]]}),
        )
        .await;
        assert_eq!(text(&deleted), format!("Deleted 1 {entity}(s)"));
    }
    let again = tool(
        &app,
        k,
        "delete_entities",
        json!({"entity": "contact", "ids": [ids["contacts"]]}),
    )
    .await;
    assert_eq!(again["isError"], true);
    assert!(
        text(&again).contains("Contact ID not found or not accessible.\n  → at ids[0]"),
        "{}",
        text(&again)
    );
}

/// Texts an agent written against the reference may read: deal→service link lines, an unknown column id on update,
/// an entity name that is not one; and a filterable-field entry sent back as a filter (with its `label`) works.
#[actix_web::test]
async fn reference_texts_for_links_columns_and_entity_names() {
    let app = spawn_app().await;
    let c = app.create_company("Texts").await;
    let k = &c.key;
    let deal = create(&app, k, "deals", json!({"name": "D"})).await;
    let service = create(&app, k, "services", json!({"name": "S", "amount": 10})).await;
    let link = json!({"entity": "deal", "sourceId": id(&deal), "relation": "services", "ids": [id(&service)]});
    let linked = tool(&app, k, "link_entities", link.clone()).await;
    assert_eq!(text(&linked), format!("Linked 1 service(s) to deal {}", id(&deal)));
    let unlinked = tool(&app, k, "unlink_entities", link).await;
    assert_eq!(
        text(&unlinked),
        format!("Unlinked 1 service(s) from deal {}", id(&deal))
    );

    let ghost = uuid::Uuid::new_v4();
    let missing = tool(
        &app,
        k,
        "update_plain_custom_column",
        json!({"id": ghost, "label": "X"}),
    )
    .await;
    assert_eq!(missing["isError"], true);
    assert_eq!(
        text(&missing),
        format!("Validation error: Custom column {ghost} not found")
    );

    let planet = tool(&app, k, "filter_entity", json!({"entity": "planet"})).await;
    assert!(
        text(&planet).contains("`entity` must be one of contact"),
        "{}",
        text(&planet)
    );
    // Numbers out of the argument's range name the range, not a Rust type.
    for page in [json!("2"), json!(4_294_967_296_u64), json!(-1)] {
        let typed = tool(&app, k, "filter_entity", json!({"entity": "deal", "page": page})).await;
        assert!(
            text(&typed).contains("expected a whole number from 0 to 4294967295") && !text(&typed).contains("u32"),
            "{}",
            text(&typed)
        );
    }
    let absent = tool(&app, k, "filter_entity", json!({})).await;
    assert!(text(&absent).contains("`entity` is required"), "{}", text(&absent));

    let (_, column) = crate::helpers::call(
        &app,
        k,
        Method::POST,
        "/api/v1/custom-columns",
        Some(json!({"entityType": "deal", "type": "plain", "label": "Code"})),
    )
    .await;
    // Option errors at the tool's own argument paths.
    let bad = json!({"entityType": "deal", "label": "Stage", "options": [{"label": "A", "color": "plaid"}]});
    let refused = tool(&app, k, "create_single_select_custom_column", bad).await;
    assert!(text(&refused).contains("→ at options[0].color"), "{}", text(&refused));
    // The notes and custom-field tools name errors at their `items` argument.
    let items = json!({"entity": "deal", "items": [{"id": id(&deal), "customFieldValues": [{"columnId": column["id"], "value": "x".repeat(10_001)}]}]});
    let refused = tool(&app, k, "update_entity_custom_fields", items).await;
    assert!(
        text(&refused).contains("→ at items[0].customFieldValues[0]"),
        "{}",
        text(&refused)
    );
    let entry = json!({"field": column["id"], "label": "Code", "operator": "isNull"});
    let filtered = tool(&app, k, "filter_entity", json!({"entity": "deal", "filters": [entry]})).await;
    assert_eq!(filtered["structuredContent"]["total"], 1, "{filtered}");
}
