//! `POST /api/projects`, `GET /api/projects`, `GET /api/projects/{id}`.

use crate::app::App;
use crate::auth::{self, Access, Membership};
use crate::clock::Timestamp;
use crate::domain;
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Member, Project, Role, StageUpdateMode};
use crate::validate;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateProject {
    name: String,
}

/// A project as its member sees it; the identity secret only for owner/admin.
#[derive(Serialize)]
struct ProjectView<'a> {
    id: &'a str,
    name: &'a str,
    role: Role,
    require_identity_verification: bool,
    default_stage_update_mode: StageUpdateMode,
    allowed_origins: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_secret: Option<&'a str>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn view<'a>(project: &'a Project, member: &Member) -> ProjectView<'a> {
    let membership_can_manage = member.role >= Role::Admin;
    ProjectView {
        id: &project.id,
        name: &project.name,
        role: member.role,
        require_identity_verification: project.require_identity_verification,
        default_stage_update_mode: project.default_stage_update_mode,
        allowed_origins: &project.allowed_origins,
        identity_secret: membership_can_manage.then_some(project.identity_secret.as_str()),
        created_at: project.created_at,
        updated_at: project.updated_at,
    }
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = auth::caller(&req)?;
    let input: CreateProject = http::parse_body(&req)?;
    let name = validate::name("name", &input.name)?;
    let (project, member) = domain::projects::create(&app.store, &caller, name).await?;
    Ok(http::created(&view(&project, &member)))
}

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = auth::caller(&req)?;
    let page = PageRequest::parse(app, &req, format!("GET /api/projects|{}", caller.user_id))?;
    let memberships = app
        .store
        .list_memberships(&caller.user_id, page.limit, page.start.clone())
        .await?;
    Ok(page.respond(app, memberships, |(project, member)| {
        serde_json::to_value(view(&project, &member)).unwrap_or_default()
    }))
}

pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = auth::caller(&req)?;
    let id = http::path_param(&req, "id")?;
    let Membership { project, member } = auth::membership(app, &caller, &id, Access::Read).await?;
    Ok(http::ok(&view(&project, &member)))
}
