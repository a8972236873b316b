//! Records as responses: what a client sees beyond the stored fields.

use crate::domain::stages;
use crate::model::{Company, Project};
use serde::Serialize;

/// A company with its stage's name beside the stored `stage_id`.
#[derive(Serialize)]
pub struct CompanyView<'a> {
    #[serde(flatten)]
    pub company: &'a Company,
    pub stage: Option<&'a str>,
}

pub fn company<'a>(project: &'a Project, company: &'a Company) -> CompanyView<'a> {
    CompanyView {
        company,
        stage: stages::name_of(project, company.stage_id.as_deref()),
    }
}
