//! `POST|GET /api/api-keys`, `DELETE /api/api-keys/{id}` (owner/admin).

use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::api_keys;
use crate::error::ApiError;
use crate::http::{self, IdRule, PageRequest, Response};
use crate::ids::IdKind;
use crate::model::{ApiKey, Scope};
use crate::validate;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    scopes: Vec<Scope>,
}

/// A key as listed: never its secret or hash.
fn view(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "scopes": key.scopes,
        "prefix": key.prefix,
        "created_by": key.created_by,
        "created_at": key.created_at,
    })
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let body: CreateKey = http::parse_body(&req)?;
    let name = validate::name("name", &body.name)?;
    if body.scopes.is_empty() {
        return Err(ApiError::validation("scopes", "at least one scope"));
    }
    let (key, secret) = api_keys::create(
        &app.store,
        &membership.project.id,
        &name,
        body.scopes,
        &caller.user_id,
    )
    .await?;
    let mut body = view(&key);
    body["key"] = json!(secret);
    Ok(http::created(&body))
}

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let project_id = membership.project.id.as_str();
    let page = PageRequest::parse(app, &req, format!("GET /api/api-keys|{project_id}"))?;
    let found = api_keys::page(&app.store, project_id, page.limit, page.start.clone()).await?;
    Ok(page.respond(app, found, |k| view(&k)))
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let id = http::record_id(
        &req,
        "id",
        IdRule::Generated(IdKind::ApiKey),
        api_keys::not_found,
    )?;
    api_keys::delete(&app.store, &membership.project.id, &id).await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}
