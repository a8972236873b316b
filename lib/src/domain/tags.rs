//! The contacts of a tag: one entry item per (tag, contact) in the tag's own
//! partition (`keys::tag_entry`), read consistently and verified against the
//! contacts it names. A contact's `tags` field is the truth; entries follow
//! it in the same transaction when they fit in one (up to 100 items; a
//! contact has up to 100 tags, so replacing them all is 200 entry writes).
//! When they do not fit, entries are added before the contact changes and
//! removed after, so an entry exists for every tag a contact has at every
//! moment; a removal runs only while the contact's tags are still the ones
//! written (a concurrent change that re-added the tag keeps its entry). An
//! entry left behind (a request cut short, a concurrent delete) names a
//! contact without the tag, which the listing leaves out.

use crate::model::TagEntry;
use crate::store::keys;
use crate::store::record::attribute;
use crate::store::write::{ItemWrite, MAX_TRANSACTION_ITEMS, WriteSet};
use crate::store::{Store, StoreError, changes};

/// Entry writes for a contact's tags going from `old` to `new`.
#[derive(Debug, Default)]
pub(crate) struct TagChanges {
    pub puts: Vec<ItemWrite>,
    pub deletes: Vec<ItemWrite>,
}

impl TagChanges {
    pub fn between(
        project_id: &str,
        contact_id: &str,
        old: &[String],
        new: &[String],
    ) -> Result<Self, StoreError> {
        let entries = |tags: &[String]| -> Vec<TagEntry> {
            tags.iter()
                .map(|tag| TagEntry {
                    project_id: project_id.to_owned(),
                    tag: tag.clone(),
                    contact_id: contact_id.to_owned(),
                })
                .collect()
        };
        let (puts, deletes) = changes::entries(&entries(old), &entries(new))?;
        Ok(TagChanges { puts, deletes })
    }

    /// Adds the entry writes to `writes` when all fit in its transaction;
    /// otherwise writes the new entries now (idempotent) and returns the
    /// removals, for [`TagChanges::finish`] once `writes` committed.
    pub async fn stage<T: Copy + PartialEq + std::fmt::Debug>(
        self,
        store: &Store,
        writes: &mut WriteSet<T>,
        tag: T,
    ) -> Result<Vec<ItemWrite>, StoreError> {
        if writes.len() + self.puts.len() + self.deletes.len() <= MAX_TRANSACTION_ITEMS {
            for write in self.puts.into_iter().chain(self.deletes) {
                writes.push(tag, write);
            }
            return Ok(Vec::new());
        }
        commit_all(store, self.puts, None).await?;
        Ok(self.deletes)
    }

    /// Removes entries left by [`TagChanges::stage`], only while the
    /// contact's tags are still `tags`.
    pub async fn finish(
        store: &Store,
        project_id: &str,
        contact_id: &str,
        tags: &[String],
        deletes: Vec<ItemWrite>,
    ) -> Result<(), StoreError> {
        if deletes.is_empty() {
            return Ok(());
        }
        let mut unchanged = ItemWrite::check_exists(keys::contact(project_id, contact_id).key);
        unchanged.require_same("tags", attribute(&tags)?);
        commit_all(store, deletes, Some(unchanged)).await
    }
}

/// Commits `writes` in transactions within DynamoDB's limit, each with
/// `check` when given; a transaction whose check fails is skipped.
pub(crate) async fn commit_all(
    store: &Store,
    writes: Vec<ItemWrite>,
    check: Option<ItemWrite>,
) -> Result<(), StoreError> {
    let room = MAX_TRANSACTION_ITEMS - usize::from(check.is_some());
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let mut set = WriteSet::default();
        if let Some(check) = &check {
            set.push(0, check.clone());
        }
        for (index, write) in writes.by_ref().take(room).enumerate() {
            set.push(index + 1, write);
        }
        if store.commit(set).await?.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Deletes every entry of a deleted contact's `tags` (idempotent).
pub(crate) async fn forget(
    store: &Store,
    project_id: &str,
    contact_id: &str,
    tags: &[String],
) -> Result<(), StoreError> {
    let deletes = TagChanges::between(project_id, contact_id, tags, &[])?.deletes;
    commit_all(store, deletes, None).await
}
