//! Contacts and their uniqueness claims.

use super::keys::{self, Item};
use super::record::from_item;
use super::write::{ItemWrite, WriteSet};
use super::{Store, StoreError, bounded, changes};
use crate::model::{Claim, ClaimKind, Contact, Link};
use aws_sdk_dynamodb::types::AttributeValue;

/// What became of a contact creation.
#[derive(Debug, PartialEq)]
pub enum CreateContact {
    Created,
    /// Another contact holds the email and/or user id; nothing was written.
    /// The owners come from the cancelled claims' old images.
    Taken {
        email_owner: Option<String>,
        user_id_owner: Option<String>,
    },
}

/// Which item of a contact creation a write is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Contact,
    Claim(ClaimKind),
    Entry,
}

impl Store {
    /// Creates a contact and its email / user-id claims in one transaction,
    /// with `entries` (its tag entries, when they fit). Each claim is
    /// `attribute_not_exists(pk)`, so of any number of writers racing for
    /// one identity exactly one succeeds and the others learn the winner
    /// from the refused claims' old images.
    pub async fn create_contact(
        &self,
        contact: &Contact,
        entries: Vec<ItemWrite>,
    ) -> Result<CreateContact, StoreError> {
        let mut writes = WriteSet::default();
        writes.push(Tag::Contact, changes::create(contact)?);
        for entry in entries {
            writes.push(Tag::Entry, entry);
        }
        for (kind, value) in [
            (ClaimKind::Email, &contact.email),
            (ClaimKind::UserId, &contact.user_id),
        ] {
            if let Some(value) = value {
                let claim = Claim {
                    project_id: contact.project_id.clone(),
                    kind,
                    value: value.clone(),
                    contact_id: contact.id.clone(),
                };
                writes.push(Tag::Claim(kind), changes::create(&claim)?);
            }
        }
        let Err(refused) = self.commit(writes).await? else {
            return Ok(CreateContact::Created);
        };
        let owner = |kind| {
            let old = refused.old(Tag::Claim(kind))?;
            from_item::<Claim>(old.clone()).ok().map(|c| c.contact_id)
        };
        match (owner(ClaimKind::Email), owner(ClaimKind::UserId)) {
            (None, None) => Err(StoreError::Other(
                "contact creation refused without a taken claim".into(),
            )),
            (email_owner, user_id_owner) => Ok(CreateContact::Taken {
                email_owner,
                user_id_owner,
            }),
        }
    }

    pub async fn get_contact(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        self.get(&keys::contact(project_id, contact_id).key).await
    }

    /// The claim on an email or user id.
    pub async fn get_claim(
        &self,
        project_id: &str,
        kind: ClaimKind,
        value: &str,
    ) -> Result<Option<Claim>, StoreError> {
        let keys = match kind {
            ClaimKind::Email => keys::email_claim(project_id, value),
            ClaimKind::UserId => keys::user_id_claim(project_id, value),
        };
        self.get(&keys.key).await
    }

    /// A contact and its company links: one Query on the contact's item collection.
    pub async fn get_contact_with_links(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Option<(Contact, Vec<Link>)>, StoreError> {
        let mut contact = None;
        let mut links = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let call = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::contact_collection(project_id, contact_id)),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send();
            let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
            for item in output.items.unwrap_or_default() {
                let is_link = item
                    .get(keys::SK)
                    .and_then(|sk| sk.as_s().ok())
                    .is_some_and(|sk| sk.starts_with(keys::LINK_PREFIX));
                if is_link {
                    links.push(from_item::<Link>(item)?);
                } else {
                    contact = Some(from_item::<Contact>(item)?);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(contact.map(|contact| (contact, links)))
    }
}
