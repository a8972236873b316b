//! Linking contacts and companies by hand (`PUT`/`DELETE
//! /api/contacts/{id}/companies/{company_id}`), idempotently. Linking a real
//! company to a contact that holds a placeholder promotes the placeholder as
//! identify does (SPEC §4): its data moves to the company where the company has
//! none, it is unlinked, and deleted when no other contact uses it.

use crate::clock::Timestamp;
use crate::domain::{self, companies, contacts, placeholder};
use crate::error::ApiError;
use crate::model::{Company, Link, LinkSource};
use crate::store::keys;
use crate::store::links::UnlinkOutcome;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Link,
    Company,
    Contact,
    Placeholder,
    PlaceholderLink,
    Visitor(usize),
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
            .read_company(project_id, company_id)
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
            contact_count: company.contact_count + 1,
            updated_at: now,
            ..company.clone()
        };
        let mut carried = Vec::new();
        let mut contact_write = ItemWrite::check_exists(keys::contact(project_id, contact_id).key);
        contact_write.require_unchanged(
            "placeholder_company_id",
            contact.placeholder_company_id.as_deref(),
        );
        let placeholder_id = contact.placeholder_company_id.clone().filter(|id| {
            *id != company_id
                && !company.is_placeholder
                && links.iter().any(|l| l.company_id == *id)
        });
        if let Some(placeholder_id) = &placeholder_id {
            if let Some(held) = store.read_company(project_id, placeholder_id).await? {
                let deleting = held.contact_count <= 1;
                if deleting {
                    carried = placeholder::carry_over(&held, &mut new_company);
                    crate::validate::check_limits("metadata", &new_company.metadata)?;
                }
                writes.push(Tag::Placeholder, placeholder::retire(&held, deleting));
            }
            writes.push(
                Tag::PlaceholderLink,
                ItemWrite::delete(keys::link(project_id, contact_id, placeholder_id).key),
            );
            contact_write = ItemWrite::update(keys::contact(project_id, contact_id).key);
            contact_write
                .remove("placeholder_company_id")
                .set_text("updated_at", now.to_string())
                .require_unchanged("placeholder_company_id", Some(placeholder_id));
            let visitors = store.contact_visitors(project_id, contact_id).await?;
            for (index, visitor) in visitors.iter().enumerate() {
                if visitor.active_company_id.as_deref() == Some(placeholder_id) {
                    let mut write =
                        ItemWrite::update(keys::visitor(project_id, &visitor.visitor_id, None).key);
                    write
                        .set_text("active_company_id", company_id)
                        .require_equals(
                            "active_company_id",
                            AttributeValue::S(placeholder_id.clone()),
                        );
                    writes.push(Tag::Visitor(index), write);
                }
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

/// Unlinks (idempotent): `false` when they were not linked.
pub async fn unlink(
    store: &Store,
    project_id: &str,
    contact_id: &str,
    company_id: &str,
) -> Result<bool, ApiError> {
    if store.get_contact(project_id, contact_id).await?.is_none() {
        return Err(contacts::not_found());
    }
    Ok(store.unlink(project_id, contact_id, company_id).await? == UnlinkOutcome::Unlinked)
}
