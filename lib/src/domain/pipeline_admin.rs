//! Project settings and the pipeline's stages (account routes). Both live in
//! the project item; every change is a conditional write on the version read,
//! retried on fresh reads. Reordering rewrites only the project: companies keep
//! their stage ids and precedence follows the new order from the next write.

use crate::clock::Timestamp;
use crate::domain::{self, stages};
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Company, Project, RetiredStage, Stage, StageUpdateMode};
use crate::store::keys::{self, Index};
use crate::store::lists::IndexRange;
use crate::store::write::WriteSet;
use crate::store::{Store, changes};
use lambda_http::http::StatusCode;
use serde_json::json;

/// A pipeline longer than this is not a pipeline; it also bounds the item.
pub const MAX_STAGES: usize = 50;

/// Applies `change` to the current project and saves it on its version.
async fn change_project<T>(
    store: &Store,
    project_id: &str,
    change: impl Fn(&mut Project) -> Result<T, ApiError>,
) -> Result<(Project, T), ApiError> {
    domain::until_committed(|| async {
        let mut project = store
            .get_project(project_id)
            .await?
            .ok_or_else(|| ApiError::not_found("project_not_found", "no such project"))?;
        let outcome = change(&mut project)?;
        project.version += 1;
        project.updated_at = Timestamp::now();
        Ok(store
            .save_project(&project)
            .await?
            .then_some((project, outcome)))
    })
    .await
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub name: Option<String>,
    pub require_identity_verification: Option<bool>,
    pub default_stage_update_mode: Option<StageUpdateMode>,
    pub allowed_origins: Option<Vec<String>>,
}

pub async fn update_settings(
    store: &Store,
    project_id: &str,
    settings: &Settings,
) -> Result<Project, ApiError> {
    let (project, ()) = change_project(store, project_id, |project| {
        if let Some(name) = &settings.name {
            project.name.clone_from(name);
        }
        if let Some(required) = settings.require_identity_verification {
            project.require_identity_verification = required;
        }
        if let Some(mode) = settings.default_stage_update_mode {
            project.default_stage_update_mode = mode;
        }
        if let Some(origins) = &settings.allowed_origins {
            project.allowed_origins.clone_from(origins);
        }
        Ok(())
    })
    .await?;
    Ok(project)
}

/// A new identity secret; `user_hash` values made with the old one stop working.
pub async fn rotate_identity_secret(store: &Store, project_id: &str) -> Result<Project, ApiError> {
    let (project, ()) = change_project(store, project_id, |project| {
        project.identity_secret = domain::projects::new_identity_secret();
        Ok(())
    })
    .await?;
    Ok(project)
}

fn stage_exists() -> ApiError {
    ApiError::conflict(
        "stage_exists",
        "a stage with this name exists in this project",
    )
}

fn stage_not_found() -> ApiError {
    ApiError::not_found("stage_not_found", "no such stage")
}

fn name_taken(project: &Project, name: &str, except: Option<&str>) -> bool {
    project
        .stages
        .iter()
        .any(|s| Some(s.id.as_str()) != except && s.name.to_lowercase() == name.to_lowercase())
}

/// Moves the stage at `from` to 1-based `position` (clamped to the pipeline).
fn place(stages: &mut Vec<Stage>, from: usize, position: usize) {
    let stage = stages.remove(from);
    let index = position.saturating_sub(1).min(stages.len());
    stages.insert(index, stage);
}

pub async fn create_stage(
    store: &Store,
    project_id: &str,
    name: &str,
    position: Option<usize>,
) -> Result<(Project, String), ApiError> {
    change_project(store, project_id, |project| {
        if name_taken(project, name, None) {
            return Err(stage_exists());
        }
        if project.stages.len() >= MAX_STAGES {
            return Err(ApiError::conflict(
                "too_many_stages",
                "a project has at most 50 stages",
            ));
        }
        let id = new_id(IdKind::Stage);
        project.stages.push(Stage {
            id: id.clone(),
            name: name.to_owned(),
        });
        if let Some(position) = position {
            let last = project.stages.len() - 1;
            place(&mut project.stages, last, position);
        }
        Ok(id)
    })
    .await
}

pub async fn update_stage(
    store: &Store,
    project_id: &str,
    stage_id: &str,
    name: Option<&str>,
    position: Option<usize>,
) -> Result<Project, ApiError> {
    let (project, ()) = change_project(store, project_id, |project| {
        let index = project
            .stages
            .iter()
            .position(|s| s.id == stage_id)
            .ok_or_else(stage_not_found)?;
        if let Some(name) = name {
            if name_taken(project, name, Some(stage_id)) {
                return Err(stage_exists());
            }
            project.stages[index].name = name.to_owned();
        }
        if let Some(position) = position {
            place(&mut project.stages, index, position);
        }
        Ok(())
    })
    .await?;
    Ok(project)
}

/// Puts the stages in the given order, which must name each stage once.
pub async fn reorder_stages(
    store: &Store,
    project_id: &str,
    order: &[String],
) -> Result<Project, ApiError> {
    let (project, ()) = change_project(store, project_id, |project| {
        let mut current: Vec<&str> = project.stages.iter().map(|s| s.id.as_str()).collect();
        let mut asked: Vec<&str> = order.iter().map(String::as_str).collect();
        current.sort_unstable();
        asked.sort_unstable();
        if current != asked {
            return Err(ApiError::validation(
                "stage_ids",
                "must list every stage of the project exactly once",
            ));
        }
        let mut reordered = Vec::with_capacity(order.len());
        for id in order {
            let stage = project
                .stages
                .iter()
                .find(|s| s.id == *id)
                .cloned()
                .ok_or_else(stage_not_found)?;
            reordered.push(stage);
        }
        project.stages = reordered;
        Ok(())
    })
    .await?;
    Ok(project)
}

/// Deletes a stage. Companies on it make this `409 stage_in_use` unless
/// `reassign_to` names another stage. The deletion itself is one project
/// write: the stage leaves the pipeline and is remembered in
/// `retired_stages` with where its companies go, so from that moment every
/// read and every precedence condition treats a company on it as being on
/// `reassign_to`, whatever is still in flight. Then the companies found on it
/// are moved there (each conditional on still being on it); a company the
/// index did not show yet keeps counting as moved.
pub async fn delete_stage(
    store: &Store,
    project: &Project,
    stage_id: &str,
    reassign_to: Option<&str>,
) -> Result<(), ApiError> {
    if !project.stages.iter().any(|s| s.id == stage_id) {
        return Err(stage_not_found());
    }
    let target = match reassign_to {
        None => None,
        Some(name) => {
            let target = stages::find(project, name).ok_or_else(|| stages::unknown(project))?;
            if target.stage.id == stage_id {
                return Err(ApiError::validation("reassign_to", "must be another stage"));
            }
            Some(target.stage.id.clone())
        }
    };
    if target.is_none() {
        let on_stage = companies_counted_on(store, project, stage_id).await?;
        if on_stage > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "stage_in_use",
                "companies are on this stage; pass ?reassign_to=",
            )
            .with_details(json!({ "companies": on_stage })));
        }
    }
    let (_, dropped) = change_project(store, &project.id, |project| {
        if !project.stages.iter().any(|s| s.id == stage_id) {
            return Err(stage_not_found());
        }
        if let Some(target) = &target
            && !project.stages.iter().any(|s| s.id == *target)
        {
            return Err(stages::unknown(project));
        }
        project.stages.retain(|s| s.id != stage_id);
        project.retired_stages.push(RetiredStage {
            id: stage_id.to_owned(),
            into: target.clone(),
        });
        // The oldest retirement goes once its companies were long since moved
        // (below, when it was deleted); kept within the bound conditions need.
        let excess = project
            .retired_stages
            .len()
            .saturating_sub(stages::MAX_RETIRED_STAGES);
        Ok(project.retired_stages.drain(..excess).collect::<Vec<_>>())
    })
    .await?;
    move_companies(store, &project.id, stage_id, target.as_deref()).await?;
    for old in dropped {
        move_companies(store, &project.id, &old.id, old.into.as_deref()).await?;
    }
    Ok(())
}

/// Moves every company the board shows on `from` to `into` (or to no
/// stage), each only while it is still on `from` (re-read when something
/// else about it changed meanwhile).
async fn move_companies(
    store: &Store,
    project_id: &str,
    from: &str,
    into: Option<&str>,
) -> Result<(), ApiError> {
    let range = IndexRange::all(Index::Gsi2, keys::board(project_id, from));
    let on_from = |c: &Company| c.stage_id.as_deref() == Some(from);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .index_page::<Company>(
                std::slice::from_ref(&range),
                100,
                after.as_deref(),
                false,
                on_from,
            )
            .await?;
        for company in page.items {
            domain::until_committed(|| async {
                let Some(old) = store.get_company(project_id, &company.id).await? else {
                    return Ok(Some(()));
                };
                if !on_from(&old) {
                    return Ok(Some(()));
                }
                let mut new = old.clone();
                new.updated_at = Timestamp::now();
                new.move_to(into.map(str::to_owned), new.updated_at);
                let mut writes = WriteSet::default();
                writes.push((), changes::company(&old, &new)?);
                Ok(store.commit(writes).await?.ok())
            })
            .await?;
        }
        match page.after {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// How many companies count on `stage_id` (its retired aliases included):
/// from the pipeline totals, read consistently.
async fn companies_counted_on(
    store: &Store,
    project: &Project,
    stage_id: &str,
) -> Result<i64, ApiError> {
    let totals = store.pipeline_totals(&project.id).await?;
    Ok(totals
        .iter()
        .filter(|(stage, _)| {
            stages::effective(project, Some(stage.as_str())).is_some_and(|t| t.stage.id == stage_id)
        })
        .map(|(_, (count, _))| *count)
        .sum())
}
