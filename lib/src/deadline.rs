//! The time budget of one request. `http::serve` sets a deadline (the Lambda
//! invocation's, less what answering takes; a fixed budget where there is
//! none, as in the dev server and tests), and every DynamoDB call and retry
//! loop of the request respects it, so a stalled or overloaded store is
//! answered with a SPEC §7 body (`503`, `429`) before the function's timeout,
//! never with API Gateway's own error.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The budget of a request without a Lambda deadline: under the functions'
/// `Timeout: 10` (template.yaml), like the deadline Lambda would give.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(9);

/// Kept back from the invocation's deadline to build and send the answer.
pub const ANSWER_RESERVE: Duration = Duration::from_millis(300);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as its request's deadline.
pub async fn scope<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// The deadline of a Lambda invocation (milliseconds since the epoch; `0`
/// when there is none), less [`ANSWER_RESERVE`]; else [`DEFAULT_BUDGET`]
/// from now.
pub fn from_lambda(deadline_ms: u64) -> Instant {
    let now = Instant::now();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let left = Duration::from_millis(deadline_ms).checked_sub(wall);
    match left {
        Some(left) if deadline_ms > 0 => now + left.saturating_sub(ANSWER_RESERVE),
        _ if deadline_ms > 0 => now,
        _ => now + DEFAULT_BUDGET,
    }
}

/// Time left to the current request's deadline; `None` outside a request.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// The current request's deadline (outside a request, [`DEFAULT_BUDGET`]
/// from now): to carry it into work spawned on another task.
pub fn current() -> Instant {
    DEADLINE
        .try_with(|deadline| *deadline)
        .unwrap_or_else(|_| Instant::now() + DEFAULT_BUDGET)
}

/// Whether a pause of `pause` still leaves time for another attempt.
pub fn allows(pause: Duration) -> bool {
    remaining().is_none_or(|left| left > pause + MIN_ATTEMPT)
}

/// The least time worth starting a store call with.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// Runs a store call within the time left; `None` when it runs out first.
pub async fn bounded<F: Future>(call: F) -> Option<F::Output> {
    match remaining() {
        None => Some(call.await),
        Some(left) => tokio::time::timeout(left, call).await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_is_cut_at_the_deadline_and_retries_stop_before_it() {
        let deadline = Instant::now() + Duration::from_millis(200);
        scope(deadline, async {
            assert!(allows(Duration::from_millis(10)));
            assert!(!allows(Duration::from_millis(500)));
            let slow = tokio::time::sleep(Duration::from_secs(5));
            assert!(bounded(slow).await.is_none());
        })
        .await;
        assert_eq!(remaining(), None);
        assert!(allows(Duration::from_secs(60)));
    }

    #[test]
    fn a_lambda_deadline_keeps_time_to_answer() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let deadline = from_lambda(now_ms + 5_000);
        let left = deadline - Instant::now();
        assert!(left <= Duration::from_millis(4_700) && left > Duration::from_millis(4_500));
        assert!(from_lambda(0) - Instant::now() > Duration::from_secs(8));
        // A deadline already past leaves nothing.
        assert!(from_lambda(now_ms - 1_000) <= Instant::now());
    }
}
