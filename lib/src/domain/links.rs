//! Linking contacts and companies by hand (`PUT`/`DELETE
//! /api/contacts/{id}/companies/{company_id}`), idempotently. A link item and
//! both sides' counts change in one transaction. Linking a real company to a
//! contact that holds a placeholder promotes the placeholder as identify does
//! (SPEC §4): its data moves to the company where the company has none, it is
//! unlinked, and deleted when no other contact uses it, conditional on the
//! placeholder as read.

use crate::clock::Timestamp;
use crate::domain::{self, companies, contacts, placeholder};
use crate::error::ApiError;
use crate::model::{Company, Link, LinkSource};
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Link,
    Company,
    Contact,
    Placeholder,
    PlaceholderLink,
}

/// Links a contact to a company; `false` when they were linked already.
pub async fn link(
    store: &Store,
    project_id: &str,
    contact_id: &str,
    company_id: &str,
) -> Result<bool, ApiError> {
    domain::until_committed(|| async {
        let (contact, links) = store
            .get_contact_with_links(project_id, contact_id)
            .await?
            .ok_or_else(contacts::not_found)?;
        let company = store
            .get_company(project_id, company_id)
            .await?
            .ok_or_else(companies::not_found)?;
        if links.iter().any(|l| l.company_id == company_id) {
            return Ok(Some(false));
        }
        let now = Timestamp::now();
        let link = Link {
            project_id: project_id.to_owned(),
            contact_id: contact_id.to_owned(),
            company_id: company_id.to_owned(),
            source: LinkSource::Manual,
            created_at: now,
        };
        let mut writes = WriteSet::default();
        writes.push(Tag::Link, changes::create(&link)?);
        let mut new_company = Company {
            updated_at: now,
            ..company.clone()
        };
        let mut carried = Vec::new();
        let mut contact_write = ItemWrite::update(keys::contact(project_id, contact_id).key);
        contact_write.require_unchanged(
            "placeholder_company_id",
            contact.placeholder_company_id.as_deref(),
        );
        let promoted = contact.placeholder_company_id.clone().filter(|id| {
            *id != company_id
                && !company.is_placeholder
                && links.iter().any(|l| l.company_id == *id)
        });
        match &promoted {
            None => {
                contact_write.add("company_count", 1);
            }
            // One link in, one out: the contact's count stays.
            Some(placeholder_id) => {
                if let Some(held) = store.get_company(project_id, placeholder_id).await? {
                    let deleting = held.contact_count <= 1;
                    if deleting {
                        carried = placeholder::carry_over(&held, &mut new_company);
                        validate::check_limits("metadata", &new_company.metadata)?;
                        validate::check_limits("enrichment", &new_company.enrichment)?;
                    }
                    writes.push(Tag::Placeholder, placeholder::retire(&held, deleting)?);
                }
                writes.push(
                    Tag::PlaceholderLink,
                    ItemWrite::delete(keys::link(project_id, contact_id, placeholder_id).key),
                );
                contact_write
                    .remove("placeholder_company_id")
                    .set_text("updated_at", now.to_string());
            }
        }
        let mut company_write = changes::company(&company, &new_company)?;
        company_write.add("contact_count", 1);
        for field in carried {
            company_write.require_absent(field);
        }
        writes.push(Tag::Company, company_write);
        writes.push(Tag::Contact, contact_write);
        Ok(store.commit(writes).await?.ok().map(|()| true))
    })
    .await
}

/// Unlinks (idempotent): `false` when they were not linked. Unlinking the
/// contact's placeholder also drops the contact's reference to it (the
/// company stays, with one contact fewer).
pub async fn unlink(
    store: &Store,
    project_id: &str,
    contact_id: &str,
    company_id: &str,
) -> Result<bool, ApiError> {
    domain::until_committed(|| async {
        let (contact, links) = store
            .get_contact_with_links(project_id, contact_id)
            .await?
            .ok_or_else(contacts::not_found)?;
        if !links.iter().any(|l| l.company_id == company_id) {
            return Ok(Some(false));
        }
        let mut writes = WriteSet::default();
        writes.push(
            Tag::Link,
            ItemWrite::delete(keys::link(project_id, contact_id, company_id).key),
        );
        let mut company = ItemWrite::update(keys::company(project_id, company_id).key);
        company
            .add("contact_count", -1)
            .set_text("updated_at", Timestamp::now().to_string());
        writes.push(Tag::Company, company);
        let mut contact_write = ItemWrite::update(keys::contact(project_id, contact_id).key);
        contact_write.add("company_count", -1);
        if contact.placeholder_company_id.as_deref() == Some(company_id) {
            contact_write
                .remove("placeholder_company_id")
                .require_unchanged("placeholder_company_id", Some(company_id));
        }
        writes.push(Tag::Contact, contact_write);
        Ok(store.commit(writes).await?.ok().map(|()| true))
    })
    .await
}
