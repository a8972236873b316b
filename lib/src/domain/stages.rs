//! Stage lookup and precedence. A company stores its stage's id; the order
//! lives in the project, so precedence is computed from the project's current
//! order at write time and reordering stages rewrites no company.

use crate::error::ApiError;
use crate::model::{Project, Stage, StageUpdateMode};
use lambda_http::http::StatusCode;
use serde_json::json;

/// A stage and its place in the pipeline (0-based).
#[derive(Debug, Clone, Copy)]
pub struct Target<'p> {
    pub index: usize,
    pub stage: &'p Stage,
}

/// Finds a stage by id, or by name ignoring case.
pub fn find<'p>(project: &'p Project, name_or_id: &str) -> Option<Target<'p>> {
    let wanted = name_or_id.trim();
    let by_id = project.stages.iter().position(|s| s.id == wanted);
    let by_name = || {
        project
            .stages
            .iter()
            .position(|s| s.name.to_lowercase() == wanted.to_lowercase())
    };
    by_id.or_else(by_name).map(|index| Target {
        index,
        stage: &project.stages[index],
    })
}

/// `422 unknown_stage`, listing the names that exist.
pub fn unknown(project: &Project) -> ApiError {
    let valid: Vec<&str> = project.stages.iter().map(|s| s.name.as_str()).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_stage",
        "no stage with that name in this project",
    )
    .with_details(json!({ "valid": valid }))
}

pub fn name_of<'p>(project: &'p Project, stage_id: Option<&str>) -> Option<&'p str> {
    let id = stage_id?;
    project
        .stages
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.name.as_str())
}

/// Ids of the stages at or before `target`: the stages an `advance_only` write
/// may move a company away from (besides having none).
pub fn at_or_before<'p>(project: &'p Project, target: Target<'_>) -> Vec<&'p str> {
    project.stages[..=target.index]
        .iter()
        .map(|s| s.id.as_str())
        .collect()
}

/// The mode of a widget stage write: the request's, else the project's default.
pub fn mode(requested: Option<StageUpdateMode>, project: &Project) -> StageUpdateMode {
    requested.unwrap_or(project.default_stage_update_mode)
}

/// Whether a write to `target` may replace `current` (an id) under `mode`.
/// A current id the project no longer has is treated as blocking under
/// `advance_only`, exactly as the conditional write would.
pub fn allows(
    project: &Project,
    current: Option<&str>,
    target: Target<'_>,
    mode: StageUpdateMode,
) -> bool {
    match (mode, current) {
        (StageUpdateMode::Exact, _) | (_, None) => true,
        (StageUpdateMode::AdvanceOnly, Some(current)) => {
            at_or_before(project, target).contains(&current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn project() -> Project {
        let now = Timestamp::now();
        Project {
            id: "pr_1".into(),
            name: "p".into(),
            identity_secret: "s".into(),
            require_identity_verification: false,
            default_stage_update_mode: StageUpdateMode::AdvanceOnly,
            allowed_origins: vec![],
            stages: ["New", "Qualified", "Won"]
                .iter()
                .enumerate()
                .map(|(i, n)| Stage {
                    id: format!("stg_{i}"),
                    name: (*n).into(),
                })
                .collect(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn finds_by_id_or_case_insensitive_name() {
        let p = project();
        assert_eq!(find(&p, "qualified").unwrap().index, 1);
        assert_eq!(find(&p, "stg_2").unwrap().stage.name, "Won");
        assert!(find(&p, "Lost").is_none());
    }

    #[test]
    fn advance_only_never_moves_backwards_and_exact_does() {
        let p = project();
        let qualified = find(&p, "Qualified").unwrap();
        assert!(allows(&p, None, qualified, StageUpdateMode::AdvanceOnly));
        assert!(allows(
            &p,
            Some("stg_0"),
            qualified,
            StageUpdateMode::AdvanceOnly
        ));
        assert!(allows(
            &p,
            Some("stg_1"),
            qualified,
            StageUpdateMode::AdvanceOnly
        ));
        assert!(!allows(
            &p,
            Some("stg_2"),
            qualified,
            StageUpdateMode::AdvanceOnly
        ));
        assert!(allows(&p, Some("stg_2"), qualified, StageUpdateMode::Exact));
        assert_eq!(at_or_before(&p, qualified), ["stg_0", "stg_1"]);
    }
}
