//! `GET /api/visitors/{visitor_id}`.

use crate::app::App;
use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::http::{self, Response};
use lambda_http::Request;

pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let visitor_id = http::path_param(&req, "visitor_id")?;
    let visitor = app
        .store
        .get_visitor(&membership.project.id, &visitor_id)
        .await?
        .ok_or_else(|| ApiError::not_found("visitor_not_found", "no such visitor"))?;
    Ok(http::ok(&visitor))
}
