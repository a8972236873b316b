//! Companies.

use super::keys;
use super::{Store, StoreError};
use crate::model::Company;

impl Store {
    /// Creates a company; `ConditionFailed` when the id is taken in this project.
    pub async fn create_company(&self, company: &Company) -> Result<(), StoreError> {
        self.create(company).await
    }

    /// A strongly consistent read, for a change conditional on what it returns.
    pub async fn read_company(
        &self,
        project_id: &str,
        company_id: &str,
    ) -> Result<Option<Company>, StoreError> {
        self.get(&keys::company(project_id, company_id).key, true)
            .await
    }

    pub async fn get_company(
        &self,
        project_id: &str,
        company_id: &str,
    ) -> Result<Option<Company>, StoreError> {
        self.get(&keys::company(project_id, company_id).key, false)
            .await
    }
}
