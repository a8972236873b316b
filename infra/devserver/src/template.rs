//! `template.yaml` read as the binaries mode needs it: every function's
//! binary, its routes (method, path, authorizer), its environment (the
//! `Globals` and its own `Environment`) and its `Timeout` and `MemorySize`.
//! The one source: the binaries mode has no route list of its own.

use crate::routes::Auth;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its logical id, e.g. `ListProjectsFunction`.
    pub name: String,
    /// `Metadata.BuildProperties.Binary`.
    pub binary: String,
    pub routes: Vec<FunctionRoute>,
    /// Its environment, `!Ref`s resolved.
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u64,
}

#[derive(Debug, Clone)]
pub struct FunctionRoute {
    pub method: String,
    pub path: String,
    pub auth: Auth,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(what: impl Into<String>) -> TemplateError {
    TemplateError::Shape(what.into())
}

/// The functions of `text` (a SAM template). `refs` gives the value of each
/// `!Ref` an environment variable may name (a parameter or a resource, as
/// `sam local --parameter-overrides` would); any other is an error.
pub fn functions(
    text: &str,
    refs: &BTreeMap<&str, String>,
) -> Result<Vec<Function>, TemplateError> {
    let template: Value = serde_norway::from_str(text)?;
    let globals = &template["Globals"]["Function"];
    let mut functions = Vec::new();
    for (name, resource) in template["Resources"]
        .as_mapping()
        .ok_or_else(|| shape("no Resources"))?
    {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap_or_default().to_owned();
        let properties = &resource["Properties"];
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| shape(format!("{name}: no BuildProperties.Binary")))?
            .to_owned();
        let mut environment = BTreeMap::new();
        for variables in [
            &globals["Environment"]["Variables"],
            &properties["Environment"]["Variables"],
        ] {
            for (key, value) in variables.as_mapping().into_iter().flatten() {
                let key = key.as_str().unwrap_or_default().to_owned();
                let value =
                    resolve(value, refs).map_err(|e| shape(format!("{name}: {key}: {e}")))?;
                environment.insert(key, value);
            }
        }
        let number = |key: &str| {
            properties[key]
                .as_u64()
                .or_else(|| globals[key].as_u64())
                .ok_or_else(|| shape(format!("{name}: no {key}")))
        };
        let mut routes = Vec::new();
        for (_, event) in properties["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            routes.push(FunctionRoute {
                method: props["Method"].as_str().unwrap_or_default().to_uppercase(),
                path: props["Path"].as_str().unwrap_or_default().to_owned(),
                auth: match props["Auth"]["Authorizer"].as_str() {
                    Some("NONE") => Auth::None,
                    _ => Auth::Jwt, // the HttpApi's DefaultAuthorizer
                },
            });
        }
        let (timeout, memory_mb) = (number("Timeout")?, number("MemorySize")?);
        functions.push(Function {
            name,
            binary,
            routes,
            environment,
            timeout: Duration::from_secs(timeout),
            memory_mb,
        });
    }
    Ok(functions)
}

/// A plain value, or a `!Ref` from `refs`.
fn resolve(value: &Value, refs: &BTreeMap<&str, String>) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            let name = tagged.value.as_str().unwrap_or_default();
            refs.get(name)
                .cloned()
                .ok_or_else(|| format!("!Ref {name} has no local value"))
        }
        other => Err(format!(
            "{other:?} is not a value the binaries mode can set"
        )),
    }
}
