//! `GET|POST /api/companies`, `GET|PATCH|DELETE /api/companies/{id}`,
//! `GET /api/companies/{id}/events`.

use super::fields::CompanyBody;
use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::companies;
use crate::domain::lists::{self, CompanyFilters};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::Event;
use crate::store::keys;
use crate::store::lists::Source;
use crate::views;
use lambda_http::Request;
use lambda_http::http::StatusCode;

/// `GET /api/companies`: `?stage=` (with `?sort=`) or `?domain=`
/// (`lists::companies`).
pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project = &membership.project;
    let param = |name| http::query_param(&req, name);
    let filters = CompanyFilters::parse(
        project,
        param("stage").as_deref(),
        param("domain").as_deref(),
        param("sort").as_deref(),
    )?;
    let scope = format!("GET /api/companies|{}|{filters:?}", project.id);
    let page = PageRequest::parse(app, &req, scope)?;
    let found = lists::companies(
        &app.store,
        project,
        &filters,
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(page.respond(app, found, |c| {
        serde_json::to_value(views::company(project, &c)).unwrap_or_default()
    }))
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let (id, fields) = http::parse_body::<CompanyBody>(&req)?.validate()?;
    let company = companies::create(&app.store, &membership.project, id, &fields).await?;
    Ok(http::created(&views::company(
        &membership.project,
        &company,
    )))
}

pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let id = super::company_id(&req, "id")?;
    let company = app
        .store
        .get_company(&membership.project.id, &id)
        .await?
        .ok_or_else(companies::not_found)?;
    Ok(http::ok(&views::company(&membership.project, &company)))
}

pub async fn update(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::company_id(&req, "id")?;
    let (new_id, fields) = http::parse_body::<CompanyBody>(&req)?.validate()?;
    if new_id.is_some() {
        return Err(ApiError::validation("id", "a company's id cannot change"));
    }
    let company = companies::update(&app.store, &membership.project, &id, &fields).await?;
    Ok(http::ok(&views::company(&membership.project, &company)))
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::company_id(&req, "id")?;
    companies::delete(&app.store, &membership.project.id, &id).await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// A company's events, newest first.
pub async fn events(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let (id, page) = listing(app, &req, project_id, "GET /api/companies/{id}/events").await?;
    let source = Source::Index(keys::company_events(project_id, &id));
    let events = app
        .store
        .page::<Event>(&source, page.limit, page.start.clone(), true)
        .await?;
    Ok(page.respond(app, events, |e| e))
}

/// The `{id}` of a listing under a company, 404 unless the company exists,
/// and the page request, its cursors bound to `route` and the company.
pub(super) async fn listing(
    app: &App,
    req: &Request,
    project_id: &str,
    route: &str,
) -> Result<(String, PageRequest), ApiError> {
    let id = super::company_id(req, "id")?;
    if app.store.get_company(project_id, &id).await?.is_none() {
        return Err(companies::not_found());
    }
    let page = PageRequest::parse(app, req, format!("{route}|{project_id}|{id}"))?;
    Ok((id, page))
}
