//! `POST /api/projects`, `GET /api/projects`, `GET|PATCH /api/projects/{id}`,
//! `POST /api/projects/{id}/identity-secret` (rotate).

use crate::app::App;
use crate::auth::{self, Access, Membership};
use crate::clock::Timestamp;
use crate::domain::{self, pipeline_admin};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Member, Project, Role, StageUpdateMode};
use crate::validate;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct CreateProject {
    name: String,
}

/// A project as its member sees it; the identity secret only for owner/admin.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Project))]
pub(crate) struct ProjectView<'a> {
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
    let sees_secret = Access::Manage.allows(member.role);
    ProjectView {
        id: &project.id,
        name: &project.name,
        role: member.role,
        require_identity_verification: project.require_identity_verification,
        default_stage_update_mode: project.default_stage_update_mode,
        allowed_origins: &project.allowed_origins,
        identity_secret: sees_secret.then_some(project.identity_secret.as_str()),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProjectSettings))]
pub(crate) struct Settings {
    name: Option<String>,
    require_identity_verification: Option<bool>,
    default_stage_update_mode: Option<StageUpdateMode>,
    allowed_origins: Option<Vec<String>>,
}

/// An origin exactly as browsers send it in `Origin`: `http` or `https`, a
/// host, a port only when it is not the scheme's default, and nothing else
/// (no user, path, query or fragment). Parsed by the URL standard: the
/// origin it serialises must be what was given.
fn origin(value: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::validation(
            "allowed_origins",
            "each must be an origin as browsers send it, like https://shop.example",
        )
    };
    let url = url::Url::parse(value).map_err(|_| invalid())?;
    let origin = url.origin().ascii_serialization();
    let web = matches!(url.scheme(), "http" | "https");
    if !web || origin != value.to_ascii_lowercase() {
        return Err(invalid());
    }
    Ok(origin)
}

pub async fn update(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = auth::caller(&req)?;
    let id = http::path_param(&req, "id")?;
    let Membership { member, .. } = auth::membership(app, &caller, &id, Access::Manage).await?;
    let body: Settings = http::parse_body(&req)?;
    let origins = match body.allowed_origins {
        Some(list) if list.len() > 50 => {
            return Err(ApiError::validation(
                "allowed_origins",
                "at most 50 origins",
            ));
        }
        Some(list) => Some(
            list.iter()
                .map(|o| origin(o))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let settings = pipeline_admin::Settings {
        name: body.name.map(|n| validate::name("name", &n)).transpose()?,
        require_identity_verification: body.require_identity_verification,
        default_stage_update_mode: body.default_stage_update_mode,
        allowed_origins: origins,
    };
    let project = pipeline_admin::update_settings(&app.store, &id, &settings).await?;
    Ok(http::ok(&view(&project, &member)))
}

pub async fn rotate_identity_secret(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = auth::caller(&req)?;
    let id = http::path_param(&req, "id")?;
    let Membership { member, .. } = auth::membership(app, &caller, &id, Access::Manage).await?;
    let project = pipeline_admin::rotate_identity_secret(&app.store, &id).await?;
    Ok(http::ok(&view(&project, &member)))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn only_real_origins_are_allowed() {
        for ok in [
            "https://shop.example",
            "http://localhost:3000",
            "HTTPS://Shop.Example",
        ] {
            assert!(origin(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            origin("HTTPS://Shop.Example").unwrap(),
            "https://shop.example"
        );
        for bad in [
            "https://ex\u{0}.com",
            "https://a@b.example",
            "https://:80",
            "https://a.example:abc",
            "https://a.example:99999",
            "https://a.example/",
            "https://a.example/path",
            "https://a.example?q",
            "ftp://a.example",
            "null",
            "https://a.example:443",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }
}
