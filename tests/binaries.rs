//! The dev server's binaries mode (`infra/dev.sh --binaries`): routes and
//! configuration from `template.yaml`, what an HTTP API answers when a
//! function fails (a function that fails on purpose, `failing-lambda`), and
//! the flows answering through the real route binaries exactly as in process.
//!
//! The route binaries must be built (`infra/test.sh` builds them with the
//! rest, in one cargo invocation).

use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{committed, endpoint, fresh_app, production_pass};
use hal_devserver::functions::Functions;
use hal_devserver::jwt::DevJwt;
use hal_devserver::routes::ROUTES;
use hal_devserver::server::{self, integration_response};
use hal_devserver::template::{self, Function};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where cargo put this package's binaries, and the route binaries beside them.
fn binaries() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_failing-lambda"))
        .parent()
        .unwrap()
        .to_owned()
}

fn template_functions(table: &str) -> Vec<Function> {
    let text = committed("template.yaml");
    let refs = BTreeMap::from([
        ("Table", table.to_owned()),
        ("CursorSecret", "binaries-cursor-secret".to_owned()),
    ]);
    template::functions(&text, &refs).unwrap()
}

#[test]
fn the_binaries_mode_serves_the_template_routes_with_their_configuration() {
    let functions = template_functions("t");
    let from_template: BTreeSet<_> = functions
        .iter()
        .flat_map(|f| {
            f.routes
                .iter()
                .map(|r| (r.method.clone(), r.path.clone(), f.binary.clone(), r.auth))
        })
        .collect();
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.binary.to_owned(),
                r.auth,
            )
        })
        .collect();
    assert_eq!(from_template, table);
    for function in &functions {
        // The Globals' environment, `!Ref`s resolved, and timeout.
        assert_eq!(function.environment["TABLE_NAME"], "t", "{}", function.name);
        assert_eq!(
            function.environment["HAL_CURSOR_SECRET"],
            "binaries-cursor-secret"
        );
        assert_eq!(function.environment["DYNAMODB_ENDPOINT"], "");
        assert_eq!(function.timeout, Duration::from_secs(10));
        assert_eq!(function.memory_mb, 128);
    }
}

/// The failing function, with `timeout`, behind `integration` (API
/// Gateway's 30 s, shorter here).
fn failing(timeout: Duration, integration: Duration) -> Functions {
    let function = Function {
        name: "FailingFunction".into(),
        binary: "failing-lambda".into(),
        routes: Vec::new(),
        environment: BTreeMap::new(),
        timeout,
        memory_mb: 128,
    };
    Functions::new(binaries(), vec![function], integration)
}

async fn answer(functions: &Functions, path: &str) -> (u16, axum::http::HeaderMap, Value) {
    let event = ApiRequest::new("GET", path).event().to_string();
    let response = integration_response(
        "failing-lambda",
        functions.invoke("failing-lambda", event).await,
    );
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_failing_function_is_answered_as_an_http_api_answers() {
    let functions = failing(Duration::from_secs(1), Duration::from_secs(5));
    let internal = json!({"message": "Internal Server Error"});
    // A response document comes back as it was sent, and the function saw
    // the deadline its timeout sets.
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let (status, headers, body) = answer(&functions, "/ok").await;
    assert_eq!((status, body), (201, json!({"ok": true})));
    assert_eq!(headers["set-cookie"], "a=1; Path=/");
    let deadline: u128 = headers["x-deadline-ms"].to_str().unwrap().parse().unwrap();
    assert!(
        (before + 900..before + 2000).contains(&deadline),
        "deadline {deadline}, sent at {before}"
    );
    // Function errors, a panic, an unreadable document: 500.
    for path in ["/error", "/panic", "/malformed"] {
        let (status, _, body) = answer(&functions, path).await;
        assert_eq!((status, &body), (500, &internal), "{path}");
    }
    // A process that exits, or outlives its timeout, is an error too; the
    // next invocation starts a new one.
    for path in ["/exit", "/sleep/3000"] {
        let (status, _, body) = answer(&functions, path).await;
        assert_eq!((status, &body), (500, &internal), "{path}");
        assert_eq!(answer(&functions, "/ok").await.0, 201, "after {path}");
    }
    // No answer within the integration timeout: 503.
    let slow = failing(Duration::from_secs(10), Duration::from_millis(500));
    let (status, _, body) = answer(&slow, "/sleep/2000").await;
    assert_eq!(
        (status, body),
        (503, json!({"message": "Service Unavailable"}))
    );
}

/// `(step, status, body)` with what differs between two runs (ids,
/// times, secrets, request ids) replaced by what it is.
type Transcript = Vec<(String, u16, Value)>;

fn normalized(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "request_id" | "key" | "prefix" | "next_cursor" | "identity_secret"
                            if v.is_string() =>
                        {
                            json!(format!("<{k}>"))
                        }
                        _ => normalized(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::String(text) => {
            let id = text.len() > 26
                && text.split_once('_').is_some_and(|(kind, rest)| {
                    kind.len() <= 3
                        && rest.len() == 26
                        && rest.chars().all(|c| c.is_ascii_alphanumeric())
                });
            let time =
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .is_ok();
            if id {
                json!("<id>")
            } else if time {
                json!("<time>")
            } else {
                Value::String(text)
            }
        }
        other => other,
    }
}

/// The flows of issue 17 against the API at `base`, as user `user`: the
/// widget sync pattern, account CRUD with links and deletes, v1 with a
/// key, and error answers. Reads are of one record (consistent), so two
/// runs answer alike.
async fn flows(base: &str, token: &str) -> Transcript {
    let http = reqwest::Client::new();
    let mut transcript = Transcript::new();
    let mut step = async |name: &str, request: reqwest::RequestBuilder| -> Value {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        transcript.push((name.to_owned(), status, normalized(body.clone())));
        body
    };
    let project = step(
        "create project",
        http.post(format!("{base}/api/projects"))
            .bearer_auth(token)
            .json(&json!({"name": "Flows"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .header("X-Project-Id", &project)
    };
    let widget = |path: &str, body: Value| {
        let mut body = body;
        body["project_id"] = json!(project);
        body["visitor_id"] = json!("v-1");
        http.post(format!("{base}/api/widget/{path}")).json(&body)
    };
    use reqwest::Method;
    step("identify", widget("identify", json!({"email": "alice@acme.com", "name": "Alice", "company": {"id": "acme", "name": "Acme"}}))).await;
    step(
        "set deal",
        widget(
            "set-deal",
            json!({"company_id": "acme", "deal_value": 12000}),
        ),
    )
    .await;
    step(
        "set stage",
        widget(
            "set-stage",
            json!({"company_id": "acme", "stage": "Proposal"}),
        ),
    )
    .await;
    step(
        "stage backwards is kept",
        widget(
            "set-stage",
            json!({"company_id": "acme", "stage": "Qualified"}),
        ),
    )
    .await;
    step("company", account(Method::GET, "/api/companies/acme")).await;
    let contact = step(
        "create contact",
        account(Method::POST, "/api/contacts")
            .json(&json!({"email": "bob@acme.com", "name": "Bob"})),
    )
    .await;
    let bob = contact["id"].as_str().unwrap_or_default().to_owned();
    step(
        "link",
        account(Method::PUT, &format!("/api/contacts/{bob}/companies/acme")),
    )
    .await;
    step(
        "bob's companies",
        account(Method::GET, &format!("/api/contacts/{bob}/companies")),
    )
    .await;
    step(
        "update contact",
        account(Method::PATCH, &format!("/api/contacts/{bob}")).json(&json!({"tags": ["vip"]})),
    )
    .await;
    step(
        "unlink",
        account(
            Method::DELETE,
            &format!("/api/contacts/{bob}/companies/acme"),
        ),
    )
    .await;
    step(
        "delete contact",
        account(Method::DELETE, &format!("/api/contacts/{bob}")),
    )
    .await;
    step(
        "deleted contact",
        account(Method::GET, &format!("/api/contacts/{bob}")),
    )
    .await;
    let key = step(
        "create key",
        account(Method::POST, "/api/api-keys")
            .json(&json!({"name": "flows", "scopes": ["contacts:read"]})),
    )
    .await;
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    step(
        "v1 by email",
        http.get(format!("{base}/api/v1/contacts?email=alice%40acme.com"))
            .header("X-API-Key", &key),
    )
    .await;
    step(
        "v1 without the scope",
        http.get(format!("{base}/api/v1/conversations"))
            .header("X-API-Key", &key),
    )
    .await;
    step(
        "v1 with no key",
        http.get(format!("{base}/api/v1/contacts")),
    )
    .await;
    step("no token", http.get(format!("{base}/api/projects"))).await;
    step(
        "bad email",
        account(Method::POST, "/api/contacts").json(&json!({"email": "nope"})),
    )
    .await;
    step(
        "bad json",
        account(Method::POST, "/api/contacts")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    step(
        "unknown company",
        account(Method::GET, "/api/companies/nope"),
    )
    .await;
    step(
        "delete company",
        account(Method::DELETE, "/api/companies/acme"),
    )
    .await;
    step("unknown route", http.get(format!("{base}/api/nowhere"))).await;
    transcript
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, router).into_future());
    base
}

#[tokio::test]
async fn the_flows_answer_the_same_through_the_route_binaries() {
    if production_pass() {
        // The two runs would meet different injected faults.
        return;
    }
    let app = fresh_app().await;
    let jwt = DevJwt::new("flows-secret");
    let in_process = serve(server::router(app, jwt.clone())).await;
    let mut functions = template_functions(app.store.table());
    for function in &mut functions {
        function
            .environment
            .insert("DYNAMODB_ENDPOINT".into(), endpoint());
    }
    let lambda = Functions::new(binaries(), functions.clone(), Duration::from_secs(30));
    let binaries_mode = serve(server::binaries_router(
        &functions,
        Arc::new(lambda),
        jwt.clone(),
    ))
    .await;
    let expected = flows(&in_process, &jwt.mint("flows", 600)).await;
    let through_binaries = flows(&binaries_mode, &jwt.mint("flows", 600)).await;
    assert_eq!(expected.len(), through_binaries.len());
    for (expected, actual) in expected.iter().zip(&through_binaries) {
        assert_eq!(expected, actual, "{}", expected.0);
    }
    // The flows were not all refusals.
    assert!(
        expected
            .iter()
            .filter(|(_, status, _)| *status < 300)
            .count()
            > 12
    );
}
