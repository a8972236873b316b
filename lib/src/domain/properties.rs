//! `set-properties` (SPEC §4): properties merge into the visitor, metadata
//! into its contact, in one write.

use crate::app::App;
use crate::domain::{
    self,
    widget::{self, Caller},
};
use crate::error::ApiError;
use crate::model::{Contact, Visitor};
use crate::store::changes;
use crate::store::write::WriteSet;
use crate::validate::{self, AttributesPatch};
use lambda_http::Request;

#[derive(Debug, Clone)]
pub struct Input {
    pub properties: Option<AttributesPatch>,
    pub metadata: Option<AttributesPatch>,
}

#[derive(Debug)]
pub struct Updated {
    pub visitor: Visitor,
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Visitor,
    Contact,
}

pub async fn set(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Updated, ApiError> {
    domain::until_committed(|| attempt_once(app, req, caller, input)).await
}

async fn attempt_once(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Option<Updated>, ApiError> {
    let (session, _) = widget::open(app, req, caller, Vec::new()).await?;
    let mut visitor = session.touched_visitor();
    if let Some(patch) = &input.properties {
        visitor.properties = validate::merge("properties", &visitor.properties, patch)?;
    }
    let mut writes = WriteSet::default();
    let mut contact = None;
    if let Some(patch) = &input.metadata {
        let not_identified = || {
            ApiError::conflict(
                "visitor_not_identified",
                "metadata needs a contact; identify the visitor first",
            )
        };
        let contact_id = visitor.contact_id.clone().ok_or_else(not_identified)?;
        let old = app
            .store
            .get_contact(session.project_id(), &contact_id)
            .await?
            .ok_or_else(not_identified)?;
        let mut new = old.clone();
        new.metadata = validate::merge("metadata", &old.metadata, patch)?;
        new.updated_at = session.now;
        writes.push(Tag::Contact, changes::contact(&old, &new)?);
        contact = Some(new);
    }
    writes.push(Tag::Visitor, session.visitor_write(&visitor)?);
    Ok(app
        .store
        .commit(writes)
        .await?
        .ok()
        .map(|()| Updated { visitor, contact }))
}
