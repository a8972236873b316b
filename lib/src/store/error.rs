//! Store errors, typed so callers can tell a failed condition, a cancelled
//! transaction (with per-item reasons), throttling and an unreachable store
//! apart. Messages never carry item contents, so they are safe to log.

use super::keys::Item;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use std::fmt::Debug;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A single-item write's condition expression was false.
    #[error("condition check failed")]
    ConditionFailed,
    /// A `TransactWriteItems` was cancelled; one reason per item, in request order.
    #[error("transaction cancelled: {}", describe(.0))]
    Cancelled(Vec<CancelReason>),
    /// Still throttled after the SDK's retries.
    #[error("throttled by DynamoDB")]
    Throttled,
    /// Transactions kept conflicting with concurrent ones after our retries.
    #[error("too many concurrent transactions on the same items")]
    Contention,
    /// DynamoDB could not be reached (connection, timeout, 5xx).
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// The request's time budget ran out before DynamoDB answered.
    #[error("DynamoDB did not answer within the request's time budget")]
    TimedOut,
    /// An item did not decode as the record its `type` names.
    #[error("stored {entity} item does not decode")]
    Corrupt { entity: &'static str },
    #[error("DynamoDB request failed: {0}")]
    Other(String),
}

/// Why one item of a cancelled transaction did not commit.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelReason {
    /// This item was fine; another one cancelled the transaction.
    None,
    /// Its condition was false; `old` is the item as it was, when the request asked for it.
    ConditionFailed {
        old: Option<Item>,
    },
    /// Another transaction was writing the same item.
    Conflict,
    Throttled,
    Other(String),
}

impl CancelReason {
    fn from_sdk(reason: &CancellationReason) -> Self {
        match reason.code() {
            None | Some("None") => CancelReason::None,
            Some("ConditionalCheckFailed") => CancelReason::ConditionFailed {
                old: reason.item().cloned(),
            },
            Some("TransactionConflict") => CancelReason::Conflict,
            Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded") => {
                CancelReason::Throttled
            }
            Some(other) => CancelReason::Other(other.to_owned()),
        }
    }

    fn code(&self) -> &str {
        match self {
            CancelReason::None => "None",
            CancelReason::ConditionFailed { .. } => "ConditionalCheckFailed",
            CancelReason::Conflict => "TransactionConflict",
            CancelReason::Throttled => "Throttled",
            CancelReason::Other(code) => code,
        }
    }
}

fn describe(reasons: &[CancelReason]) -> String {
    reasons
        .iter()
        .map(CancelReason::code)
        .collect::<Vec<_>>()
        .join(", ")
}

impl StoreError {
    /// Classifies any SDK error by what a caller can do about it.
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                StoreError::Unavailable(DisplayErrorContext(&err).to_string())
            }
            SdkError::ServiceError(service) => match service.err().code() {
                Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
                // A single write on an item a transaction holds: as retryable
                // as a transaction cancelled by a conflict.
                Some("TransactionConflictException") => {
                    StoreError::Cancelled(vec![CancelReason::Conflict])
                }
                Some(
                    "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded",
                ) => StoreError::Throttled,
                Some("InternalServerError" | "ServiceUnavailable") => {
                    StoreError::Unavailable(DisplayErrorContext(&err).to_string())
                }
                _ => StoreError::Other(DisplayErrorContext(&err).to_string()),
            },
            _ => StoreError::Other(DisplayErrorContext(&err).to_string()),
        }
    }

    pub(crate) fn cancelled(reasons: &[CancellationReason]) -> Self {
        StoreError::Cancelled(reasons.iter().map(CancelReason::from_sdk).collect())
    }
}

/// Builder errors mean a required request field was not set: a bug, not input.
impl From<BuildError> for StoreError {
    fn from(err: BuildError) -> Self {
        StoreError::Other(format!("request build error: {err}"))
    }
}
