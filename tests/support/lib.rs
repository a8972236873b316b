//! Test support: every test gets its own table on the DynamoDB Local that
//! `infra/test.sh` started (`DYNAMODB_ENDPOINT`), so tests run in parallel and
//! never see each other's data; requests are built by the dev server's API
//! Gateway emulation, the same event shape a deployed function receives.

use hal_crm::App;
use hal_crm::cursor::CursorKey;
use hal_crm::store::keys::Item;
use hal_crm::store::{Store, schema};
use hal_devserver::apigw::ApiRequest;
use lambda_http::http::StatusCode;
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;

pub use hal_devserver::apigw;

pub mod faults;
pub mod meter;
pub mod stall;

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the integration tests with infra/test.sh, \
         which starts DynamoDB Local",
    )
}

/// True in `infra/test.sh`'s production pass (through the harness).
pub fn production_pass() -> bool {
    std::env::var("HAL_TEST_PASS").is_ok_and(|pass| pass == "production")
}

/// A store on a new, empty table of its own.
pub async fn fresh_store() -> Store {
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = Store::local(&endpoint(), table.as_str());
    schema::create_table(store.client(), &table)
        .await
        .expect("create the test table on DynamoDB Local");
    store
}

/// An app on a fresh table. Leaked like a Lambda's: handlers take `&'static App`.
pub async fn fresh_app() -> &'static App {
    metered_app().await.0
}

/// An app on a fresh table whose DynamoDB calls are recorded by the meter.
pub async fn metered_app() -> (&'static App, meter::Meter) {
    let meter = meter::Meter::default();
    (app_with(meter.clone()).await, meter)
}

/// An app on a fresh table, its store reached at `endpoint`.
pub async fn app_at(endpoint: &str) -> &'static App {
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = Store::local(endpoint, table.as_str());
    schema::create_table(store.client(), &table)
        .await
        .expect("create the test table");
    let cursor_key = CursorKey::new(ulid::Ulid::new().to_string());
    Box::leak(Box::new(App::new(store, cursor_key)))
}

/// An app on a fresh table whose client runs `interceptor` on every call.
pub async fn app_with(
    interceptor: impl aws_sdk_dynamodb::config::Intercept + 'static,
) -> &'static App {
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let config = Store::local_config(&endpoint())
        .interceptor(interceptor)
        .build();
    let store = Store::new(aws_sdk_dynamodb::Client::from_conf(config), table.as_str());
    schema::create_table(store.client(), &table)
        .await
        .expect("create the test table on DynamoDB Local");
    let cursor_key = CursorKey::new(ulid::Ulid::new().to_string());
    Box::leak(Box::new(App::new(store, cursor_key)))
}

/// A handler's answer: status and parsed JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    fn of(response: hal_crm::http::Response) -> Self {
        let bytes: &[u8] = response.body().as_ref();
        let json = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if json {
            serde_json::from_slice(bytes).expect("a JSON response is JSON")
        } else {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        };
        Answer {
            status: response.status(),
            body,
        }
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Calls a handler the way the route binary and the dev server do.
pub async fn call<H, Fut>(app: &'static App, handler: H, request: ApiRequest) -> Answer
where
    H: FnOnce(&'static App, lambda_http::Request) -> Fut,
    Fut: Future<Output = Result<hal_crm::http::Response, hal_crm::ApiError>>,
{
    note_sent(&request);
    let request = request.into_lambda().expect("a valid API Gateway event");
    Answer::of(hal_crm::http::serve(app, request, handler).await)
}

/// Sends a request as [`send`] does, as an invocation whose Lambda deadline
/// is `budget` away.
pub async fn send_with_budget(
    app: &'static App,
    request: ApiRequest,
    budget: std::time::Duration,
) -> (Answer, lambda_http::http::HeaderMap) {
    use lambda_http::RequestExt;
    let (method, path) = request.route();
    let route = route_of(method, path);
    let mut context = lambda_http::Context::default();
    let deadline = std::time::SystemTime::now() + budget;
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let request = request
        .into_lambda()
        .expect("a valid API Gateway event")
        .with_lambda_context(context);
    let response = (route.handler)(app, request).await;
    let headers = response.headers().clone();
    (Answer::of(response), headers)
}

/// Records that a request for its route (`METHOD /path`, as the
/// permission record and `http::serve`'s scope name it) was sent.
fn note_sent(request: &ApiRequest) {
    let (method, path) = request.route();
    meter::sent(&format!("{method} {path}"));
}

fn route_of(method: &str, path: &str) -> &'static hal_devserver::routes::Route {
    hal_devserver::routes::ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no route {method} {path}"))
}

/// Sends a request to whichever handler the dev server's route table mounts
/// for its route (so tests can iterate over routes).
pub async fn send(app: &'static App, request: ApiRequest) -> Answer {
    let (method, path) = request.route();
    let route = route_of(method, path);
    note_sent(&request);
    let response = (route.handler)(
        app,
        request.into_lambda().expect("a valid API Gateway event"),
    )
    .await;
    Answer::of(response)
}

/// How long a listing through `gsi1` may trail the writes before it: past
/// DynamoDB's usual index lag and the harness's (`infra/test.sh`), with room
/// for a loaded machine.
pub const INDEX_SETTLES: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `probe` until it answers `Some`, for reads of eventually consistent
/// listings (gsi1): what a client of the API does too. Panics with `what`
/// after [`INDEX_SETTLES`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + INDEX_SETTLES;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not seen within {INDEX_SETTLES:?}: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A successful listing (eventually consistent: gsi1) once it shows what
/// `settled` looks for.
pub async fn listed(
    app: &'static App,
    request: impl Fn() -> ApiRequest,
    settled: impl Fn(&Value) -> bool,
) -> Value {
    eventually("a listing catches up", || async {
        let listed = send(app, request()).await;
        assert!(listed.status.is_success(), "{:#}", listed.body);
        settled(&listed.body).then_some(listed.body)
    })
    .await
}

/// Writes a record as a test fixture, straight through the client (for
/// records no route writes yet, such as a second member of a project).
pub async fn put_record<R: hal_crm::store::record::Record>(store: &Store, record: &R) {
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(
            hal_crm::store::record::to_item(record).expect("a record serialises"),
        ))
        .send()
        .await
        .expect("put a fixture record");
}

/// Every item of the table, read consistently: for "nothing was written" checks.
pub async fn all_items(store: &Store) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the test table");
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// SPEC §8, checked on the whole table (read consistently): every company's
/// `contact_count` and every contact's `company_count` equal their link
/// items, and no link points to a company or contact that does not exist.
pub async fn assert_links_consistent(store: &Store) {
    let items = all_items(store).await;
    let text = |i: &Item, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let count = |i: &Item, k: &str| -> usize {
        i.get(k)
            .and_then(|v| v.as_n().ok())
            .map_or(0, |n| n.parse().expect("a count"))
    };
    let of = |entity: &str| -> Vec<&Item> {
        items.iter().filter(|i| text(i, "type") == entity).collect()
    };
    let links = of("Link");
    for company in of("Company") {
        let id = text(company, "id");
        let rows = links.iter().filter(|l| text(l, "company_id") == id).count();
        assert_eq!(count(company, "contact_count"), rows, "company {id}");
    }
    for contact in of("Contact") {
        let id = text(contact, "id");
        let rows = links.iter().filter(|l| text(l, "contact_id") == id).count();
        assert_eq!(count(contact, "company_count"), rows, "contact {id}");
    }
    for link in links {
        let exists = |entity: &str, field: &str| {
            of(entity)
                .iter()
                .any(|i| text(i, "id") == text(link, field))
        };
        assert!(exists("Company", "company_id"), "orphan link {link:?}");
        assert!(exists("Contact", "contact_id"), "orphan link {link:?}");
    }
}

/// The OpenAPI description generated from the code, as committed to
/// `docs/openapi.json` (pretty, with a final newline).
pub fn openapi_json() -> String {
    let document = hal_crm::openapi::document();
    let mut text = document.to_pretty_json().expect("the document serialises");
    text.push('\n');
    text
}

/// The MCP tool list generated from the code, as `docs/mcp-tools.json`
/// holds it.
pub fn mcp_tools_json() -> String {
    let mut text = serde_json::to_string_pretty(&hal_crm::mcp::catalogue()).expect("JSON");
    text.push('\n');
    text
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the repository as committed (`path` from its root).
pub fn committed(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fails while the committed document at `path` is not the one the code
/// generates (`infra/openapi.sh` writes them). Not `assert_eq!`: the
/// documents are tens of KB.
pub fn assert_committed_current(path: &str, generated: &str) {
    assert!(
        committed(path) == generated,
        "{path} is stale: run infra/openapi.sh"
    );
}

/// A JSON-RPC request to the MCP endpoint as a stateless 2025-11-25 client
/// sends it after its handshake, with `key` as its bearer token.
pub fn mcp_request(key: &str, method: &str, params: Value) -> ApiRequest {
    ApiRequest::new("POST", "/mcp")
        .header("authorization", &format!("Bearer {key}"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
}

/// A tool's result through the MCP endpoint: `Ok(structuredContent)`, or
/// `Err` with the SPEC §7 body of a tool error.
pub async fn mcp_tool(
    app: &'static App,
    key: &str,
    tool: &str,
    arguments: Value,
) -> Result<Value, Value> {
    let answer = send(
        app,
        mcp_request(
            key,
            "tools/call",
            serde_json::json!({"name": tool, "arguments": arguments}),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{tool}: {:#}", answer.body);
    let result = &answer.body["result"];
    assert!(result.is_object(), "{tool}: {:#}", answer.body);
    if result["isError"] == Value::Bool(true) {
        let text = result["content"][0]["text"]
            .as_str()
            .expect("an error text");
        Err(serde_json::from_str(text).expect("a SPEC §7 body"))
    } else {
        Ok(result["structuredContent"].clone())
    }
}
