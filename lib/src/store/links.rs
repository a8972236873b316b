//! The contact–company junction. A link item, its company's `contact_count`
//! and its contact's `company_count` change together in one transaction
//! (`domain::links`, `domain::identify`, the deletes), so both counts always
//! equal the number of link items.

use super::keys;
use super::{Store, StoreError};
use crate::model::Link;

impl Store {
    pub async fn get_link(
        &self,
        project_id: &str,
        contact_id: &str,
        company_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        self.get(&keys::link(project_id, contact_id, company_id).key)
            .await
    }

    /// Ids of the contacts linked to a company: one Query on the inverted side
    /// (gsi1). Eventually consistent: a link made just now may be missing and
    /// one removed just now may still be listed.
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
