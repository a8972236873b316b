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

pub mod meter;

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the integration tests with infra/test.sh, \
         which starts DynamoDB Local",
    )
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
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let config = Store::local_config(&endpoint())
        .interceptor(meter.clone())
        .build();
    let store = Store::new(aws_sdk_dynamodb::Client::from_conf(config), table.as_str());
    schema::create_table(store.client(), &table)
        .await
        .expect("create the test table on DynamoDB Local");
    let cursor_key = CursorKey::new(ulid::Ulid::new().to_string());
    (Box::leak(Box::new(App::new(store, cursor_key))), meter)
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
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("responses are JSON")
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
    let request = request.into_lambda().expect("a valid API Gateway event");
    let response = hal_crm::http::serve(app, request, handler).await;
    Answer::of(response)
}

/// Sends a request to whichever handler the dev server's route table mounts
/// for its route (so tests can iterate over routes).
pub async fn send(app: &'static App, request: ApiRequest) -> Answer {
    let (method, path) = request.route();
    let route = hal_devserver::routes::ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no route {method} {path}"));
    let response = (route.handler)(
        app,
        request.into_lambda().expect("a valid API Gateway event"),
    )
    .await;
    Answer::of(response)
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

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
