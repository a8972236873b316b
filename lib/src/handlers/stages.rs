//! `GET /api/stages`: the project's pipeline, in order.

use crate::app::App;
use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::model::Project;
use lambda_http::Request;
use serde::Serialize;

#[derive(Serialize)]
pub struct StageView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// 1-based place in the pipeline.
    pub position: usize,
}

pub fn views(project: &Project) -> Vec<StageView<'_>> {
    project
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| StageView {
            id: &stage.id,
            name: &stage.name,
            position: index + 1,
        })
        .collect()
}

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    // The whole pipeline fits one page: stages live in the project item.
    Ok(http::ok(&serde_json::json!({
        "data": views(&membership.project),
        "next_cursor": null,
    })))
}
