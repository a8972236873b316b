//! Transactions as values. A [`WriteSet`] holds at most one [`ItemWrite`] per
//! key; several concerns (a metadata merge, a stage change, a link count) add
//! clauses and conditions to the same item's write, and [`Store::commit`] sends
//! the whole set as one `TransactWriteItems` — or, when only one item changes,
//! as a plain conditional write at half the write cost. Cancellation reasons
//! come back in the order of [`WriteSet::tags`].

use super::keys::{Item, Key};
use super::{CancelReason, Store, StoreError};
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

/// One item's write, with its condition expression.
#[derive(Debug, Clone)]
pub struct ItemWrite {
    key: Key,
    action: Action,
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl ItemWrite {
    fn new(key: Key, action: Action) -> Self {
        ItemWrite {
            key,
            action,
            set: Vec::new(),
            remove: Vec::new(),
            add: Vec::new(),
            conditions: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// A new item: `attribute_not_exists(pk)`.
    pub fn create(key: Key, item: Item) -> Self {
        let mut write = ItemWrite::new(key, Action::Put(item));
        write.conditions.push("attribute_not_exists(pk)".into());
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
        let (name, value) = (self.name(attribute), self.value(value));
        self.set.push(format!("{name} = {value}"));
        self
    }

    pub fn set_text(&mut self, attribute: &str, value: impl Into<String>) -> &mut Self {
        self.set(attribute, AttributeValue::S(value.into()))
    }

    /// `map.key = value`: one entry of a map attribute that always exists.
    pub fn set_entry(&mut self, map: &str, key: &str, value: AttributeValue) -> &mut Self {
        let (map, key, value) = (self.name(map), self.name(key), self.value(value));
        self.set.push(format!("{map}.{key} = {value}"));
        self
    }

    pub fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    pub fn remove_entry(&mut self, map: &str, key: &str) -> &mut Self {
        let (map, key) = (self.name(map), self.name(key));
        self.remove.push(format!("{map}.{key}"));
        self
    }

    /// Adds `delta` to a number attribute (absent counts as 0).
    pub fn add(&mut self, attribute: &str, delta: i64) -> &mut Self {
        let (name, value) = (
            self.name(attribute),
            self.value(AttributeValue::N(delta.to_string())),
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
        match value {
            Some(value) => self.require_equals(attribute, AttributeValue::S(value.to_owned())),
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

    /// `size(attribute) <= max`: for a map, its number of entries.
    pub fn require_size_at_most(&mut self, attribute: &str, max: usize) -> &mut Self {
        let (name, value) = (
            self.name(attribute),
            self.value(AttributeValue::N(max.to_string())),
        );
        self.conditions.push(format!("size({name}) <= {value}"));
        self
    }

    fn condition(&self) -> String {
        self.conditions.join(" AND ")
    }

    fn update_expression(&self) -> String {
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
                    .condition_expression(self.condition())
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
                    .condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
            Action::Delete => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(self.key.item()))
                    .condition_expression(self.condition())
                    .set_expression_attribute_names(self.names())
                    .set_expression_attribute_values(self.values())
                    .return_values_on_condition_check_failure(old)
                    .build()?,
            ),
            Action::Check => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(self.key.item()))
                    .condition_expression(self.condition())
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
}

impl<T: Copy + PartialEq + std::fmt::Debug> Default for WriteSet<T> {
    fn default() -> Self {
        WriteSet { writes: Vec::new() }
    }
}

impl<T: Copy + PartialEq + std::fmt::Debug> WriteSet<T> {
    /// Adds a write; a second write to the same key is a bug in the caller.
    pub fn push(&mut self, tag: T, write: ItemWrite) {
        debug_assert!(
            self.writes.iter().all(|(_, w)| w.key != write.key),
            "two writes to one item in a transaction: {tag:?}"
        );
        if !write.is_noop() {
            self.writes.push((tag, write));
        }
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
        self.writes
            .iter()
            .all(|(_, w)| matches!(w.action, Action::Check))
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Tags in request order: cancellation reason `i` belongs to `tags()[i]`.
    pub fn tags(&self) -> Vec<T> {
        self.writes.iter().map(|(t, _)| *t).collect()
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
    /// failed (nothing was written); `Err` for store failures.
    pub async fn commit<T: Copy + PartialEq + std::fmt::Debug>(
        &self,
        set: WriteSet<T>,
    ) -> Result<Result<(), Refused<T>>, StoreError> {
        let tags = set.tags();
        let result = match set.writes.as_slice() {
            [] => return Ok(Ok(())),
            [(_, single)] if !matches!(single.action, Action::Check) => {
                self.write_one(single.clone()).await
            }
            _ => {
                let items = set
                    .writes
                    .into_iter()
                    .map(|(_, write)| write.into_transact_item(self.table()))
                    .collect::<Result<Vec<_>, _>>()?;
                self.transact(items).await
            }
        };
        match result {
            Ok(()) => Ok(Ok(())),
            Err(StoreError::Cancelled(reasons)) => Ok(Err(Refused {
                reasons: tags.into_iter().zip(reasons).collect(),
            })),
            Err(err) => Err(err),
        }
    }

    /// One item, without a transaction; a failed condition is reported like a
    /// cancelled one-item transaction (with the old item).
    async fn write_one(&self, write: ItemWrite) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
        };
        let failed = |old: Option<&Item>| {
            StoreError::Cancelled(vec![CancelReason::ConditionFailed { old: old.cloned() }])
        };
        let condition = write.condition();
        let old = ReturnValuesOnConditionCheckFailure::AllOld;
        match &write.action {
            Action::Put(item) => self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item.clone()))
                .condition_expression(condition)
                .set_expression_attribute_names(write.names())
                .set_expression_attribute_values(write.values())
                .return_values_on_condition_check_failure(old)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => StoreError::from_sdk(err),
                }),
            Action::Update => self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(write.key.item()))
                .update_expression(write.update_expression())
                .condition_expression(condition)
                .set_expression_attribute_names(write.names())
                .set_expression_attribute_values(write.values())
                .return_values_on_condition_check_failure(old)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => StoreError::from_sdk(err),
                }),
            Action::Delete => self
                .client()
                .delete_item()
                .table_name(self.table())
                .set_key(Some(write.key.item()))
                .condition_expression(condition)
                .set_expression_attribute_names(write.names())
                .set_expression_attribute_values(write.values())
                .return_values_on_condition_check_failure(old)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| match err.as_service_error() {
                    Some(DeleteItemError::ConditionalCheckFailedException(e)) => failed(e.item()),
                    _ => StoreError::from_sdk(err),
                }),
            Action::Check => unreachable!("a lone condition check is sent as a transaction"),
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
            write.condition(),
            "attribute_exists(pk) AND (attribute_not_exists(#n6) OR #n6 IN (:v3, :v4))"
        );
        assert_eq!(write.names.get("#n0").map(String::as_str), Some("name"));
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
