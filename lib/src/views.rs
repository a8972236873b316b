//! Records as responses: what a client sees beyond the stored fields.

use crate::domain::stages;
use crate::model::{Company, Project};
use serde::Serialize;
use std::borrow::Cow;

/// A company with its stage's name beside its `stage_id`. A company still on
/// a deleted stage shows the stage it now counts as being on.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyView<'a> {
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Company))]
    pub company: Cow<'a, Company>,
    /// The name of the stage `stage_id` names.
    pub stage: Option<&'a str>,
}

pub fn company<'a>(project: &'a Project, company: &'a Company) -> CompanyView<'a> {
    let effective = stages::effective(project, company.stage_id.as_deref());
    let effective_id = effective.map(|t| t.stage.id.as_str());
    let company = if company.stage_id.as_deref() == effective_id {
        Cow::Borrowed(company)
    } else {
        Cow::Owned(Company {
            stage_id: effective_id.map(str::to_owned),
            ..company.clone()
        })
    };
    CompanyView {
        company,
        stage: effective.map(|t| t.stage.name.as_str()),
    }
}
