//! Lambda, locally, for the binaries mode: each function's own binary,
//! started on its first invocation with the environment `template.yaml`
//! gives it, served events through a Lambda Runtime API of its own (the
//! protocol every `lambda_http` binary speaks), with the invocation deadline
//! its `Timeout` sets. A function that exits, panics, answers with an error
//! or outlives its `Timeout` is an invocation error (and, if its process is
//! gone or stopped, is started afresh next time), as in Lambda.
//!
//! What differs from AWS: one execution environment per function, so a
//! function's invocations run one at a time; no IAM; no freeze between
//! invocations.

use crate::template::Function;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

/// What an invocation came to.
#[derive(Debug)]
pub enum Outcome {
    /// The function's response document (bytes as it sent them).
    Response(Bytes),
    /// A function error: it reported one, panicked, exited or timed out.
    FunctionError(String),
    /// No answer within the integration's time (API Gateway's 30 s).
    NoAnswer,
}

/// Where an invocation's answer goes: the response document, or the error.
type Reply = oneshot::Sender<Result<Bytes, String>>;

struct Invocation {
    event: String,
    deadline: SystemTime,
    reply: Reply,
}

/// A running execution environment: the process, the queue its Runtime
/// API hands out, and that API's server (stopped with it).
struct Instance {
    child: Child,
    events: mpsc::Sender<Invocation>,
    runtime_api: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.runtime_api.abort();
    }
}

struct Slot {
    function: Function,
    instance: Mutex<Option<Instance>>,
}

pub struct Functions {
    binaries: PathBuf,
    slots: HashMap<String, Slot>,
    /// API Gateway's integration timeout (30 s; shorter in tests).
    integration_timeout: Duration,
}

impl Functions {
    /// `binaries`: where the built route binaries are (`target/debug`).
    pub fn new(binaries: PathBuf, functions: Vec<Function>, integration_timeout: Duration) -> Self {
        let slots = functions
            .into_iter()
            .map(|f| {
                (
                    f.binary.clone(),
                    Slot {
                        function: f,
                        instance: Mutex::new(None),
                    },
                )
            })
            .collect();
        Functions {
            binaries,
            slots,
            integration_timeout,
        }
    }

    /// Invokes `binary` with `event` (an API Gateway v2 event) and waits for
    /// its answer, at most the integration timeout.
    pub async fn invoke(&self, binary: &str, event: String) -> Outcome {
        let Some(slot) = self.slots.get(binary) else {
            return Outcome::FunctionError(format!("no function {binary}"));
        };
        match tokio::time::timeout(self.integration_timeout, self.run(slot, event)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::NoAnswer,
        }
    }

    async fn run(&self, slot: &Slot, event: String) -> Outcome {
        // One execution environment: its invocations one at a time.
        let mut instance = slot.instance.lock().await;
        let running = match instance.as_mut() {
            Some(i) => i.child.try_wait().ok().flatten().is_none(),
            None => false,
        };
        if !running {
            match self.start(&slot.function).await {
                Ok(started) => *instance = Some(started),
                Err(err) => return Outcome::FunctionError(err),
            }
        }
        let current = instance.as_mut().expect("started");
        let timeout = slot.function.timeout;
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            event,
            deadline: SystemTime::now() + timeout,
            reply,
        };
        if current.events.send(invocation).await.is_err() {
            *instance = None;
            return Outcome::FunctionError("the runtime API is gone".into());
        }
        let name = &slot.function.binary;
        tokio::select! {
            answer = answer => match answer {
                Ok(Ok(body)) => Outcome::Response(body),
                Ok(Err(error)) => Outcome::FunctionError(error),
                Err(_) => Outcome::FunctionError("no answer".into()),
            },
            status = current.child.wait() => {
                *instance = None;
                Outcome::FunctionError(format!("{name} exited ({status:?})"))
            }
            () = tokio::time::sleep(timeout) => {
                // Lambda stops an invocation at its timeout; the process
                // goes with it, and the next invocation starts a new one.
                if let Some(mut gone) = instance.take() {
                    gone.child.kill().await.ok();
                }
                Outcome::FunctionError(format!("{name} timed out after {timeout:?}"))
            }
        }
    }

    /// Starts the function's binary against a Runtime API of its own.
    async fn start(&self, function: &Function) -> Result<Instance, String> {
        let (events, queue) = mpsc::channel(1);
        let api = RuntimeApi {
            queue: Arc::new(Mutex::new(queue)),
            replies: Arc::default(),
        };
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let runtime_api = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        let path = self.binaries.join(&function.binary);
        let mut child = Command::new(&path)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                function.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "local")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", &function.binary)
            .env("AWS_REGION", "us-east-1")
            .envs(&function.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        // Its log lines, under its name.
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let name = function.binary.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[{name}] {line}");
                }
            });
        }
        Ok(Instance {
            child,
            events,
            runtime_api,
        })
    }
}

#[derive(Clone)]
struct RuntimeApi {
    queue: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    replies: Arc<std::sync::Mutex<HashMap<String, Reply>>>,
}

async fn next(State(api): State<RuntimeApi>) -> (StatusCode, HeaderMap, String) {
    let Some(invocation) = api.queue.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let id = ulid::Ulid::new().to_string();
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    api.replies
        .lock()
        .unwrap()
        .insert(id.clone(), invocation.reply);
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set(&mut headers, "lambda-runtime-aws-request-id", id);
    set(
        &mut headers,
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string(),
    );
    set(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:local".into(),
    );
    (StatusCode::OK, headers, invocation.event)
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&api, &id, Ok(body))
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

/// The function failed during init: whatever waits on it gets the error
/// when the process exits (`Functions::run` watches for that).
async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}

fn answer(api: &RuntimeApi, id: &str, outcome: Result<Bytes, String>) -> StatusCode {
    match api.replies.lock().unwrap().remove(id) {
        Some(reply) => {
            reply.send(outcome).ok();
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}
