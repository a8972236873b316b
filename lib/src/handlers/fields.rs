//! Request-body fields shared by several routes, and their validation into
//! the domain's field sets.

use crate::domain::{companies, contacts};
use crate::error::ApiError;
use crate::validate::{self, MAX_NAME_CHARS, MAX_NOTES_CHARS, MAX_PHONE_CHARS};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// `Some(None)` for an explicit `null` (clear), `None` when absent.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An optional text field: trimmed, empty or `null` clears it.
pub fn optional(
    field: &str,
    value: &Option<Option<String>>,
    max: usize,
) -> Result<Option<Option<String>>, ApiError> {
    value
        .as_ref()
        .map(|v| match v {
            Some(text) => validate::optional_text(field, text, max),
            None => Ok(None),
        })
        .transpose()
}

pub fn attributes(
    field: &str,
    map: &Option<Map<String, Value>>,
) -> Result<Option<validate::AttributesPatch>, ApiError> {
    map.as_ref()
        .map(|m| validate::attributes(field, m))
        .transpose()
}

pub fn deal_value(
    field: &str,
    value: Option<Option<f64>>,
) -> Result<Option<Option<f64>>, ApiError> {
    value
        .map(|v| v.map(|v| validate::deal_value(field, v)).transpose())
        .transpose()
}

fn notes(value: &Option<Option<String>>) -> Result<Option<Option<String>>, ApiError> {
    value
        .as_ref()
        .map(|v| match v {
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => {
                validate::long_text("notes", text, MAX_NOTES_CHARS).map(|()| Some(text.clone()))
            }
            None => Ok(None),
        })
        .transpose()
}

/// `tags`: at most 100 of 1–64 characters; kept as a sorted set.
pub fn tags(value: &Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(tags) = value else { return Ok(None) };
    if tags.len() > 100 {
        return Err(ApiError::validation("tags", "at most 100 tags"));
    }
    let mut set = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        validate::text("tags", tag, 1, 64)?;
        set.push(tag.to_owned());
    }
    set.sort_unstable();
    set.dedup();
    Ok(Some(set))
}

/// A contact's own fields (account routes and `/api/v1/contacts`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactFields))]
pub struct ContactBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    user_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    notes: Option<Option<String>>,
    tags: Option<Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    metadata: Option<Map<String, Value>>,
}

impl ContactBody {
    pub fn validate(self) -> Result<contacts::Fields, ApiError> {
        let email = match self.email {
            Some(Some(email)) => Some(Some(validate::email("email", &email)?)),
            other => other.map(|_| None),
        };
        let user_id = match self.user_id {
            Some(Some(id)) => Some(Some(validate::external_id("user_id", &id)?)),
            other => other.map(|_| None),
        };
        Ok(contacts::Fields {
            name: optional("name", &self.name, MAX_NAME_CHARS)?,
            email,
            user_id,
            phone: optional("phone", &self.phone, MAX_PHONE_CHARS)?,
            notes: notes(&self.notes)?,
            tags: tags(&self.tags)?,
            metadata: attributes("metadata", &self.metadata)?,
        })
    }
}

/// A company's own fields (account routes); `id` only on create.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CompanyFields))]
pub struct CompanyBody {
    pub id: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    stage: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    deal_value: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    notes: Option<Option<String>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    metadata: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    enrichment: Option<Map<String, Value>>,
}

impl CompanyBody {
    pub fn validate(self) -> Result<(Option<String>, companies::Fields), ApiError> {
        let id = self
            .id
            .map(|id| validate::external_id("id", &id))
            .transpose()?;
        let fields = companies::Fields {
            name: self.name.map(|n| validate::name("name", &n)).transpose()?,
            domain: optional("domain", &self.domain, 253)?.map(|d| d.map(|d| d.to_lowercase())),
            industry: optional("industry", &self.industry, MAX_NAME_CHARS)?,
            stage: optional("stage", &self.stage, 64)?,
            deal_value: deal_value("deal_value", self.deal_value)?,
            notes: notes(&self.notes)?,
            metadata: attributes("metadata", &self.metadata)?,
            enrichment: attributes("enrichment", &self.enrichment)?,
        };
        Ok((id, fields))
    }
}
