//! The MCP endpoint in process (the Python MCP client drives it over HTTP in
//! the contract pass, infra/mcp-test.sh): the key and its challenge, both
//! protocol revisions' discovery, every tool against what the REST routes
//! answer, scopes and tenancy, refused arguments, and notes added at once.

use super::{Integration, integration_on};
use hal_crm::model::Scope;
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{
    eventually, fresh_app, mcp_request, mcp_tool, mcp_tools_json, send, send_with_budget,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const READ_TOOLS: [&str; 8] = [
    "search_contacts",
    "get_contact",
    "search_companies",
    "get_company",
    "list_pipeline_stages",
    "pipeline_summary",
    "list_conversations",
    "get_conversation",
];
const WRITE_TOOLS: [&str; 4] = [
    "set_company_stage",
    "set_deal_value",
    "add_company_note",
    "reply_to_conversation",
];

impl Integration {
    /// Another key of this project.
    async fn with_scopes(&self, scopes: &[Scope]) -> Integration {
        let (_, key) = hal_crm::domain::api_keys::create(
            &self.app.store,
            &self.project.id,
            "scoped",
            scopes.to_vec(),
            "owner",
        )
        .await
        .unwrap();
        Integration {
            app: self.app,
            project: self.project.clone(),
            key,
        }
    }

    async fn tool(&self, tool: &str, arguments: Value) -> Result<Value, Value> {
        mcp_tool(self.app, &self.key, tool, arguments).await
    }

    async fn tool_ok(&self, tool: &str, arguments: Value) -> Value {
        let result = self.tool(tool, arguments).await;
        result.unwrap_or_else(|err| panic!("{tool}: {err:#}"))
    }

    async fn tool_error(&self, tool: &str, arguments: Value) -> (String, Value) {
        let err = self.tool(tool, arguments).await.expect_err(tool);
        let code = err["error"]["code"].as_str().unwrap().to_owned();
        (code, err["error"]["details"].clone())
    }

    fn account(&self, method: &str, route: &str) -> ApiRequest {
        ApiRequest::new(method, route)
            .user("owner")
            .header("X-Project-Id", &self.project.id)
    }

    /// Acme through the account API.
    async fn acme(&self) -> Value {
        self.ok(self
            .account("GET", "/api/companies/{id}")
            .path_param("id", "acme"))
            .await
    }

    /// A listing tool's result once it lists exactly one record under
    /// `field` (lists read an index, which trails the writes before them).
    async fn lists_one(&self, tool: &str, arguments: Value, field: &str) -> Value {
        eventually(&format!("{tool} lists one of {field}"), || async {
            let found = self.tool_ok(tool, arguments.clone()).await;
            (found[field].as_array()?.len() == 1).then_some(found)
        })
        .await
    }

    /// Acme as `alice` made it: no refused write changed it.
    async fn assert_acme_untouched(&self) {
        let acme = self.acme().await;
        assert_eq!(
            (&acme["stage"], &acme["deal_value"], &acme["notes"]),
            (&json!("Qualified"), &json!(1000.0), &Value::Null)
        );
    }

    /// Alice of Acme (on Qualified, worth 1 000) in a conversation.
    async fn alice(&self) -> (String, String) {
        let identified = self
            .ok(ApiRequest::new("POST", "/api/widget/identify").json(&json!({
                "project_id": self.project.id, "visitor_id": "v-alice",
                "email": "alice@acme.com", "name": "Alice Berg",
                "company": {"id": "acme", "name": "Acme", "stage": "Qualified", "deal_value": 1000}
            })))
            .await;
        let said = self.visitor_says("v-alice", "Pricing?", None).await;
        (
            identified["contact"]["id"].as_str().unwrap().to_owned(),
            said.body["conversation"]["id"].as_str().unwrap().to_owned(),
        )
    }
}

async fn everything() -> Integration {
    integration_on(fresh_app().await, &Scope::ALL).await
}

#[tokio::test]
async fn a_missing_unknown_or_revoked_key_is_401_with_a_bearer_challenge() {
    let it = everything().await;
    let initialize = || {
        ApiRequest::new("POST", "/mcp")
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
    };
    let budget = Duration::from_secs(9);
    for request in [
        initialize(),
        initialize().header("authorization", "Bearer hal_sk_unknown"),
        initialize().header("x-api-key", "hal_sk_unknown"),
    ] {
        let (answer, headers) = send_with_budget(it.app, request, budget).await;
        assert_eq!(answer.status.as_u16(), 401);
        assert_eq!(answer.error_code(), "invalid_api_key");
        assert_eq!(headers["www-authenticate"], "Bearer");
    }
    // Either header carries the key.
    let (answer, _) =
        send_with_budget(it.app, initialize().header("x-api-key", &it.key), budget).await;
    assert_eq!(answer.status.as_u16(), 200, "{:#}", answer.body);
    let key_id = hal_crm::domain::api_keys::authenticate(&it.app.store, &it.key)
        .await
        .unwrap()
        .unwrap()
        .id;
    hal_crm::domain::api_keys::delete(&it.app.store, &it.project.id, &key_id)
        .await
        .unwrap();
    let (answer, headers) =
        send_with_budget(it.app, mcp_request(&it.key, "ping", json!({})), budget).await;
    assert_eq!(answer.status.as_u16(), 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn both_protocol_revisions_discover_the_server_and_list_every_tool() {
    let it = everything().await;
    let rpc = |request| send(it.app, request);
    // 2025-11-25: the handshake, then requests without a session.
    let init = rpc(mcp_request(
        &it.key,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    ))
    .await;
    assert_eq!(
        init.body["result"]["protocolVersion"], "2025-11-25",
        "{:#}",
        init.body
    );
    assert_eq!(init.body["result"]["serverInfo"]["name"], "hal-crm");
    assert!(init.body["result"]["capabilities"]["tools"].is_object());
    let initialized = ApiRequest::new("POST", "/mcp")
        .header("authorization", &format!("Bearer {}", it.key))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(rpc(initialized).await.status.as_u16(), 202);
    assert_eq!(
        rpc(mcp_request(&it.key, "ping", json!({}))).await.body["result"],
        json!({})
    );
    let listed = rpc(mcp_request(&it.key, "tools/list", json!({}))).await;
    check_tools(&listed.body["result"]["tools"]);
    // 2026-07-28: no handshake; the version and client in every request's
    // `_meta`, the method (and a tool's name) in headers too.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let modern = |method: &str, params: Value| {
        ApiRequest::new("POST", "/mcp")
            .header("authorization", &format!("Bearer {}", it.key))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
    };
    let discovered = rpc(modern("server/discover", json!({"_meta": meta}))).await;
    let versions = &discovered.body["result"]["supportedVersions"];
    assert!(
        versions
            .as_array()
            .is_some_and(|v| v.contains(&json!("2026-07-28"))),
        "{:#}",
        discovered.body
    );
    let listed = rpc(modern("tools/list", json!({"_meta": meta}))).await;
    check_tools(&listed.body["result"]["tools"]);
    let called = rpc(modern(
        "tools/call",
        json!({"_meta": meta, "name": "list_pipeline_stages", "arguments": {}}),
    )
    .header("mcp-name", "list_pipeline_stages"))
    .await;
    let stages = &called.body["result"]["structuredContent"]["stages"];
    assert_eq!(stages[0]["name"], "New", "{:#}", called.body);
    // Its errors take HTTP statuses: a header that contradicts the body is
    // 400, a method of the handshake's revisions (ping) 404.
    let contradicted = rpc(modern(
        "tools/call",
        json!({"_meta": meta, "name": "list_pipeline_stages", "arguments": {}}),
    )
    .header("mcp-name", "get_contact"))
    .await;
    assert_eq!(contradicted.status.as_u16(), 400);
    assert_eq!(contradicted.body["error"]["code"], -32020);
    let ping = rpc(modern("ping", json!({"_meta": meta}))).await;
    assert_eq!(
        (ping.status.as_u16(), &ping.body["error"]["code"]),
        (404, &json!(-32601))
    );
    // A server without streams or sessions: GET and DELETE are 405.
    for method in ["GET", "DELETE"] {
        let answer = rpc(ApiRequest::new(method, "/mcp").header("x-api-key", &it.key)).await;
        assert_eq!(answer.status.as_u16(), 405, "{method}");
    }
}

fn committed_tool_list() -> String {
    hal_crm_tests::committed("docs/mcp-tools.json")
}

#[test]
fn the_committed_tool_list_is_the_one_the_code_generates() {
    hal_crm_tests::assert_committed_current("docs/mcp-tools.json", &mcp_tools_json());
}

/// Every tool, once, described for a model: input and output schemas, and
/// hints that say which ones only read; the list as committed.
fn check_tools(tools: &Value) {
    let committed: Value = serde_json::from_str(&committed_tool_list()).unwrap();
    assert_eq!(tools, &committed["tools"]);
    let tools = tools.as_array().expect("tools");
    let names: BTreeSet<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    let expected: BTreeSet<&str> = READ_TOOLS.iter().chain(&WRITE_TOOLS).copied().collect();
    assert_eq!(names, expected);
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 40),
            "{name}"
        );
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let read_only = READ_TOOLS.contains(&name);
        assert_eq!(tool["annotations"]["readOnlyHint"], read_only, "{name}");
        if !read_only {
            assert!(
                tool["annotations"]["destructiveHint"].is_boolean(),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn every_tool_answers_what_the_rest_routes_answer() {
    let it = everything().await;
    let (alice, conversation) = it.alice().await;
    // Reads.
    for args in [
        json!({"query": "ali"}),
        json!({"email": "ALICE@acme.com"}),
        json!({"company_id": "acme"}),
    ] {
        let found = it.lists_one("search_contacts", args, "contacts").await;
        assert_eq!(found["contacts"][0]["id"], alice.as_str());
    }
    let contact = it
        .tool_ok("get_contact", json!({"contact_id": alice}))
        .await;
    let rest = it
        .ok(it
            .account("GET", "/api/contacts/{id}")
            .path_param("id", &alice))
        .await;
    assert_eq!(contact["contact"]["email"], rest["email"]);
    assert_eq!(contact["companies"][0]["id"], "acme");
    assert_eq!(contact["companies"][0]["stage"], "Qualified");
    let company = it
        .tool_ok("get_company", json!({"company_id": "acme"}))
        .await;
    let rest = it.acme().await;
    assert_eq!(company["company"], rest);
    assert_eq!(company["contacts"][0]["id"], alice.as_str());
    let board = it
        .lists_one(
            "search_companies",
            json!({"stage": "qualified"}),
            "companies",
        )
        .await;
    assert_eq!(board["companies"][0]["id"], "acme");
    let summary = it.tool_ok("pipeline_summary", json!({})).await;
    let rest = it.ok(it.account("GET", "/api/pipeline")).await;
    assert_eq!(summary["stages"], rest["stages"]);
    assert_eq!(summary["all"]["total_deal_value"], 1000.0);
    let stages = it.tool_ok("list_pipeline_stages", json!({})).await;
    let rest = it.ok(it.account("GET", "/api/stages")).await;
    assert_eq!(stages["stages"], rest["data"]);
    let conversations = it
        .lists_one(
            "list_conversations",
            json!({"status": "open"}),
            "conversations",
        )
        .await;
    assert_eq!(
        conversations["conversations"][0]["id"],
        conversation.as_str()
    );
    // Writes: exact stage (backwards too), deal value, a note, a reply.
    let moved = it
        .tool_ok(
            "set_company_stage",
            json!({"company_id": "acme", "stage": "New"}),
        )
        .await;
    assert_eq!(moved["stage"], "New");
    let valued = it
        .tool_ok(
            "set_deal_value",
            json!({"company_id": "acme", "deal_value": 2500.5}),
        )
        .await;
    assert_eq!(valued["deal_value"], 2500.5);
    it.tool_ok(
        "add_company_note",
        json!({"company_id": "acme", "note": "Wants a demo."}),
    )
    .await;
    let rest = it.acme().await;
    assert_eq!(
        (&rest["stage"], &rest["deal_value"]),
        (&json!("New"), &json!(2500.5))
    );
    assert!(
        rest["notes"].as_str().unwrap().ends_with("] Wants a demo."),
        "{rest:#}"
    );
    let summary = it.tool_ok("pipeline_summary", json!({"recent": 1})).await;
    assert_eq!(summary["stages"][0]["total_deal_value"], 2500.5);
    // The recent changes read an index, which trails the write.
    eventually("acme among the recent stage changes", || async {
        let summary = it.tool_ok("pipeline_summary", json!({"recent": 1})).await;
        (summary["recent_stage_changes"][0]["id"] == "acme").then_some(())
    })
    .await;
    let reply = it
        .tool_ok(
            "reply_to_conversation",
            json!({"conversation_id": conversation, "body": "Sure."}),
        )
        .await;
    assert_eq!(reply["author"], "agent");
    let read = it
        .tool_ok("get_conversation", json!({"conversation_id": conversation}))
        .await;
    let bodies: Vec<&str> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Pricing?", "Sure."]);
}

#[tokio::test]
async fn a_tool_needs_its_scope_and_a_key_reaches_its_own_project_only() {
    let app = fresh_app().await;
    let it = integration_on(app, &Scope::ALL).await;
    let (alice, conversation) = it.alice().await;
    for (tool, args, scope) in [
        ("search_contacts", json!({}), Scope::ContactsRead),
        (
            "get_contact",
            json!({"contact_id": alice}),
            Scope::ContactsRead,
        ),
        ("search_companies", json!({}), Scope::CompaniesRead),
        (
            "get_company",
            json!({"company_id": "acme"}),
            Scope::CompaniesRead,
        ),
        ("list_pipeline_stages", json!({}), Scope::CompaniesRead),
        ("pipeline_summary", json!({}), Scope::CompaniesRead),
        ("list_conversations", json!({}), Scope::ConversationsRead),
        (
            "get_conversation",
            json!({"conversation_id": conversation}),
            Scope::ConversationsRead,
        ),
        (
            "set_company_stage",
            json!({"company_id": "acme", "stage": "Won"}),
            Scope::CompaniesWrite,
        ),
        (
            "set_deal_value",
            json!({"company_id": "acme", "deal_value": 1}),
            Scope::CompaniesWrite,
        ),
        (
            "add_company_note",
            json!({"company_id": "acme", "note": "x"}),
            Scope::CompaniesWrite,
        ),
        (
            "reply_to_conversation",
            json!({"conversation_id": conversation, "body": "x"}),
            Scope::ConversationsWrite,
        ),
    ] {
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        let lacking = it.with_scopes(&others).await;
        let (code, details) = lacking.tool_error(tool, args).await;
        assert_eq!(code, "insufficient_scope", "{tool}");
        assert_eq!(details["required"], json!(scope), "{tool}");
    }
    // Nothing was written by the refused writes.
    it.assert_acme_untouched().await;
    // Without the other family's read scope, a record comes without it.
    let contacts_only = it.with_scopes(&[Scope::ContactsRead]).await;
    let contact = contacts_only
        .tool_ok("get_contact", json!({"contact_id": alice}))
        .await;
    assert!(contact.get("companies").is_none(), "{contact:#}");
    // Another project's key sees nothing of this one.
    let other = integration_on(app, &Scope::ALL).await;
    other.alice().await;
    assert_eq!(
        other
            .tool_error("get_contact", json!({"contact_id": alice}))
            .await
            .0,
        "contact_not_found"
    );
    assert_eq!(
        other
            .tool_error("get_conversation", json!({"conversation_id": conversation}))
            .await
            .0,
        "conversation_not_found"
    );
    let theirs = other
        .lists_one("search_contacts", json!({"query": "alice"}), "contacts")
        .await;
    assert_ne!(theirs["contacts"][0]["id"], alice.as_str());
    let (code, _) = other
        .tool_error(
            "set_deal_value",
            json!({"company_id": "nope", "deal_value": 1}),
        )
        .await;
    assert_eq!(code, "company_not_found");
}

#[tokio::test]
async fn refused_arguments_are_tool_errors_naming_the_field_and_write_nothing() {
    let it = everything().await;
    it.alice().await;
    for (tool, args, field) in [
        ("search_contacts", json!({"query": 5}), "query"),
        ("search_contacts", json!({"limit": 0}), "limit"),
        ("search_contacts", json!({"email": "not an email"}), "email"),
        ("search_contacts", json!({"cursor": "forged"}), ""),
        ("search_contacts", json!({"colour": "red"}), "colour"),
        ("search_companies", json!({"sort": "deal_value"}), "sort"),
        ("pipeline_summary", json!({"recent": 51}), "recent"),
        ("list_conversations", json!({"status": "snoozed"}), "status"),
        ("get_contact", json!({}), "contact_id"),
        (
            "set_deal_value",
            json!({"company_id": "acme", "deal_value": -1}),
            "deal_value",
        ),
        (
            "set_deal_value",
            json!({"company_id": "acme", "deal_value": "lots"}),
            "deal_value",
        ),
        (
            "add_company_note",
            json!({"company_id": "acme", "note": "  "}),
            "note",
        ),
        (
            "reply_to_conversation",
            json!({"conversation_id": "cv_x", "body": "x", "author": "visitor"}),
            "author",
        ),
    ] {
        let (code, details) = it.tool_error(tool, args.clone()).await;
        let expected = if field.is_empty() {
            "invalid_cursor"
        } else {
            "validation_failed"
        };
        assert_eq!(code, expected, "{tool} {args}");
        if !field.is_empty() {
            assert_eq!(details["field"], field, "{tool} {args}");
        }
    }
    let (code, _) = it
        .tool_error(
            "set_company_stage",
            json!({"company_id": "acme", "stage": "Nowhere"}),
        )
        .await;
    assert_eq!(code, "unknown_stage");
    it.assert_acme_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notes_added_at_once_are_all_kept() {
    let it = everything().await;
    it.alice().await;
    let notes: Vec<String> = (0..8).map(|i| format!("note {i}")).collect();
    let racing: Vec<_> = notes
        .iter()
        .map(|note| {
            let (app, key) = (it.app, it.key.clone());
            let args = json!({"company_id": "acme", "note": note});
            tokio::spawn(async move { mcp_tool(app, &key, "add_company_note", args).await })
        })
        .collect();
    for added in racing {
        added.await.unwrap().expect("a note is added");
    }
    let rest = it.acme().await;
    let text = rest["notes"].as_str().unwrap();
    for note in &notes {
        assert!(text.contains(&format!("] {note}")), "{note} lost: {text}");
    }
}

#[tokio::test]
async fn requests_the_protocol_refuses_are_4xx_with_a_code() {
    let it = everything().await;
    let post = |body: &str| {
        ApiRequest::new("POST", "/mcp")
            .header("authorization", &format!("Bearer {}", it.key))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
    };
    let budget = Duration::from_secs(9);
    let ping = r#"{"jsonrpc": "2.0", "id": 1, "method": "ping"}"#;
    for (request, status, code) in [
        (post("{"), 400, "invalid_json"),
        // Read as every route reads a body: a key given twice is refused.
        (
            post(r#"{"jsonrpc": "2.0", "id": 1, "id": 2, "method": "ping"}"#),
            400,
            "validation_failed",
        ),
        (post("[]"), 400, "invalid_mcp_request"),
        (
            post(r#"{"id": 1, "method": "ping"}"#),
            400,
            "invalid_mcp_request",
        ),
        (
            ApiRequest::new("POST", "/mcp")
                .header("x-api-key", &it.key)
                .header("content-type", "application/json")
                .body(ping.as_bytes().to_vec()),
            406,
            "not_acceptable",
        ),
        (
            post(ping).header("mcp-protocol-version", "1999-01-01"),
            400,
            "invalid_mcp_request",
        ),
        (
            ApiRequest::new("GET", "/mcp").header("x-api-key", &it.key),
            405,
            "method_not_allowed",
        ),
    ] {
        let (answer, headers) = send_with_budget(it.app, request, budget).await;
        assert_eq!(
            (answer.status.as_u16(), answer.error_code()),
            (status, code),
            "{:#}",
            answer.body
        );
        if status == 405 {
            assert_eq!(headers["allow"], "POST");
        }
    }
}
