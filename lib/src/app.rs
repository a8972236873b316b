//! `App`: what a route needs, built once per process (a Lambda's init phase or
//! the dev server's start) and shared by every request.

use crate::cursor::CursorKey;
use crate::store::Store;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::config::Region;
use std::env;

pub struct App {
    pub store: Store,
    pub cursor_key: CursorKey,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    env::var(name).map_err(|_| ConfigError::Missing(name))
}

impl App {
    pub fn new(store: Store, cursor_key: CursorKey) -> Self {
        App { store, cursor_key }
    }

    /// Lambda configuration: `TABLE_NAME`, `HAL_CURSOR_SECRET`, and optionally
    /// `DYNAMODB_ENDPOINT` (DynamoDB Local, with dummy credentials).
    ///
    /// In Lambda the region and credentials come from the environment Lambda
    /// sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`), read directly: the default provider chain would
    /// probe profile files and endpoints first, which costs cold-start time
    /// (measured in docs/performance.md). Nothing here does I/O.
    pub fn from_env() -> Result<Self, ConfigError> {
        let table = required("TABLE_NAME")?;
        let cursor_key = CursorKey::new(required("HAL_CURSOR_SECRET")?);
        // Empty counts as unset: the template declares it empty so that
        // `sam local --env-vars` can set it.
        let local_endpoint = env::var("DYNAMODB_ENDPOINT").ok().filter(|e| !e.is_empty());
        let store = match local_endpoint {
            Some(endpoint) => Store::local(&endpoint, table),
            None => {
                let mut config = Store::client_config()
                    .region(Region::new(required("AWS_REGION")?))
                    .credentials_provider(EnvironmentVariableCredentialsProvider::new());
                // The SDKs' standard endpoint override (unset in AWS).
                if let Ok(endpoint) = env::var("AWS_ENDPOINT_URL_DYNAMODB") {
                    config = config.endpoint_url(endpoint);
                }
                Store::new(aws_sdk_dynamodb::Client::from_conf(config.build()), table)
            }
        };
        Ok(App::new(store, cursor_key))
    }
}
