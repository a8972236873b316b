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
}
