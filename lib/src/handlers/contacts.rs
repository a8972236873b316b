//! `GET|POST /api/contacts`, `GET|PATCH|DELETE /api/contacts/{id}`,
//! `GET /api/contacts/{id}/events`.

use super::fields::ContactBody;
use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::contacts;
use crate::domain::lists::{self, ContactFilters};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Contact, Event};
use crate::store::keys::{self, EventOwner};
use crate::store::lists::Source;
use lambda_http::Request;
use lambda_http::http::StatusCode;

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let param = |name| http::query_param(&req, name);
    let filters = ContactFilters::parse(
        param("email").as_deref(),
        param("company_id").as_deref(),
        param("tag").as_deref(),
        param("search").as_deref(),
    )?;
    let project_id = membership.project.id.as_str();
    let page = PageRequest::parse(
        app,
        &req,
        format!("GET /api/contacts|{project_id}|{filters:?}"),
    )?;
    let found = lists::contacts(
        &app.store,
        project_id,
        &filters,
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(page.respond(app, found, |c| c))
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let fields = http::parse_body::<ContactBody>(&req)?.validate()?;
    let contact = contacts::create(&app.store, &membership.project.id, &fields).await?;
    Ok(http::created(&contact))
}

pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let id = super::contact_id(&req, "id")?;
    let (contact, links) = app
        .store
        .get_contact_with_links(project_id, &id)
        .await?
        .ok_or_else(contacts::not_found)?;
    let visitors = app
        .store
        .index_keys(keys::contact_visitors(project_id, &id))
        .await?;
    let visitor_ids: Vec<&str> = visitors
        .iter()
        .filter_map(|v| keys::visitor_of_contact_entry(v.get(keys::GSI1_SK)?.as_s().ok()?))
        .collect();
    let company_ids: Vec<&str> = links.iter().map(|l| l.company_id.as_str()).collect();
    Ok(http::ok(&ContactDetail {
        contact: &contact,
        company_ids,
        visitor_ids,
    }))
}

/// A contact with the ids of its companies and of the visitors linked to it
/// (the latter through the index: one linked just now may be missing).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetail<'a> {
    #[serde(flatten)]
    pub contact: &'a Contact,
    pub company_ids: Vec<&'a str>,
    pub visitor_ids: Vec<&'a str>,
}

pub async fn update(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::contact_id(&req, "id")?;
    let fields = http::parse_body::<ContactBody>(&req)?.validate()?;
    let contact = contacts::update(&app.store, &membership.project.id, &id, &fields).await?;
    Ok(http::ok(&contact))
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::contact_id(&req, "id")?;
    contacts::delete(&app.store, &membership.project.id, &id).await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// A contact's events, newest first.
pub async fn events(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let id = super::contact_id(&req, "id")?;
    if app.store.get_contact(project_id, &id).await?.is_none() {
        return Err(contacts::not_found());
    }
    let page = PageRequest::parse(
        app,
        &req,
        format!("GET /api/contacts/{{id}}/events|{project_id}|{id}"),
    )?;
    let source = Source::Partition(keys::events_of(project_id, EventOwner::Contact(&id)));
    let events = app
        .store
        .page::<Event>(&source, page.limit, page.start.clone(), true)
        .await?;
    Ok(page.respond(app, events, |e| e))
}
