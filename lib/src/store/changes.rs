//! Old record → new record, as the smallest conditional update: only the
//! attributes that differ are written (so an identical request writes
//! nothing), map attributes change entry by entry (so concurrent merges of
//! different keys both survive), and index keys follow the record.

use super::StoreError;
use super::keys::{GSI1_PK, GSI1_SK, ItemKeys};
use super::record::{Record, to_item};
use super::write::ItemWrite;
use crate::model::{Attributes, Company, Contact, Visitor};
use crate::validate::MAX_ATTRIBUTE_KEYS;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

/// A record that does not exist yet: `attribute_not_exists(pk)`.
pub fn create<R: Record>(record: &R) -> Result<ItemWrite, StoreError> {
    Ok(ItemWrite::create(record.keys().key, to_item(record)?))
}

struct Diff {
    write: ItemWrite,
    changed: bool,
}

impl Diff {
    fn new(keys: ItemKeys) -> Self {
        Diff {
            write: ItemWrite::update(keys.key),
            changed: false,
        }
    }

    fn field<T: Serialize + PartialEq>(
        &mut self,
        attribute: &str,
        old: &T,
        new: &T,
    ) -> Result<(), StoreError> {
        if old == new {
            return Ok(());
        }
        self.changed = true;
        let value: AttributeValue = serde_dynamo::to_attribute_value(new)
            .map_err(|_| StoreError::Corrupt { entity: "field" })?;
        if value.is_null() {
            self.write.remove(attribute);
        } else {
            self.write.set(attribute, value);
        }
        Ok(())
    }

    /// Entry-by-entry changes. When keys are added, the write also requires
    /// that the stored map is still small enough for them, so concurrent
    /// merges can never push a record past the key limit.
    fn entries(
        &mut self,
        attribute: &str,
        old: &Attributes,
        new: &Attributes,
    ) -> Result<(), StoreError> {
        let added = new.keys().filter(|k| !old.contains_key(*k)).count();
        let removed = old.keys().filter(|k| !new.contains_key(*k)).count();
        if added > 0 {
            let room = (MAX_ATTRIBUTE_KEYS + removed).saturating_sub(added);
            self.write.require_size_at_most(attribute, room);
        }
        for (key, value) in new {
            if old.get(key) != Some(value) {
                let value: AttributeValue =
                    serde_dynamo::to_attribute_value(value).map_err(|_| StoreError::Corrupt {
                        entity: "attribute",
                    })?;
                self.write.set_entry(attribute, key, value);
                self.changed = true;
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            self.write.remove_entry(attribute, key);
            self.changed = true;
        }
        Ok(())
    }

    fn index_keys(&mut self, old: &ItemKeys, new: &ItemKeys) {
        if old.gsi1 == new.gsi1 {
            return;
        }
        self.changed = true;
        match &new.gsi1 {
            Some(index) => {
                self.write
                    .set_text(GSI1_PK, index.pk.clone())
                    .set_text(GSI1_SK, index.sk.clone());
            }
            None => {
                self.write.remove(GSI1_PK).remove(GSI1_SK);
            }
        }
    }

    fn finish(mut self, updated_at: &impl Serialize) -> Result<ItemWrite, StoreError> {
        if self.changed {
            let value: AttributeValue = serde_dynamo::to_attribute_value(updated_at)
                .map_err(|_| StoreError::Corrupt { entity: "field" })?;
            self.write.set("updated_at", value);
        }
        Ok(self.write)
    }
}

pub fn visitor(old: &Visitor, new: &Visitor) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(new.keys());
    diff.field("contact_id", &old.contact_id, &new.contact_id)?;
    diff.field(
        "active_company_id",
        &old.active_company_id,
        &new.active_company_id,
    )?;
    diff.field("last_seen_at", &old.last_seen_at, &new.last_seen_at)?;
    diff.entries("properties", &old.properties, &new.properties)?;
    diff.index_keys(&old.keys(), &new.keys());
    diff.finish(&new.updated_at)
}

pub fn contact(old: &Contact, new: &Contact) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(new.keys());
    diff.field("name", &old.name, &new.name)?;
    diff.field("email", &old.email, &new.email)?;
    diff.field("user_id", &old.user_id, &new.user_id)?;
    diff.field("phone", &old.phone, &new.phone)?;
    diff.field("notes", &old.notes, &new.notes)?;
    diff.field("tags", &old.tags, &new.tags)?;
    diff.entries("metadata", &old.metadata, &new.metadata)?;
    diff.field(
        "placeholder_company_id",
        &old.placeholder_company_id,
        &new.placeholder_company_id,
    )?;
    diff.finish(&new.updated_at)
}

/// Everything but `contact_count`, which only link writes change (with `ADD`).
pub fn company(old: &Company, new: &Company) -> Result<ItemWrite, StoreError> {
    let mut diff = Diff::new(new.keys());
    diff.field("name", &old.name, &new.name)?;
    diff.field("domain", &old.domain, &new.domain)?;
    diff.field("industry", &old.industry, &new.industry)?;
    diff.field("stage_id", &old.stage_id, &new.stage_id)?;
    diff.field("deal_value", &old.deal_value, &new.deal_value)?;
    diff.field("notes", &old.notes, &new.notes)?;
    diff.field("is_placeholder", &old.is_placeholder, &new.is_placeholder)?;
    diff.entries("metadata", &old.metadata, &new.metadata)?;
    diff.entries("enrichment", &old.enrichment, &new.enrichment)?;
    diff.finish(&new.updated_at)
}
