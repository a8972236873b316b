//! API keys for `/api/v1/*`: `hal_sk_` + 40 random base62 characters, shown
//! once; the table keeps only the SHA-256, as the item's key.

use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{ApiKey, Scope};
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

pub const SECRET_PREFIX: &str = "hal_sk_";
const SECRET_RANDOM_CHARS: usize = 40;

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key; the plaintext secret is returned here and never again.
pub async fn create(
    store: &Store,
    project_id: &str,
    name: &str,
    scopes: Vec<Scope>,
    created_by: &str,
) -> Result<(ApiKey, String), ApiError> {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_RANDOM_CHARS)
        .map(char::from)
        .collect();
    let secret = format!("{SECRET_PREFIX}{random}");
    let key = create_with_secret(store, project_id, name, scopes, created_by, &secret).await?;
    Ok((key, secret))
}

/// Stores a key for a secret the caller chose (the dev server's stable dev key).
pub async fn create_with_secret(
    store: &Store,
    project_id: &str,
    name: &str,
    mut scopes: Vec<Scope>,
    created_by: &str,
    secret: &str,
) -> Result<ApiKey, ApiError> {
    scopes.sort_unstable();
    scopes.dedup();
    let key = ApiKey {
        id: new_id(IdKind::ApiKey),
        project_id: project_id.to_owned(),
        name: name.to_owned(),
        scopes,
        prefix: secret.chars().take(SECRET_PREFIX.len() + 4).collect(),
        hash: hash(secret),
        created_by: created_by.to_owned(),
        created_at: Timestamp::now(),
    };
    let mut writes = WriteSet::default();
    writes.push((), changes::create(&key)?);
    store
        .commit(writes)
        .await?
        .map_err(|_| ApiError::internal("API key hash collision"))?;
    Ok(key)
}

/// Revokes a key: the next request with it is refused.
pub async fn delete(store: &Store, project_id: &str, key_id: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::not_found("api_key_not_found", "no such API key");
    let entries = store.index_keys(keys::project_api_keys(project_id)).await?;
    let entry = entries
        .iter()
        .find(|e| {
            e.get(keys::GSI1_SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(key_id)
        })
        .ok_or_else(not_found)?;
    let key = crate::store::key_of(entry).ok_or_else(not_found)?;
    let mut delete = ItemWrite::delete(key);
    delete.require_equals("project_id", AttributeValue::S(project_id.to_owned()));
    let mut writes = WriteSet::default();
    writes.push((), delete);
    store.commit(writes).await?.map_err(|_| not_found())
}

/// The key a v1 request presents, if it exists: one GetItem on the hash.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<ApiKey>, ApiError> {
    Ok(store.get_api_key(&hash(secret)).await?)
}
