//! The demo project the dev server starts with, created once and found again
//! on later starts (DynamoDB Local keeps its data in `.data/`).

use hal_crm::App;
use hal_crm::auth::Caller;
use hal_crm::domain;
use hal_crm::domain::api_keys;
use hal_crm::error::ApiError;
use hal_crm::model::{Project, Scope};

pub const DEMO_USER: &str = "dev-user";
pub const DEMO_PROJECT_NAME: &str = "Demo project";

pub async fn demo_project(app: &App) -> Result<Project, ApiError> {
    let mut start = None;
    loop {
        let page = app.store.list_memberships(DEMO_USER, 100, start).await?;
        if let Some((project, _)) = page
            .items
            .into_iter()
            .find(|(p, _)| p.name == DEMO_PROJECT_NAME)
        {
            return Ok(project);
        }
        start = page.last_key;
        if start.is_none() {
            break;
        }
    }
    let caller = Caller {
        user_id: DEMO_USER.to_owned(),
    };
    let (project, _) =
        domain::projects::create(&app.store, &caller, DEMO_PROJECT_NAME.to_owned()).await?;
    Ok(project)
}

/// The demo project's API key, with every scope. Derived from the dev JWT
/// secret and the project id, so it stays the same across restarts (a real
/// key's secret is shown once and never again).
pub async fn demo_api_key(
    app: &App,
    project: &Project,
    dev_secret: &str,
) -> Result<String, ApiError> {
    let secret = format!(
        "{}{}",
        api_keys::SECRET_PREFIX,
        &api_keys::hash(&format!("{dev_secret}|{}", project.id))[..40]
    );
    if api_keys::authenticate(&app.store, &secret).await?.is_none() {
        let scopes = Scope::ALL.to_vec();
        api_keys::create_with_secret(
            &app.store,
            &project.id,
            "dev server",
            scopes,
            DEMO_USER,
            &secret,
        )
        .await?;
    }
    Ok(secret)
}
