//! The lagging replica: after a write succeeds on the primary, each item it
//! wrote is read back (strongly consistent) and queued; a single task applies
//! the queue to the replica in order, each entry `lag` after its snapshot.
//! Snapshots are taken one at a time, so the queue is in commit order and the
//! replica always holds a state the primary held `lag` earlier.

use crate::{Harness, ItemRef, Stats};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

struct Copy {
    due: Instant,
    table: String,
    key: Value,
    /// The item as the primary held it; `None` once deleted.
    item: Option<Value>,
}

pub struct Replica {
    lag: Duration,
    queue: mpsc::UnboundedSender<Copy>,
    /// One snapshot at a time.
    snapshots: Mutex<()>,
}

impl Replica {
    pub fn start(url: String, lag: Duration, http: reqwest::Client, stats: Arc<Stats>) -> Self {
        let (queue, mut pending) = mpsc::unbounded_channel::<Copy>();
        tokio::spawn(async move {
            while let Some(copy) = pending.recv().await {
                tokio::time::sleep_until(copy.due).await;
                let (operation, body) = match copy.item {
                    Some(item) => ("PutItem", json!({"TableName": copy.table, "Item": item})),
                    None => (
                        "DeleteItem",
                        json!({"TableName": copy.table, "Key": copy.key}),
                    ),
                };
                let sent = http
                    .post(&url)
                    .header("content-type", "application/x-amz-json-1.0")
                    .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
                    .header("authorization", crate::AUTHORIZATION)
                    .header("x-amz-date", "20260101T000000Z")
                    .body(body.to_string())
                    .send()
                    .await;
                if !matches!(&sent, Ok(r) if r.status().is_success()) {
                    eprintln!("dynamodb-harness: replica {operation} failed");
                }
                Stats::bump(&stats.requests);
            }
        });
        Replica {
            lag,
            queue,
            snapshots: Mutex::new(()),
        }
    }

    /// Reads `items` back from the primary and queues them; returns how many.
    pub async fn snapshot(&self, harness: &Harness, items: &[ItemRef]) -> usize {
        let _one_at_a_time = self.snapshots.lock().await;
        let mut copied = 0;
        for item in items {
            let read = harness
                .call(
                    &harness.config.primary,
                    "GetItem",
                    json!({"TableName": item.table, "Key": item.key, "ConsistentRead": true}),
                )
                .await;
            let Ok(read) = read else {
                eprintln!("dynamodb-harness: snapshot read failed");
                continue;
            };
            let copy = Copy {
                due: Instant::now() + self.lag,
                table: item.table.clone(),
                key: item.key.clone(),
                item: read.get("Item").cloned(),
            };
            if self.queue.send(copy).is_ok() {
                copied += 1;
            }
        }
        copied
    }
}
