//! Visitors.

use super::keys;
use super::{Store, StoreError};
use crate::model::Visitor;
use aws_sdk_dynamodb::types::AttributeValue;

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
        let mut visitor_keys = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :contact")
                .expression_attribute_values(
                    ":contact",
                    AttributeValue::S(keys::contact_visitors(project_id, contact_id)),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            visitor_keys.extend(output.items().iter().filter_map(|item| {
                Some(keys::Key {
                    pk: item.get(keys::PK)?.as_s().ok()?.clone(),
                    sk: item.get(keys::SK)?.as_s().ok()?.clone(),
                })
            }));
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        self.get_many(visitor_keys).await
    }
}
