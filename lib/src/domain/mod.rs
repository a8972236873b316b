//! Product rules, between the HTTP handlers and the store: what a route means,
//! independent of how it was called.

pub mod api_keys;
mod cascade;
pub mod companies;
pub mod contacts;
pub mod conversations;
pub mod identify;
pub mod links;
pub mod lists;
pub mod members;
pub mod pipeline;
pub mod pipeline_admin;
pub mod pipeline_summary;
pub mod placeholder;
pub mod projects;
pub mod properties;
pub mod stages;
mod tags;
pub mod track;
pub mod widget;

use crate::error::ApiError;
use crate::store::{StoreError, backoff};
use std::future::Future;

/// Attempts before a hot spot is reported as `429 contention`: with the
/// jittered backoff, about 3 s of re-reading, enough for a delete to wait out
/// the index's lag and for writes to a company being deleted to wait for it
/// to be gone. (Issue 11 bounds every request by its invocation's deadline.)
const MAX_ATTEMPTS: u32 = 12;

/// Runs an optimistic attempt until it commits. An attempt answers `Ok(None)`
/// when a concurrent write refused its commit (nothing was written); it then
/// runs again, on fresh reads, after a jittered backoff.
pub(crate) async fn until_committed<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ApiError>>,
{
    for n in 0..MAX_ATTEMPTS {
        if n > 0 {
            let pause = backoff(n);
            if !crate::deadline::allows(pause) {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(StoreError::Contention.into())
}
