//! Companies.

use super::keys;
use super::{Store, StoreError};
use crate::model::Company;

impl Store {
    pub async fn get_company(
        &self,
        project_id: &str,
        company_id: &str,
    ) -> Result<Option<Company>, StoreError> {
        self.get(&keys::company(project_id, company_id).key).await
    }
}
