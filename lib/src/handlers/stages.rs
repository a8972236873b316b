//! `GET|POST /api/stages`, `PATCH|DELETE /api/stages/{id}`,
//! `PUT /api/stages/order`: the project's pipeline.

use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::pipeline_admin;
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::model::Project;
use lambda_http::Request;
use serde::Serialize;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PipelineStage))]
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
    Ok(pipeline(&membership.project))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = StageFields))]
pub(crate) struct StageBody {
    name: Option<String>,
    /// 1-based place in the pipeline.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    position: Option<usize>,
}

impl StageBody {
    fn validated(self) -> Result<(Option<String>, Option<usize>), ApiError> {
        let name = self
            .name
            .map(|n| crate::validate::name("name", &n))
            .transpose()?;
        if name.as_ref().is_some_and(|n| n.chars().count() > 64) {
            return Err(ApiError::validation("name", "must be 1–64 characters"));
        }
        if self.position == Some(0) {
            return Err(ApiError::validation("position", "positions start at 1"));
        }
        Ok((name, self.position))
    }
}

/// The whole pipeline, as a list of one page.
fn pipeline(project: &Project) -> Response {
    http::ok(&http::List {
        data: views(project),
        next_cursor: None,
    })
}

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let (name, position) = http::parse_body::<StageBody>(&req)?.validated()?;
    let name = name.ok_or_else(|| ApiError::validation("name", "is required"))?;
    let (project, id) =
        pipeline_admin::create_stage(&app.store, &membership.project.id, &name, position).await?;
    let stage = views(&project)
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| serde_json::json!(s));
    Ok(http::created(&stage))
}

pub async fn update(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = http::path_param(&req, "id")?;
    let (name, position) = http::parse_body::<StageBody>(&req)?.validated()?;
    let project = pipeline_admin::update_stage(
        &app.store,
        &membership.project.id,
        &id,
        name.as_deref(),
        position,
    )
    .await?;
    Ok(pipeline(&project))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = StageOrder))]
pub(crate) struct OrderBody {
    stage_ids: Vec<String>,
}

pub async fn reorder(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let body: OrderBody = http::parse_body(&req)?;
    let project =
        pipeline_admin::reorder_stages(&app.store, &membership.project.id, &body.stage_ids).await?;
    Ok(pipeline(&project))
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = http::path_param(&req, "id")?;
    let reassign_to = http::query_param(&req, "reassign_to");
    pipeline_admin::delete_stage(&app.store, &membership.project, &id, reassign_to.as_deref())
        .await?;
    Ok(http::empty(lambda_http::http::StatusCode::NO_CONTENT))
}
