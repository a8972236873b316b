//! Projects and memberships.

use super::keys::{self, Item};
use super::record::to_item;
use super::write::{ItemWrite, WriteSet};
use super::{Page, Store, StoreError, bounded, changes};
use crate::model::{Member, Project};
use aws_sdk_dynamodb::types::AttributeValue;

impl Store {
    /// Creates a project and its owner's membership: both items or neither,
    /// and neither may exist already. `false` if the id is taken.
    pub async fn create_project(
        &self,
        project: &Project,
        owner: &Member,
    ) -> Result<bool, StoreError> {
        let mut writes = WriteSet::default();
        writes.push(0, changes::create(project)?);
        writes.push(1, changes::create(owner)?);
        Ok(self.commit(writes).await?.is_ok())
    }

    /// Saves a changed project (settings, stages) whose `version` the caller
    /// bumped by one: only if nobody saved it since it was read. `false` when
    /// someone did (nothing was written).
    pub async fn save_project(&self, project: &Project) -> Result<bool, StoreError> {
        let mut write = ItemWrite::replace(keys::project(&project.id).key, to_item(project)?);
        write.require_equals(
            "version",
            AttributeValue::N((project.version - 1).to_string()),
        );
        let mut writes = WriteSet::default();
        writes.push((), write);
        Ok(self.commit(writes).await?.is_ok())
    }

    pub async fn get_project(&self, project_id: &str) -> Result<Option<Project>, StoreError> {
        self.get(&keys::project(project_id).key).await
    }

    /// The project and `user`'s membership of it, in one round trip; `None`
    /// unless both exist.
    pub async fn get_membership(
        &self,
        project_id: &str,
        user: &str,
    ) -> Result<Option<(Project, Member)>, StoreError> {
        let project_key = keys::project(project_id).key;
        let member_key = keys::member(project_id, user).key;
        let mut found = self
            .fetch(vec![project_key.clone(), member_key.clone()])
            .await?;
        let project = found.take::<Project>(&project_key)?;
        let member = found.take::<Member>(&member_key)?;
        Ok(project.zip(member))
    }

    /// A page of `user`'s memberships with their projects, oldest project first
    /// (project ids are ULIDs).
    pub async fn list_memberships(
        &self,
        user: &str,
        limit: i32,
        start: Option<Item>,
    ) -> Result<Page<(Project, Member)>, StoreError> {
        let call = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :user")
            .expression_attribute_values(":user", AttributeValue::S(keys::user_projects(user)))
            .limit(limit.saturating_add(1))
            .set_exclusive_start_key(start)
            .send();
        let output = bounded(call).await?.map_err(StoreError::from_sdk)?;
        let (entries, last_key) = super::lists::one_page(
            output.items.unwrap_or_default(),
            limit,
            output.last_evaluated_key,
            true,
        );
        let project_ids: Vec<String> = entries
            .iter()
            .filter_map(|item| item.get(keys::PK)?.as_s().ok())
            .filter_map(|pk| keys::project_of(pk))
            .map(str::to_owned)
            .collect();
        let projects: Vec<Project> = self
            .get_many(project_ids.iter().map(|id| keys::project(id).key).collect())
            .await?;
        let members: Vec<Member> = self
            .get_many(
                project_ids
                    .iter()
                    .map(|id| keys::member(id, user).key)
                    .collect(),
            )
            .await?;
        let items = projects
            .into_iter()
            .filter_map(|project| {
                let member = members.iter().find(|m| m.project_id == project.id)?.clone();
                Some((project, member))
            })
            .collect();
        Ok(Page { items, last_key })
    }
}

impl Store {
    pub async fn get_api_key(
        &self,
        hash: &str,
    ) -> Result<Option<crate::model::ApiKey>, StoreError> {
        self.get(&keys::api_key_by_hash(hash)).await
    }
}
