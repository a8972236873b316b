//! Old record → new record, as the smallest conditional update: only the
//! attributes that differ are written (so an identical request writes
//! nothing), map attributes change entry by entry, and index keys follow the
//! record. What the new state was decided on is asserted: a changed map must
//! still be the map that was read (so the merged result is exactly the one
//! validated against the key and size limits; a concurrent merge makes the
//! loser re-read and merge again, so both survive), and a changed identity
//! or visitor link must still be the value read.

use super::StoreError;
use super::keys::{Index, ItemKeys};
use super::pipeline::TotalsChange;
use super::record::{Record, attribute, to_item};
use super::write::ItemWrite;
use crate::model::{Attributes, Company, Contact, SearchEntry, SearchTerm, Visitor};
use serde::Serialize;

/// A record that does not exist yet: `attribute_not_exists(pk)`.
pub fn create<R: Record>(record: &R) -> Result<ItemWrite, StoreError> {
    let mut write = ItemWrite::create(record.keys().key, to_item(record)?);
    write.with_totals(record.totals_when_created());
    for entry in record.entries_when_created()? {
        write.with_companion(entry);
    }
    Ok(write)
}

/// Entry items going from `old` to `new`: puts of the ones only in `new`,
/// deletes of the ones only in `old`. An entry is its key, so writing or
/// deleting one twice is doing it once.
pub fn entries<E: Record + PartialEq>(
    old: &[E],
    new: &[E],
) -> Result<(Vec<ItemWrite>, Vec<ItemWrite>), StoreError> {
    let puts = new
        .iter()
        .filter(|e| !old.contains(e))
        .map(|e| Ok(ItemWrite::overwrite(e.keys().key, to_item(e)?)))
        .collect::<Result<_, StoreError>>()?;
    let deletes = old
        .iter()
        .filter(|e| !new.contains(e))
        .map(|e| ItemWrite::delete_any(e.keys().key))
        .collect();
    Ok((puts, deletes))
}

/// Search entries of a contact whose terms go from `old` to `new`.
pub fn search_entries(
    contact: &Contact,
    old: &[SearchTerm],
    new: &[SearchTerm],
) -> Result<Vec<ItemWrite>, StoreError> {
    let entries = |terms: &[SearchTerm]| -> Vec<SearchEntry> {
        terms
            .iter()
            .map(|t| SearchEntry {
                project_id: contact.project_id.clone(),
                term: t.term.clone(),
                depth: t.depth,
                contact_id: contact.id.clone(),
            })
            .collect()
    };
    let (puts, deletes) = self::entries(&entries(old), &entries(new))?;
    Ok(deletes.into_iter().chain(puts).collect())
}

/// Deletes a company as read: its stage and deal value must still be the
/// ones read, so that what leaves the pipeline totals is what it counted.
pub fn delete_company(company: &Company) -> Result<ItemWrite, StoreError> {
    let mut write = ItemWrite::delete(company.keys().key);
    write
        .require_same("stage_id", attribute(&company.stage_id)?)
        .require_same("deal_value", attribute(&company.deal_value)?)
        .with_totals(TotalsChange::of(Some(company), None));
    Ok(write)
}

/// Map entries changed one by one at most; beyond, the map is written whole.
const MAX_ENTRY_CHANGES: usize = 32;

struct Diff {
    write: ItemWrite,
    changed: bool,
    old_keys: ItemKeys,
    new_keys: ItemKeys,
}

impl Diff {
    fn new(old: &impl Record, new: &impl Record) -> Self {
        let new_keys = new.keys();
        Diff {
            write: ItemWrite::update(new_keys.key.clone()),
            changed: false,
            old_keys: old.keys(),
            new_keys,
        }
    }

    fn field<T: Serialize + PartialEq>(
        &mut self,
        name: &str,
        old: &T,
        new: &T,
    ) -> Result<(), StoreError> {
        if old == new {
            return Ok(());
        }
        self.changed = true;
        match attribute(new)? {
            Some(value) => self.write.set(name, value),
            None => self.write.remove(name),
        };
        Ok(())
    }

    /// Entry-by-entry changes, on the condition that the stored map is still
    /// the one read.
    fn entries(&mut self, map: &str, old: &Attributes, new: &Attributes) -> Result<(), StoreError> {
        if old == new {
            return Ok(());
        }
        self.changed = true;
        self.write.require_same(map, attribute(old)?);
        let changes = new.iter().filter(|(k, v)| old.get(*k) != Some(v)).count()
            + old.keys().filter(|k| !new.contains_key(*k)).count();
        if changes > MAX_ENTRY_CHANGES {
            // One clause for the whole map keeps the update expression far
            // within DynamoDB's 4 KB (100 removals and 100 additions written
            // entry by entry would not be); the condition above makes it
            // the same change.
            if let Some(whole) = attribute(new)? {
                self.write.set(map, whole);
            }
            return Ok(());
        }
        for (key, value) in new {
            if old.get(key) != Some(value)
                && let Some(value) = attribute(value)?
            {
                self.write.set_entry(map, key, value);
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            self.write.remove_entry(map, key);
        }
        Ok(())
    }

    /// Sets `updated_at` and the index keys that changed with the record,
    /// when anything changed at all.
    fn finish(mut self, updated_at: &impl Serialize) -> Result<ItemWrite, StoreError> {
        if !self.changed {
            return Ok(self.write);
        }
        if let Some(value) = attribute(updated_at)? {
            self.write.set("updated_at", value);
        }
        for index in Index::ALL {
            let new = self.new_keys.index(index);
            if self.old_keys.index(index) == new {
                continue;
            }
            let (pk, sk) = (index.partition_key(), index.sort_key());
            match new {
                Some(key) => {
                    self.write
                        .set_text(pk, key.pk.clone())
                        .set_text(sk, key.sk.clone());
                }
                None => {
                    self.write.remove(pk).remove(sk);
                }
            }
        }
        Ok(self.write)
    }
}

/// A changed contact or active company must still be the one read.
pub fn visitor(old: &Visitor, new: &Visitor) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(old, new);
    if old.contact_id != new.contact_id || old.active_company_id != new.active_company_id {
        diff.write
            .require_unchanged("contact_id", old.contact_id.as_deref())
            .require_unchanged("active_company_id", old.active_company_id.as_deref());
    }
    diff.field("contact_id", &old.contact_id, &new.contact_id)?;
    diff.field(
        "active_company_id",
        &old.active_company_id,
        &new.active_company_id,
    )?;
    diff.field("last_seen_at", &old.last_seen_at, &new.last_seen_at)?;
    diff.entries("properties", &old.properties, &new.properties)?;
    diff.finish(&new.updated_at)
}

/// Everything but `company_count`, which only link writes change (with
/// `ADD`). A changed email or user_id must still be the one read (their
/// claims are taken and released on it), and so must changed tags (their
/// entries are written and deleted on it).
pub fn contact(old: &Contact, new: &Contact) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(old, new);
    if old.email != new.email {
        diff.write.require_unchanged("email", old.email.as_deref());
    }
    if old.user_id != new.user_id {
        diff.write
            .require_unchanged("user_id", old.user_id.as_deref());
    }
    // Search entries follow the terms read, so a changed name must still
    // be the one read too (a changed email already is).
    let (old_terms, new_terms) = (old.search_terms(), new.search_terms());
    if old_terms != new_terms {
        diff.write.require_same("name", attribute(&old.name)?);
    }
    diff.field("name", &old.name, &new.name)?;
    diff.field("email", &old.email, &new.email)?;
    for entry in search_entries(new, &old_terms, &new_terms)? {
        diff.write.with_companion(entry);
    }
    diff.field("user_id", &old.user_id, &new.user_id)?;
    diff.field("phone", &old.phone, &new.phone)?;
    diff.field("notes", &old.notes, &new.notes)?;
    if old.tags != new.tags {
        diff.write.require_same("tags", attribute(&old.tags)?);
    }
    diff.field("tags", &old.tags, &new.tags)?;
    diff.entries("metadata", &old.metadata, &new.metadata)?;
    diff.field(
        "placeholder_company_id",
        &old.placeholder_company_id,
        &new.placeholder_company_id,
    )?;
    diff.finish(&new.updated_at)
}

/// Everything but `contact_count`, which only link writes change (with
/// `ADD`), and only while the company's delete has not begun. A changed
/// stage or deal value moves the pipeline totals in the same transaction,
/// on the condition that both are still the ones read. Changed notes must
/// be the ones read too: a note added (`companies::add_note`) is the notes
/// read and one more, so two added at once both stay.
pub fn company(old: &Company, new: &Company) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(old, new);
    diff.write.require_absent("deleting");
    if old.stage_id != new.stage_id || old.deal_value != new.deal_value {
        diff.write
            .require_same("stage_id", attribute(&old.stage_id)?)
            .require_same("deal_value", attribute(&old.deal_value)?)
            .with_totals(TotalsChange::of(Some(old), Some(new)));
    }
    if old.notes != new.notes {
        diff.write.require_same("notes", attribute(&old.notes)?);
    }
    diff.field("name", &old.name, &new.name)?;
    diff.field("domain", &old.domain, &new.domain)?;
    diff.field("industry", &old.industry, &new.industry)?;
    diff.field("stage_id", &old.stage_id, &new.stage_id)?;
    diff.field(
        "stage_changed_at",
        &old.stage_changed_at,
        &new.stage_changed_at,
    )?;
    diff.field("deal_value", &old.deal_value, &new.deal_value)?;
    diff.field("notes", &old.notes, &new.notes)?;
    diff.field("is_placeholder", &old.is_placeholder, &new.is_placeholder)?;
    diff.entries("metadata", &old.metadata, &new.metadata)?;
    diff.entries("enrichment", &old.enrichment, &new.enrichment)?;
    diff.finish(&new.updated_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::model::Scalar;

    #[test]
    fn many_changed_entries_write_the_map_whole_on_the_map_read() {
        let old = Contact {
            metadata: (0..100)
                .map(|i| (format!("old_key_{i:03}"), Scalar::Number(i.into())))
                .collect(),
            ..Contact::new("pr_1", Timestamp::now())
        };
        let new = Contact {
            metadata: (0..100)
                .map(|i| (format!("new_key_{i:03}"), Scalar::Bool(true)))
                .collect(),
            ..old.clone()
        };
        // 200 entries changed: one clause, well within DynamoDB's 4 KB for
        // an expression (which DynamoDB Local does not enforce).
        let whole = contact(&old, &new).unwrap().update_expression();
        assert!(whole.len() < 4096, "{} bytes", whole.len());
        assert_eq!(whole, "SET #n1 = :v1, #n2 = :v2");
        // A few stay entry by entry: only what changed is written.
        let mut few = old.clone();
        few.metadata.insert("extra".into(), Scalar::Bool(false));
        let one = contact(&old, &few).unwrap().update_expression();
        assert_eq!(one, "SET #n1.#n2 = :v1, #n3 = :v2");
    }
}
