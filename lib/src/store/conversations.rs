//! Conversations.

use super::keys;
use super::{Store, StoreError};
use crate::model::Conversation;

impl Store {
    pub async fn get_conversation(
        &self,
        project_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        self.get(&keys::conversation_key(project_id, conversation_id))
            .await
    }
}
