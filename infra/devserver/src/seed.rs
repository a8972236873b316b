//! The demo project the dev server starts with, created once and found again
//! on later starts (DynamoDB Local keeps its data in `.data/`).

use hal_crm::App;
use hal_crm::auth::Caller;
use hal_crm::domain;
use hal_crm::error::ApiError;
use hal_crm::model::Project;

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
