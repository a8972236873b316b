//! Stage lookup and precedence. A company stores its stage's id; the order
//! lives in the project, so precedence is computed from the project's current
//! order at write time and reordering stages rewrites no company. A deleted
//! stage's id stays meaningful: the project's `retired_stages` says which
//! stage its companies now count as being on, so a company a stage deletion
//! did not move (yet) is never stranded on an id the pipeline lacks.

use crate::error::ApiError;
use crate::model::{Project, Stage, StageUpdateMode};

/// Deleted stages a project remembers (with the stages a pipeline may have,
/// this keeps a precedence condition within DynamoDB's 100 `IN` operands).
pub const MAX_RETIRED_STAGES: usize = 50;
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
/// The id of the stage `name_or_id` names (`unknown_stage` if none).
pub fn id_of(project: &Project, name_or_id: &str) -> Result<String, ApiError> {
    find(project, name_or_id)
        .map(|target| target.stage.id.clone())
        .ok_or_else(|| unknown(project))
}

pub fn unknown(project: &Project) -> ApiError {
    let valid: Vec<&str> = project.stages.iter().map(|s| s.name.as_str()).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_stage",
        "no stage with that name in this project",
    )
    .with_details(json!({ "valid": valid }))
}

/// The stage a stored `stage_id` stands for: itself while it is in the
/// pipeline, else where its retirement sent its companies (`None`: no stage).
pub fn effective<'p>(project: &'p Project, stage_id: Option<&str>) -> Option<Target<'p>> {
    let mut id = stage_id?;
    // Each retirement points at a stage that was active then, so the chain is
    // at most as long as the list.
    for _ in 0..=project.retired_stages.len() {
        if let Some(index) = project.stages.iter().position(|s| s.id == id) {
            return Some(Target {
                index,
                stage: &project.stages[index],
            });
        }
        id = project
            .retired_stages
            .iter()
            .find(|r| r.id == id)?
            .into
            .as_deref()?;
    }
    None
}

pub fn name_of<'p>(project: &'p Project, stage_id: Option<&str>) -> Option<&'p str> {
    effective(project, stage_id).map(|t| t.stage.name.as_str())
}

/// Stored ids an `advance_only` write to `target` may move a company away
/// from (besides having none): the stages at or before it, and retired ids
/// that stand for one of them or for no stage.
pub fn at_or_before<'p>(project: &'p Project, target: Target<'_>) -> Vec<&'p str> {
    let active = project.stages[..=target.index]
        .iter()
        .map(|s| s.id.as_str());
    let retired = project
        .retired_stages
        .iter()
        .filter(|r| effective(project, Some(&r.id)).is_none_or(|t| t.index <= target.index))
        .map(|r| r.id.as_str());
    active.chain(retired).collect()
}

/// The mode of a widget stage write: the request's, else the project's default.
pub fn mode(requested: Option<StageUpdateMode>, project: &Project) -> StageUpdateMode {
    requested.unwrap_or(project.default_stage_update_mode)
}

/// Whether a write to `target` may replace `current` (a stored id) under
/// `mode`, exactly as the conditional write built from [`at_or_before`]
/// decides.
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
    use crate::model::RetiredStage;

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
            retired_stages: vec![],
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

    #[test]
    fn a_retired_stage_stands_for_the_stage_it_was_merged_into() {
        let mut p = project();
        // "Qualified" (stg_1) deleted into "Won"; then a stage deleted into nothing.
        p.stages.remove(1);
        p.retired_stages = vec![
            RetiredStage {
                id: "stg_1".into(),
                into: Some("stg_2".into()),
            },
            RetiredStage {
                id: "stg_x".into(),
                into: None,
            },
        ];
        assert_eq!(name_of(&p, Some("stg_1")), Some("Won"));
        assert_eq!(name_of(&p, Some("stg_x")), None);
        let new = find(&p, "New").unwrap();
        let won = find(&p, "Won").unwrap();
        // A company on the retired stage counts as on "Won": not moved back to New.
        assert!(!allows(
            &p,
            Some("stg_1"),
            new,
            StageUpdateMode::AdvanceOnly
        ));
        assert!(allows(&p, Some("stg_1"), won, StageUpdateMode::AdvanceOnly));
        // A company on a stage retired into nothing counts as on no stage.
        assert!(allows(&p, Some("stg_x"), new, StageUpdateMode::AdvanceOnly));
        assert_eq!(at_or_before(&p, new), ["stg_0", "stg_x"]);
        assert_eq!(at_or_before(&p, won), ["stg_0", "stg_2", "stg_1", "stg_x"]);
        // Retired stages are not targets.
        assert!(find(&p, "Qualified").is_none());
    }
}
