//! A DynamoDB call meter: an SDK interceptor that asks every data-plane call
//! for `ReturnConsumedCapacity=INDEXES` and records the operation, its start
//! and end, and the read/write units DynamoDB (Local) reports, per table and
//! per index. Tests use it to prove a request wrote nothing; the cost
//! benchmark uses it for calls, sequential rounds and capacity.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Operations that accept `ReturnConsumedCapacity`.
const METERED: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub started: Instant,
    pub ended: Option<Instant>,
    /// Units on the table itself (read units for reads, write units for writes).
    pub table_units: f64,
    /// Units per global secondary index.
    pub index_units: BTreeMap<String, f64>,
    /// The attempt was answered with success (an HTTP 2xx). Attempts refused
    /// by a fault the harness injects, and retried by the SDK, are not.
    pub answered: bool,
    /// Items in a `TransactWriteItems` request (0 for other calls).
    pub transaction_items: usize,
    /// Items a read evaluated: a Query's or Scan's `ScannedCount` (index
    /// entries, for an index), a batch's items found, a GetItem's item.
    pub items_read: usize,
    /// Index entry writes of a transaction: 1 per `gsi*pk` of a put, 2 per
    /// `gsi*pk` an update names (a move: the old entry out, the new in;
    /// conservative for a first add or a drop). Deletes are not counted.
    pub transaction_index_entries: usize,
}

impl Call {
    pub fn is_write(&self) -> bool {
        WRITES.contains(&self.operation.as_str())
    }

    pub fn total_units(&self) -> f64 {
        self.table_units + self.index_units.values().sum::<f64>()
    }
}

/// Every DynamoDB permission a route used, across the whole test process:
/// route → (IAM action, resource: `table` or `index/{name}`).
static USED: Mutex<BTreeMap<String, BTreeSet<(String, String)>>> = Mutex::new(BTreeMap::new());

/// Notes that a request for `route` was sent, so a route that calls
/// DynamoDB not at all is recorded as using nothing.
pub fn sent(route: &str) {
    USED.lock().unwrap().entry(route.to_owned()).or_default();
}

/// What [`USED`] holds so far.
pub fn permissions_used() -> BTreeMap<String, BTreeSet<(String, String)>> {
    USED.lock().unwrap().clone()
}

/// The IAM actions a call needs: a transaction needs each item's action.
fn iam_actions(operation: &str, body: &Value) -> Vec<(String, String)> {
    match operation {
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let kind = item.as_object()?.keys().next()?.clone();
                let action = match kind.as_str() {
                    "ConditionCheck" => "ConditionCheckItem".to_owned(),
                    other => format!("{other}Item"),
                };
                Some((action, "table".to_owned()))
            })
            .collect(),
        "Query" | "Scan" => vec![(
            operation.to_owned(),
            match body["IndexName"].as_str() {
                Some(index) => format!("index/{index}"),
                None => "table".to_owned(),
            },
        )],
        other => vec![(other.to_owned(), "table".to_owned())],
    }
}

#[derive(Debug, Clone, Default)]
pub struct Meter {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl Meter {
    /// Forgets what was recorded so far.
    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// The attempts that were answered with success, in the order sent:
    /// what an operation cost, whatever faults were retried on the way.
    pub fn calls(&self) -> Vec<Call> {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.answered).cloned().collect()
    }

    /// Write attempts, answered or not.
    pub fn write_calls(&self) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.is_write()).count()
    }

    /// Calls that had to wait for each other: a call that starts after every
    /// earlier call has ended opens a new round.
    pub fn sequential_rounds(&self) -> usize {
        let mut calls = self.calls();
        calls.sort_by_key(|c| c.started);
        let mut rounds = 0;
        let mut round_end: Option<Instant> = None;
        for call in calls {
            let end = call.ended.unwrap_or(call.started);
            match round_end {
                Some(open) if call.started < open => round_end = Some(open.max(end)),
                _ => {
                    rounds += 1;
                    round_end = Some(end);
                }
            }
        }
        rounds
    }
}

fn operation(target: Option<&str>) -> String {
    target
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("unknown")
        .to_owned()
}

fn add_units(call: &mut Call, capacity: &Value) {
    call.table_units += capacity["Table"]["CapacityUnits"].as_f64().unwrap_or(0.0);
    if let Some(indexes) = capacity["GlobalSecondaryIndexes"].as_object() {
        for (name, units) in indexes {
            *call.index_units.entry(name.clone()).or_default() +=
                units["CapacityUnits"].as_f64().unwrap_or(0.0);
        }
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "capacity-meter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let operation = operation(request.headers().get("x-amz-target"));
        let body = request.body().bytes().map(serde_json::from_slice::<Value>);
        let transaction = match &body {
            Some(Ok(json)) => json["TransactItems"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let index_key = |name: &str| name.starts_with("gsi") && name.ends_with("pk");
        let transaction_index_entries = transaction
            .iter()
            .map(|item| {
                let put = item["Put"]["Item"].as_object();
                let names = item["Update"]["ExpressionAttributeNames"].as_object();
                // An update that names an index key moves (or first adds, or
                // drops) its entry: counted as a move, 2 entry writes.
                put.map_or(0, |i| i.keys().filter(|k| index_key(k)).count())
                    + 2 * names.map_or(0, |n| {
                        n.values()
                            .filter(|v| v.as_str().is_some_and(index_key))
                            .count()
                    })
            })
            .sum();
        if let (Some(route), Some(Ok(json))) = (hal_crm::http::current_route(), &body) {
            let mut used = USED.lock().unwrap();
            used.entry(route)
                .or_default()
                .extend(iam_actions(&operation, json));
        }
        if let (true, Some(Ok(Value::Object(mut body)))) =
            (METERED.contains(&operation.as_str()), body)
        {
            body.insert(
                "ReturnConsumedCapacity".into(),
                Value::String("INDEXES".into()),
            );
            let bytes = serde_json::to_vec(&body)?;
            request
                .headers_mut()
                .insert("content-length", bytes.len().to_string());
            *request.body_mut() = SdkBody::from(bytes);
        }
        let mut calls = self.calls.lock().unwrap();
        cfg.interceptor_state().store_put(CallIndex(calls.len()));
        calls.push(Call {
            operation,
            started: Instant::now(),
            ended: None,
            table_units: 0.0,
            index_units: BTreeMap::new(),
            answered: false,
            transaction_items: transaction.len(),
            transaction_index_entries,
            items_read: 0,
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(CallIndex(index)) = cfg.load::<CallIndex>().copied() else {
            return Ok(());
        };
        let body: Value = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let mut calls = self.calls.lock().unwrap();
        let Some(call) = calls.get_mut(index) else {
            return Ok(());
        };
        call.ended = Some(Instant::now());
        call.answered = context.response().status().is_success();
        call.items_read = match call.operation.as_str() {
            "Query" | "Scan" => body["ScannedCount"].as_u64().unwrap_or(0) as usize,
            "BatchGetItem" => body["Responses"].as_object().map_or(0, |r| {
                r.values().filter_map(Value::as_array).map(Vec::len).sum()
            }),
            "GetItem" => usize::from(body.get("Item").is_some()),
            _ => 0,
        };
        match &body["ConsumedCapacity"] {
            Value::Array(list) => list.iter().for_each(|c| add_units(call, c)),
            capacity @ Value::Object(_) => add_units(call, capacity),
            _ => {}
        }
        Ok(())
    }
}
