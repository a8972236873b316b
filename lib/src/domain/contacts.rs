//! Contacts managed directly (account and v1 routes): create and update write
//! the contact's own fields only; email and user_id stay unique through claim
//! items changed in the same transaction; delete removes its links (the
//! companies' counts with them) and claims but deletes no company. Visitors
//! are not rewritten: a visitor whose contact is gone reads as unidentified
//! (`domain::visitors`), so the delete stays bounded by the links.

use crate::clock::Timestamp;
use crate::domain;
use crate::domain::cascade::Cascade;
use crate::domain::tags::{self, TagChanges};
use crate::error::ApiError;
use crate::model::{Claim, ClaimKind, Contact};
use crate::store::contacts::CreateContact;
use crate::store::keys;
use crate::store::record::attribute;
use crate::store::write::{ItemWrite, MAX_TRANSACTION_ITEMS, WriteSet};
use crate::store::{Store, changes};
use crate::validate::{self, AttributesPatch};
use aws_sdk_dynamodb::types::AttributeValue;

/// Fields a request sets: `Some(None)` clears, `None` leaves as is.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub user_id: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<AttributesPatch>,
}

impl Fields {
    fn apply(&self, contact: &mut Contact) -> Result<(), ApiError> {
        let set = |field: &mut Option<String>, value: &Option<Option<String>>| {
            if let Some(value) = value {
                field.clone_from(value);
            }
        };
        set(&mut contact.name, &self.name);
        set(&mut contact.email, &self.email);
        set(&mut contact.user_id, &self.user_id);
        set(&mut contact.phone, &self.phone);
        set(&mut contact.notes, &self.notes);
        if let Some(tags) = &self.tags {
            contact.tags.clone_from(tags);
        }
        if let Some(patch) = &self.metadata {
            contact.metadata = validate::merge("metadata", &contact.metadata, patch)?;
        }
        Ok(())
    }
}

pub fn not_found() -> ApiError {
    ApiError::not_found("contact_not_found", "no such contact")
}

fn in_use(kind: ClaimKind) -> ApiError {
    match kind {
        ClaimKind::Email => ApiError::conflict("email_in_use", "another contact has this email"),
        ClaimKind::UserId => {
            ApiError::conflict("user_id_in_use", "another contact has this user_id")
        }
    }
}

/// Creates a contact with its claims and, when they fit in the same
/// transaction, its tag entries (else they are written first).
pub async fn create(store: &Store, project_id: &str, fields: &Fields) -> Result<Contact, ApiError> {
    let mut contact = Contact::new(project_id, Timestamp::now());
    fields.apply(&mut contact)?;
    let entries = TagChanges::between(project_id, &contact.id, &[], &contact.tags)?.puts;
    // The contact and its two claims at most, with the entries.
    let entries = if entries.len() + 3 <= MAX_TRANSACTION_ITEMS {
        entries
    } else {
        tags::commit_all(store, entries, None).await?;
        Vec::new()
    };
    // Refused: entries written first name a contact that never was, which
    // the tag listing leaves out.
    match store.create_contact(&contact, entries).await? {
        CreateContact::Created => Ok(contact),
        CreateContact::Taken {
            email_owner: Some(_),
            ..
        } => Err(in_use(ClaimKind::Email)),
        CreateContact::Taken { .. } => Err(in_use(ClaimKind::UserId)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Contact,
    Release(ClaimKind),
    Claim(ClaimKind),
    Entry,
}

/// Changes a contact's fields. A changed email or user_id releases the old
/// claim and takes the new one in the same transaction as the contact.
pub async fn update(
    store: &Store,
    project_id: &str,
    contact_id: &str,
    fields: &Fields,
) -> Result<Contact, ApiError> {
    domain::until_committed(|| async {
        let old = store
            .get_contact(project_id, contact_id)
            .await?
            .ok_or_else(not_found)?;
        let mut new = old.clone();
        fields.apply(&mut new)?;
        new.updated_at = Timestamp::now();
        let mut writes = WriteSet::default();
        writes.push(Tag::Contact, changes::contact(&old, &new)?);
        for (kind, before, after) in [
            (ClaimKind::Email, &old.email, &new.email),
            (ClaimKind::UserId, &old.user_id, &new.user_id),
        ] {
            if before == after {
                continue;
            }
            if let Some(before) = before {
                writes.push(
                    Tag::Release(kind),
                    release(project_id, kind, before, contact_id),
                );
            }
            if let Some(after) = after {
                let claim = Claim {
                    project_id: project_id.to_owned(),
                    kind,
                    value: after.to_string(),
                    contact_id: contact_id.to_owned(),
                };
                writes.push(Tag::Claim(kind), changes::create(&claim)?);
            }
        }
        let left = TagChanges::between(project_id, contact_id, &old.tags, &new.tags)?
            .stage(store, &mut writes, Tag::Entry)
            .await?;
        match store.commit(writes).await? {
            Ok(()) => {
                TagChanges::finish(store, project_id, contact_id, &new.tags, left).await?;
                Ok(Some(new))
            }
            Err(refused) if refused.failed(Tag::Claim(ClaimKind::Email)) => {
                Err(in_use(ClaimKind::Email))
            }
            Err(refused) if refused.failed(Tag::Claim(ClaimKind::UserId)) => {
                Err(in_use(ClaimKind::UserId))
            }
            Err(_) => Ok(None),
        }
    })
    .await
}

/// Deletes a claim, only while `contact_id` owns it.
fn release(project_id: &str, kind: ClaimKind, value: &str, contact_id: &str) -> ItemWrite {
    let key = match kind {
        ClaimKind::Email => keys::email_claim(project_id, value).key,
        ClaimKind::UserId => keys::user_id_claim(project_id, value).key,
    };
    let mut write = ItemWrite::delete(key);
    write.require_equals("contact_id", AttributeValue::S(contact_id.to_owned()));
    write
}

/// Deletes a contact: its links (each company's count with it), then the
/// contact and its claims (the email and user_id are free again), in
/// transactions within DynamoDB's limit (`domain::cascade`). No company is
/// deleted, a placeholder included.
pub async fn delete(store: &Store, project_id: &str, contact_id: &str) -> Result<(), ApiError> {
    domain::until_committed(|| async {
        let (contact, links) = store
            .get_contact_with_links(project_id, contact_id)
            .await?
            .ok_or_else(not_found)?;
        let links = links
            .iter()
            .map(|link| {
                let mut company =
                    ItemWrite::update(keys::company(project_id, &link.company_id).key);
                company.add("contact_count", -1);
                vec![
                    ItemWrite::delete(keys::link(project_id, contact_id, &link.company_id).key),
                    company,
                ]
            })
            .collect();
        let mut with_record = Vec::new();
        if let Some(email) = &contact.email {
            with_record.push(release(project_id, ClaimKind::Email, email, contact_id));
        }
        if let Some(user_id) = &contact.user_id {
            with_record.push(release(project_id, ClaimKind::UserId, user_id, contact_id));
        }
        with_record.extend(changes::search_entries(
            &contact,
            &contact.search_terms(),
            &[],
        )?);
        // Its search and tag entries go as read: the name and tags must
        // still be those (the email is, through its claim's release).
        let mut record = ItemWrite::delete(keys::contact(project_id, contact_id).key);
        record
            .require_same("name", attribute(&contact.name)?)
            .require_same("tags", attribute(&contact.tags)?);
        let cascade = Cascade {
            record,
            counter: "company_count",
            links,
            with_record,
        };
        if !cascade.run(store).await? {
            return Ok(None);
        }
        tags::forget(store, project_id, contact_id, &contact.tags).await?;
        Ok(Some(()))
    })
    .await
}
