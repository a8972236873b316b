//! Input rules of SPEC §3, each written once. Every failure is
//! `400 validation_failed` naming the field.

use crate::error::ApiError;

pub const MAX_NAME_CHARS: usize = 200;

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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(err.details.unwrap()["field"], "name");
    }
}
