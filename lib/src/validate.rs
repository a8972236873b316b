//! Input rules of SPEC §3, each written once. Every failure is
//! `400 validation_failed` naming the field; messages never echo the value.

use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::model::{Attributes, Scalar};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_PHONE_CHARS: usize = 64;
pub const MAX_NOTES_CHARS: usize = 20_000;
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_ATTRIBUTE_KEYS: usize = 100;
pub const MAX_ATTRIBUTE_BYTES: usize = 32 * 1024;
pub const MAX_ATTRIBUTE_STRING_CHARS: usize = 2_000;
pub const MAX_COMPANY_IDS: usize = 25;
pub const MAX_DEAL_VALUE: f64 = 1e15;

/// A required display name: trimmed, 1–200 characters, no control characters.
pub fn name(field: &str, value: &str) -> Result<String, ApiError> {
    let trimmed = value.trim();
    text(field, trimmed, 1, MAX_NAME_CHARS)?;
    Ok(trimmed.to_owned())
}

/// `min..=max` characters and no control characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars < min || chars > max {
        return Err(ApiError::validation(
            field,
            format!("must be {min}–{max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Text where control characters are fine except NUL (notes keep their newlines).
pub fn long_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.contains('\0') {
        return Err(ApiError::validation(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

/// `visitor_id`, `user_id`, company `id`: 1–128 characters, no control characters.
pub fn external_id(field: &str, value: &str) -> Result<String, ApiError> {
    text(field, value, 1, MAX_EXTERNAL_ID_CHARS)?;
    Ok(value.to_owned())
}

/// Trimmed and lower-cased; ≤ 254 characters; one `@` with a non-empty local
/// part and a domain containing a dot; no whitespace.
pub fn email(field: &str, value: &str) -> Result<String, ApiError> {
    let email = value.trim().to_lowercase();
    let invalid = || ApiError::validation(field, "must be an email address");
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let domain_ok = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
    if local.is_empty() || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

/// The domain part of a normalised email.
pub fn email_domain(email: &str) -> &str {
    email.rsplit('@').next().unwrap_or(email)
}

/// An optional field: trimmed; empty means "clear" (`None`).
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    text(field, trimmed, 1, max)?;
    Ok(Some(trimmed.to_owned()))
}

/// The smallest magnitude DynamoDB stores besides 0; it stores below 1e126.
const MIN_STORED_MAGNITUDE: f64 = 1e-130;
const MAX_STORED_MAGNITUDE: f64 = 1e126;

/// A number DynamoDB can store: finite, and 0 or of a magnitude from 1e-130
/// to below 1e126 (an `f64` never has more than the 38 significant digits
/// DynamoDB keeps).
pub fn number(field: &str, value: f64) -> Result<f64, ApiError> {
    let magnitude = value.abs();
    if value == 0.0 || (MIN_STORED_MAGNITUDE..MAX_STORED_MAGNITUDE).contains(&magnitude) {
        return Ok(if value == 0.0 { 0.0 } else { value });
    }
    Err(ApiError::validation(
        field,
        "must be a number of magnitude 1e-130 to 1e125, or 0",
    ))
}

/// `deal_value`: 0 ≤ v ≤ 1e15 (JSON has no NaN; `null` clears before this).
pub fn deal_value(field: &str, value: f64) -> Result<f64, ApiError> {
    if !(0.0..=MAX_DEAL_VALUE).contains(&value) {
        return Err(ApiError::validation(
            field,
            "must be a number from 0 to 1e15",
        ));
    }
    number(field, value)
}

/// A metadata/properties change: each key to a new value, or `None` to delete it.
pub type AttributesPatch = BTreeMap<String, Option<Scalar>>;

fn attribute_key_ok(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// A flat JSON object: keys `^[A-Za-z0-9_.:-]{1,64}$`; values string (≤ 2 000
/// chars), finite number or bool; `null` deletes the key; nothing nested.
pub fn attributes(field: &str, map: &Map<String, Value>) -> Result<AttributesPatch, ApiError> {
    let mut patch = AttributesPatch::new();
    for (key, value) in map {
        if !attribute_key_ok(key) {
            return Err(ApiError::validation(
                field,
                "keys must match ^[A-Za-z0-9_.:-]{1,64}$",
            ));
        }
        let scalar = scalar(&format!("{field}.{key}"), value, MAX_ATTRIBUTE_STRING_CHARS)?;
        patch.insert(key.clone(), scalar);
    }
    Ok(patch)
}

/// A flat value: string (at most `max_chars`), finite number or bool; `null`
/// is `None`; arrays and objects are refused.
pub fn scalar(field: &str, value: &Value, max_chars: usize) -> Result<Option<Scalar>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(Scalar::Bool(*b))),
        Value::Number(n) => match n.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Ok(Some(Scalar::Number(number(field, f)?))),
            None => Err(ApiError::validation(field, "must be a finite number")),
        },
        Value::String(s) if s.chars().count() <= max_chars => Ok(Some(Scalar::String(s.clone()))),
        Value::String(_) => Err(ApiError::validation(
            field,
            format!("strings are at most {max_chars} characters"),
        )),
        Value::Array(_) | Value::Object(_) => Err(ApiError::validation(
            field,
            "must be a string, number, bool or null",
        )),
    }
}

/// Applies a patch; the result must hold ≤ 100 keys and ≤ 32 KiB as JSON.
pub fn merge(
    field: &str,
    current: &Attributes,
    patch: &AttributesPatch,
) -> Result<Attributes, ApiError> {
    let mut merged = current.clone();
    for (key, value) in patch {
        match value {
            Some(value) => merged.insert(key.clone(), value.clone()),
            None => merged.remove(key),
        };
    }
    check_limits(field, &merged)?;
    Ok(merged)
}

/// ≤ 100 keys and ≤ 32 KiB as JSON per record.
pub fn check_limits(field: &str, attributes: &Attributes) -> Result<(), ApiError> {
    if attributes.len() > MAX_ATTRIBUTE_KEYS {
        return Err(ApiError::validation(field, "at most 100 keys per record"));
    }
    if serde_json::to_vec(attributes).map_or(usize::MAX, |b| b.len()) > MAX_ATTRIBUTE_BYTES {
        return Err(ApiError::validation(field, "at most 32 KiB per record"));
    }
    Ok(())
}

/// `occurred_at`: RFC 3339, not more than 24 h ahead of `now`.
pub fn occurred_at(field: &str, value: &str, now: Timestamp) -> Result<Timestamp, ApiError> {
    let at = Timestamp::parse(value)
        .ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 timestamp"))?;
    if at > now.plus(time::Duration::hours(24)) {
        return Err(ApiError::validation(
            field,
            "must not be more than 24 hours in the future",
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(err: ApiError) -> String {
        err.details.unwrap()["field"].as_str().unwrap().to_owned()
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(name("name", "  Acme ").unwrap(), "Acme");
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"x".repeat(201)).is_err());
        assert!(name("name", &"é".repeat(200)).is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_the_field_named() {
        let err = name("name", "a\u{0}b").unwrap_err();
        assert_eq!(err.code, "validation_failed");
        assert_eq!(field_of(err), "name");
        assert!(external_id("visitor_id", "v\n1").is_err());
        assert!(external_id("visitor_id", &"v".repeat(129)).is_err());
        assert!(external_id("visitor_id", "v#1 ü").is_ok());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            email("email", "  Alice@ACME.com ").unwrap(),
            "alice@acme.com"
        );
        for bad in [
            "alice",
            "@acme.com",
            "alice@acme",
            "a@b@c.com",
            "al ice@acme.com",
            "alice@.com",
            "",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        let long = format!("{}@acme.com", "a".repeat(250));
        assert!(email("email", &long).is_err());
    }

    #[test]
    fn attributes_are_flat_scalars_with_safe_keys() {
        let patch = attributes(
            "metadata",
            json!({"plan": "pro", "seats": 5, "ok": true, "gone": null})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(patch["gone"], None);
        assert_eq!(patch["seats"], Some(Scalar::Number(5.0)));
        let nested =
            attributes("metadata", json!({"a": {"b": 1}}).as_object().unwrap()).unwrap_err();
        assert_eq!(field_of(nested), "metadata.a");
        assert!(attributes("metadata", json!({"bad key": 1}).as_object().unwrap()).is_err());
        assert!(
            attributes(
                "metadata",
                json!({"s": "x".repeat(2001)}).as_object().unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn merge_deletes_nulls_and_enforces_limits() {
        let current: Attributes = [("a".to_owned(), Scalar::Bool(true))].into();
        let patch: AttributesPatch = [
            ("a".to_owned(), None),
            ("b".to_owned(), Some(Scalar::Number(1.0))),
        ]
        .into();
        let merged = merge("metadata", &current, &patch).unwrap();
        assert_eq!(merged, [("b".to_owned(), Scalar::Number(1.0))].into());
        let many: AttributesPatch = (0..101)
            .map(|i| (format!("k{i}"), Some(Scalar::Bool(true))))
            .collect();
        assert!(merge("metadata", &Attributes::new(), &many).is_err());
        let big: AttributesPatch = (0..20)
            .map(|i| (format!("k{i}"), Some(Scalar::String("x".repeat(2000)))))
            .collect();
        assert!(merge("metadata", &Attributes::new(), &big).is_err());
    }

    #[test]
    fn numbers_are_what_dynamodb_can_store() {
        for ok in [0.0, -0.0, 1e-130, -1e-130, 9.99e125, -9.99e125, 12.5] {
            assert!(number("n", ok).is_ok(), "{ok}");
        }
        for bad in [1e126, 1e200, -1e300, 1e-131, 5e-324, f64::MAX] {
            assert_eq!(field_of(number("n", bad).unwrap_err()), "n", "{bad}");
        }
        assert!(scalar("metadata.n", &json!(1e200), 10).is_err());
        assert!(deal_value("deal_value", 1e-200).is_err());
    }

    #[test]
    fn deal_values_and_timestamps_are_bounded() {
        assert!(deal_value("deal_value", 0.0).is_ok());
        assert!(deal_value("deal_value", 1e15).is_ok());
        assert!(deal_value("deal_value", -1.0).is_err());
        assert!(deal_value("deal_value", 1e16).is_err());
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert!(occurred_at("occurred_at", "2026-01-01T23:59:00Z", now).is_ok());
        assert!(occurred_at("occurred_at", "2026-01-02T00:01:00Z", now).is_err());
        assert!(occurred_at("occurred_at", "yesterday", now).is_err());
    }
}
