//! Transactions as values. A [`WriteSet`] holds at most one [`ItemWrite`] per
//! key; several concerns (a metadata merge, a stage change, a link count) add
//! clauses and conditions to the same item's write, and [`Store::commit`] sends
//! the whole set as one `TransactWriteItems` — or, when only one item changes,
//! as a plain conditional write at half the write cost. Cancellation reasons
//! come back in the order of [`WriteSet::tags`].
//!
//! Retries are safe by construction. The SDK retries an attempt whose answer
//! was lost: a transaction carries one `ClientRequestToken` for all its
//! attempts (the SDK's and [`Store::commit`]'s), so DynamoDB does not apply
//! it twice; a single write cannot, so when its retry is
//! refused, the refusal's old image is checked and a write whose every effect
//! is already in the item counts as done ([`ItemWrite::already_applied`]).
//! [`Store::commit`] retries what concurrency alone refused (conflicting
//! transactions, throttling), and nothing else, in one loop.

use super::keys::{Item, Key};
use super::pipeline::TotalsChange;
use super::{CancelReason, Store, StoreError, backoff, bounded};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use std::collections::HashMap;

/// What kind of write an item gets.
#[derive(Debug, Clone)]
enum Action {
    Put(Item),
    Update,
    Delete,
    Check,
}

/// DynamoDB's limit of items in one `TransactWriteItems`; a larger set is
/// refused before it is sent (callers split their work to fit).
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// Transient refusals retried before they are reported (`429`): with the
/// jittered backoff, about 2.5 s of retrying a hot item.
const CONFLICT_RETRIES: u32 = 10;

/// What an update does to one attribute (or map entry), kept beside the
/// expression text so a refused retry can tell whether it already happened.
#[derive(Debug, Clone)]
enum Effect {
    Set {
        attribute: String,
        entry: Option<String>,
        value: AttributeValue,
    },
    Remove {
        attribute: String,
        entry: Option<String>,
    },
    /// Not idempotent: a write that adds is never taken for done.
    Add,
}

/// One item's write, with its condition expression.
#[derive(Debug, Clone)]
pub struct ItemWrite {
    key: Key,
    action: Action,
    effects: Vec<Effect>,
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    /// What this write changes in the pipeline totals: the write set adds
    /// it to the shard's write in the same transaction.
    totals: Option<TotalsChange>,
    /// Writes that go with this one in the same transaction (a record's
    /// entries in other access paths).
    companions: Vec<ItemWrite>,
}

impl ItemWrite {
    fn new(key: Key, action: Action) -> Self {
        ItemWrite {
            key,
            action,
            effects: Vec::new(),
            set: Vec::new(),
            remove: Vec::new(),
            add: Vec::new(),
            conditions: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
            totals: None,
            companions: Vec::new(),
        }
    }

    /// Makes `write` go with this write, in the same transaction.
    pub fn with_companion(&mut self, write: ItemWrite) -> &mut Self {
        self.companions.push(write);
        self
    }

    /// Writes an item whether or not it exists: for items whose content is
    /// their key (an index entry), so writing one twice is writing it once.
    pub fn overwrite(key: Key, item: Item) -> Self {
        ItemWrite::new(key, Action::Put(item))
    }

    /// Deletes an item if it exists (an index entry: deleting twice is once).
    pub fn delete_any(key: Key) -> Self {
        ItemWrite::new(key, Action::Delete)
    }

    /// Changes to an item that may not exist yet (`ADD` counters).
    pub fn upsert(key: Key) -> Self {
        ItemWrite::new(key, Action::Update)
    }

    /// Makes the pipeline totals change with this write.
    pub fn with_totals(&mut self, change: Option<TotalsChange>) -> &mut Self {
        self.totals = change;
        self
    }

    /// A new item: `attribute_not_exists(pk)`.
    pub fn create(key: Key, item: Item) -> Self {
        let mut write = ItemWrite::new(key, Action::Put(item));
        write.conditions.push("attribute_not_exists(pk)".into());
        write
    }

    /// Replaces an existing item whole: `attribute_exists(pk)`; add conditions
    /// on what was read with the `require_*` methods.
    pub fn replace(key: Key, item: Item) -> Self {
        let mut write = ItemWrite::new(key, Action::Put(item));
        write.conditions.push("attribute_exists(pk)".into());
        write
    }

    /// Changes to an existing item: `attribute_exists(pk)`.
    pub fn update(key: Key) -> Self {
        let mut write = ItemWrite::new(key, Action::Update);
        write.conditions.push("attribute_exists(pk)".into());
        write
    }

    /// Deletes an item; add conditions with the `require_*` methods.
    pub fn delete(key: Key) -> Self {
        let mut write = ItemWrite::new(key, Action::Delete);
        write.conditions.push("attribute_exists(pk)".into());
        write
    }

    /// Writes nothing; the transaction only commits if the item exists.
    pub fn check_exists(key: Key) -> Self {
        let mut write = ItemWrite::new(key, Action::Check);
        write.conditions.push("attribute_exists(pk)".into());
        write
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    /// True when an update has no clause: nothing to send.
    pub fn is_noop(&self) -> bool {
        matches!(self.action, Action::Update)
            && self.set.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
    }

    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        self.effects.push(Effect::Set {
            attribute: attribute.to_owned(),
            entry: None,
            value: value.clone(),
        });
        let (name, value) = (self.name(attribute), self.value(value));
        self.set.push(format!("{name} = {value}"));
        self
    }

    pub fn set_text(&mut self, attribute: &str, value: impl Into<String>) -> &mut Self {
        self.set(attribute, AttributeValue::S(value.into()))
    }

    /// `map.key = value`: one entry of a map attribute that always exists.
    pub fn set_entry(&mut self, map: &str, key: &str, value: AttributeValue) -> &mut Self {
        self.effects.push(Effect::Set {
            attribute: map.to_owned(),
            entry: Some(key.to_owned()),
            value: value.clone(),
        });
        let (map, key, value) = (self.name(map), self.name(key), self.value(value));
        self.set.push(format!("{map}.{key} = {value}"));
        self
    }

    pub fn remove(&mut self, attribute: &str) -> &mut Self {
        self.effects.push(Effect::Remove {
            attribute: attribute.to_owned(),
            entry: None,
        });
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    pub fn remove_entry(&mut self, map: &str, key: &str) -> &mut Self {
        self.effects.push(Effect::Remove {
            attribute: map.to_owned(),
            entry: Some(key.to_owned()),
        });
        let (map, key) = (self.name(map), self.name(key));
        self.remove.push(format!("{map}.{key}"));
        self
    }

    /// Adds `delta` to a number attribute (absent counts as 0).
    pub fn add(&mut self, attribute: &str, delta: i64) -> &mut Self {
        self.add_number(attribute, &delta.to_string())
    }

    /// Adds a number given as DynamoDB number text (exact, up to 38 digits).
    pub fn add_number(&mut self, attribute: &str, delta: &str) -> &mut Self {
        self.effects.push(Effect::Add);
        let (name, value) = (
            self.name(attribute),
            self.value(AttributeValue::N(delta.to_owned())),
        );
        self.add.push(format!("{name} {value}"));
        self
    }

    pub fn require_absent(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.conditions
            .push(format!("attribute_not_exists({name})"));
        self
    }

    pub fn require_equals(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.conditions.push(format!("{name} = {value}"));
        self
    }

    /// `attribute < value` (strings compare in order; our timestamps sort as text).
    pub fn require_less_than(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.conditions.push(format!("{name} < {value}"));
        self
    }

    /// `attribute` is `value`, or absent when `value` is `None`: "unchanged since read".
    pub fn require_unchanged(&mut self, attribute: &str, value: Option<&str>) -> &mut Self {
        self.require_same(attribute, value.map(|v| AttributeValue::S(v.to_owned())))
    }

    /// Like [`require_unchanged`](Self::require_unchanged) for a value of any
    /// type (maps compare entry by entry, numbers by value).
    pub fn require_same(&mut self, attribute: &str, value: Option<AttributeValue>) -> &mut Self {
        match value {
            Some(value) => self.require_equals(attribute, value),
            None => self.require_absent(attribute),
        }
    }

    /// `attribute_not_exists(attribute) OR attribute IN (allowed…)`.
    pub fn require_absent_or_in(&mut self, attribute: &str, allowed: &[&str]) -> &mut Self {
        let name = self.name(attribute);
        let values: Vec<String> = allowed
            .iter()
            .map(|v| self.value(AttributeValue::S((*v).to_owned())))
            .collect();
        let condition = if values.is_empty() {
            format!("attribute_not_exists({name})")
        } else {
            format!(
                "(attribute_not_exists({name}) OR {name} IN ({}))",
                values.join(", ")
            )
        };
        self.conditions.push(condition);
        self
    }

    fn condition(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }

    pub(crate) fn update_expression(&self) -> String {
        let mut clauses = Vec::new();
        if !self.set.is_empty() {
            clauses.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            clauses.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        if !self.add.is_empty() {
            clauses.push(format!("ADD {}", self.add.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    fn into_transact_item(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let old = ReturnValuesOnConditionCheckFailure::AllOld;
        let item = match &self.action {
            Action::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item.clone()))
                    .set_condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
            Action::Update => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(self.key.item()))
                    .update_expression(self.update_expression())
                    .set_condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
            Action::Delete => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(self.key.item()))
                    .set_condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
            Action::Check => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(self.key.item()))
                    .set_condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
        };
        Ok(item.build())
    }
}

/// The writes of one logical change, at most one per item, each with a tag
/// the caller uses to read cancellation reasons.
#[derive(Debug, Clone)]
pub struct WriteSet<T> {
    writes: Vec<(T, ItemWrite)>,
    /// Pipeline totals changes, one per shard (two companies of one
    /// transaction may count in the same shard: their changes add up).
    totals: Vec<(T, TotalsChange)>,
}

impl<T: Copy + PartialEq + std::fmt::Debug> Default for WriteSet<T> {
    fn default() -> Self {
        WriteSet {
            writes: Vec::new(),
            totals: Vec::new(),
        }
    }
}

impl<T: Copy + PartialEq + std::fmt::Debug> WriteSet<T> {
    /// Adds a write (and the totals change it carries); a second write to
    /// the same key is a bug in the caller.
    pub fn push(&mut self, tag: T, mut write: ItemWrite) {
        debug_assert!(
            self.writes.iter().all(|(_, w)| w.key != write.key),
            "two writes to one item in a transaction: {tag:?}"
        );
        if let Some(change) = write.totals.take() {
            match self
                .totals
                .iter_mut()
                .find(|(_, c)| c.shard() == change.shard())
            {
                Some((_, pending)) => pending.merge(change),
                None => self.totals.push((tag, change)),
            }
        }
        let companions = std::mem::take(&mut write.companions);
        if !write.is_noop() {
            self.writes.push((tag, write));
        }
        for companion in companions {
            self.push(tag, companion);
        }
    }

    /// Every write to send: the items', then the totals shards'.
    fn sealed(self) -> Vec<(T, ItemWrite)> {
        let mut writes = self.writes;
        writes.extend(
            self.totals
                .into_iter()
                .filter_map(|(tag, change)| Some((tag, change.into_write()?))),
        );
        writes
    }

    /// The write of `tag`, to add clauses to.
    pub fn get_mut(&mut self, tag: T) -> Option<&mut ItemWrite> {
        self.writes
            .iter_mut()
            .find(|(t, _)| *t == tag)
            .map(|(_, w)| w)
    }

    /// True when nothing but condition checks would be sent.
    pub fn writes_nothing(&self) -> bool {
        self.totals.iter().all(|(_, c)| c.is_empty())
            && self
                .writes
                .iter()
                .all(|(_, w)| matches!(w.action, Action::Check))
    }

    pub fn len(&self) -> usize {
        self.writes.len() + self.totals.iter().filter(|(_, c)| !c.is_empty()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a committed write set did not apply, per tag.
#[derive(Debug)]
pub struct Refused<T> {
    pub reasons: Vec<(T, CancelReason)>,
}

impl<T: Copy + PartialEq> Refused<T> {
    /// True when the write tagged `tag` failed its condition.
    pub fn failed(&self, tag: T) -> bool {
        self.reasons
            .iter()
            .any(|(t, r)| *t == tag && matches!(r, CancelReason::ConditionFailed { .. }))
    }

    /// The item as it was, when `tag`'s condition failed.
    pub fn old(&self, tag: T) -> Option<&Item> {
        self.reasons.iter().find_map(|(t, r)| match r {
            CancelReason::ConditionFailed { old } if *t == tag => old.as_ref(),
            _ => None,
        })
    }
}

impl Store {
    /// Applies a write set atomically. `Ok(Err(refused))` when a condition
    /// failed (nothing was written); `Err` for store failures. Conflicts with
    /// concurrent transactions and throttling are retried here with backoff,
    /// and reported as `Contention`/`Throttled` when they persist.
    pub async fn commit<T: Copy + PartialEq + std::fmt::Debug>(
        &self,
        set: WriteSet<T>,
    ) -> Result<Result<(), Refused<T>>, StoreError> {
        if set.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Other(format!(
                "a transaction of {} items (limit {MAX_TRANSACTION_ITEMS})",
                set.len()
            )));
        }
        let writes = set.sealed();
        let tags: Vec<T> = writes.iter().map(|(tag, _)| *tag).collect();
        let single = match writes.as_slice() {
            [] => return Ok(Ok(())),
            [(_, single)] if !matches!(single.action, Action::Check) => Some(single.clone()),
            _ => None,
        };
        let items = match single {
            Some(_) => Vec::new(),
            None => writes
                .into_iter()
                .map(|(_, write)| write.into_transact_item(self.table()))
                .collect::<Result<Vec<_>, _>>()?,
        };
        // One token for every attempt: an attempt refused only for a
        // conflict is sent again as the same request, so if an earlier one
        // was applied after all (its answer lost, the SDK's retry then
        // refused), DynamoDB answers from the token instead of running it
        // twice.
        let token = ulid::Ulid::new().to_string();
        let mut attempt = 0;
        loop {
            let result = match &single {
                Some(write) => self.write_one(write).await,
                None => self.transact(items.clone(), &token).await,
            };
            let reasons = match result {
                Ok(()) => return Ok(Ok(())),
                Err(StoreError::Cancelled(reasons)) => reasons,
                Err(err) => return Err(err),
            };
            match retry_or_report(reasons, attempt) {
                Retry::Again => {
                    attempt += 1;
                    let pause = backoff(attempt);
                    if !crate::deadline::allows(pause) {
                        return Err(StoreError::Contention);
                    }
                    tokio::time::sleep(pause).await;
                }
                Retry::Refused(reasons) => {
                    return Ok(Err(Refused {
                        reasons: tags.into_iter().zip(reasons).collect(),
                    }));
                }
                Retry::GiveUp(err) => return Err(err),
            }
        }
    }

    /// One `TransactWriteItems` attempt, with the commit's idempotency token
    /// (the SDK's own retries of the attempt send it too).
    async fn transact(&self, items: Vec<TransactWriteItem>, token: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let call = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send();
        bounded(call)
            .await?
            .map(|_| ())
            .map_err(|err| match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    StoreError::cancelled(cancelled.cancellation_reasons())
                }
                // The same token still running (an attempt the SDK gave up
                // waiting for): retried like a conflict, with that token.
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    StoreError::Cancelled(vec![CancelReason::Conflict])
                }
                _ => StoreError::from_sdk(err),
            })
    }

    /// One item, without a transaction. A failed condition is reported like a
    /// cancelled one-item transaction, unless the item already shows every
    /// effect of the write: then an earlier attempt whose answer was lost
    /// applied it, and the write is done.
    async fn write_one(&self, write: &ItemWrite) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
        };
        let failed = |old: Option<&Item>| {
            if write.already_applied(old) {
                Ok(())
            } else {
                Err(StoreError::Cancelled(vec![CancelReason::ConditionFailed {
                    old: old.cloned(),
                }]))
            }
        };
        let condition = write.condition();
        let old = ReturnValuesOnConditionCheckFailure::AllOld;
        match &write.action {
            Action::Put(item) => match bounded(
                self.client()
                    .put_item()
                    .table_name(self.table())
                    .set_item(Some(item.clone()))
                    .set_condition_expression(condition.clone())
                    .set_expression_attribute_names(write.names())
                    .set_expression_attribute_values(write.values())
                    .return_values_on_condition_check_failure(old)
                    .send(),
            )
            .await?
            {
                Ok(_) => Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => Err(StoreError::from_sdk(err)),
                },
            },
            Action::Update => match bounded(
                self.client()
                    .update_item()
                    .table_name(self.table())
                    .set_key(Some(write.key.item()))
                    .update_expression(write.update_expression())
                    .set_condition_expression(condition.clone())
                    .set_expression_attribute_names(write.names())
                    .set_expression_attribute_values(write.values())
                    .return_values_on_condition_check_failure(old)
                    .send(),
            )
            .await?
            {
                Ok(_) => Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => Err(StoreError::from_sdk(err)),
                },
            },
            Action::Delete => match bounded(
                self.client()
                    .delete_item()
                    .table_name(self.table())
                    .set_key(Some(write.key.item()))
                    .set_condition_expression(condition.clone())
                    .set_expression_attribute_names(write.names())
                    .set_expression_attribute_values(write.values())
                    .return_values_on_condition_check_failure(old)
                    .send(),
            )
            .await?
            {
                Ok(_) => Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(DeleteItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => Err(StoreError::from_sdk(err)),
                },
            },
            Action::Check => unreachable!("a lone condition check is sent as a transaction"),
        }
    }
}

/// What to do after a refused attempt.
enum Retry {
    Again,
    /// A condition failed: the caller decides (nothing was written).
    Refused(Vec<CancelReason>),
    GiveUp(StoreError),
}

/// The one retry rule: an attempt refused only by concurrency (every reason
/// is none, a transaction conflict or throttling) is retried up to
/// [`CONFLICT_RETRIES`] times; a failed condition never is.
fn retry_or_report(reasons: Vec<CancelReason>, attempt: u32) -> Retry {
    let transient = reasons.iter().all(|r| {
        matches!(
            r,
            CancelReason::None | CancelReason::Conflict | CancelReason::Throttled
        )
    });
    if !transient {
        return Retry::Refused(reasons);
    }
    if attempt < CONFLICT_RETRIES {
        return Retry::Again;
    }
    Retry::GiveUp(if reasons.contains(&CancelReason::Conflict) {
        StoreError::Contention
    } else {
        StoreError::Throttled
    })
}

/// Whether two stored values are the same: numbers by value, maps and lists
/// entry by entry, sets in any order.
fn same_value(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    let number = |n: &str| n.parse::<f64>().ok();
    match (a, b) {
        (V::N(x), V::N(y)) => x == y || (number(x).is_some() && number(x) == number(y)),
        (V::M(x), V::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_value(v, w)),
        (V::Ss(x), V::Ss(y)) => {
            let (mut x, mut y) = (x.clone(), y.clone());
            x.sort();
            y.sort();
            x == y
        }
        _ => a == b,
    }
}

fn same_item(a: &Item, b: &Item) -> bool {
    same_value(&AttributeValue::M(a.clone()), &AttributeValue::M(b.clone()))
}

impl ItemWrite {
    /// True when `stored` (the item now, `None` if absent) already shows
    /// every effect of this write: a put's whole item, an update's every SET
    /// and REMOVE, a delete's absence. A write that adds to a number is never
    /// taken for done.
    pub fn already_applied(&self, stored: Option<&Item>) -> bool {
        match (&self.action, stored) {
            (Action::Put(item), Some(stored)) => same_item(item, stored),
            (Action::Delete, None) => true,
            (Action::Update, Some(stored)) => self.effects.iter().all(|effect| {
                let at = |attribute: &String, entry: &Option<String>| {
                    let value = stored.get(attribute)?;
                    match entry {
                        None => Some(value),
                        Some(key) => value.as_m().ok()?.get(key),
                    }
                };
                match effect {
                    Effect::Set {
                        attribute,
                        entry,
                        value,
                    } => at(attribute, entry).is_some_and(|v| same_value(v, value)),
                    Effect::Remove { attribute, entry } => at(attribute, entry).is_none(),
                    Effect::Add => false,
                }
            }),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            pk: "P#1".into(),
            sk: "X".into(),
        }
    }

    #[test]
    fn clauses_and_conditions_use_placeholders() {
        let mut write = ItemWrite::update(key());
        write
            .set_text("name", "Acme")
            .set_entry("metadata", "plan", AttributeValue::S("pro".into()))
            .remove_entry("metadata", "old")
            .add("contact_count", 1)
            .require_absent_or_in("stage_id", &["stg_a", "stg_b"]);
        assert_eq!(
            write.update_expression(),
            "SET #n0 = :v0, #n1.#n2 = :v1 REMOVE #n3.#n4 ADD #n5 :v2"
        );
        assert_eq!(
            write.condition().as_deref(),
            Some("attribute_exists(pk) AND (attribute_not_exists(#n6) OR #n6 IN (:v3, :v4))")
        );
        assert_eq!(write.names.get("#n0").map(String::as_str), Some("name"));
    }

    #[test]
    fn a_refused_retry_of_an_applied_write_is_done() {
        let stored: Item = [
            ("pk".to_owned(), AttributeValue::S("P#1".into())),
            ("name".to_owned(), AttributeValue::S("Acme".into())),
            ("deal".to_owned(), AttributeValue::N("5".into())),
            (
                "metadata".to_owned(),
                AttributeValue::M([("plan".to_owned(), AttributeValue::S("pro".into()))].into()),
            ),
        ]
        .into();
        let mut update = ItemWrite::update(key());
        update
            .set_text("name", "Acme")
            .set("deal", AttributeValue::N("5.0".into()))
            .set_entry("metadata", "plan", AttributeValue::S("pro".into()))
            .remove("gone");
        assert!(update.already_applied(Some(&stored)));
        update.remove_entry("metadata", "plan");
        assert!(!update.already_applied(Some(&stored)));
        assert!(!update.already_applied(None));
        let mut counted = ItemWrite::update(key());
        counted.add("contact_count", 1);
        assert!(!counted.already_applied(Some(&stored)));
        assert!(ItemWrite::create(key(), stored.clone()).already_applied(Some(&stored)));
        assert!(!ItemWrite::create(key(), stored.clone()).already_applied(None));
        assert!(ItemWrite::delete(key()).already_applied(None));
        assert!(!ItemWrite::delete(key()).already_applied(Some(&stored)));
    }

    fn cancelled(reasons: &[CancelReason]) -> Vec<CancelReason> {
        reasons.to_vec()
    }

    #[test]
    fn conflicts_are_retried_then_reported_as_contention() {
        let conflict = [CancelReason::None, CancelReason::Conflict];
        assert!(matches!(
            retry_or_report(cancelled(&conflict), 0),
            Retry::Again
        ));
        assert!(matches!(
            retry_or_report(cancelled(&conflict), CONFLICT_RETRIES - 1),
            Retry::Again
        ));
        assert!(matches!(
            retry_or_report(cancelled(&conflict), CONFLICT_RETRIES),
            Retry::GiveUp(StoreError::Contention)
        ));
        assert!(matches!(
            retry_or_report(cancelled(&[CancelReason::Throttled]), CONFLICT_RETRIES),
            Retry::GiveUp(StoreError::Throttled)
        ));
    }

    #[test]
    fn a_failed_condition_is_never_retried() {
        let reasons = [
            CancelReason::ConditionFailed { old: None },
            CancelReason::Conflict,
        ];
        assert!(matches!(
            retry_or_report(cancelled(&reasons), 0),
            Retry::Refused(_)
        ));
    }

    #[test]
    fn an_update_without_clauses_is_not_sent() {
        let mut set = WriteSet::default();
        set.push("contact", ItemWrite::update(key()));
        assert!(set.is_empty());
        set.push("link", ItemWrite::check_exists(key()));
        assert!(set.writes_nothing());
    }
}
