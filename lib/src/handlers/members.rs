//! `GET /api/members`, `PUT /api/members/{user_id}` (add, or change the
//! role), `DELETE /api/members/{user_id}`: the project's team, managed by
//! owners and admins (`domain::members` has the rules).

use crate::app::App;
use crate::auth::{self, Access};
use crate::clock::Timestamp;
use crate::domain::members::{self, Put};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Member, Role};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

/// A member as listed.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Member))]
pub(crate) struct MemberView<'a> {
    user_id: &'a str,
    role: Role,
    created_at: Timestamp,
}

fn view(member: &Member) -> MemberView<'_> {
    MemberView {
        user_id: &member.user_id,
        role: member.role,
        created_at: member.created_at,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MemberRole))]
pub(crate) struct RoleBody {
    role: Role,
}

/// The `{user_id}` of the path: a token subject's form, or the member it
/// names cannot exist.
fn user_id(req: &Request) -> Result<String, ApiError> {
    let id = http::path_param(req, "user_id")?;
    if auth::is_user_id(&id) {
        Ok(id)
    } else {
        Err(members::not_found())
    }
}

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let project_id = membership.project.id.as_str();
    let page = PageRequest::parse(app, &req, format!("GET /api/members|{project_id}"))?;
    let found = members::page(&app.store, project_id, page.limit, page.start.clone()).await?;
    Ok(page.respond(app, found, |m| {
        serde_json::to_value(view(&m)).unwrap_or_default()
    }))
}

pub async fn put(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let user_id = user_id(&req)?;
    let body: RoleBody = http::parse_body(&req)?;
    let project_id = &membership.project.id;
    Ok(
        match members::put(&app.store, project_id, &caller.user_id, &user_id, body.role).await? {
            Put::Added(member) => http::created(&view(&member)),
            Put::Changed(member) | Put::Unchanged(member) => http::ok(&view(&member)),
        },
    )
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let user_id = user_id(&req)?;
    members::remove(
        &app.store,
        &membership.project.id,
        &caller.user_id,
        &user_id,
    )
    .await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}
