//! What is in each stage and what it is worth: the pipeline totals (kept in
//! the same transactions as every stage and deal value change, so exact)
//! and the companies whose stage changed last. Two DynamoDB calls in
//! sequence at most: the totals' shards (one `BatchGetItem`) beside the
//! recent-changes index (a `Query` per partition, all at once), then those
//! companies (one `BatchGetItem`).

use crate::domain::stages;
use crate::error::ApiError;
use crate::model::{Company, Project};
use crate::store::Store;
use crate::store::keys::{self, Index};
use crate::store::lists::IndexRange;
use crate::store::pipeline;

/// Companies and the sum of their deal values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Total {
    pub companies: i64,
    pub deal_value: f64,
}

#[derive(Debug)]
pub struct StageTotal<'p> {
    pub id: &'p str,
    pub name: &'p str,
    /// 1-based, as the stages routes number them.
    pub position: usize,
    pub total: Total,
}

#[derive(Debug)]
pub struct Summary<'p> {
    /// Every stage of the pipeline, in order.
    pub stages: Vec<StageTotal<'p>>,
    /// The whole pipeline (companies on no stage are not in it).
    pub all: Total,
    /// The companies whose stage changed last, newest first.
    pub recent: Vec<Company>,
}

/// Recent stage changes shown unless asked otherwise (0 to 50).
const DEFAULT_RECENT: usize = 10;
const MAX_RECENT: usize = 50;

/// How many recent stage changes a summary shows: `recent`, 0 to 50, or
/// 10 when absent.
pub fn recent_count(recent: Option<i64>) -> Result<usize, ApiError> {
    match recent {
        None => Ok(DEFAULT_RECENT),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_RECENT)
            .ok_or_else(|| ApiError::validation("recent", "must be an integer from 0 to 50")),
    }
}

/// The summary of `project`'s pipeline with up to `recent` recent changes.
pub async fn summary<'p>(
    store: &Store,
    project: &'p Project,
    recent: usize,
) -> Result<Summary<'p>, ApiError> {
    // None asked for: the totals alone.
    let shards = if recent == 0 {
        0
    } else {
        keys::STAGE_CHANGE_SHARDS
    };
    let changes: Vec<IndexRange> = (0..shards)
        .map(|shard| IndexRange::all(Index::Gsi5, keys::stage_changes(&project.id, shard)))
        .collect();
    let (totals, recent) = tokio::try_join!(
        store.pipeline_totals(&project.id),
        store.index_page::<Company>(&changes, recent, None, true, |c| c.stage_id.is_some()),
    )?;
    // Units per stage as it reads now: a retired stage counts as its target.
    let mut units: Vec<(i64, i128)> = vec![(0, 0); project.stages.len()];
    let mut all = (0i64, 0i128);
    for (stage, (count, value)) in &totals {
        let target = stages::effective(project, Some(stage))
            .and_then(|t| project.stages.iter().position(|s| s.id == t.stage.id));
        // A stage retired with no target took its companies off the
        // pipeline: they count nowhere.
        if let Some(index) = target {
            units[index] = (units[index].0 + count, units[index].1 + value);
            all = (all.0 + count, all.1 + value);
        }
    }
    let total = |(companies, value): (i64, i128)| Total {
        companies,
        deal_value: pipeline::value_of_units(value),
    };
    Ok(Summary {
        stages: project
            .stages
            .iter()
            .zip(units)
            .enumerate()
            .map(|(index, (stage, sums))| StageTotal {
                id: &stage.id,
                name: &stage.name,
                position: index + 1,
                total: total(sums),
            })
            .collect(),
        all: total(all),
        recent: recent.items,
    })
}
