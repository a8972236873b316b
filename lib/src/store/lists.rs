//! Listings. `gsi1` projects keys only, so a page is a Query on the index
//! followed by one BatchGetItem of the records, in index order: the index
//! says which records (eventually consistent: one written just now may be
//! missing), the records are read by key (current; one deleted since is
//! left out). Listings of a table partition (events, messages) are
//! consistent. Filters the
//! key layout cannot answer walk the list and keep what matches; the cursor is
//! then the keys of the last record returned, so no match is ever skipped.

use super::keys::{self, Item, Key};
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
    if let (Source::Index(_), Some(index)) = (source, keys.gsi1) {
        item.insert(keys::GSI1_PK.to_owned(), AttributeValue::S(index.pk));
        item.insert(keys::GSI1_SK.to_owned(), AttributeValue::S(index.sk));
    }
    item
}
