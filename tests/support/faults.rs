//! Deterministic faults for single tests: an SDK interceptor that lets a
//! write reach DynamoDB, then replaces its answer with an HTTP 500, as a
//! connection lost after the write was applied would. The SDK retries the
//! same request; the product must take the retry's refusal for success.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
pub struct LoseAnswers {
    operation: &'static str,
    remaining: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
}

impl LoseAnswers {
    /// Loses the answers of the next `count` successful `operation` calls.
    pub fn new(operation: &'static str, count: usize) -> Self {
        LoseAnswers {
            operation,
            remaining: Arc::new(AtomicUsize::new(count)),
            lost: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Answers lost so far.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    /// That the test lost one answer. In the production pass the harness
    /// may lose that write's answer first (the SDK then never gets a success
    /// to lose); the product must cope the same way, so there at most one.
    pub fn assert_lost_one(&self) {
        if crate::production_pass() {
            assert!(self.lost() <= 1, "lost {}", self.lost());
        } else {
            assert_eq!(self.lost(), 1, "the answer was lost");
        }
    }

    /// Loses the next `count` answers.
    pub fn arm(&self, count: usize) {
        self.remaining.store(count, Ordering::SeqCst);
    }
}

/// The operation of the call in flight (the request is gone once sent).
#[derive(Debug, Clone)]
struct Operation(String);

impl Storable for Operation {
    type Storer = StoreReplace<Self>;
}

impl Intercept for LoseAnswers {
    fn name(&self) -> &'static str {
        "lose-answers"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default();
        cfg.interceptor_state()
            .store_put(Operation(target.to_owned()));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = cfg
            .load::<Operation>()
            .map(|o| o.0.clone())
            .unwrap_or_default();
        let applied = context.response().status().is_success();
        if target != self.operation || !applied {
            return Ok(());
        }
        let take = self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if take.is_ok() {
            self.lost.fetch_add(1, Ordering::SeqCst);
            let response = context.response_mut();
            *response.status_mut() = 500.try_into()?;
            *response.body_mut() = SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost (test)"}"#,
            );
        }
        Ok(())
    }
}
