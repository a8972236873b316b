//! `GET|POST /api/companies`, `GET|PATCH|DELETE /api/companies/{id}`,
//! `GET /api/companies/{id}/events`.

use super::fields::CompanyBody;
use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::{companies, stages};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Company, Event};
use crate::store::Page;
use crate::store::keys::{self, Index};
use crate::store::lists::{self, IndexRange, Source};
use crate::views;
use lambda_http::Request;
use lambda_http::http::StatusCode;

/// `GET /api/companies`: by id; `?stage=` is the board column (newest
/// activity first, or `?sort=deal_value` highest first), `?domain=` the
/// companies with a domain; each read through its own index.
pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project = &membership.project;
    let stage_id = match http::query_param(&req, "stage") {
        Some(name) => Some(
            stages::find(project, &name)
                .ok_or_else(|| stages::unknown(project))?
                .stage
                .id
                .clone(),
        ),
        None => None,
    };
    let domain = http::query_param(&req, "domain").map(|d| d.trim().to_lowercase());
    let sort_param = http::query_param(&req, "sort");
    let sort = match sort_param.as_deref() {
        None | Some("activity") => Sort::Activity,
        Some("deal_value") => Sort::DealValue,
        Some(_) => {
            return Err(ApiError::validation(
                "sort",
                "must be activity or deal_value",
            ));
        }
    };
    if sort_param.is_some() && stage_id.is_none() {
        return Err(ApiError::validation(
            "sort",
            "sorts a stage's companies: send stage too",
        ));
    }
    let scope = format!(
        "GET /api/companies|{}|{stage_id:?}|{domain:?}|{sort:?}",
        project.id
    );
    let page = PageRequest::parse(app, &req, scope)?;
    let on_stage = |c: &Company| {
        stage_id.as_ref().is_none_or(|s| {
            stages::effective(project, c.stage_id.as_deref()).is_some_and(|t| t.stage.id == *s)
        })
    };
    let with_domain = |c: &Company| domain.as_ref().is_none_or(|d| c.domain.as_ref() == Some(d));
    let (ranges, newest_first) = match (&domain, &stage_id) {
        (None, None) => {
            let source = Source::Index(keys::project_companies(&project.id));
            let found = app
                .store
                .page::<Company>(&source, page.limit, page.start.clone(), false)
                .await?;
            return Ok(page.respond(app, found, |c| {
                serde_json::to_value(views::company(project, &c)).unwrap_or_default()
            }));
        }
        (Some(domain), _) => (
            vec![IndexRange::all(
                Index::Gsi4,
                keys::companies_with_domain(&project.id, domain),
            )],
            false,
        ),
        (None, Some(stage)) => {
            let index = match sort {
                Sort::Activity => Index::Gsi2,
                Sort::DealValue => Index::Gsi3,
            };
            // The column and the retired stages that now read as it.
            let columns = std::iter::once(stage.as_str()).chain(
                project
                    .retired_stages
                    .iter()
                    .filter(|r| {
                        stages::effective(project, Some(&r.id))
                            .is_some_and(|t| t.stage.id == *stage)
                    })
                    .map(|r| r.id.as_str()),
            );
            let ranges = columns
                .map(|column| IndexRange::all(index, keys::board(&project.id, column)))
                .collect();
            (ranges, true)
        }
    };
    let limit = usize::try_from(page.limit).unwrap_or(1);
    let found = app
        .store
        .index_page::<Company>(
            &ranges,
            limit,
            lists::after_of(page.start.as_ref()).as_deref(),
            newest_first,
            |c| on_stage(c) && with_domain(c),
        )
        .await?;
    let found = Page {
        items: found.items,
        last_key: found.after.map(lists::cursor_after),
    };
    Ok(page.respond(app, found, |c| {
        serde_json::to_value(views::company(project, &c)).unwrap_or_default()
    }))
}

/// The order of a board column.
#[derive(Debug, Clone, Copy)]
enum Sort {
    /// Most recently changed first.
    Activity,
    /// Highest deal value first; companies without one last.
    DealValue,
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
