//! The contact–company junction. A link item and its company's
//! `contact_count` change together in one transaction, so the count always
//! equals the number of link items.

use super::keys;
use super::record::to_item;
use super::{Store, StoreError, Values};
use crate::clock::Timestamp;
use crate::model::Link;
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    AlreadyLinked,
    CompanyMissing,
    ContactMissing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlinkOutcome {
    Unlinked,
    NotLinked,
}

const LINK_ITEM: usize = 0;
const COMPANY_ITEM: usize = 1;
const CONTACT_ITEM: usize = 2;

impl Store {
    /// Links a contact to a company (idempotent): the link is put only if absent,
    /// the company's count goes up only with it, and both records must exist.
    pub async fn link(&self, link: &Link) -> Result<LinkOutcome, StoreError> {
        let company = keys::company(&link.project_id, &link.company_id).key;
        let contact = keys::contact(&link.project_id, &link.contact_id).key;
        let items = vec![
            self.tx_put(to_item(link)?, "attribute_not_exists(pk)")?,
            self.tx_update(
                &company,
                "ADD contact_count :one SET updated_at = :now",
                "attribute_exists(pk)",
                Values::none()
                    .with(":one", AttributeValue::N("1".into()))
                    .with(":now", AttributeValue::S(Timestamp::now().to_string())),
            )?,
            self.tx_check(&contact, "attribute_exists(pk)")?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(LinkOutcome::Linked),
            Err(err) if err.condition_failed_at(COMPANY_ITEM) => Ok(LinkOutcome::CompanyMissing),
            Err(err) if err.condition_failed_at(CONTACT_ITEM) => Ok(LinkOutcome::ContactMissing),
            Err(err) if err.condition_failed_at(LINK_ITEM) => Ok(LinkOutcome::AlreadyLinked),
            Err(err) => Err(err),
        }
    }

    /// Removes a link (idempotent), and one from its company's count with it.
    pub async fn unlink(
        &self,
        project_id: &str,
        contact_id: &str,
        company_id: &str,
    ) -> Result<UnlinkOutcome, StoreError> {
        let link = keys::link(project_id, contact_id, company_id).key;
        let company = keys::company(project_id, company_id).key;
        let items = vec![
            self.tx_delete(&link, "attribute_exists(pk)", Values::none())?,
            self.tx_update(
                &company,
                "ADD contact_count :minus_one SET updated_at = :now",
                "attribute_exists(pk)",
                Values::none()
                    .with(":minus_one", AttributeValue::N("-1".into()))
                    .with(":now", AttributeValue::S(Timestamp::now().to_string())),
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(UnlinkOutcome::Unlinked),
            Err(err) if err.condition_failed_at(LINK_ITEM) => Ok(UnlinkOutcome::NotLinked),
            Err(err) => Err(err),
        }
    }

    pub async fn get_link(
        &self,
        project_id: &str,
        contact_id: &str,
        company_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        self.get(&keys::link(project_id, contact_id, company_id).key, false)
            .await
    }

    /// Ids of the contacts linked to a company: one Query on the inverted side (gsi1).
    pub async fn company_contact_ids(
        &self,
        project_id: &str,
        company_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let entries = self
            .index_keys(keys::company_contacts(project_id, company_id))
            .await?;
        Ok(entries
            .iter()
            .filter_map(|item| item.get(keys::GSI1_SK)?.as_s().ok())
            .filter_map(|sk| keys::contact_of_link(sk))
            .map(str::to_owned)
            .collect())
    }
}
