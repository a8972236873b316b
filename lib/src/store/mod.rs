//! DynamoDB access: one `Store` per process, one function per operation, each
//! with its condition expression written where the operation is.
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
pub mod projects;
pub mod record;
pub mod schema;
pub mod visitors;
pub mod write;

pub use error::{CancelReason, StoreError};
pub use http::http_client;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};
use keys::{Item, Key};
use record::Record;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often a transaction cancelled only by `TransactionConflict` is retried.
const CONFLICT_RETRIES: u32 = 6;
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

    /// The client configuration for DynamoDB Local, to extend (e.g. with interceptors).
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http::http_client())
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

    /// Reads one record; `consistent` when the caller is about to decide on it.
    pub(crate) async fn get<R: Record>(
        &self,
        key: &Key,
        consistent: bool,
    ) -> Result<Option<R>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        output.item.map(record::from_item).transpose()
    }

    /// Writes a new record: `attribute_not_exists(pk)`, so an existing item is
    /// never overwritten (`ConditionFailed` instead).
    pub async fn create<R: Record>(&self, record: &R) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(record::to_item(record)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Reads many items by key, in any order; missing ones are left out.
    /// Retries what DynamoDB leaves unprocessed.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(Key::item).collect()))
                    .build()?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                if let Some(mut responses) = output.responses {
                    found.extend(responses.remove(self.table()).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(self.table()))
                    .filter(|rest| !rest.keys().is_empty());
                if pending.is_some() && attempt > CONFLICT_RETRIES {
                    return Err(StoreError::Throttled);
                }
            }
        }
        Ok(found)
    }

    /// Reads records by key, keeping the order of `keys` and skipping missing ones.
    pub async fn get_many<R: Record>(&self, keys: Vec<Key>) -> Result<Vec<R>, StoreError> {
        let mut by_key: HashMap<Key, Item> = self
            .batch_get(keys.clone())
            .await?
            .into_iter()
            .filter_map(|item| Some((key_of(&item)?, item)))
            .collect();
        keys.iter()
            .filter_map(|key| by_key.remove(key))
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
    /// keys only, so this is the cheap half of a listing.
    pub async fn index_keys(&self, partition: String) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
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
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            found.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Runs a transaction as one unit. A cancellation caused only by concurrent
    /// transactions on the same items is retried with backoff (the items'
    /// conditions are re-evaluated each time, so a retry is always safe); any
    /// other cancellation is returned with its per-item reasons.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                        StoreError::cancelled(cancelled.cancellation_reasons())
                    }
                    _ => return Err(StoreError::from_sdk(err)),
                },
            };
            if let Some(final_err) = give_up(err, attempt) {
                return Err(final_err);
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// After a failed transaction: `None` to retry it, or the error to return.
/// Only cancellations where every item is fine, conflicting or throttled are
/// retried (DynamoDB Local serialises transactions and never reports
/// `TransactionConflict`, so this decision is unit-tested on its own).
fn give_up(err: StoreError, attempt: u32) -> Option<StoreError> {
    let StoreError::Cancelled(reasons) = &err else {
        return Some(err);
    };
    let transient = reasons.iter().all(|r| {
        matches!(
            r,
            CancelReason::None | CancelReason::Conflict | CancelReason::Throttled
        )
    });
    if !transient {
        return Some(err);
    }
    if attempt < CONFLICT_RETRIES {
        return None;
    }
    Some(if reasons.contains(&CancelReason::Conflict) {
        StoreError::Contention
    } else {
        StoreError::Throttled
    })
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

/// Transaction items, built as values. Each asks for the item's old image
/// when its condition fails, so callers can read cancellation reasons
/// (e.g. who owns a claim) instead of guessing or re-reading.
impl Store {
    pub(crate) fn tx_put(
        &self,
        item: Item,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure};
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn tx_update(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        values: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Update};
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_values(values.into_map())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn tx_delete(
        &self,
        key: &Key,
        condition: &str,
        values: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        use aws_sdk_dynamodb::types::{Delete, ReturnValuesOnConditionCheckFailure};
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .condition_expression(condition)
            .set_expression_attribute_values(values.into_map())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(crate) fn tx_check(
        &self,
        key: &Key,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        use aws_sdk_dynamodb::types::ConditionCheck;
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(key.item()))
            .condition_expression(condition)
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

/// Expression attribute values (`:name` → value).
#[derive(Default)]
pub(crate) struct Values(Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>);

impl Values {
    pub(crate) fn none() -> Self {
        Values::default()
    }

    pub(crate) fn with(
        mut self,
        name: &'static str,
        value: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Self {
        self.0.push((name, value));
        self
    }

    fn into_map(self) -> Option<Item> {
        (!self.0.is_empty()).then(|| self.0.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
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

    fn cancelled(reasons: &[CancelReason]) -> StoreError {
        StoreError::Cancelled(reasons.to_vec())
    }

    #[test]
    fn conflicts_are_retried_then_reported_as_contention() {
        let conflict = [CancelReason::None, CancelReason::Conflict];
        assert!(give_up(cancelled(&conflict), 0).is_none());
        assert!(give_up(cancelled(&conflict), CONFLICT_RETRIES - 1).is_none());
        let last = give_up(cancelled(&conflict), CONFLICT_RETRIES);
        assert!(matches!(last, Some(StoreError::Contention)));
        let throttled = [CancelReason::Throttled];
        assert!(matches!(
            give_up(cancelled(&throttled), CONFLICT_RETRIES),
            Some(StoreError::Throttled)
        ));
    }

    #[test]
    fn a_failed_condition_is_never_retried() {
        let reasons = [
            CancelReason::ConditionFailed { old: None },
            CancelReason::Conflict,
        ];
        assert!(matches!(
            give_up(cancelled(&reasons), 0),
            Some(StoreError::Cancelled(_))
        ));
        assert!(matches!(
            give_up(StoreError::Throttled, 0),
            Some(StoreError::Throttled)
        ));
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_secs(1));
        }
    }
}
