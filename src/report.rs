//! What the user sees: the bash script's status lines (stdout, word for word), progress
//! and reasons (stderr), and the `--output json` result object.
//!
//! In GitHub Actions, [`Report::finish`] also appends step outputs to `$GITHUB_OUTPUT` and,
//! on failure, prints an `::error::` annotation on stderr (the runner parses workflow
//! commands on stderr as well as stdout, so stdout keeps exactly the script's lines or the
//! one JSON object).

#[cfg(test)]
use std::cell::RefCell;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
#[cfg(test)]
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;

use crate::cli::OutputFormat;
use crate::output::{self, Stream};
use crate::record::{self, Fact, Stage};
use crate::task::StoppedTask;

/// How the run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Succeeded,
    Failed,
    /// Failed, and the service was put back on its previous revision.
    RolledBack,
    /// A waiting phase ran out of time.
    TimedOut,
    /// SIGINT/SIGTERM ended the run.
    Interrupted,
}

impl Status {
    /// How bad an ending is, so that several services' statuses give the worst of them.
    fn severity(self) -> u8 {
        match self {
            Status::Succeeded => 0,
            Status::RolledBack => 1,
            Status::TimedOut => 2,
            Status::Interrupted => 3,
            Status::Failed => 4,
        }
    }

    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::RolledBack => "rolled_back",
            Status::TimedOut => "timed_out",
            Status::Interrupted => "interrupted",
        }
    }
}

/// A rollback, for the JSON result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollback {
    pub by: RolledBackBy,
    pub outcome: RollbackOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolledBackBy {
    /// ECS on its own (circuit breaker, alarms).
    Ecs,
    /// This tool, because `--enable-rollback` was given.
    EcsDeploy,
    /// CodeDeploy on its own (its deployment group rolls failed deployments back).
    #[serde(rename = "codedeploy")]
    CodeDeploy,
}

/// A lifecycle hook of the service deployment, for the JSON result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: Option<String>,
    /// The lifecycle stage the deployment was in when the hook was last seen changing.
    pub stage: Option<String>,
    pub status: String,
    pub expires_at: Option<String>,
    pub timeout_action: Option<String>,
}

/// A CodeDeploy deployment, for the JSON result of a CODE_DEPLOY service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CodeDeployRecord {
    pub application: String,
    pub deployment_group: String,
    pub deployment_id: Option<String>,
    /// The deployment's status as last seen.
    pub status: Option<String>,
    pub lifecycle_events: Vec<LifecycleRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleRecord {
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackOutcome {
    Succeeded,
    Failed,
    /// Still going when the run ended.
    InProgress,
}

/// The machine-readable result (`--output json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub cluster: Option<String>,
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    pub previous_task_definition: Option<String>,
    pub new_task_definition: Option<String>,
    pub images: Vec<String>,
    pub deployment_id: Option<String>,
    pub task_arn: Option<String>,
    pub duration_seconds: f64,
    pub failure_reason: Option<String>,
    pub stopped_tasks: Vec<StoppedTask>,
    pub aws_calls: u32,
    /// ECS's record of the deployment (`currentServiceDeployment`), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    /// The service's deployment strategy (ROLLING, BLUE_GREEN, LINEAR, CANARY).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The last lifecycle stage seen of the service deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    /// The lifecycle hooks of the service deployment, as last seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
    /// The service's deployment controller (ECS, CODE_DEPLOY).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The CodeDeploy deployment, for a CODE_DEPLOY service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codedeploy: Option<CodeDeployRecord>,
    /// Who rolled the service back, and how that ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// `--dry-run`: nothing was registered or changed.
    pub dry_run: bool,
    /// `--dry-run --output json`: the input `register-task-definition` would have been given
    /// (environment values masked unless `--show-env-values`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_register: Option<Value>,
    /// The console page of what failed (the service's deployments, or the one-off task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
    /// Several `-n`: how each service ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceOutcome>,
    /// How far the run went: what "where things stand" says.
    #[serde(skip)]
    pub stage: Stage,
}

impl Outcome {
    /// Record a rollback, by whoever, and the status it leaves: `rolled_back` once the
    /// service runs its previous revision again; a rollback that failed or is still going
    /// leaves the run failed (or timed out, when that is how it failed).
    pub fn rolled_back(&mut self, rollback: Rollback) {
        self.status = match rollback.outcome {
            RollbackOutcome::Succeeded => Status::RolledBack,
            _ if matches!(self.status, Status::Succeeded | Status::RolledBack) => Status::Failed,
            _ => self.status,
        };
        self.rollback = Some(rollback);
    }
}

/// One service's result when several are deployed together.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceOutcome {
    pub service: String,
    pub service_arn: Option<String>,
    pub status: Status,
    pub previous_task_definition: Option<String>,
    pub new_task_definition: Option<String>,
    pub deployment_id: Option<String>,
    pub failure_reason: Option<String>,
    pub stopped_tasks: Vec<StoppedTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codedeploy: Option<CodeDeployRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
}

impl From<Outcome> for ServiceOutcome {
    fn from(o: Outcome) -> ServiceOutcome {
        ServiceOutcome {
            service: o.service.unwrap_or_default(),
            service_arn: o.service_arn,
            status: o.status,
            previous_task_definition: o.previous_task_definition,
            new_task_definition: o.new_task_definition,
            deployment_id: o.deployment_id,
            failure_reason: o.failure_reason,
            stopped_tasks: o.stopped_tasks,
            service_deployment_arn: o.service_deployment_arn,
            strategy: o.strategy,
            lifecycle_stage: o.lifecycle_stage,
            hooks: o.hooks,
            controller: o.controller,
            codedeploy: o.codedeploy,
            rollback: o.rollback,
            console_url: o.console_url,
        }
    }
}

pub struct Report {
    format: OutputFormat,
    /// Stdout carries something else (the JSON result, or a dry run's definition), so the
    /// status lines go to stderr.
    status_to_stderr: bool,
    /// `[SERVICE] ` before each line of a service deployed with others.
    prefix: String,
    /// Shared with the run's result, which a second signal renders from another thread.
    outcome: Arc<Mutex<Outcome>>,
    /// Unit tests read the lines here instead of the terminal.
    #[cfg(test)]
    captured: Option<Rc<RefCell<Vec<String>>>>,
}

impl Report {
    pub fn new(format: OutputFormat, dry_run: bool) -> Report {
        Report {
            format,
            status_to_stderr: dry_run || format == OutputFormat::Json,
            prefix: String::new(),
            outcome: Arc::default(),
            #[cfg(test)]
            captured: None,
        }
    }

    /// A report that keeps its lines for the test to read: status lines as they are,
    /// progress lines prefixed by `> `.
    #[cfg(test)]
    pub fn captured() -> Report {
        Report {
            captured: Some(Rc::new(RefCell::new(Vec::new()))),
            ..Report::new(OutputFormat::Text, false)
        }
    }

    /// The report of one service deployed with others: its lines go where this report's
    /// go, prefixed by `[SERVICE] `; its result is its own (see [`ServiceOutcome`]).
    pub fn for_service(&self, name: &str) -> Report {
        let report = Report {
            format: self.format,
            status_to_stderr: self.status_to_stderr,
            prefix: format!("[{name}] "),
            outcome: Arc::new(Mutex::new(Outcome {
                service: Some(name.to_string()),
                ..Outcome::default()
            })),
            #[cfg(test)]
            captured: self.captured.clone(),
        };
        if let Some(live) = live().as_mut()
            && Arc::ptr_eq(&live.run, &self.outcome)
        {
            live.services.push(Arc::clone(&report.outcome));
        }
        report
    }

    /// Take the results of services deployed together: each listed, and the worst status
    /// on top (the run's error, which names each failed service, becomes the reason).
    pub fn gather(&self, services: &[Report]) {
        let outcomes: Vec<ServiceOutcome> = services
            .iter()
            .map(|report| report.outcome().into())
            .collect();
        self.record(|o| {
            for service in &outcomes {
                o.status = o.status.worst(service.status);
                o.stopped_tasks
                    .extend(service.stopped_tasks.iter().cloned());
            }
            o.services = outcomes;
        });
    }

    /// The lines a [`Report::captured`] was given so far.
    #[cfg(test)]
    pub fn lines(&self) -> Vec<String> {
        self.captured
            .as_ref()
            .map(|lines| lines.borrow().clone())
            .unwrap_or_default()
    }

    /// The result so far.
    pub fn outcome(&self) -> Outcome {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Outcome> {
        self.outcome.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One of the script's status lines: stdout, or stderr when stdout carries JSON.
    pub fn status(&self, line: impl Display) {
        let line = format!("{}{line}", self.prefix);
        #[cfg(test)]
        if let Some(lines) = &self.captured {
            return lines.borrow_mut().push(line);
        }
        let stream = if self.status_to_stderr {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        output::line(stream, &line);
    }

    /// A fact of the run: its line (see [`Report::status`]) and its part of the result.
    pub fn fact(&self, fact: Fact) {
        self.status(fact.line());
        self.record(|o| fact.apply(o));
    }

    /// Progress, events and reasons: always stderr, so stdout stays what parsers expect.
    pub fn progress(&self, line: impl Display) {
        let line = format!("{}{line}", self.prefix);
        #[cfg(test)]
        if let Some(lines) = &self.captured {
            return lines.borrow_mut().push(format!("> {line}"));
        }
        output::stderr(&line);
    }

    /// A notice for the reader of a GitHub Actions run (`::notice::`), besides the lines
    /// that say the same; nothing elsewhere.
    pub fn notice(&self, title: &str, message: &str) {
        #[cfg(test)]
        if self.captured.is_some() {
            return;
        }
        if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
            return;
        }
        let escape = |text: &str| {
            text.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let title = escape(title).replace(':', "%3A").replace(',', "%2C");
        let line = format!(
            "::notice title={title}::{}\n",
            escape(&output::escape(message))
        );
        output::resume_workflow_commands();
        output::raw(output::Stream::Stderr, line.as_bytes());
        output::stop_workflow_commands();
    }

    /// The run did not succeed: how, and why.
    pub fn fail(&self, status: Status, why: impl Into<String>) {
        let why = why.into();
        self.record(|o| {
            o.status = status;
            o.failure_reason = Some(why);
        });
    }

    /// Whether stdout carries the JSON result (`--output json`).
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    pub fn record(&self, update: impl FnOnce(&mut Outcome)) {
        update(&mut self.lock());
    }

    /// Print the JSON result, when asked for, and talk to GitHub Actions when running
    /// there; called once, at the very end.
    pub fn finish(&self) {
        // From here on, a second signal has nothing more to say.
        live().take();
        let outcome = self.outcome();
        render(self.format, &outcome);
    }

    /// This is the run's report: a second SIGINT/SIGTERM renders its result as it stands
    /// (with those of the services deployed together, see [`Report::for_service`]).
    pub fn go_live(&self) {
        *live() = Some(Live {
            format: self.format,
            run: Arc::clone(&self.outcome),
            services: Vec::new(),
        });
    }
}

/// The run's result as it builds up, for a second signal to render.
struct Live {
    format: OutputFormat,
    run: Arc<Mutex<Outcome>>,
    services: Vec<Arc<Mutex<Outcome>>>,
}

static LIVE: Mutex<Option<Live>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<Live>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    fn run(&self) -> Outcome {
        self.run.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn services(&self) -> Vec<Outcome> {
        let each = self.services.iter();
        each.map(|one| one.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }
}

/// Where things stand now, from the run's record (`None`: nothing was changed).
pub fn standing_now() -> Option<String> {
    let live = live();
    let live = live.as_ref()?;
    record::standing(&live.run(), &live.services())
}

/// A second signal ends the run: say where things stand and render its result as it is,
/// with status `interrupted`.
pub fn render_interrupted() {
    let Some(live) = live().take() else {
        return;
    };
    let (mut outcome, services) = (live.run(), live.services());
    let standing = record::standing(&outcome, &services);
    let why = format!(
        "interrupted again; {}",
        standing.as_deref().unwrap_or("nothing was changed")
    );
    output::stderr(&format!("ecs-deploy: {why}"));
    if outcome.services.is_empty() && !services.is_empty() {
        outcome.services = services.into_iter().map(ServiceOutcome::from).collect();
    }
    outcome.status = Status::Interrupted;
    outcome.failure_reason = Some(why);
    render(live.format, &outcome);
}

/// Print the JSON result, when asked for, and talk to GitHub Actions when running there.
fn render(format: OutputFormat, outcome: &Outcome) {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(path) = env("GITHUB_OUTPUT")
        && let Err(e) = append_step_outputs(Path::new(&path), outcome)
    {
        output::stderr(&format!(
            "ecs-deploy: cannot write step outputs to GITHUB_OUTPUT ({path}): {e}"
        ));
    }
    output::resume_workflow_commands();
    if env("GITHUB_ACTIONS").as_deref() == Some("true")
        && let Some(line) = error_annotation(outcome)
    {
        output::raw(Stream::Stderr, format!("{line}\n").as_bytes());
    }
    if format == OutputFormat::Json {
        let text = serde_json::to_string_pretty(outcome).unwrap_or_else(|_| "{}".into());
        // serde_json escapes control characters inside strings: one value, many lines.
        output::raw(Stream::Stdout, format!("{text}\n").as_bytes());
    }
}

/// The `name=value` lines for `$GITHUB_OUTPUT`: the new task definition ARN (empty when
/// none was registered, e.g. a dry run), the status, and the previous ARN.
pub fn step_outputs(outcome: &Outcome) -> String {
    let one_line = |text: &str| text.replace(['\r', '\n'], " ");
    format!(
        "task-definition-arn={}\nstatus={}\nprevious-task-definition-arn={}\n",
        one_line(outcome.new_task_definition.as_deref().unwrap_or_default()),
        outcome.status.as_str(),
        one_line(
            outcome
                .previous_task_definition
                .as_deref()
                .unwrap_or_default()
        ),
    )
}

fn append_step_outputs(path: &Path, outcome: &Outcome) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(step_outputs(outcome).as_bytes())
}

/// `::error title=...::message` for a result that is not a success. The reason may carry
/// text from AWS: it is escaped as a printed line is, then as the runner expects (`%`, CR
/// and LF in the message; also `:` and `,` in the title).
pub fn error_annotation(outcome: &Outcome) -> Option<String> {
    if outcome.status == Status::Succeeded {
        return None;
    }
    let escape = |text: &str| {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let reason = outcome
        .failure_reason
        .as_deref()
        .unwrap_or("the deployment did not succeed");
    let title = escape(&format!("ecs-deploy {}", outcome.status.as_str()))
        .replace(':', "%3A")
        .replace(',', "%2C");
    Some(format!(
        "::error title={title}::{}",
        escape(&output::escape(reason))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_is_escaped_and_only_for_failures() {
        let mut outcome = Outcome::default();
        assert_eq!(error_annotation(&outcome), None);
        outcome.status = Status::TimedOut;
        outcome.failure_reason = Some("100% stuck\nsecond line".into());
        assert_eq!(
            error_annotation(&outcome).unwrap(),
            "::error title=ecs-deploy timed_out::100%25 stuck\\nsecond line"
        );
    }

    #[test]
    fn hostile_text_in_the_reason_is_shown_escaped_in_the_annotation() {
        let outcome = Outcome {
            status: Status::Failed,
            failure_reason: Some(
                "task stopped: \u{1b}[2Kdone\r\n::warning::x\u{2028}y \u{202e}gpj.exe 50%\u{85}"
                    .into(),
            ),
            ..Outcome::default()
        };
        assert_eq!(
            error_annotation(&outcome).unwrap(),
            "::error title=ecs-deploy failed::task stopped: \\u{1b}[2Kdone\\r\\n::warning::x\\u{2028}y \
             \\u{202e}gpj.exe 50%25\\u{85}"
        );
    }

    #[test]
    fn status_is_written_in_snake_case() {
        for status in [
            Status::Succeeded,
            Status::Failed,
            Status::RolledBack,
            Status::TimedOut,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }

    #[test]
    fn only_a_finished_rollback_is_rolled_back() {
        let rollback = |by, outcome| Rollback { by, outcome };
        let mut outcome = Outcome {
            status: Status::Failed,
            ..Outcome::default()
        };
        outcome.rolled_back(rollback(RolledBackBy::Ecs, RollbackOutcome::InProgress));
        assert_eq!(outcome.status, Status::Failed);
        outcome.rolled_back(rollback(RolledBackBy::Ecs, RollbackOutcome::Succeeded));
        assert_eq!(outcome.status, Status::RolledBack);
        outcome.rolled_back(rollback(RolledBackBy::EcsDeploy, RollbackOutcome::Failed));
        assert_eq!(outcome.status, Status::Failed);

        // A service of a release that succeeded, then went back with the others.
        let mut succeeded = Outcome::default();
        succeeded.rolled_back(rollback(
            RolledBackBy::EcsDeploy,
            RollbackOutcome::InProgress,
        ));
        assert_eq!(succeeded.status, Status::Failed);

        let mut timed_out = Outcome {
            status: Status::TimedOut,
            ..Outcome::default()
        };
        timed_out.rolled_back(rollback(
            RolledBackBy::EcsDeploy,
            RollbackOutcome::InProgress,
        ));
        assert_eq!(timed_out.status, Status::TimedOut);
    }

    #[test]
    fn step_outputs_are_single_lines() {
        let outcome = Outcome {
            status: Status::RolledBack,
            new_task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:2".into()),
            previous_task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:1".into()),
            ..Outcome::default()
        };
        assert_eq!(
            step_outputs(&outcome),
            "task-definition-arn=arn:aws:ecs:us-east-1:1:task-definition/web:2\nstatus=rolled_back\n\
             previous-task-definition-arn=arn:aws:ecs:us-east-1:1:task-definition/web:1\n"
        );
    }
}
