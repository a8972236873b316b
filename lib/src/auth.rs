//! Who is calling an account route. In AWS the HTTP API's JWT authorizer has
//! validated the bearer token and put its claims in the request context; the
//! dev server does the same with HS256 dev tokens, so this is the one path.

use crate::app::App;
use crate::error::ApiError;
use crate::http;
use crate::ids::{self, IdKind};
use crate::model::{ApiKey, Member, Project, Role, Scope};
use crate::store::Store;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The header that selects the project of an account route.
pub const PROJECT_HEADER: &str = "x-project-id";

/// The longest token subject taken (Cognito's are 36 characters, Auth0's
/// about 30; member keys must stay far below DynamoDB's key limits).
const MAX_SUBJECT_CHARS: usize = 256;

/// Whether `id` can be a user's id (a token's `sub`): 1–256 characters, no
/// control characters.
pub fn is_user_id(id: &str) -> bool {
    crate::validate::text("user_id", id, 1, MAX_SUBJECT_CHARS).is_ok()
}

/// A signed-in HAL user: the JWT's `sub`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
}

pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref())
        }
        _ => None,
    };
    // A subject longer than any identity provider's, or with control
    // characters, names no user (and would not fit a key).
    claims
        .and_then(|jwt| jwt.claims.get("sub"))
        .filter(|sub| is_user_id(sub))
        .map(|sub| Caller {
            user_id: sub.clone(),
        })
        .ok_or_else(|| ApiError::unauthorized("a valid bearer token is required"))
}

/// What a caller may do in a project; roles rank viewer < member < admin < owner.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    Read,
    Write,
    /// Settings, secrets, API keys.
    Manage,
}

impl Access {
    /// Whether `role` grants this access.
    pub fn allows(self, role: Role) -> bool {
        role >= self.least_role()
    }

    fn least_role(self) -> Role {
        match self {
            Access::Read => Role::Viewer,
            Access::Write => Role::Member,
            Access::Manage => Role::Admin,
        }
    }
}

/// A caller's membership of a project, checked.
#[derive(Debug)]
pub struct Membership {
    pub project: Project,
    pub member: Member,
}

impl Membership {
    pub fn can(&self, access: Access) -> bool {
        access.allows(self.member.role)
    }
}

/// Loads `project_id` for `caller` and checks `access`. A project the caller is
/// not a member of is `404 project_not_found`, exactly like one that does not
/// exist, so ids of other tenants reveal nothing; a role too low is 403.
pub async fn membership(
    app: &App,
    caller: &Caller,
    project_id: &str,
    access: Access,
) -> Result<Membership, ApiError> {
    membership_in(&app.store, &caller.user_id, project_id, access).await
}

/// [`membership`] of any user, read from `store` (consistently).
pub async fn membership_in(
    store: &Store,
    user_id: &str,
    project_id: &str,
    access: Access,
) -> Result<Membership, ApiError> {
    let not_found = || ApiError::not_found("project_not_found", "no such project");
    if !ids::is_valid(IdKind::Project, project_id) {
        return Err(not_found());
    }
    let (project, member) = store
        .get_membership(project_id, user_id)
        .await?
        .ok_or_else(not_found)?;
    let membership = Membership { project, member };
    if !membership.can(access) {
        return Err(ApiError::forbidden(
            "your role in this project does not allow this",
        ));
    }
    Ok(membership)
}

/// The caller and the project chosen with `X-Project-Id`, checked for `access`.
pub async fn project_member(
    app: &App,
    req: &Request,
    access: Access,
) -> Result<(Caller, Membership), ApiError> {
    let caller = caller(req)?;
    let project_id = http::header(req, PROJECT_HEADER)
        .ok_or_else(|| ApiError::validation("X-Project-Id", "header is required"))?;
    let membership = membership(app, &caller, project_id, access).await?;
    Ok((caller, membership))
}

/// The header that carries an integration's key on `/api/v1/*`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The API key of a v1 request, checked for `scope`: missing, unknown or
/// revoked is 401; a key without the scope is `403 insufficient_scope`. The
/// key's project is the only one the request can reach.
pub async fn api_key(app: &App, req: &Request, scope: Scope) -> Result<ApiKey, ApiError> {
    let key = authenticate(app, http::header(req, API_KEY_HEADER)).await?;
    require_scope(&key, scope)?;
    Ok(key)
}

/// The stored key a secret names: `401 invalid_api_key` when there is none
/// (missing, unknown or revoked).
pub async fn authenticate(app: &App, secret: Option<&str>) -> Result<ApiKey, ApiError> {
    let invalid =
        || ApiError::unauthorized("a valid API key is required").with_code("invalid_api_key");
    let secret = secret
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(invalid)?;
    crate::domain::api_keys::authenticate(&app.store, secret)
        .await?
        .ok_or_else(invalid)
}

/// `403 insufficient_scope` (naming the scope) unless `key` has `scope`.
pub fn require_scope(key: &ApiKey, scope: Scope) -> Result<(), ApiError> {
    if key.scopes.contains(&scope) {
        return Ok(());
    }
    Err(
        ApiError::forbidden("this API key lacks the scope this needs")
            .with_code("insufficient_scope")
            .with_details(serde_json::json!({ "required": scope })),
    )
}
