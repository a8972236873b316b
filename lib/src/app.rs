//! `App`: what a route needs, built once per process (a Lambda's init phase or
//! the dev server's start) and shared by every request.

use crate::cursor::CursorKey;
use crate::store::Store;
use aws_config::BehaviorVersion;
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

impl App {
    pub fn new(store: Store, cursor_key: CursorKey) -> Self {
        App { store, cursor_key }
    }

    /// Lambda configuration: `TABLE_NAME`, `HAL_CURSOR_SECRET`, and optionally
    /// `DYNAMODB_ENDPOINT` (DynamoDB Local; then dummy credentials are used).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let cursor_secret =
            env::var("HAL_CURSOR_SECRET").map_err(|_| ConfigError::Missing("HAL_CURSOR_SECRET"))?;
        let store = match env::var("DYNAMODB_ENDPOINT") {
            Ok(endpoint) => Store::local(&endpoint, table),
            Err(_) => {
                let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
                Store::new(aws_sdk_dynamodb::Client::new(&config), table)
            }
        };
        Ok(App::new(store, CursorKey::new(cursor_secret)))
    }
}
