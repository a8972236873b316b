//! Visitors.

use super::keys;
use super::{Store, StoreError};
use crate::model::Visitor;

impl Store {
    pub async fn get_visitor(
        &self,
        project_id: &str,
        visitor_id: &str,
    ) -> Result<Option<Visitor>, StoreError> {
        self.get(&keys::visitor(project_id, visitor_id, None).key, false)
            .await
    }

    /// Records a visitor seen for the first time; `ConditionFailed` if it exists.
    pub async fn create_visitor(&self, visitor: &Visitor) -> Result<(), StoreError> {
        self.create(visitor).await
    }

    /// The visitors linked to a contact: one Query on gsi1, then their items.
    pub async fn contact_visitors(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Vec<Visitor>, StoreError> {
        let entries = self
            .index_keys(keys::contact_visitors(project_id, contact_id))
            .await?;
        let visitor_keys = entries.iter().filter_map(super::key_of).collect();
        self.get_many(visitor_keys).await
    }
}
