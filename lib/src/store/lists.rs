//! Listings. `gsi1` projects keys only, so a page is a Query on the index
//! followed by one BatchGetItem of the records, in index order: the index
//! says which records (eventually consistent: one written just now may be
//! missing), the records are read by key (current; one deleted since is
//! left out). Listings of a table partition (events, messages) are
//! consistent. Filters the
//! key layout cannot answer walk the list and keep what matches; the cursor is
//! then the keys of the last record returned, so no match is ever skipped.

use super::keys::{self, Index, Item, Key};
use super::record::Record;
use super::{Page, Store, StoreError, bounded};
use aws_sdk_dynamodb::types::AttributeValue;

/// Records a filtered walk examines before it answers with what it has (and a
/// cursor to go on from).
const WALK_BUDGET: usize = 1_000;
/// Index entries read per step of a walk.
const WALK_STEP: i32 = 100;

/// Where a listing reads.
#[derive(Debug, Clone)]
pub enum Source {
    /// A `gsi1` partition (keys only; records fetched by key).
    Index(String),
    /// A table partition whose items are the records themselves.
    Partition(String),
    /// The items of a table partition whose sort key starts with a prefix.
    Collection {
        partition: String,
        prefix: &'static str,
    },
}

impl Store {
    /// One page of records under `source`, oldest first unless `newest_first`.
    pub async fn page<R: Record>(
        &self,
        source: &Source,
        limit: i32,
        start: Option<Item>,
        newest_first: bool,
    ) -> Result<Page<R>, StoreError> {
        let (partition_key, value, index, prefix) = match source {
            Source::Index(partition) => (keys::GSI1_PK, partition, Some(keys::GSI1), None),
            Source::Partition(partition) => (keys::PK, partition, None, None),
            Source::Collection { partition, prefix } => (keys::PK, partition, None, Some(*prefix)),
        };
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_names("#partition", partition_key)
            .expression_attribute_values(":partition", AttributeValue::S(value.clone()));
        query = match prefix {
            None => query.key_condition_expression("#partition = :partition"),
            Some(prefix) => query
                .key_condition_expression("#partition = :partition AND begins_with(#sort, :prefix)")
                .expression_attribute_names("#sort", keys::SK)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
        };
        // A table partition reads consistently; an index cannot. One item
        // more than asked tells whether a next page exists.
        let call = query
            .consistent_read(index.is_none())
            .scan_index_forward(!newest_first)
            .limit(limit.saturating_add(1))
            .set_exclusive_start_key(start)
            .send();
        let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
        let (items, last_key) = one_page(
            output.items.unwrap_or_default(),
            limit,
            output.last_evaluated_key,
            index.is_some(),
        );
        let records = match source {
            Source::Index(_) => {
                let keys: Vec<Key> = items.iter().filter_map(super::key_of).collect();
                self.get_many(keys).await?
            }
            Source::Partition(_) | Source::Collection { .. } => items
                .into_iter()
                .map(super::record::from_item)
                .collect::<Result<_, _>>()?,
        };
        Ok(Page {
            items: records,
            last_key,
        })
    }

    /// Up to `limit` records under `source` that `keep`, walking at most
    /// [`WALK_BUDGET`] records per call.
    pub async fn filtered_page<R: Record>(
        &self,
        source: &Source,
        limit: i32,
        mut start: Option<Item>,
        newest_first: bool,
        keep: impl Fn(&R) -> bool,
    ) -> Result<Page<R>, StoreError> {
        let limit = usize::try_from(limit).unwrap_or(1);
        let mut kept: Vec<R> = Vec::new();
        let mut examined = 0;
        loop {
            let page = self
                .page::<R>(source, WALK_STEP, start, newest_first)
                .await?;
            let mut records = page.items.into_iter();
            for record in records.by_ref() {
                examined += 1;
                if keep(&record) {
                    kept.push(record);
                    if kept.len() == limit {
                        break;
                    }
                }
            }
            let page_done = records.len() == 0;
            if kept.len() == limit && !(page_done && page.last_key.is_none()) {
                // Resume right after the last record returned.
                let last_key = kept.last().map(|r| resume_key(r, source));
                return Ok(Page {
                    items: kept,
                    last_key,
                });
            }
            start = page.last_key;
            if start.is_none() || examined >= WALK_BUDGET {
                return Ok(Page {
                    items: kept,
                    last_key: start,
                });
            }
        }
    }
}

/// The first `limit` of `items` (read with a limit one higher), and where
/// the next page starts: after the last item kept when there was one more,
/// else where DynamoDB stopped (a 1 MB page), else nowhere. A last page of
/// exactly `limit` items therefore sends the caller to no empty page.
pub(super) fn one_page(
    mut items: Vec<Item>,
    limit: i32,
    last_evaluated: Option<Item>,
    index: bool,
) -> (Vec<Item>, Option<Item>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if items.len() <= limit {
        return (items, last_evaluated);
    }
    items.truncate(limit);
    let resume = items.last().map(|last| {
        let mut names = vec![keys::PK, keys::SK];
        if index {
            names.extend([keys::GSI1_PK, keys::GSI1_SK]);
        }
        names
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), last.get(name)?.clone())))
            .collect()
    });
    (items, resume)
}

/// The `ExclusiveStartKey` that resumes a listing right after `record`.
fn resume_key<R: Record>(record: &R, source: &Source) -> Item {
    let keys = record.keys();
    let mut item = keys.key.item();
    if let (Source::Index(_), Some(index)) = (source, keys.gsi1().cloned()) {
        item.insert(keys::GSI1_PK.to_owned(), AttributeValue::S(index.pk));
        item.insert(keys::GSI1_SK.to_owned(), AttributeValue::S(index.sk));
    }
    item
}

/// One index partition, read in sort-key order.
#[derive(Debug, Clone)]
pub struct IndexRange {
    pub index: Index,
    pub partition: String,
}

impl IndexRange {
    /// The whole partition.
    pub fn all(index: Index, partition: String) -> Self {
        IndexRange { index, partition }
    }
}

/// The greatest sort key that starts with `prefix`: none sorts after it
/// (U+10FFFF is the greatest character, in UTF-8 too).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The cursor attribute of a merged page: the sort key last consumed.
const AFTER: &str = "after";

/// The sort key a merged page's cursor resumes after.
pub fn after_of(start: Option<&Item>) -> Option<String> {
    start?.get(AFTER)?.as_s().ok().cloned()
}

/// A cursor that resumes after sort key `after`.
pub fn cursor_after(after: String) -> Item {
    Item::from([(AFTER.to_owned(), AttributeValue::S(after))])
}

/// A page of records read through index ranges.
#[derive(Debug)]
pub struct IndexPage<R> {
    pub items: Vec<R>,
    /// The sort key of the last entry consumed, when entries are left.
    pub after: Option<String>,
}

impl Store {
    /// Up to `limit` records from `ranges` (one index; several partitions are
    /// read in parallel and merged by sort key, which ends in the record's
    /// id, so one order holds across them), from after the sort key `after`.
    /// Each range reads `limit + 2` index entries at most (one may be
    /// `after` itself, one tells whether more are left): a page examines
    /// about what it returns. The records are read by key, and one is
    /// returned only where its current keys put it (the index trails the
    /// table: a stale entry is skipped, the record shows at its new place
    /// once the index has it there) and when it `keep`s.
    pub async fn index_page<R: Record>(
        &self,
        ranges: &[IndexRange],
        limit: usize,
        after: Option<&str>,
        newest_first: bool,
        keep: impl Fn(&R) -> bool,
    ) -> Result<IndexPage<R>, StoreError> {
        let reads = ranges
            .iter()
            .map(|range| self.range_entries(range, after, newest_first, limit + 2));
        let mut entries: Vec<(Key, Key)> = futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        entries.sort_by(|a, b| a.0.sk.cmp(&b.0.sk));
        if newest_first {
            entries.reverse();
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        let after = more
            .then(|| entries.last().map(|(entry, _)| entry.sk.clone()))
            .flatten();
        let index = ranges.first().map(|r| r.index);
        let records: Vec<R> = self
            .get_many(entries.iter().map(|(_, key)| key.clone()).collect())
            .await?;
        // `get_many` keeps the order of its keys (leaving out what is gone).
        let mut records = records.into_iter().peekable();
        let mut items = Vec::new();
        for (entry, key) in &entries {
            if records.peek().is_some_and(|r| r.keys().key == *key) {
                let record = records.next().expect("peeked");
                let current = index.and_then(|i| record.keys().index(i).cloned());
                if current.as_ref() == Some(entry) && keep(&record) {
                    items.push(record);
                }
            }
        }
        Ok(IndexPage { items, after })
    }

    /// Index keys and record keys of up to `limit` entries of `range` past
    /// `after` (exclusive), in order.
    async fn range_entries(
        &self,
        range: &IndexRange,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<(Key, Key)>, StoreError> {
        let (pk, sk) = (range.index.partition_key(), range.index.sort_key());
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(range.index.name())
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", AttributeValue::S(range.partition.clone()));
        query = match after {
            None => query.key_condition_expression("#pk = :pk"),
            // From `after` on, in the page's direction; the entry equal to
            // it is dropped below.
            Some(after) => query
                .key_condition_expression(if newest_first {
                    "#pk = :pk AND #sk <= :after"
                } else {
                    "#pk = :pk AND #sk >= :after"
                })
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":after", AttributeValue::S(after.to_owned())),
        };
        let call = query
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send();
        let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
        Ok(output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let entry = Key {
                    pk: range.partition.clone(),
                    sk: item.get(sk)?.as_s().ok()?.clone(),
                };
                (Some(entry.sk.as_str()) != after).then_some((entry, super::key_of(&item)?))
            })
            .collect())
    }
}

impl Store {
    /// Up to `limit` items of a table partition whose sort key starts with
    /// `prefix`, from after the sort key `after`, read consistently; and
    /// whether more are left.
    pub async fn prefix_page<E: Record>(
        &self,
        partition: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, E)>, bool), StoreError> {
        let from = after.filter(|a| *a > prefix).unwrap_or(prefix);
        let call = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(prefix_end(prefix)))
            .consistent_read(true)
            // One may be `after` itself, one tells whether more are left.
            .limit(i32::try_from(limit + 2).unwrap_or(i32::MAX))
            .send();
        let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
        let mut found = Vec::new();
        for item in output.items.unwrap_or_default() {
            let Some(sort) = item.get(keys::SK).and_then(|v| v.as_s().ok()).cloned() else {
                continue;
            };
            if Some(sort.as_str()) != after {
                found.push((sort, super::record::from_item(item)?));
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        Ok((found, more))
    }
}
