//! Companies managed directly (account routes): create and update write the
//! company's own fields only, stage changes are exact; delete removes the
//! company's links but no contact. Visitors whose active company it was are
//! not rewritten: an active company that is no longer linked reads as none.

use crate::clock::Timestamp;
use crate::domain::cascade::Cascade;
use crate::domain::{self, stages};
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Company, Contact, Link, Project};
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
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
            let stage_id = stage
                .as_deref()
                .map(|name| stages::id_of(project, name))
                .transpose()?;
            company.move_to(stage_id, company.updated_at);
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
    let mut writes = WriteSet::default();
    writes.push((), changes::create(&company)?);
    match store.commit(writes).await? {
        Ok(()) => Ok(company),
        Err(_) => Err(ApiError::conflict(
            "company_exists",
            "a company with this id exists",
        )),
    }
}

/// Changes a company's fields; a stage is set exactly as asked.
pub async fn update(
    store: &Store,
    project: &Project,
    id: &str,
    fields: &Fields,
) -> Result<Company, ApiError> {
    change(store, project, id, |company| fields.apply(project, company)).await
}

/// Reads the company, `edit`s it and writes what changed, on the condition
/// that what the edit was decided on is still there (`changes::company`);
/// again on a fresh read when a concurrent write came first.
async fn change(
    store: &Store,
    project: &Project,
    id: &str,
    edit: impl Fn(&mut Company) -> Result<(), ApiError>,
) -> Result<Company, ApiError> {
    domain::until_committed(|| async {
        let old = store
            .get_company(&project.id, id)
            .await?
            .ok_or_else(not_found)?;
        let mut new = old.clone();
        new.updated_at = Timestamp::now();
        edit(&mut new)?;
        let mut writes = WriteSet::default();
        writes.push((), changes::company(&old, &new)?);
        Ok(store.commit(writes).await?.ok().map(|()| new))
    })
    .await
}

/// Adds a note to a company: its notes, a blank line, and the note headed
/// by the time it was added. On the notes read (`changes::company`), so a
/// note added at the same time is kept, not overwritten.
pub async fn add_note(
    store: &Store,
    project: &Project,
    id: &str,
    note: &str,
) -> Result<Company, ApiError> {
    let note = note.trim();
    validate::long_text("note", note, validate::MAX_NOTES_CHARS)?;
    if note.is_empty() {
        return Err(ApiError::validation("note", "must not be empty"));
    }
    change(store, project, id, |company| {
        let entry = format!("[{}] {note}", company.updated_at);
        let notes = match company.notes.as_deref() {
            Some(notes) if !notes.is_empty() => format!("{notes}\n\n{entry}"),
            _ => entry,
        };
        if notes.chars().count() > validate::MAX_NOTES_CHARS {
            return Err(ApiError::validation(
                "note",
                format!(
                    "the company's notes would exceed {} characters",
                    validate::MAX_NOTES_CHARS
                ),
            ));
        }
        company.notes = Some(notes);
        Ok(())
    })
    .await
}

/// Deletes a company and its links (no contact); contacts whose placeholder
/// it was drop the reference with their link.
///
/// First the company is marked `deleting`: every company update requires
/// that unset, so from then on no link is added to it. Then the index says
/// which contacts to look at, and their link items, read by key, say which
/// links exist. The links go in transactions within DynamoDB's limit
/// (`domain::cascade`), the company last, only while its `contact_count`
/// equals the links that last transaction removes: a link the index did not
/// show yet refuses it, and the attempt runs again on the links left, until
/// the index has caught up. (A delete cut short leaves the company marked;
/// repeating the `DELETE` finishes it.)
pub async fn delete(store: &Store, project_id: &str, id: &str) -> Result<(), ApiError> {
    domain::until_committed(|| async {
        let company = store
            .get_company(project_id, id)
            .await?
            .ok_or_else(not_found)?;
        if !company.deleting {
            let mut mark = ItemWrite::update(keys::company(project_id, id).key);
            mark.set("deleting", AttributeValue::Bool(true));
            let mut writes = WriteSet::default();
            writes.push((), mark);
            store.commit(writes).await?.map_err(|_| not_found())?;
        }
        let candidates = store.company_contact_ids(project_id, id).await?;
        let mut found = store
            .fetch(
                candidates
                    .iter()
                    .flat_map(|c| {
                        [
                            keys::link(project_id, c, id).key,
                            keys::contact(project_id, c).key,
                        ]
                    })
                    .collect(),
            )
            .await?;
        let mut linked: Vec<Contact> = Vec::new();
        for contact_id in &candidates {
            let link: Option<Link> = found.take(&keys::link(project_id, contact_id, id).key)?;
            let contact: Option<Contact> =
                found.take(&keys::contact(project_id, contact_id).key)?;
            if let (Some(_), Some(contact)) = (link, contact) {
                linked.push(contact);
            }
        }
        if linked.is_empty() && company.contact_count > 0 {
            // The index has not shown its links yet: wait for it.
            return Ok(None);
        }
        let id_value = || AttributeValue::S(id.to_owned());
        let links = linked
            .iter()
            .map(|contact| {
                let mut update = ItemWrite::update(keys::contact(project_id, &contact.id).key);
                update.add("company_count", -1);
                if contact.placeholder_company_id.as_deref() == Some(id) {
                    update
                        .remove("placeholder_company_id")
                        .require_equals("placeholder_company_id", id_value());
                }
                vec![
                    ItemWrite::delete(keys::link(project_id, &contact.id, id).key),
                    update,
                ]
            })
            .collect();
        let cascade = Cascade {
            record: changes::delete_company(&company)?,
            counter: "contact_count",
            links,
            with_record: Vec::new(),
        };
        Ok(cascade.run(store).await?.then_some(()))
    })
    .await
}
