//! API keys for `/api/v1/*`: `hal_sk_` + 40 random base62 characters, shown
//! once; the table keeps only the SHA-256, as the item's key.

use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{ApiKey, ApiKeyRef, Scope};
use crate::store::keys::{self, Item};
use crate::store::lists::Source;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Page, Store, changes};
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
    let reference = ApiKeyRef {
        project_id: project_id.to_owned(),
        key_id: key.id.clone(),
        hash: key.hash.clone(),
    };
    let mut writes = WriteSet::default();
    writes.push(0, changes::create(&key)?);
    writes.push(1, changes::create(&reference)?);
    store
        .commit(writes)
        .await?
        .map_err(|_| ApiError::internal("API key hash collision"))?;
    Ok(key)
}

/// A project's keys, oldest first: its references, then the keys by hash.
pub async fn page(
    store: &Store,
    project_id: &str,
    limit: i32,
    start: Option<Item>,
) -> Result<Page<ApiKey>, ApiError> {
    let source = Source::Partition(keys::project_api_keys(project_id));
    let references = store
        .page::<ApiKeyRef>(&source, limit, start, false)
        .await?;
    let keys = references
        .items
        .iter()
        .map(|r| keys::api_key_by_hash(&r.hash))
        .collect();
    Ok(Page {
        items: store.get_many(keys).await?,
        last_key: references.last_key,
    })
}

pub fn not_found() -> ApiError {
    ApiError::not_found("api_key_not_found", "no such API key")
}

/// Revokes a key: the next request with it is refused. The project's
/// reference names the key's hash; both go in one transaction.
pub async fn delete(store: &Store, project_id: &str, key_id: &str) -> Result<(), ApiError> {
    let reference_key = keys::api_key_ref(project_id, key_id).key;
    let mut found = store.fetch(vec![reference_key.clone()]).await?;
    let reference: ApiKeyRef = found.take(&reference_key)?.ok_or_else(not_found)?;
    let mut key = ItemWrite::delete(keys::api_key_by_hash(&reference.hash));
    key.require_equals("project_id", AttributeValue::S(project_id.to_owned()));
    let mut writes = WriteSet::default();
    writes.push(0, ItemWrite::delete(reference_key));
    writes.push(1, key);
    store.commit(writes).await?.map_err(|_| not_found())
}

/// The key a v1 request presents, if it exists: one GetItem on the hash.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<ApiKey>, ApiError> {
    Ok(store.get_api_key(&hash(secret)).await?)
}
