//! `set-stage` and `set-deal` from the widget (SPEC §4): find the target
//! company, then write stage and/or deal value in one conditional write.
//!
//! Target: explicit `company_id` (must be linked to the visitor's contact),
//! else the visitor's active company if still linked, else the contact's
//! single linked company. The link is a condition check in the same
//! transaction as the company update, so a company unlinked meanwhile is
//! never written. An `advance_only` stage write carries the condition
//! `attribute_not_exists(stage_id) OR stage_id IN (stages at or before the
//! target)`, computed from the project's current order.

use crate::app::App;
use crate::domain::identify::StageOutcome;
use crate::domain::widget::{self, Caller, Session};
use crate::domain::{self, stages};
use crate::error::ApiError;
use crate::model::{Company, Link, Project, StageUpdateMode};
use crate::store::changes;
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use lambda_http::Request;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Input {
    pub stage: Option<String>,
    /// `Some(None)` clears the deal value.
    pub deal_value: Option<Option<f64>>,
    pub company_id: Option<String>,
    pub stage_update_mode: Option<StageUpdateMode>,
}

#[derive(Debug)]
pub struct Applied {
    pub project: Project,
    pub company: Company,
    pub stage: StageOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Visitor,
    Link,
    Company,
}

pub async fn apply(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Applied, ApiError> {
    domain::until_committed(|| attempt_once(app, req, caller, input)).await
}

fn not_linked() -> ApiError {
    ApiError::not_found(
        "company_not_linked",
        "that company is not linked to this visitor's contact",
    )
}

/// The target company, and whether a read already saw its link (the
/// explicit `company_id`'s link is only checked by the write).
async fn target(
    app: &App,
    session: &Session,
    contact_id: &str,
    explicit: Option<Company>,
    input: &Input,
) -> Result<(Company, bool), ApiError> {
    let project_id = session.project_id();
    if input.company_id.is_some() {
        return Ok((explicit.ok_or_else(not_linked)?, false));
    }
    if let Some(active) = session
        .visitor
        .as_ref()
        .and_then(|v| v.active_company_id.as_deref())
    {
        let company_key = keys::company(project_id, active).key;
        let link_key = keys::link(project_id, contact_id, active).key;
        let mut found = app
            .store
            .fetch(vec![company_key.clone(), link_key.clone()])
            .await?;
        let link: Option<Link> = found.take(&link_key)?;
        if let (Some(_), Some(company)) = (link, found.take::<Company>(&company_key)?) {
            return Ok((company, true));
        }
    }
    let (_, links) = app
        .store
        .get_contact_with_links(project_id, contact_id)
        .await?
        .ok_or_else(|| {
            ApiError::conflict("visitor_not_identified", "the visitor has no contact")
        })?;
    match links.as_slice() {
        [only] => Ok((
            app.store
                .get_company(project_id, &only.company_id)
                .await?
                .ok_or_else(not_linked)?,
            true,
        )),
        [] => Err(not_linked()),
        several => {
            let ids: Vec<&str> = several.iter().map(|l| l.company_id.as_str()).collect();
            Err(ApiError::conflict(
                "company_ambiguous",
                "the contact has several companies and none is active; send company_id",
            )
            .with_details(json!({ "company_ids": ids })))
        }
    }
}

async fn attempt_once(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Option<Applied>, ApiError> {
    let project_id = caller.project_id.as_str();
    let explicit_key = input
        .company_id
        .as_deref()
        .map(|id| keys::company(project_id, id).key);
    let (session, mut found) =
        widget::open(app, req, caller, explicit_key.iter().cloned().collect()).await?;
    let explicit: Option<Company> = explicit_key
        .as_ref()
        .map(|k| found.take(k))
        .transpose()?
        .flatten();
    let project = &session.project;
    let target_stage = match input.stage.as_deref() {
        Some(name) => Some(stages::find(project, name).ok_or_else(|| stages::unknown(project))?),
        None => None,
    };
    let contact_id = session
        .visitor
        .as_ref()
        .and_then(|v| v.contact_id.clone())
        .ok_or_else(|| {
            ApiError::conflict("visitor_not_identified", "identify the visitor first")
        })?;
    let (company, link_seen) = target(app, &session, &contact_id, explicit, input).await?;

    let mut new = company.clone();
    new.updated_at = session.now;
    if let Some(deal_value) = input.deal_value {
        new.deal_value = deal_value;
    }
    let previous = stages::name_of(project, company.stage_id.as_deref()).map(str::to_owned);
    let mode = stages::mode(input.stage_update_mode, project);
    let stage = match target_stage {
        None => StageOutcome {
            stage_applied: false,
            previous_stage: previous,
            reason: Some("no_stage_requested"),
        },
        Some(target) => {
            let applied = stages::allows(project, company.stage_id.as_deref(), target, mode);
            if applied {
                new.move_to(Some(target.stage.id.clone()), session.now);
            }
            StageOutcome {
                stage_applied: applied,
                previous_stage: previous,
                reason: (!applied).then_some("stage_precedence"),
            }
        }
    };

    let mut company_write = changes::company(&company, &new)?;
    if let (Some(target), true, StageUpdateMode::AdvanceOnly) =
        (target_stage, stage.stage_applied, mode)
    {
        company_write.require_absent_or_in("stage_id", &stages::at_or_before(project, target));
    }
    let mut writes = WriteSet::default();
    let visitor = session.touched_visitor();
    writes.push(Tag::Visitor, session.visitor_write(&visitor)?);
    writes.push(Tag::Company, company_write);
    if !writes.is_empty() {
        writes.push(
            Tag::Link,
            ItemWrite::check_exists(keys::link(project_id, &contact_id, &company.id).key),
        );
    }
    if writes.writes_nothing() {
        // Nothing to write, so no condition check: read the link instead.
        if !link_seen
            && app
                .store
                .get_link(project_id, &contact_id, &company.id)
                .await?
                .is_none()
        {
            return Err(not_linked());
        }
    } else if let Err(refused) = app.store.commit(writes).await? {
        if refused.failed(Tag::Link) && input.company_id.is_some() {
            return Err(not_linked());
        }
        return Ok(None);
    }
    Ok(Some(Applied {
        project: session.project.clone(),
        company: new,
        stage,
    }))
}
