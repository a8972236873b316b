//! The production-semantics harness: an HTTP proxy between the SDK and
//! DynamoDB Local that takes away the guarantees DynamoDB Local gives and
//! DynamoDB does not. `infra/test.sh` runs the integration tests through it.
//!
//! What it models, under a seed:
//! - **Lagging reads.** Every accepted write is copied, item by item, to a
//!   second DynamoDB Local (the replica) `--lag-ms` later: right after the
//!   write succeeds, each item it wrote is read back from the primary
//!   (strongly consistent, one snapshot at a time, so snapshots are in
//!   commit order) and replayed on the replica when its time comes.
//!   Eventually consistent reads (GetItem, BatchGetItem, Query and Scan
//!   without `ConsistentRead`) and every index query are served by the
//!   replica, so they trail the table by the lag, as index and eventually
//!   consistent reads may in DynamoDB. Strongly consistent reads and every
//!   write go to the primary.
//! - **Transaction conflicts.** A `TransactWriteItems` holds its items while
//!   it runs (plus a random `0..--hold-ms` before it is sent on, the time a
//!   real transaction takes across partitions). Another transaction touching
//!   one of them is cancelled with `TransactionConflict` reasons; a
//!   PutItem/UpdateItem/DeleteItem on one of them fails with
//!   `TransactionConflictException`; a transaction arriving while such a
//!   single write runs is cancelled.
//! - **Faults**, each at its rate: throttling (`ThrottlingException`, not
//!   applied), internal errors (HTTP 500, not applied), stalls (`--stall-ms`
//!   before the request is sent on), and lost answers (the write is applied,
//!   then the client gets HTTP 500, so the SDK retries an applied write).
//!   A request is faulted at most once (keyed by its exact body), so the
//!   SDK's own retries always get through: a fault costs time, never a
//!   request, and tests stay repeatable.
//!
//! What it does not model: partition throughput limits, item collections
//! over 10 GB, transactions over 4 MB, reads of one replica that are fresher
//! than another's (every eventually consistent read here is the stalest
//! possible), lost answers as dropped connections (the SDK retries both the
//! same way), and `TransactGetItems` conflicts (the service does not use it).
//! DynamoDB Local itself honours `ClientRequestToken`, so a retried
//! transaction whose answer was lost is not applied twice, as in DynamoDB;
//! and a repeat of an applied transaction is answered (with success) even
//! while other writes hold its items, as DynamoDB answers it from the token.
//!
//! `GET /harness/stats` answers what was injected so far.

mod faults;
mod replica;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use faults::{Fault, Faults};
use replica::Replica;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Writes that change items.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];
/// Reads that may be eventually consistent.
const READS: &[&str] = &["GetItem", "BatchGetItem", "Query", "Scan"];
/// Table changes, applied to the primary and the replica alike.
const DDL: &[&str] = &["CreateTable", "DeleteTable", "UpdateTable"];

#[derive(Debug, Clone)]
struct Config {
    listen: String,
    primary: String,
    replica: Option<String>,
    seed: u64,
    lag: Duration,
    hold: Duration,
    conflicts: bool,
    throttle: f64,
    error: f64,
    lost: f64,
    stall: f64,
    stall_for: Duration,
}

impl Config {
    fn from_args() -> Result<Config, String> {
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            primary: String::new(),
            replica: None,
            seed: 1,
            lag: Duration::ZERO,
            hold: Duration::ZERO,
            conflicts: false,
            throttle: 0.0,
            error: 0.0,
            lost: 0.0,
            stall: 0.0,
            stall_for: Duration::from_millis(200),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("{flag}: not a number"))
            };
            let millis = || number().map(|ms| Duration::from_millis(ms as u64));
            match flag.as_str() {
                "--listen" => config.listen = value.clone(),
                "--primary" => config.primary = value.trim_end_matches('/').to_owned(),
                "--replica" => config.replica = Some(value.trim_end_matches('/').to_owned()),
                "--seed" => config.seed = number()? as u64,
                "--lag-ms" => config.lag = millis()?,
                "--hold-ms" => config.hold = millis()?,
                "--conflicts" => config.conflicts = value == "on",
                "--throttle" => config.throttle = number()?,
                "--error" => config.error = number()?,
                "--lost" => config.lost = number()?,
                "--stall" => config.stall = number()?,
                "--stall-ms" => config.stall_for = millis()?,
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        if config.primary.is_empty() {
            return Err("--primary is required".into());
        }
        if !config.lag.is_zero() && config.replica.is_none() {
            return Err("--lag-ms needs --replica".into());
        }
        Ok(config)
    }
}

/// Counters of what the harness did, for `GET /harness/stats`.
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    lagged_reads: AtomicU64,
    replicated_items: AtomicU64,
    cancelled_transactions: AtomicU64,
    conflicting_writes: AtomicU64,
    throttled: AtomicU64,
    errors: AtomicU64,
    lost_answers: AtomicU64,
    stalls: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn json(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "requests": get(&self.requests),
            "lagged_reads": get(&self.lagged_reads),
            "replicated_items": get(&self.replicated_items),
            "cancelled_transactions": get(&self.cancelled_transactions),
            "conflicting_writes": get(&self.conflicting_writes),
            "throttled": get(&self.throttled),
            "errors": get(&self.errors),
            "lost_answers": get(&self.lost_answers),
            "stalls": get(&self.stalls),
        })
    }
}

struct Harness {
    config: Config,
    http: reqwest::Client,
    faults: Faults,
    /// Item keys held by writes in flight.
    busy: Mutex<HashMap<String, usize>>,
    /// `ClientRequestToken`s of transactions applied: DynamoDB answers a
    /// repeat of one with success, without running it again (no conflict).
    applied_tokens: Mutex<std::collections::HashSet<String>>,
    /// Key attribute names per table (hash, then range).
    schemas: Mutex<HashMap<String, Vec<String>>>,
    replica: Option<Replica>,
    stats: Arc<Stats>,
}

/// A request's item keys, released from the busy set when dropped.
struct Held<'h> {
    harness: &'h Harness,
    keys: Vec<String>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut busy = self.harness.busy.lock().unwrap();
        for key in &self.keys {
            if let Some(count) = busy.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    busy.remove(key);
                }
            }
        }
    }
}

/// One item a write names: its table and key attributes.
#[derive(Debug, Clone)]
struct ItemRef {
    table: String,
    key: Value,
    /// A `ConditionCheck`: held, but not written.
    check_only: bool,
}

impl ItemRef {
    fn id(&self) -> String {
        format!("{}\u{1}{}", self.table, self.key)
    }
}

/// A fake but well-formed SigV4 header: DynamoDB Local wants one, checks none.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=harness/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

fn dynamodb_error(status: StatusCode, kind: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
        "message": message,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

impl Harness {
    /// Sends a request on to `base` and returns the answer as it came.
    async fn forward(
        &self,
        base: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), reqwest::Error> {
        let mut request = self.http.post(base).body(body);
        for (name, value) in headers {
            if !matches!(
                name.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                request = request.header(name, value);
            }
        }
        let response = request.send().await?;
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
        let mut out = HeaderMap::new();
        for (name, value) in response.headers() {
            if !matches!(
                name.as_str(),
                "content-length" | "connection" | "transfer-encoding"
            ) {
                out.insert(name.clone(), value.clone());
            }
        }
        Ok((status, out, response.bytes().await?))
    }

    /// One DynamoDB call of the harness's own (schema look-ups, snapshots).
    async fn call(&self, base: &str, operation: &str, body: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(base)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header("authorization", AUTHORIZATION)
            .header("x-amz-date", "20260101T000000Z")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !ok {
            return Err(text);
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// Key attribute names of `table`, learned from CreateTable or asked for.
    async fn key_names(&self, table: &str) -> Vec<String> {
        if let Some(names) = self.schemas.lock().unwrap().get(table) {
            return names.clone();
        }
        let described = self
            .call(
                &self.config.primary,
                "DescribeTable",
                json!({ "TableName": table }),
            )
            .await
            .unwrap_or(Value::Null);
        let names = key_schema(&described["Table"]["KeySchema"]);
        self.schemas
            .lock()
            .unwrap()
            .insert(table.to_owned(), names.clone());
        names
    }

    /// The items a write names, in request order.
    async fn items_of(&self, operation: &str, request: &Value) -> Vec<ItemRef> {
        let mut refs = Vec::new();
        let mut add = |table: &Value, key: Option<Value>, item: Option<&Value>, check_only| {
            refs.push((
                table.as_str().unwrap_or_default().to_owned(),
                key,
                item.cloned(),
                check_only,
            ));
        };
        match operation {
            "PutItem" => add(&request["TableName"], None, Some(&request["Item"]), false),
            "UpdateItem" | "DeleteItem" => add(
                &request["TableName"],
                Some(request["Key"].clone()),
                None,
                false,
            ),
            "TransactWriteItems" => {
                for entry in request["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(put) = entry.get("Put") {
                        add(&put["TableName"], None, Some(&put["Item"]), false);
                    }
                    for (action, check_only) in [
                        ("Update", false),
                        ("Delete", false),
                        ("ConditionCheck", true),
                    ] {
                        if let Some(write) = entry.get(action) {
                            add(
                                &write["TableName"],
                                Some(write["Key"].clone()),
                                None,
                                check_only,
                            );
                        }
                    }
                }
            }
            "BatchWriteItem" => {
                for (table, requests) in request["RequestItems"].as_object().into_iter().flatten() {
                    for entry in requests.as_array().into_iter().flatten() {
                        let table = Value::String(table.clone());
                        if let Some(put) = entry.get("PutRequest") {
                            add(&table, None, Some(&put["Item"]), false);
                        }
                        if let Some(delete) = entry.get("DeleteRequest") {
                            add(&table, Some(delete["Key"].clone()), None, false);
                        }
                    }
                }
            }
            _ => {}
        }
        let mut items = Vec::with_capacity(refs.len());
        for (table, key, item, check_only) in refs {
            let key = match (key, item) {
                (Some(key), _) => canonical_key(&key, &self.key_names(&table).await),
                (None, Some(item)) => canonical_key(&item, &self.key_names(&table).await),
                (None, None) => continue,
            };
            items.push(ItemRef {
                table,
                key,
                check_only,
            });
        }
        items
    }

    /// Holds `items` for a write, or says which of them are held already.
    fn hold(&self, items: &[ItemRef]) -> Result<Held<'_>, Vec<bool>> {
        let mut busy = self.busy.lock().unwrap();
        let ids: Vec<String> = items.iter().map(ItemRef::id).collect();
        let held: Vec<bool> = ids.iter().map(|id| busy.contains_key(id)).collect();
        if held.iter().any(|h| *h) {
            return Err(held);
        }
        for id in &ids {
            *busy.entry(id.clone()).or_default() += 1;
        }
        Ok(Held {
            harness: self,
            keys: ids,
        })
    }

    async fn handle(&self, headers: HeaderMap, body: Bytes) -> Response {
        Stats::bump(&self.stats.requests);
        let operation = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let primary = self.config.primary.clone();

        if DDL.contains(&operation.as_str()) {
            if operation == "CreateTable"
                && let Some(table) = request["TableName"].as_str()
            {
                self.schemas
                    .lock()
                    .unwrap()
                    .insert(table.to_owned(), key_schema(&request["KeySchema"]));
            }
            let answer = self.forward(&primary, &headers, body.clone()).await;
            if let (Ok((status, ..)), Some(replica)) = (&answer, &self.config.replica)
                && status.is_success()
            {
                let _ = self.forward(replica, &headers, body).await;
            }
            return respond(answer);
        }

        let is_write = WRITES.contains(&operation.as_str());
        let is_read = READS.contains(&operation.as_str());
        let fault = if is_write || is_read {
            self.faults.draw(&body, is_write)
        } else {
            Fault::None
        };
        match fault {
            Fault::Stall => {
                Stats::bump(&self.stats.stalls);
                tokio::time::sleep(self.config.stall_for).await;
            }
            Fault::Throttle => {
                Stats::bump(&self.stats.throttled);
                return dynamodb_error(
                    StatusCode::BAD_REQUEST,
                    "ThrottlingException",
                    "Throughput exceeds the current capacity for one or more global secondary indexes (harness)",
                    Value::Null,
                );
            }
            Fault::Error => {
                Stats::bump(&self.stats.errors);
                return internal_error();
            }
            Fault::None | Fault::Lost => {}
        }

        if is_read {
            let lagged = self.replica.is_some() && eventually_consistent(&operation, &request);
            let base = match (&self.config.replica, lagged) {
                (Some(replica), true) => {
                    Stats::bump(&self.stats.lagged_reads);
                    replica.clone()
                }
                _ => primary,
            };
            return respond(self.forward(&base, &headers, body).await);
        }
        if !is_write {
            return respond(self.forward(&primary, &headers, body).await);
        }

        let items = self.items_of(&operation, &request).await;
        let transaction = operation == "TransactWriteItems";
        let token = request["ClientRequestToken"].as_str().map(str::to_owned);
        if let Some(token) = &token
            && self.applied_tokens.lock().unwrap().contains(token)
        {
            // A repeat of an applied transaction: DynamoDB Local answers it
            // from its token, as DynamoDB does, whatever holds the items.
            return respond(self.forward(&primary, &headers, body).await);
        }
        let held = if self.config.conflicts {
            match self.hold(&items) {
                Ok(held) => Some(held),
                Err(busy) => return self.conflict(transaction, &busy),
            }
        } else {
            None
        };
        if transaction && !self.config.hold.is_zero() {
            tokio::time::sleep(self.faults.hold(self.config.hold)).await;
        }
        let answer = self.forward(&primary, &headers, body).await;
        drop(held);
        let applied = matches!(&answer, Ok((status, ..)) if status.is_success());
        if let (true, Some(token)) = (applied, token) {
            self.applied_tokens.lock().unwrap().insert(token);
        }
        if applied && let Some(replica) = &self.replica {
            let written: Vec<ItemRef> = items.into_iter().filter(|i| !i.check_only).collect();
            let copied = replica.snapshot(self, &written).await;
            self.stats
                .replicated_items
                .fetch_add(copied as u64, Ordering::Relaxed);
        }
        if applied && fault == Fault::Lost {
            Stats::bump(&self.stats.lost_answers);
            return internal_error();
        }
        respond(answer)
    }

    /// A write that touches an item another write holds.
    fn conflict(&self, transaction: bool, busy: &[bool]) -> Response {
        if !transaction {
            Stats::bump(&self.stats.conflicting_writes);
            return dynamodb_error(
                StatusCode::BAD_REQUEST,
                "TransactionConflictException",
                "Transaction is ongoing for the item",
                Value::Null,
            );
        }
        Stats::bump(&self.stats.cancelled_transactions);
        let codes: Vec<&str> = busy
            .iter()
            .map(|b| if *b { "TransactionConflict" } else { "None" })
            .collect();
        let reasons: Vec<Value> = codes
            .iter()
            .map(|code| match *code {
                "None" => json!({ "Code": "None" }),
                code => json!({ "Code": code, "Message": "Transaction is ongoing for the item" }),
            })
            .collect();
        dynamodb_error(
            StatusCode::BAD_REQUEST,
            "TransactionCanceledException",
            &format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            json!({ "CancellationReasons": reasons }),
        )
    }
}

fn internal_error() -> Response {
    dynamodb_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        "Internal server error (harness)",
        Value::Null,
    )
}

fn respond(answer: Result<(StatusCode, HeaderMap, Bytes), reqwest::Error>) -> Response {
    match answer {
        Ok((status, headers, body)) => {
            let mut response = (status, body).into_response();
            response.headers_mut().extend(headers);
            response
        }
        // DynamoDB Local is down: the client sees a dropped connection's twin.
        Err(_) => (StatusCode::BAD_GATEWAY, "DynamoDB Local unreachable").into_response(),
    }
}

/// Whether a read may be served by the lagging replica.
fn eventually_consistent(operation: &str, request: &Value) -> bool {
    let consistent = |v: &Value| v["ConsistentRead"].as_bool() == Some(true);
    match operation {
        "Query" | "Scan" => request.get("IndexName").is_some() || !consistent(request),
        "GetItem" => !consistent(request),
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .is_some_and(|tables| tables.values().all(|t| !consistent(t))),
        _ => false,
    }
}

/// Hash then range key attribute names from a `KeySchema`.
fn key_schema(schema: &Value) -> Vec<String> {
    let mut names: Vec<(bool, String)> = schema
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            Some((
                k["KeyType"].as_str()? != "HASH",
                k["AttributeName"].as_str()?.to_owned(),
            ))
        })
        .collect();
    names.sort();
    names.into_iter().map(|(_, name)| name).collect()
}

/// The key attributes of an item or key, in schema order (a stable identity).
fn canonical_key(item: &Value, names: &[String]) -> Value {
    let mut key = serde_json::Map::new();
    for name in names {
        if let Some(value) = item.get(name) {
            key.insert(name.clone(), value.clone());
        }
    }
    Value::Object(key)
}

async fn route(
    State(harness): State<Arc<Harness>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::GET && uri.path() == "/harness/stats" {
        let mut response = harness.stats.json().to_string().into_response();
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return response;
    }
    harness.handle(headers, body).await
}

#[tokio::main]
async fn main() {
    let config = match Config::from_args() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("dynamodb-harness: {err}");
            std::process::exit(2);
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client");
    let stats = Arc::new(Stats::default());
    let replica = match (&config.replica, config.lag.is_zero()) {
        (Some(url), false) => Some(Replica::start(
            url.clone(),
            config.lag,
            http.clone(),
            stats.clone(),
        )),
        _ => None,
    };
    let harness = Arc::new(Harness {
        faults: Faults::new(&config),
        config: config.clone(),
        http,
        busy: Mutex::new(HashMap::new()),
        applied_tokens: Mutex::new(std::collections::HashSet::new()),
        schemas: Mutex::new(HashMap::new()),
        replica,
        stats,
    });
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .unwrap_or_else(|e| panic!("bind {}: {e}", config.listen));
    // The first line of output is the address (a free port when asked for :0).
    println!("{}", listener.local_addr().expect("a bound address"));
    eprintln!(
        "dynamodb-harness: seed {} lag {:?} conflicts {} hold {:?} throttle {} error {} lost {} stall {} ({:?})",
        config.seed,
        config.lag,
        config.conflicts,
        config.hold,
        config.throttle,
        config.error,
        config.lost,
        config.stall,
        config.stall_for
    );
    let app = Router::new().fallback(route).with_state(harness);
    axum::serve(listener, app).await.expect("serve");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_queries_and_reads_without_consistent_read_lag() {
        assert!(eventually_consistent("GetItem", &json!({})));
        assert!(!eventually_consistent(
            "GetItem",
            &json!({"ConsistentRead": true})
        ));
        assert!(eventually_consistent(
            "Query",
            &json!({"IndexName": "gsi1", "ConsistentRead": true})
        ));
        assert!(!eventually_consistent(
            "BatchGetItem",
            &json!({"RequestItems": {"t": {"ConsistentRead": true}}})
        ));
    }

    #[test]
    fn keys_are_the_schema_attributes_in_order() {
        let names = key_schema(&json!([
            {"AttributeName": "sk", "KeyType": "RANGE"},
            {"AttributeName": "pk", "KeyType": "HASH"}
        ]));
        assert_eq!(names, ["pk", "sk"]);
        let key = canonical_key(
            &json!({"sk": {"S": "b"}, "x": {"N": "1"}, "pk": {"S": "a"}}),
            &names,
        );
        assert_eq!(key.to_string(), r#"{"pk":{"S":"a"},"sk":{"S":"b"}}"#);
    }
}
