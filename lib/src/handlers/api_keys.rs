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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct CreateKey {
    name: String,
    scopes: Vec<Scope>,
}

/// A key as listed: never its secret or hash.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApiKey))]
pub struct ApiKeyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub scopes: &'a [Scope],
    /// The secret's first characters, to tell keys apart.
    pub prefix: &'a str,
    pub created_by: &'a str,
    pub created_at: crate::clock::Timestamp,
}

/// A key just created, with its secret: shown this once.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedKey<'a> {
    #[serde(flatten)]
    pub view: ApiKeyView<'a>,
    /// `hal_sk_` and 40 random characters, for the `X-API-Key` header.
    pub key: &'a str,
}

fn view(key: &ApiKey) -> ApiKeyView<'_> {
    ApiKeyView {
        id: &key.id,
        name: &key.name,
        scopes: &key.scopes,
        prefix: &key.prefix,
        created_by: &key.created_by,
        created_at: key.created_at,
    }
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
    Ok(http::created(&CreatedKey {
        view: view(&key),
        key: &secret,
    }))
}

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Manage).await?;
    let project_id = membership.project.id.as_str();
    let page = PageRequest::parse(app, &req, format!("GET /api/api-keys|{project_id}"))?;
    let found = api_keys::page(&app.store, project_id, page.limit, page.start.clone()).await?;
    Ok(page.respond(app, found, |k| {
        serde_json::to_value(view(&k)).unwrap_or_default()
    }))
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
