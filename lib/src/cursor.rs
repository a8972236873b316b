//! Opaque, tamper-proof list cursors: DynamoDB's `LastEvaluatedKey` (our keys
//! are all strings) plus an HMAC-SHA256 over the list's scope and that key.
//! A cursor edited, or made for another project, route or filter, fails the MAC.

use crate::error::ApiError;
use crate::store::keys::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

type HmacSha256 = Hmac<Sha256>;

/// Truncated tag length: 128 bits is plenty against forgery.
const TAG_BYTES: usize = 16;

/// The deployment's cursor signing key (`HAL_CURSOR_SECRET`).
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        CursorKey(secret.as_ref().to_vec())
    }

    fn tag(&self, scope: &str, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }
}

pub fn encode(key: &CursorKey, scope: &str, last_key: &Item) -> String {
    let strings: BTreeMap<&str, &str> = last_key
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str())))
        .collect();
    let payload = serde_json::to_vec(&strings).unwrap_or_default();
    let tag = key.tag(scope, &payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
    )
}

pub fn decode(key: &CursorKey, scope: &str, cursor: &str) -> Result<Item, ApiError> {
    let (payload, tag) = cursor
        .split_once('.')
        .ok_or_else(ApiError::invalid_cursor)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ApiError::invalid_cursor())?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| ApiError::invalid_cursor())?;
    if tag.len() != TAG_BYTES {
        return Err(ApiError::invalid_cursor());
    }
    key.tag(scope, &payload)
        .verify_truncated_left(&tag)
        .map_err(|_| ApiError::invalid_cursor())?;
    let strings: BTreeMap<String, String> =
        serde_json::from_slice(&payload).map_err(|_| ApiError::invalid_cursor())?;
    Ok(strings
        .into_iter()
        .map(|(name, value)| (name, AttributeValue::S(value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_key() -> Item {
        Item::from([
            ("pk".to_owned(), AttributeValue::S("P#pr_1".into())),
            ("sk".to_owned(), AttributeValue::S("MEMBER#u".into())),
        ])
    }

    #[test]
    fn round_trips_within_its_scope() {
        let key = CursorKey::new("k");
        let cursor = encode(&key, "GET /api/projects|u1", &last_key());
        assert_eq!(
            decode(&key, "GET /api/projects|u1", &cursor).unwrap(),
            last_key()
        );
    }

    #[test]
    fn rejects_other_scope_other_key_and_edits() {
        let key = CursorKey::new("k");
        let cursor = encode(&key, "scope-a", &last_key());
        assert!(decode(&key, "scope-b", &cursor).is_err());
        assert!(decode(&CursorKey::new("other"), "scope-a", &cursor).is_err());
        let forged = encode(&CursorKey::new("k"), "scope-a", &Item::new());
        let (_, tag) = cursor.split_once('.').unwrap();
        let (payload, _) = forged.split_once('.').unwrap();
        assert!(decode(&key, "scope-a", &format!("{payload}.{tag}")).is_err());
        assert!(decode(&key, "scope-a", "garbage").is_err());
        let (payload, tag) = cursor.split_once('.').unwrap();
        assert!(decode(&key, "scope-a", &format!("{payload}.{}", &tag[..4])).is_err());
    }
}
