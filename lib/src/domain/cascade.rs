//! Deleting a record with counted links (a contact and its `company_count`, a
//! company and its `contact_count`), in transactions DynamoDB accepts.
//!
//! Each link goes with what changes with it (the other side's count, a
//! reference to clear), atomically. The links are spread over transactions of
//! at most [`MAX_TRANSACTION_ITEMS`]; every transaction but the last also
//! lowers the record's count by the links it removes, and the last deletes
//! the record only while its count equals the links that transaction removes.
//! So every state in between has counts equal to links, and a link added
//! meanwhile refuses the delete (the caller re-reads and tries again) instead
//! of being orphaned.

use crate::store::write::{ItemWrite, MAX_TRANSACTION_ITEMS, WriteSet};
use crate::store::{Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) struct Cascade {
    /// The record's delete (with any conditions on what was read).
    pub record: ItemWrite,
    /// Its link count attribute.
    pub counter: &'static str,
    /// One group per link: the link's delete and what changes with it.
    pub links: Vec<Vec<ItemWrite>>,
    /// Written in the same transaction as the record's delete.
    pub with_record: Vec<ItemWrite>,
}

impl Cascade {
    /// The transactions, each a list of writes and the links it removes.
    fn batches(self) -> Vec<(Vec<ItemWrite>, i64)> {
        let Cascade {
            record,
            counter,
            links: groups,
            mut with_record,
        } = self;
        let mut batches: Vec<(Vec<ItemWrite>, i64)> = vec![(Vec::new(), 0)];
        for group in groups {
            let (batch, _) = batches.last().expect("one batch at least");
            // One item of every transaction is the record's own write.
            if batch.len() + group.len() + 1 > MAX_TRANSACTION_ITEMS {
                batches.push((Vec::new(), 0));
            }
            let (batch, links) = batches.last_mut().expect("one batch at least");
            batch.extend(group);
            *links += 1;
        }
        let (last, _) = batches.last().expect("one batch at least");
        if last.len() + with_record.len() + 1 > MAX_TRANSACTION_ITEMS {
            batches.push((Vec::new(), 0));
        }
        let count = batches.len();
        for (index, (batch, links)) in batches.iter_mut().enumerate() {
            if index + 1 < count {
                let mut update = ItemWrite::update(record.key().clone());
                update.add(counter, -*links);
                batch.push(update);
            } else {
                let mut delete = record.clone();
                delete.require_equals(counter, AttributeValue::N(links.to_string()));
                batch.push(delete);
                batch.append(&mut with_record);
            }
        }
        batches
    }

    /// Commits the transactions in order. `false` when one was refused: the
    /// ones before it stay applied (each left the counts right).
    pub(crate) async fn run(self, store: &Store) -> Result<bool, StoreError> {
        for (batch, _) in self.batches() {
            let mut writes = WriteSet::default();
            for (index, write) in batch.into_iter().enumerate() {
                writes.push(index, write);
            }
            if store.commit(writes).await?.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::Key;

    fn key(sk: &str) -> Key {
        Key {
            pk: "P#1".into(),
            sk: sk.into(),
        }
    }

    #[test]
    fn links_are_spread_over_transactions_within_the_limit() {
        let links = (0..150)
            .map(|i| {
                vec![
                    ItemWrite::delete(key(&format!("LINK#{i}"))),
                    ItemWrite::update(key(&format!("OTHER#{i}"))),
                ]
            })
            .collect();
        let cascade = Cascade {
            record: ItemWrite::delete(key("RECORD")),
            counter: "contact_count",
            links,
            with_record: vec![ItemWrite::delete(key("CLAIM"))],
        };
        let batches = cascade.batches();
        assert_eq!(batches.len(), 4);
        assert!(
            batches
                .iter()
                .all(|(b, _)| b.len() <= MAX_TRANSACTION_ITEMS)
        );
        let links: Vec<i64> = batches.iter().map(|(_, l)| *l).collect();
        assert_eq!(links, [49, 49, 49, 3]);
        assert_eq!(batches[3].0.len(), 3 * 2 + 1 + 1);
    }

    #[test]
    fn a_record_without_links_is_one_transaction() {
        let cascade = Cascade {
            record: ItemWrite::delete(key("RECORD")),
            counter: "company_count",
            links: Vec::new(),
            with_record: Vec::new(),
        };
        let batches = cascade.batches();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].0.len(), 1);
    }
}
