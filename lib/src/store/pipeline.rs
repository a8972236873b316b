//! Pipeline totals: per stage, how many companies and the sum of their deal
//! values, kept exact by changing them in the same transaction as the
//! company whose stage or deal value changes (the company's write is
//! conditioned on the stage and value it read, so the change applied is the
//! change computed).
//!
//! The totals are spread over [`keys::PIPELINE_SHARDS`] shard items; a
//! company always counts in the same shard, so one company's change touches
//! one shard item, and a summary reads every shard in one `BatchGetItem`.
//! A shard holds `n#{stage}` (companies) and `v#{stage}` (deal values in
//! millionths, integers: DynamoDB adds them exactly) for each stage id.
//! Changes are `ADD`s, which need no read. A company on no stage is not in
//! the pipeline and counts nowhere: creating one (a placeholder at every
//! first identify) writes no shard and stays a single-item write.

use super::keys::{self, Item, Key};
use super::write::ItemWrite;
use super::{Store, StoreError};
use crate::model::Company;
use std::collections::BTreeMap;

/// Deal values are summed in millionths.
pub const UNITS_PER_VALUE: i128 = 1_000_000;

const COUNT_PREFIX: &str = "n#";
const VALUE_PREFIX: &str = "v#";

/// A deal value in millionths, from its shortest decimal form, rounded half
/// to even: the same value always counts the same, so removing a value
/// removes exactly what adding it added.
pub fn units(value: Option<f64>) -> i128 {
    let Some(value) = value.filter(|v| v.is_finite() && *v > 0.0) else {
        return 0;
    };
    // `Display` for f64 never uses an exponent: "1000000000000000", "0.0001".
    let text = value.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digit = |b: u8| i128::from(b - b'0');
    let mut units = whole.bytes().fold(0i128, |n, b| n * 10 + digit(b));
    let fraction = fraction.as_bytes();
    for i in 0..6 {
        units = units * 10 + fraction.get(i).map_or(0, |b| digit(*b));
    }
    let rest = fraction.get(6..).unwrap_or_default();
    let round_up = match rest.first() {
        Some(b'6'..=b'9') => true,
        Some(b'5') => rest[1..].iter().any(|b| *b != b'0') || units % 2 == 1,
        _ => false,
    };
    units + i128::from(round_up)
}

/// What one or more company changes do to one shard.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalsChange {
    shard: Key,
    /// Stage → (companies, value units) to add.
    stages: BTreeMap<String, (i64, i128)>,
}

impl TotalsChange {
    /// The change of `old` becoming `new` (either absent: created, deleted).
    /// `None` when neither the stage nor the counted value changes.
    pub fn of(old: Option<&Company>, new: Option<&Company>) -> Option<Self> {
        let company = new.or(old)?;
        let mut change = TotalsChange {
            shard: keys::pipeline_shard(&company.project_id, &company.id),
            stages: BTreeMap::new(),
        };
        for (side, sign) in [(old, -1), (new, 1)] {
            if let Some((company, stage)) = side.and_then(|c| Some((c, c.stage_id.as_deref()?))) {
                let entry = change.stages.entry(stage.to_owned()).or_default();
                entry.0 += sign;
                entry.1 += i128::from(sign) * units(company.deal_value);
            }
        }
        change.stages.retain(|_, delta| *delta != (0, 0));
        (!change.stages.is_empty()).then_some(change)
    }

    pub fn shard(&self) -> &Key {
        &self.shard
    }

    /// True when the merged changes cancel out.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Adds `other` (same shard) into this change.
    pub fn merge(&mut self, other: TotalsChange) {
        debug_assert_eq!(self.shard, other.shard);
        for (stage, (count, value)) in other.stages {
            let entry = self.stages.entry(stage).or_default();
            entry.0 += count;
            entry.1 += value;
        }
        self.stages.retain(|_, delta| *delta != (0, 0));
    }

    /// The shard's update: `ADD` per changed attribute (a missing shard or
    /// attribute counts as 0). `None` when the changes cancel out.
    pub fn into_write(self) -> Option<ItemWrite> {
        if self.stages.is_empty() {
            return None;
        }
        let mut write = ItemWrite::upsert(self.shard);
        write.set_text(keys::TYPE, keys::Entity::PipelineShard.name());
        for (stage, (count, value)) in self.stages {
            if count != 0 {
                write.add(&format!("{COUNT_PREFIX}{stage}"), count);
            }
            if value != 0 {
                write.add_number(&format!("{VALUE_PREFIX}{stage}"), &value.to_string());
            }
        }
        Some(write)
    }
}

/// Per stage id (`-`: none): companies and value units, summed over shards.
fn sum_shards(shards: Vec<Item>) -> Totals {
    let mut totals = Totals::new();
    for shard in shards {
        for (name, value) in shard {
            let Ok(number) = value.as_n() else { continue };
            if let Some(stage) = name.strip_prefix(COUNT_PREFIX) {
                totals.entry(stage.to_owned()).or_default().0 += number.parse::<i64>().unwrap_or(0);
            } else if let Some(stage) = name.strip_prefix(VALUE_PREFIX) {
                totals.entry(stage.to_owned()).or_default().1 +=
                    number.parse::<i128>().unwrap_or(0);
            }
        }
    }
    totals
}

/// A value in units as a JSON number (exact for sums below 2^53 units).
pub fn value_of_units(units: i128) -> f64 {
    units as f64 / UNITS_PER_VALUE as f64
}

/// Every shard key of a project, for one `BatchGetItem`.
fn shard_keys(project: &str) -> Vec<Key> {
    (0..keys::PIPELINE_SHARDS)
        .map(|shard| keys::pipeline_shard_key(project, shard))
        .collect()
}

/// Per stage id: (companies, deal value units).
pub type Totals = BTreeMap<String, (i64, i128)>;

impl Store {
    /// A project's pipeline totals: every shard in one consistent
    /// `BatchGetItem`.
    pub async fn pipeline_totals(&self, project: &str) -> Result<Totals, StoreError> {
        Ok(sum_shards(self.batch_get(shard_keys(project)).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    #[test]
    fn units_are_exact_millionths_rounded_half_to_even() {
        assert_eq!(units(None), 0);
        assert_eq!(units(Some(0.0)), 0);
        assert_eq!(units(Some(0.1)), 100_000);
        assert_eq!(units(Some(1234.5)), 1_234_500_000);
        assert_eq!(units(Some(1e15)), 1_000_000_000_000_000_000_000);
        assert_eq!(units(Some(0.0000005)), 0);
        assert_eq!(units(Some(0.0000015)), 2);
        assert_eq!(units(Some(0.00000051)), 1);
        assert_eq!(units(Some(1e-130)), 0);
        // 0.1 + 0.2 is not 0.3 in doubles; in units it is.
        assert_eq!(units(Some(0.1)) + units(Some(0.2)), units(Some(0.3)));
    }

    fn company(id: &str, stage: Option<&str>, value: Option<f64>) -> Company {
        Company {
            stage_id: stage.map(str::to_owned),
            deal_value: value,
            ..Company::new("pr_1", id, id, Timestamp::now())
        }
    }

    #[test]
    fn a_change_moves_count_and_value_between_stages() {
        let old = company("acme", Some("st_a"), Some(10.0));
        let new = company("acme", Some("st_b"), Some(12.5));
        let change = TotalsChange::of(Some(&old), Some(&new)).unwrap();
        assert_eq!(change.stages["st_a"], (-1, -10_000_000));
        assert_eq!(change.stages["st_b"], (1, 12_500_000));
        let same = TotalsChange::of(Some(&old), Some(&old.clone()));
        assert_eq!(same, None);
        let created = TotalsChange::of(None, Some(&company("x", Some("st_a"), None))).unwrap();
        assert_eq!(created.stages["st_a"], (1, 0));
        // Off the pipeline: counted nowhere.
        assert_eq!(
            TotalsChange::of(None, Some(&company("y", None, Some(5.0)))),
            None
        );
        let left = TotalsChange::of(Some(&old), Some(&company("acme", None, Some(10.0)))).unwrap();
        assert_eq!(left.stages.len(), 1);
    }
}
