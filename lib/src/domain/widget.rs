//! What every widget route shares (SPEC §2, §4): the project (`project_id` or
//! its alias `app_id`), the visitor, identity verification with `user_hash`,
//! the project's allowed origins, and the visitor upsert whose `last_seen_at`
//! moves only when it is more than 5 minutes old.

use crate::app::App;
use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::http;
use crate::ids::{self, IdKind};
use crate::model::{Project, Visitor};
use crate::store::keys::{self, Key};
use crate::store::write::ItemWrite;
use crate::store::{Fetched, changes};
use crate::validate;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::Sha256;

/// A burst of widget calls costs one visitor write, not one per call.
pub const LAST_SEEN_REFRESH: time::Duration = time::Duration::minutes(5);

/// Who a widget call speaks for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub project_id: String,
    pub visitor_id: String,
    pub user_hash: Option<String>,
}

/// `project_id`, or its alias `app_id`; both given must agree.
fn project_or_app_id(
    project_id: Option<String>,
    app_id: Option<String>,
) -> Result<String, ApiError> {
    match (project_id, app_id) {
        (Some(p), Some(a)) if p != a => Err(ApiError::validation(
            "app_id",
            "differs from project_id; send one of them",
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(ApiError::validation(
            "project_id",
            "is required (or app_id)",
        )),
    }
}

/// Splits a widget body into the caller fields every route has and the
/// route's own fields (`T`, which refuses unknown fields by name).
pub fn parse<T: DeserializeOwned>(req: &Request) -> Result<(Caller, T), ApiError> {
    let body: Value = http::json_body(req)?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    let mut text = |name: &str| -> Result<Option<String>, ApiError> {
        match fields.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::validation(name, "must be a string")),
        }
    };
    let project_id = text("project_id")?;
    let app_id = text("app_id")?;
    let visitor_id =
        text("visitor_id")?.ok_or_else(|| ApiError::validation("visitor_id", "is required"))?;
    let user_hash = text("user_hash")?;
    let project_id = project_or_app_id(project_id, app_id)?;
    let caller = Caller {
        project_id,
        visitor_id: validate::external_id("visitor_id", &visitor_id)?,
        user_hash,
    };
    Ok((caller, http::from_json(Value::Object(fields))?))
}

/// The caller of a widget `GET`, from the query string.
pub fn caller_from_query(req: &Request) -> Result<Caller, ApiError> {
    let param = |name| http::query_param(req, name);
    let project_id = project_or_app_id(param("project_id"), param("app_id"))?;
    let visitor_id =
        param("visitor_id").ok_or_else(|| ApiError::validation("visitor_id", "is required"))?;
    Ok(Caller {
        project_id,
        visitor_id: validate::external_id("visitor_id", &visitor_id)?,
        user_hash: param("user_hash"),
    })
}

/// A widget call's view of the store after its first read.
#[derive(Debug, Clone)]
pub struct Session {
    pub project: Project,
    /// The visitor as stored, `None` on its first call.
    pub visitor: Option<Visitor>,
    pub visitor_id: String,
    pub now: Timestamp,
}

/// Reads the project, the visitor and `extra` keys in one round trip, then
/// checks identity verification and the request's origin.
pub async fn open(
    app: &App,
    req: &Request,
    caller: &Caller,
    extra: Vec<Key>,
) -> Result<(Session, Fetched), ApiError> {
    let not_found = || ApiError::not_found("project_not_found", "no such project");
    if !ids::is_valid(IdKind::Project, &caller.project_id) {
        return Err(not_found());
    }
    let project_key = keys::project(&caller.project_id).key;
    let visitor_key = keys::visitor(&caller.project_id, &caller.visitor_id, None).key;
    let mut wanted = vec![project_key.clone(), visitor_key.clone()];
    wanted.extend(extra);
    let mut found = app.store.fetch(wanted).await?;
    let project: Project = found.take(&project_key)?.ok_or_else(not_found)?;
    verify_identity(&project, &caller.visitor_id, caller.user_hash.as_deref())?;
    check_origin(&project, http::header(req, "origin"))?;
    let visitor = found.take(&visitor_key)?;
    let session = Session {
        project,
        visitor,
        visitor_id: caller.visitor_id.clone(),
        now: Timestamp::now(),
    };
    Ok((session, found))
}

/// `user_hash` = hex HMAC-SHA256 of the visitor id with the project's identity
/// secret, compared in constant time. Required when the project says so;
/// checked whenever it is sent.
pub fn verify_identity(
    project: &Project,
    visitor_id: &str,
    user_hash: Option<&str>,
) -> Result<(), ApiError> {
    let failed = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "identity_verification_failed",
            "user_hash is missing or does not match visitor_id",
        )
    };
    let Some(user_hash) = user_hash else {
        return if project.require_identity_verification {
            Err(failed())
        } else {
            Ok(())
        };
    };
    let expected = hex::decode(user_hash.trim()).map_err(|_| failed())?;
    identity_mac(&project.identity_secret, visitor_id)
        .verify_slice(&expected)
        .map_err(|_| failed())
}

/// The `user_hash` a customer's backend computes for a visitor.
pub fn user_hash(identity_secret: &str, visitor_id: &str) -> String {
    hex::encode(
        identity_mac(identity_secret, visitor_id)
            .finalize()
            .into_bytes(),
    )
}

/// HMAC-SHA256 of the visitor id, keyed with the project's identity secret.
fn identity_mac(identity_secret: &str, visitor_id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(identity_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(visitor_id.as_bytes());
    mac
}

/// A browser call from an origin the project does not allow is refused before
/// anything is written; calls without `Origin` (servers) are not restricted.
fn check_origin(project: &Project, origin: Option<&str>) -> Result<(), ApiError> {
    match origin {
        Some(origin)
            if !project.allowed_origins.is_empty()
                && !project.allowed_origins.iter().any(|o| o == origin) =>
        {
            Err(ApiError::forbidden(
                "this origin is not allowed to call the widget API for this project",
            )
            .with_code("origin_not_allowed"))
        }
        _ => Ok(()),
    }
}

impl Session {
    pub fn project_id(&self) -> &str {
        &self.project.id
    }

    /// The visitor as this call leaves it before route-specific changes: new
    /// on its first call, `last_seen_at` moved when it is stale.
    pub fn touched_visitor(&self) -> Visitor {
        match &self.visitor {
            None => Visitor {
                project_id: self.project.id.clone(),
                visitor_id: self.visitor_id.clone(),
                properties: Default::default(),
                contact_id: None,
                active_company_id: None,
                first_seen_at: self.now,
                last_seen_at: self.now,
                updated_at: self.now,
            },
            Some(visitor) => {
                let mut visitor = visitor.clone();
                if visitor.last_seen_at < self.now.minus(LAST_SEEN_REFRESH) {
                    visitor.last_seen_at = self.now;
                }
                visitor.updated_at = self.now;
                visitor
            }
        }
    }

    /// The write that turns the stored visitor into `new` (create, or only
    /// the attributes that changed).
    pub fn visitor_write(&self, new: &Visitor) -> Result<ItemWrite, ApiError> {
        Ok(match &self.visitor {
            None => changes::create(new)?,
            Some(old) => changes::visitor(old, new)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_hash_is_hmac_sha256_hex_of_the_visitor_id() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style vector.
        assert_eq!(
            user_hash("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
