//! `POST /api/widget/identify`, `/set-properties`, `/track`, `/set-stage`,
//! `/set-deal` (SPEC §4): body shapes and field validation; the rules are in
//! `domain`.

use super::fields::{attributes, deal_value, optional, present};
use crate::app::App;
use crate::domain::identify::{self, CompanyInput, Identified, StageOutcome, Warning};
use crate::domain::{conversations, pipeline, properties, track, widget};
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::model::{Contact, Conversation, Event, Message, StageUpdateMode, Visitor};
use crate::validate::{self, MAX_COMPANY_IDS, MAX_NAME_CHARS, MAX_PHONE_CHARS};
use crate::views;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = IdentifyCompany))]
pub(crate) struct CompanyBody {
    id: String,
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    industry: Option<Option<String>>,
    stage: Option<String>,
    #[serde(default, deserialize_with = "present")]
    deal_value: Option<Option<f64>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct IdentifyBody {
    user_id: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<Option<String>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    metadata: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    properties: Option<Map<String, Value>>,
    company: Option<CompanyBody>,
    company_ids: Option<Vec<String>>,
    stage_update_mode: Option<StageUpdateMode>,
}

impl IdentifyBody {
    fn validate(self) -> Result<identify::Input, ApiError> {
        let company = match self.company {
            None => None,
            Some(c) => Some(CompanyInput {
                id: validate::external_id("company.id", &c.id)?,
                name: c
                    .name
                    .as_deref()
                    .map(|n| validate::name("company.name", n))
                    .transpose()?,
                domain: optional("company.domain", &c.domain, 253)?,
                industry: optional("company.industry", &c.industry, MAX_NAME_CHARS)?,
                stage: c
                    .stage
                    .map(|s| validate::text("company.stage", &s, 1, 64).map(|_| s))
                    .transpose()?,
                deal_value: deal_value("company.deal_value", c.deal_value)?,
                metadata: attributes("company.metadata", &c.metadata)?,
            }),
        };
        let company_ids = self.company_ids.unwrap_or_default();
        if company_ids.len() > MAX_COMPANY_IDS {
            return Err(ApiError::validation(
                "company_ids",
                "at most 25 companies per request",
            ));
        }
        for id in &company_ids {
            validate::external_id("company_ids", id)?;
        }
        Ok(identify::Input {
            user_id: self
                .user_id
                .map(|u| validate::external_id("user_id", &u))
                .transpose()?,
            email: self
                .email
                .map(|e| validate::email("email", &e))
                .transpose()?,
            name: optional("name", &self.name, MAX_NAME_CHARS)?,
            phone: optional("phone", &self.phone, MAX_PHONE_CHARS)?,
            metadata: attributes("metadata", &self.metadata)?,
            properties: attributes("properties", &self.properties)?,
            company,
            company_ids,
            stage_update_mode: self.stage_update_mode,
        })
    }
}

pub async fn identify(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, IdentifyBody) = widget::parse(&req)?;
    let input = body.validate()?;
    let done = identify::identify(app, &req, &caller, &input).await?;
    Ok(http::ok(&identify_response(&done)))
}

/// What identify answers (SPEC §4).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentifyResponse<'a> {
    pub visitor: &'a Visitor,
    /// `null` for an anonymous visitor (rule 4).
    pub contact: Option<&'a Contact>,
    /// The contact's companies after the call.
    pub companies: Vec<views::CompanyView<'a>>,
    pub active_company_id: Option<&'a str>,
    pub created: Created<'a>,
    /// The visitor was linked to another contact before this call (rule 2).
    pub relinked: bool,
    pub warnings: &'a [Warning],
    /// The result of `company.stage`, when it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_stage: Option<&'a StageOutcome>,
}

/// What identify created.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created<'a> {
    pub contact: bool,
    /// Ids of the companies it created.
    pub companies: &'a [String],
    pub placeholder: bool,
}

fn identify_response(done: &Identified) -> IdentifyResponse<'_> {
    IdentifyResponse {
        visitor: &done.visitor,
        contact: done.contact.as_ref(),
        companies: done
            .companies
            .iter()
            .map(|c| views::company(&done.project, c))
            .collect(),
        active_company_id: done.visitor.active_company_id.as_deref(),
        created: Created {
            contact: done.created_contact,
            companies: &done.created_companies,
            placeholder: done.created_placeholder,
        },
        relinked: done.relinked,
        warnings: &done.warnings,
        company_stage: done.stage.as_ref(),
    }
}

/// What set-properties answers: the visitor, and the contact when its
/// metadata was merged (else `null`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertiesResponse<'a> {
    pub visitor: &'a Visitor,
    pub contact: Option<&'a Contact>,
}

/// What track answers: the event, or for a repeated `event_key` the first
/// one's id (`duplicate: true`, nothing stored).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackResponse<'a> {
    pub event: &'a Event,
    pub duplicate: bool,
}

/// What set-stage and set-deal answer.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineResponse<'a> {
    pub company: views::CompanyView<'a>,
    #[serde(flatten)]
    pub stage: &'a StageOutcome,
}

/// A visitor's message and its conversation.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResponse<'a> {
    pub conversation: &'a Conversation,
    pub message: &'a Message,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct SetPropertiesBody {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    properties: Option<Map<String, Value>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::AttributesPatch>))]
    metadata: Option<Map<String, Value>>,
}

pub async fn set_properties(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, SetPropertiesBody) = widget::parse(&req)?;
    let input = properties::Input {
        properties: attributes("properties", &body.properties)?,
        metadata: attributes("metadata", &body.metadata)?,
    };
    let done = properties::set(app, &req, &caller, &input).await?;
    Ok(http::ok(&PropertiesResponse {
        visitor: &done.visitor,
        contact: done.contact.as_ref(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct TrackBody {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 128,
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::Scalar>))]
    value: Option<Value>,
    occurred_at: Option<String>,
    event_key: Option<String>,
    company_id: Option<String>,
}

pub async fn track(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, TrackBody) = widget::parse(&req)?;
    validate::text("name", &body.name, 1, 128)?;
    let value = match &body.value {
        None => None,
        Some(value) => validate::scalar("value", value, 256)?,
    };
    let input = track::Input {
        name: body.name,
        value,
        occurred_at: body.occurred_at,
        event_key: body
            .event_key
            .map(|k| validate::external_id("event_key", &k))
            .transpose()?,
        company_id: body
            .company_id
            .map(|c| validate::external_id("company_id", &c))
            .transpose()?,
    };
    let done = track::track(app, &req, &caller, &input).await?;
    Ok(http::ok(&TrackResponse {
        event: &done.event,
        duplicate: done.duplicate,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WidgetStageBody))]
pub(crate) struct StageBody {
    stage: Option<String>,
    stage_name: Option<String>,
    company_id: Option<String>,
    stage_update_mode: Option<StageUpdateMode>,
    #[serde(default, deserialize_with = "present")]
    deal_value: Option<Option<f64>>,
}

impl StageBody {
    /// `stage` and its alias `stage_name`; both given must agree.
    fn stage(&self) -> Result<Option<String>, ApiError> {
        match (&self.stage, &self.stage_name) {
            (Some(a), Some(b)) if a != b => Err(ApiError::validation(
                "stage_name",
                "differs from stage; send one of them",
            )),
            (Some(s), _) | (None, Some(s)) => {
                validate::text("stage", s, 1, 64)?;
                Ok(Some(s.clone()))
            }
            (None, None) => Ok(None),
        }
    }

    fn company_id(&self) -> Result<Option<String>, ApiError> {
        self.company_id
            .as_deref()
            .map(|c| validate::external_id("company_id", c))
            .transpose()
    }
}

pub async fn set_stage(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, StageBody) = widget::parse(&req)?;
    if body.deal_value.is_some() {
        return Err(ApiError::validation(
            "deal_value",
            "unknown field; use /api/widget/set-deal",
        ));
    }
    let stage = body
        .stage()?
        .ok_or_else(|| ApiError::validation("stage", "is required"))?;
    let input = pipeline::Input {
        stage: Some(stage),
        deal_value: None,
        company_id: body.company_id()?,
        stage_update_mode: body.stage_update_mode,
    };
    pipeline_response(app, &req, &caller, &input).await
}

pub async fn set_deal(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, StageBody) = widget::parse(&req)?;
    let deal_value = body
        .deal_value
        .ok_or_else(|| ApiError::validation("deal_value", "is required"))?;
    let input = pipeline::Input {
        stage: body.stage()?,
        deal_value: Some(
            deal_value
                .map(|v| validate::deal_value("deal_value", v))
                .transpose()?,
        ),
        company_id: body.company_id()?,
        stage_update_mode: body.stage_update_mode,
    };
    pipeline_response(app, &req, &caller, &input).await
}

async fn pipeline_response(
    app: &App,
    req: &Request,
    caller: &widget::Caller,
    input: &pipeline::Input,
) -> Result<Response, ApiError> {
    let done = pipeline::apply(app, req, caller, input).await?;
    Ok(http::ok(&PipelineResponse {
        company: views::company(&done.project, &done.company),
        stage: &done.stage,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WidgetMessageBody))]
pub(crate) struct MessageBody {
    body: String,
    conversation_id: Option<String>,
}

/// `POST /api/widget/messages`: start or continue the visitor's conversation.
pub async fn post_message(app: &App, req: Request) -> Result<Response, ApiError> {
    let (caller, body): (_, MessageBody) = widget::parse(&req)?;
    let text = conversations::body(&body.body)?;
    let id = body
        .conversation_id
        .map(|c| validate::external_id("conversation_id", &c))
        .transpose()?;
    let (conversation, message) =
        conversations::visitor_message(app, &req, &caller, id.as_deref(), &text).await?;
    Ok(http::json(
        lambda_http::http::StatusCode::CREATED,
        &MessageResponse {
            conversation: &conversation,
            message: &message,
        },
    ))
}

/// `GET /api/widget/conversations`: the visitor's own conversations, newest first.
pub async fn list_conversations(app: &App, req: Request) -> Result<Response, ApiError> {
    let caller = widget::caller_from_query(&req)?;
    let (session, _) = widget::open(app, &req, &caller, Vec::new()).await?;
    let project_id = session.project_id();
    let scope = format!(
        "GET /api/widget/conversations|{project_id}|{}",
        caller.visitor_id
    );
    let page = http::PageRequest::parse(app, &req, scope)?;
    let source = crate::store::lists::Source::Collection {
        partition: crate::store::keys::visitor_partition(project_id, &caller.visitor_id),
        prefix: crate::store::keys::VISITOR_CONVERSATION_PREFIX,
    };
    let links = app
        .store
        .page::<crate::model::VisitorConversation>(&source, page.limit, page.start.clone(), true)
        .await?;
    let keys = links
        .items
        .iter()
        .map(|l| crate::store::keys::conversation_key(project_id, &l.conversation_id))
        .collect();
    let found: Vec<crate::model::Conversation> = app.store.get_many(keys).await?;
    Ok(page.respond(
        app,
        crate::store::Page {
            items: found,
            last_key: links.last_key,
        },
        |c| c,
    ))
}
