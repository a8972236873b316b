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
        self.get(&keys::visitor(project_id, visitor_id, None).key)
            .await
    }
}
