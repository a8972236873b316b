//! Companies managed directly (account routes): create and update write the
//! company's own fields only, stage changes are exact; delete removes the
//! company's links but no contact.

use crate::clock::Timestamp;
use crate::domain::{self, stages};
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Company, Contact, Project};
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, StoreError, changes};
use crate::validate::{self, AttributesPatch};
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    /// A stage name or id; `Some(None)` clears the stage.
    pub stage: Option<Option<String>>,
    pub deal_value: Option<Option<f64>>,
    pub notes: Option<Option<String>>,
    pub metadata: Option<AttributesPatch>,
    pub enrichment: Option<AttributesPatch>,
}

impl Fields {
    fn apply(&self, project: &Project, company: &mut Company) -> Result<(), ApiError> {
        if let Some(name) = &self.name {
            company.name.clone_from(name);
        }
        for (field, value) in [
            (&mut company.domain, &self.domain),
            (&mut company.industry, &self.industry),
            (&mut company.notes, &self.notes),
        ] {
            if let Some(value) = value {
                field.clone_from(value);
            }
        }
        if let Some(deal_value) = self.deal_value {
            company.deal_value = deal_value;
        }
        if let Some(stage) = &self.stage {
            company.stage_id = match stage {
                None => None,
                Some(name) => Some(
                    stages::find(project, name)
                        .ok_or_else(|| stages::unknown(project))?
                        .stage
                        .id
                        .clone(),
                ),
            };
        }
        if let Some(patch) = &self.metadata {
            company.metadata = validate::merge("metadata", &company.metadata, patch)?;
        }
        if let Some(patch) = &self.enrichment {
            company.enrichment = validate::merge("enrichment", &company.enrichment, patch)?;
        }
        Ok(())
    }
}

/// Transactions hold at most this many items.
const MAX_TRANSACTION_ITEMS: usize = 100;

pub fn not_found() -> ApiError {
    ApiError::not_found("company_not_found", "no such company")
}

/// Creates a company under the client's id (or a generated `co_` id).
pub async fn create(
    store: &Store,
    project: &Project,
    id: Option<String>,
    fields: &Fields,
) -> Result<Company, ApiError> {
    let id = id.unwrap_or_else(|| new_id(IdKind::Company));
    let name = fields.name.clone().unwrap_or_else(|| id.clone());
    let mut company = Company::new(&project.id, &id, &name, Timestamp::now());
    fields.apply(project, &mut company)?;
    match store.create_company(&company).await {
        Ok(()) => Ok(company),
        Err(StoreError::ConditionFailed) => Err(ApiError::conflict(
            "company_exists",
            "a company with this id exists",
        )),
        Err(err) => Err(err.into()),
    }
}

/// Changes a company's fields; a stage is set exactly as asked.
pub async fn update(
    store: &Store,
    project: &Project,
    id: &str,
    fields: &Fields,
) -> Result<Company, ApiError> {
    domain::until_committed(|| async {
        let old = store
            .read_company(&project.id, id)
            .await?
            .ok_or_else(not_found)?;
        let mut new = old.clone();
        fields.apply(project, &mut new)?;
        new.updated_at = Timestamp::now();
        let mut writes = WriteSet::default();
        writes.push((), changes::company(&old, &new)?);
        Ok(store.commit(writes).await?.ok().map(|()| new))
    })
    .await
}

/// Deletes a company and its links (no contact). Contacts whose placeholder it
/// was, and visitors whose active company it was, drop the reference with
/// their link. Links go in batches that lower the count by what they remove;
/// the last batch deletes the company only while its count equals the links
/// that batch removes, so a link added meanwhile is never orphaned.
pub async fn delete(store: &Store, project_id: &str, id: &str) -> Result<(), ApiError> {
    domain::until_committed(|| async {
        store
            .read_company(project_id, id)
            .await?
            .ok_or_else(not_found)?;
        let contact_ids = store.company_contact_ids(project_id, id).await?;
        let contacts: Vec<Contact> = store
            .get_many(
                contact_ids
                    .iter()
                    .map(|c| keys::contact(project_id, c).key)
                    .collect(),
            )
            .await?;
        let id_value = || AttributeValue::S(id.to_owned());
        let mut groups: Vec<Vec<ItemWrite>> = Vec::new();
        for contact in &contacts {
            let mut group = vec![ItemWrite::delete(
                keys::link(project_id, &contact.id, id).key,
            )];
            if contact.placeholder_company_id.as_deref() == Some(id) {
                let mut write = ItemWrite::update(keys::contact(project_id, &contact.id).key);
                write
                    .remove("placeholder_company_id")
                    .require_equals("placeholder_company_id", id_value());
                group.push(write);
            }
            for visitor in store.contact_visitors(project_id, &contact.id).await? {
                if visitor.active_company_id.as_deref() == Some(id) {
                    let mut write =
                        ItemWrite::update(keys::visitor(project_id, &visitor.visitor_id, None).key);
                    write
                        .remove("active_company_id")
                        .require_equals("active_company_id", id_value());
                    group.push(write);
                }
            }
            groups.push(group);
        }
        let company_key = keys::company(project_id, id).key;
        let mut batches: Vec<(WriteSet<usize>, i64)> = vec![(WriteSet::default(), 0)];
        for group in groups {
            let (batch, _) = batches.last().expect("one batch at least");
            // One item of each transaction is kept for the company itself.
            if batch.len() + group.len() >= MAX_TRANSACTION_ITEMS {
                batches.push((WriteSet::default(), 0));
            }
            let (batch, links) = batches.last_mut().expect("one batch at least");
            for write in group {
                batch.push(batch.len(), write);
            }
            *links += 1;
        }
        let last = batches.len() - 1;
        for (index, (mut batch, links)) in batches.into_iter().enumerate() {
            let company = if index == last {
                let mut delete = ItemWrite::delete(company_key.clone());
                delete.require_equals("contact_count", AttributeValue::N(links.to_string()));
                delete
            } else {
                let mut update = ItemWrite::update(company_key.clone());
                update.add("contact_count", -links);
                update
            };
            batch.push(batch.len(), company);
            if store.commit(batch).await?.is_err() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await
}
