//! `GET /api/pipeline`: per stage, how many companies and what their deal
//! values add up to (exact: `domain::pipeline_summary`), and the companies
//! whose stage changed last.

use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::pipeline_summary::{self, Total};
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::views::{self, CompanyView};
use lambda_http::Request;
use serde::Serialize;

/// Companies and the sum of their deal values (companies without one add 0;
/// sums are exact to the millionth).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PipelineTotal))]
pub(crate) struct TotalView {
    companies: i64,
    total_deal_value: f64,
}

impl From<Total> for TotalView {
    fn from(total: Total) -> Self {
        TotalView {
            companies: total.companies,
            total_deal_value: total.deal_value,
        }
    }
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PipelineStageTotal))]
pub(crate) struct StageTotalView<'a> {
    id: &'a str,
    name: &'a str,
    /// 1-based place in the pipeline.
    position: usize,
    companies: i64,
    total_deal_value: f64,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PipelineSummary))]
pub(crate) struct SummaryView<'a> {
    /// Every stage, in pipeline order.
    stages: Vec<StageTotalView<'a>>,
    /// The whole pipeline (companies on no stage are not in it).
    all: TotalView,
    /// The companies whose stage changed last, newest first
    /// (`stage_changed_at`).
    recent_stage_changes: Vec<CompanyView<'a>>,
}

pub async fn summary(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    // Text that is no integer is out of range like any other.
    let recent = http::query_param(&req, "recent").map(|text| text.parse::<i64>().unwrap_or(-1));
    let recent = pipeline_summary::recent_count(recent)?;
    let project = &membership.project;
    let summary = pipeline_summary::summary(&app.store, project, recent).await?;
    Ok(http::ok(&SummaryView {
        stages: summary
            .stages
            .iter()
            .map(|s| StageTotalView {
                id: s.id,
                name: s.name,
                position: s.position,
                companies: s.total.companies,
                total_deal_value: s.total.deal_value,
            })
            .collect(),
        all: summary.all.into(),
        recent_stage_changes: summary
            .recent
            .iter()
            .map(|c| views::company(project, c))
            .collect(),
    }))
}
