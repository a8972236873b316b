//! DynamoDB access: one `Store` per process, one function per operation, each
//! with its condition expression written where the operation is.
//!
//! Every read by key is strongly consistent (`GetItem`, `BatchGetItem`,
//! `Query` on a table partition): a write is decided on what was read, and its
//! condition asserts it. Only `gsi1` queries are eventually consistent (an
//! index cannot be read otherwise); they choose what to read next, never what
//! to write. Every write goes through [`Store::commit`] (`write`).
//!
//! - `keys`: the key layout (the one place keys are built)
//! - `schema`: the table definition
//! - `record`: records ↔ items
//! - `projects`, `contacts`, `companies`, `links`, `visitors`: the operations

pub mod changes;
pub mod companies;
pub mod contacts;
pub mod conversations;
mod error;
mod http;
pub mod keys;
pub mod links;
pub mod lists;
pub mod pipeline;
pub mod projects;
pub mod record;
pub mod schema;
pub mod visitors;
pub mod write;

pub use error::{CancelReason, StoreError};
pub use http::http_client;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures_util::future::{BoxFuture, FutureExt};
use keys::{Item, Key};
use record::Record;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A TCP connection to DynamoDB that takes longer is given up (and retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of a call that takes longer is given up and retried: DynamoDB
/// answers in milliseconds, a stalled attempt is better spent on a retry.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Rounds of `UnprocessedKeys` a batch read retries before it is throttled.
const UNPROCESSED_RETRIES: u32 = 6;
/// BatchGetItem's limit of keys per call.
const BATCH_GET_MAX: usize = 100;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    /// A store on DynamoDB Local (or any endpoint that accepts fixed dummy credentials).
    pub fn local(endpoint: &str, table: impl Into<Arc<str>>) -> Self {
        Store::new(
            Client::from_conf(Store::local_config(endpoint).build()),
            table,
        )
    }

    /// The client configuration every store uses, in AWS and locally: our
    /// HTTPS client, and timeouts so that a stalled DynamoDB costs an attempt,
    /// not the request (the request's own deadline bounds the whole call,
    /// retries included).
    pub fn client_config() -> aws_sdk_dynamodb::config::Builder {
        use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http::http_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            )
    }

    /// The client configuration for DynamoDB Local, to extend (e.g. with interceptors).
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        Store::client_config()
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "hal-local"))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads one record (strongly consistent).
    pub(crate) async fn get<R: Record>(&self, key: &Key) -> Result<Option<R>, StoreError> {
        let call = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send();
        let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
        output.item.map(record::from_item).transpose()
    }

    /// Reads many items by key (strongly consistent), in any order, each
    /// once (DynamoDB refuses a batch naming a key twice); missing ones are
    /// left out. Retries what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, StoreError> {
        let mut seen = std::collections::HashSet::new();
        let keys: Vec<Key> = keys
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .collect();
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(Key::item).collect()))
                    .consistent_read(true)
                    .build()?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                if attempt > 0 {
                    let pause = backoff(attempt);
                    if !crate::deadline::allows(pause) {
                        return Err(StoreError::Throttled);
                    }
                    tokio::time::sleep(pause).await;
                }
                attempt += 1;
                let call = self
                    .client
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .send();
                let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
                if let Some(mut responses) = output.responses {
                    found.extend(responses.remove(self.table()).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(self.table()))
                    .filter(|rest| !rest.keys().is_empty());
                if pending.is_some() && attempt > UNPROCESSED_RETRIES {
                    return Err(StoreError::Throttled);
                }
            }
        }
        Ok(found)
    }

    /// Reads records by key, keeping the order of `keys` (one named twice
    /// comes twice) and skipping missing ones.
    pub async fn get_many<R: Record>(&self, keys: Vec<Key>) -> Result<Vec<R>, StoreError> {
        let by_key: HashMap<Key, Item> = self
            .batch_get(keys.clone())
            .await?
            .into_iter()
            .filter_map(|item| Some((key_of(&item)?, item)))
            .collect();
        keys.iter()
            .filter_map(|key| by_key.get(key).cloned())
            .map(record::from_item)
            .collect()
    }

    /// Reads any mix of items in one round trip (BatchGetItem), to be taken
    /// out by key and record type.
    pub async fn fetch(&self, keys: Vec<Key>) -> Result<Fetched, StoreError> {
        let items = self.batch_get(keys).await?;
        Ok(Fetched {
            items: items
                .into_iter()
                .filter_map(|item| Some((key_of(&item)?, item)))
                .collect(),
        })
    }

    /// Every key under `partition` in `gsi1` (all pages). The index projects
    /// keys only, so this is the cheap half of a listing. Eventually
    /// consistent: use it to choose what to read, then read that by key.
    pub async fn index_keys(&self, partition: String) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let call = self
                .client
                .query()
                .table_name(self.table())
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :partition")
                .expression_attribute_values(
                    ":partition",
                    aws_sdk_dynamodb::types::AttributeValue::S(partition.clone()),
                )
                .set_exclusive_start_key(start)
                .send();
            let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
            found.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

/// Runs one DynamoDB call within the request's time budget (`deadline`).
/// Boxed: the SDK's future for one call is about 16 KiB, and every future
/// that held it, up to the handler's, would carry it and copy it through
/// its poll frame when made (docs/performance.md: the stack).
pub(crate) fn bounded<F>(call: F) -> BoxFuture<'static, Result<F::Output, StoreError>>
where
    F: Future + Send + 'static,
{
    async move {
        crate::deadline::bounded(call)
            .await
            .ok_or(StoreError::TimedOut)
    }
    .boxed()
}

/// Exponential backoff with full jitter: 0..(10 ms · 2^attempt), capped at 1 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = 10u64.saturating_mul(1 << attempt.min(7)).min(1_000);
    Duration::from_millis(rand::random_range(0..=ceiling))
}

pub fn key_of(item: &Item) -> Option<Key> {
    let text = |name| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some(Key {
        pk: text(keys::PK)?,
        sk: text(keys::SK)?,
    })
}

/// Items read by [`Store::fetch`].
#[derive(Debug, Default)]
pub struct Fetched {
    items: HashMap<Key, Item>,
}

impl Fetched {
    /// The record at `key`, if it was found.
    pub fn take<R: Record>(&mut self, key: &Key) -> Result<Option<R>, StoreError> {
        self.items.remove(key).map(record::from_item).transpose()
    }
}

/// One page of a listing: DynamoDB's `LastEvaluatedKey` becomes the cursor.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub last_key: Option<Item>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_secs(1));
        }
    }
}
