//! The CodeDeploy operations used to deploy ECS services whose deployment controller is
//! CODE_DEPLOY, typed: the [`CodeDeploy`] trait is what the deploy flow and the CodeDeploy
//! watch talk to, and [`AwsCodeDeploy`] is its implementation on the AWS CLI
//! (`aws deploy ...`). This is the only module that builds `aws deploy` argument lists and
//! reads the answers (through the jq filters of `filters.rs`); [`discover`] finds the
//! deployment group of a service.
//!
//! Like the ECS layer: calls that change something retry throttling and report any other
//! failure as final; polls make one attempt, are given up on SIGINT/SIGTERM, and leave the
//! triage of their failures to the polling loop. The calls that decide what the service
//! runs (`create-deployment`, `stop-deployment`) finish even after a signal.

use std::collections::HashSet;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::aws::{Aws, CallError, Failure, Interrupt};
use crate::ecs::{Polled, read, read_polled};
use crate::error::{Error, Result};
use crate::filters;

pub mod discover;
pub mod rollback;
#[cfg(test)]
pub mod scripted;
pub mod tracker;
pub mod watch;

/// batch-get-deployments takes at most 25 ids per call.
pub const BATCH_GET_DEPLOYMENTS_LIMIT: usize = 25;

/// batch-get-deployment-groups takes at most 100 names per call.
pub const BATCH_GET_DEPLOYMENT_GROUPS_LIMIT: usize = 100;

/// A deployment group, reduced to what deploying to it needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub application: String,
    pub name: String,
    /// The ECS services it deploys (cluster, service), by name.
    pub ecs_services: Vec<EcsService>,
    /// Whether CodeDeploy rolls a failed deployment back by itself.
    pub rolls_back_on_failure: bool,
    /// Whether a deployment waits in Ready for `continue-deployment` before rerouting.
    pub waits_for_reroute: bool,
    /// The deployment last attempted on this group, if any.
    pub last_attempted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsService {
    pub cluster: String,
    pub service: String,
}

/// `create-deployment` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment<'a> {
    pub application: &'a str,
    pub group: &'a str,
    /// The AppSpec, as sent (JSON text).
    pub appspec: &'a str,
    /// Its sha256, lowercase hex.
    pub sha256: &'a str,
    pub description: Option<&'a str>,
}

/// What `create-deployment` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Id(String),
    /// The call may have reached CodeDeploy, but its answer was lost: why.
    Lost(String),
}

/// A deployment's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DeploymentStatus {
    Created,
    Queued,
    InProgress,
    Baking,
    Ready,
    Succeeded,
    Failed,
    Stopped,
    #[serde(other)]
    Unknown,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Created => "Created",
            DeploymentStatus::Queued => "Queued",
            DeploymentStatus::InProgress => "InProgress",
            DeploymentStatus::Baking => "Baking",
            DeploymentStatus::Ready => "Ready",
            DeploymentStatus::Succeeded => "Succeeded",
            DeploymentStatus::Failed => "Failed",
            DeploymentStatus::Stopped => "Stopped",
            DeploymentStatus::Unknown => "Unknown",
        }
    }

    /// Whether the deployment is over (nothing more will happen to it).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
        )
    }
}

/// CodeDeploy's account of why a deployment failed or stopped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInformation {
    #[serde(default)]
    pub code: String,
    #[serde(default, deserialize_with = "crate::secrets::masked")]
    pub message: String,
}

/// `rollbackInfo` of a deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInfo {
    /// The deployment that rolls this one back.
    pub rollback_deployment_id: Option<String>,
    /// The deployment this one rolls back.
    pub rollback_triggering_deployment_id: Option<String>,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub rollback_message: Option<String>,
}

/// A deployment, as `get-deployment` / `batch-get-deployments` show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: DeploymentStatus,
    pub error: Option<ErrorInformation>,
    pub rollback: Option<RollbackInfo>,
}

impl Deployment {
    /// The deployment CodeDeploy started to roll this one back, if it did.
    pub fn rolled_back_by(&self) -> Option<&str> {
        self.rollback.as_ref()?.rollback_deployment_id.as_deref()
    }
}

/// The ECS lifecycle events of a CodeDeploy deployment, in the order they happen.
pub const LIFECYCLE_EVENTS: [&str; 8] = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// A lifecycle event's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EventStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    Skipped,
    #[serde(other)]
    Unknown,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "Pending",
            EventStatus::InProgress => "InProgress",
            EventStatus::Succeeded => "Succeeded",
            EventStatus::Failed => "Failed",
            EventStatus::Skipped => "Skipped",
            EventStatus::Unknown => "Unknown",
        }
    }
}

/// What a failed lifecycle event (a hook) says of its failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    pub error_code: Option<String>,
    pub script_name: Option<String>,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub log_tail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    pub name: String,
    pub status: EventStatus,
    pub diagnostics: Option<Diagnostics>,
}

/// A task set of the deployment target: the original (Blue) or the replacement (Green).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSetInfo {
    /// ECS's id of the task set (ecs-svc/...): its tasks are started by it.
    pub id: String,
    /// Blue (original) or Green (replacement).
    pub label: Option<String>,
    pub status: Option<String>,
    /// Percent of production traffic, as CodeDeploy reports it (a whole number here).
    pub traffic_weight: Option<i64>,
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
}

/// The ECS service a deployment deploys to, as `get-deployment-target` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub id: String,
    pub status: String,
    pub events: Vec<LifecycleEvent>,
    pub task_sets: Vec<TaskSetInfo>,
}

impl Target {
    pub fn event(&self, name: &str) -> Option<&LifecycleEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The replacement task set, if it exists yet.
    pub fn replacement(&self) -> Option<&TaskSetInfo> {
        self.task_sets
            .iter()
            .find(|t| t.label.as_deref() == Some("Green"))
    }
}

/// The target id CodeDeploy gives an ECS service: `CLUSTER:SERVICE`.
pub fn target_id(cluster: &str, service: &str) -> String {
    format!("{cluster}:{service}")
}

/// The CodeDeploy operations the tool uses.
pub trait CodeDeploy {
    /// Every application's name (all pages).
    fn list_applications(&self) -> Result<Vec<String>>;
    /// Every deployment group's name of `application` (all pages).
    fn list_deployment_groups(&self, application: &str) -> Result<Vec<String>>;
    /// The groups named (any number: read in batches of
    /// [`BATCH_GET_DEPLOYMENT_GROUPS_LIMIT`]); an error names those CodeDeploy does not
    /// know.
    fn deployment_groups(&self, application: &str, names: &[String]) -> Result<Vec<Group>>;
    /// Start a deployment; its id, or that the answer was lost.
    fn create_deployment(&self, new: &NewDeployment) -> Result<Created>;
    /// The deployments of a group in one of the not-yet-over statuses, newest first as
    /// CodeDeploy lists them; stopped at `deadline`, made even after a signal (it tells
    /// what a lost create-deployment did).
    fn active_deployments(
        &self,
        application: &str,
        group: &str,
        deadline: Instant,
    ) -> Result<Vec<String>>;
    /// `stop-deployment`, with `--auto-rollback-enabled` when `roll_back`.
    fn stop_deployment(&self, id: &str, roll_back: bool) -> Result<()>;
    /// `continue-deployment --deployment-wait-type READY_WAIT` is left to the user: the
    /// tool only prints the command.
    ///
    /// One `batch-get-deployments` while waiting (at most [`BATCH_GET_DEPLOYMENTS_LIMIT`]
    /// ids): one per id asked, in that order (`None` where the answer has none).
    fn poll_deployments(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<Deployment>>>;
    /// `get-deployment-target` of one deployment's ECS target while waiting.
    fn poll_target(&self, deployment: &str, target: &str, deadline: Instant) -> Polled<Target>;
    /// `list-deployment-targets` while waiting: the target ids.
    fn list_targets(&self, deployment: &str, deadline: Instant) -> Polled<Vec<String>>;
}

/// The statuses of a deployment that is not over yet: `list-deployments` of a group with
/// them lists what would keep a new deployment from starting.
pub const ACTIVE_STATUSES: [&str; 5] = ["Created", "Queued", "InProgress", "Ready", "Baking"];

/// The most pages a list is read for (CodeDeploy pages hold up to 100 names). A list that
/// goes on past them, or gives a page token twice, is an answer that cannot be read.
const MAX_PAGES: usize = 1000;

/// What CodeDeploy says when a deployment has no target by the id asked.
const MISSING_TARGET: &str = "DeploymentTargetDoesNotExistException";

/// [`CodeDeploy`] on the AWS CLI.
pub struct AwsCodeDeploy<'a> {
    aws: &'a Aws,
}

impl<'a> AwsCodeDeploy<'a> {
    pub fn new(aws: &'a Aws) -> AwsCodeDeploy<'a> {
        AwsCodeDeploy { aws }
    }
}

/// Whether a failed [`CodeDeploy::poll_target`] says that the deployment has no target by
/// that id (then [`CodeDeploy::list_targets`] tells which it has).
pub fn is_missing_target(e: &CallError) -> bool {
    e.message.contains(MISSING_TARGET)
}

/// How a call of `aws deploy OP` is named in messages.
fn step_of(op: &str) -> String {
    format!("deploy {op}")
}

fn args<const N: usize>(list: [&str; N]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn unreadable(step: &str, why: impl Into<String>) -> CallError {
    CallError::new(step, 255, why, Failure::Unreadable)
}

/// One page of a list operation.
#[derive(Deserialize)]
struct Page {
    items: Vec<String>,
    next: Option<String>,
}

/// The names under `list` on every page of list operation `op`, each page one call made by
/// `call` with `args` and `--no-paginate` (then `--next-token T`). Each page is thus one
/// bounded call, whatever the number of pages: left to itself, the CLI would walk every page
/// inside one call, which `--call-timeout` (or a deadline) would cut short as a whole.
fn every_page(
    op: &str,
    args: &[String],
    list: &str,
    call: impl Fn(&[String]) -> Polled<Value>,
) -> Polled<Vec<String>> {
    let step = step_of(op);
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut tokens = HashSet::new();
    for _ in 0..MAX_PAGES {
        let mut argv = args.to_vec();
        argv.push("--no-paginate".into());
        if let Some(token) = &token {
            argv.extend(["--next-token".to_string(), token.clone()]);
        }
        let answer = call(&argv)?;
        let page: Page = filters::extract(&filters::CODEDEPLOY_PAGE, &answer, &[json!(list)])
            .map_err(|e| unreadable(&step, e.to_string()))?;
        items.extend(page.items);
        match page.next {
            None => return Ok(items),
            Some(next) if !tokens.insert(next.clone()) => {
                return Err(unreadable(&step, "CodeDeploy gave one page token twice"));
            }
            Some(next) => token = Some(next),
        }
    }
    Err(unreadable(
        &step,
        format!("CodeDeploy's list went on past {MAX_PAGES} pages"),
    ))
}

/// CodeDeploy's refusals that concern the names the user gave, said in the user's terms;
/// any other failure as it is.
fn in_user_terms(e: CallError, application: &str, group: Option<&str>) -> Error {
    if e.message.contains("ApplicationDoesNotExistException") {
        return Error::Failed(format!(
            "CodeDeploy application '{application}' does not exist; check \
             --codedeploy-application (and the region): {}",
            e.message
        ));
    }
    if let Some(group) = group
        && e.message.contains("DeploymentGroupDoesNotExistException")
    {
        return Error::Failed(format!(
            "CodeDeploy application '{application}' has no deployment group '{group}'; check \
             --codedeploy-deployment-group (and the region): {}",
            e.message
        ));
    }
    e.into()
}

/// CodeDeploy runs one deployment of a group at a time.
fn already_deploying(new: &NewDeployment, why: &str) -> Error {
    let (application, group) = (new.application, new.group);
    Error::Failed(format!(
        "CodeDeploy did not start the deployment: deployment group '{group}' of application \
         '{application}' already has a deployment in progress ({why}); see it with `aws deploy \
         list-deployments --application-name {application} --deployment-group-name {group} \
         --include-only-statuses InProgress Ready`, and wait for it to end or stop it; \
         nothing was deployed"
    ))
}

/// A `batch-get-deployment-groups` answer.
#[derive(Deserialize)]
struct GroupsAnswer {
    groups: Vec<Group>,
    #[serde(deserialize_with = "crate::secrets::masked")]
    error: String,
}

/// The groups of `application` named `asked`, in that order, from the groups found; an
/// error naming those CodeDeploy did not find.
fn groups_in_asked_order(
    application: &str,
    asked: &[String],
    found: Vec<Group>,
    error: &str,
) -> Result<Vec<Group>> {
    let missing: Vec<&String> = asked
        .iter()
        .filter(|name| !found.iter().any(|g| &g.name == *name))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|name| format!("'{name}'")).collect();
        let (noun, verb) = if missing.len() == 1 {
            ("deployment group", "does")
        } else {
            ("deployment groups", "do")
        };
        let said = if error.is_empty() {
            String::new()
        } else {
            format!(" (CodeDeploy: {error})")
        };
        return Err(Error::Failed(format!(
            "CodeDeploy {noun} {} {verb} not exist in application '{application}'{said}; check \
             --codedeploy-deployment-group (and the region)",
            names.join(", ")
        )));
    }
    Ok(asked
        .iter()
        .filter_map(|name| found.iter().find(|g| &g.name == name).cloned())
        .collect())
}

/// The deployments found, one per id asked, in that order (`None` where there is none).
fn deployments_in_asked_order(
    asked: &[String],
    mut found: Vec<Deployment>,
) -> Vec<Option<Deployment>> {
    asked
        .iter()
        .map(|id| {
            let at = found.iter().position(|d| &d.id == id)?;
            Some(found.swap_remove(at))
        })
        .collect()
}

/// A failed poll of a deployment's target, said in the user's terms: a target that does
/// not exist is named; a deployment not started yet is one failed poll, worth another.
fn target_failure(e: CallError, deployment: &str, target: Option<&str>) -> CallError {
    if let Some(target) = target
        && is_missing_target(&e)
    {
        let message = format!(
            "deployment {deployment} has no target '{target}' ({})",
            e.message
        );
        return CallError { message, ..e };
    }
    if e.message.contains("DeploymentNotStartedException") {
        let message = format!(
            "deployment {deployment} has not started yet ({})",
            e.message
        );
        return CallError {
            message,
            kind: Failure::Transient,
            ..e
        };
    }
    e
}

impl CodeDeploy for AwsCodeDeploy<'_> {
    fn list_applications(&self) -> Result<Vec<String>> {
        let op = "list-applications";
        let names = every_page(op, &[], "applications", |argv| {
            self.aws.deploy(op, argv, Interrupt::Abandon)
        })?;
        Ok(names)
    }

    fn list_deployment_groups(&self, application: &str) -> Result<Vec<String>> {
        let op = "list-deployment-groups";
        let argv = args(["--application-name", application]);
        every_page(op, &argv, "deploymentGroups", |argv| {
            self.aws.deploy(op, argv, Interrupt::Abandon)
        })
        .map_err(|e| in_user_terms(e, application, None))
    }

    fn deployment_groups(&self, application: &str, names: &[String]) -> Result<Vec<Group>> {
        let op = "batch-get-deployment-groups";
        let step = step_of(op);
        let mut groups = Vec::with_capacity(names.len());
        for chunk in names.chunks(BATCH_GET_DEPLOYMENT_GROUPS_LIMIT) {
            let mut argv = args([
                "--application-name",
                application,
                "--deployment-group-names",
            ]);
            argv.extend(chunk.iter().cloned());
            let answer = self
                .aws
                .deploy(op, &argv, Interrupt::Abandon)
                .map_err(|e| in_user_terms(e, application, None))?;
            let found: GroupsAnswer = read(
                &step,
                &filters::CODEDEPLOY_GROUPS,
                &answer,
                &[json!(application)],
            )?;
            groups.extend(groups_in_asked_order(
                application,
                chunk,
                found.groups,
                &found.error,
            )?);
        }
        Ok(groups)
    }

    fn create_deployment(&self, new: &NewDeployment) -> Result<Created> {
        let op = "create-deployment";
        let mut input = json!({
            "applicationName": new.application,
            "deploymentGroupName": new.group,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": new.appspec, "sha256": new.sha256},
            },
        });
        if let Some(description) = new.description {
            input["description"] = json!(description);
        }
        // What the service runs hangs on this call: let it finish, within its limit. Once
        // aws succeeded, the deployment may exist whatever the answer looks like.
        match self
            .aws
            .deploy_with_input(op, &input, &[], Interrupt::Finish)
        {
            Ok(answer) => {
                let id: std::result::Result<Option<String>, _> =
                    filters::extract(&filters::CODEDEPLOY_CREATED, &answer, &[]);
                Ok(match id {
                    Ok(Some(id)) if !id.is_empty() => Created::Id(id),
                    Ok(_) => {
                        Created::Lost("aws succeeded, but its answer names no deployment".into())
                    }
                    Err(e) => Created::Lost(format!(
                        "aws succeeded, but its answer cannot be read ({e})"
                    )),
                })
            }
            Err(e) if e.kind == Failure::Unreadable => Ok(Created::Lost(format!(
                "aws succeeded, but its answer cannot be read ({})",
                e.message
            ))),
            Err(e) if e.outcome_unknown() => Ok(Created::Lost(e.message)),
            Err(e) if e.message.contains("DeploymentLimitExceededException") => {
                Err(already_deploying(new, &e.message))
            }
            Err(e) => Err(in_user_terms(e, new.application, Some(new.group))),
        }
    }

    fn active_deployments(
        &self,
        application: &str,
        group: &str,
        deadline: Instant,
    ) -> Result<Vec<String>> {
        let op = "list-deployments";
        let mut argv = args([
            "--application-name",
            application,
            "--deployment-group-name",
            group,
            "--include-only-statuses",
        ]);
        argv.extend(args(ACTIVE_STATUSES));
        every_page(op, &argv, "deployments", |argv| {
            self.aws.deploy_settling_read(op, argv, deadline)
        })
        .map_err(|e| in_user_terms(e, application, Some(group)))
    }

    fn stop_deployment(&self, id: &str, roll_back: bool) -> Result<()> {
        let mut argv = args(["--deployment-id", id]);
        if roll_back {
            argv.push("--auto-rollback-enabled".into());
        }
        // What the service runs hangs on this call, and a rollback asked for must go
        // through even after a signal: let it finish, within its limit.
        let e = match self.aws.deploy("stop-deployment", &argv, Interrupt::Finish) {
            Ok(_) => return Ok(()),
            Err(e) if e.outcome_unknown() => e,
            Err(e) => return Err(e.into()),
        };
        // The answer was lost: the deployment, read once, says whether it was stopped.
        let op = "batch-get-deployments";
        let read = args(["--deployment-ids", id]);
        let until =
            Instant::now() + std::time::Duration::from_secs(10).min(self.aws.call_timeout());
        let stopped = self
            .aws
            .deploy_settling_read(op, &read, until)
            .ok()
            .and_then(|answer| {
                read_polled::<Vec<Deployment>>(
                    &step_of(op),
                    &filters::CODEDEPLOY_DEPLOYMENTS,
                    &answer,
                )
                .ok()
            })
            .and_then(|found| found.into_iter().find(|d| d.id == id))
            .is_some_and(|d| {
                d.status == DeploymentStatus::Stopped || (roll_back && d.rolled_back_by().is_some())
            });
        if stopped {
            return Ok(());
        }
        Err(Error::Aws {
            step: step_of("stop-deployment"),
            code: e.code,
            message: format!(
                "{}; whether deployment {id} was stopped is unknown. Check with: aws deploy get-deployment --deployment-id {id}",
                e.message
            ),
        })
    }

    fn poll_deployments(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<Deployment>>> {
        let op = "batch-get-deployments";
        let step = step_of(op);
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET_DEPLOYMENTS_LIMIT) {
            let mut argv = args(["--deployment-ids"]);
            argv.extend(chunk.iter().cloned());
            let answer = self.aws.deploy_poll(op, &argv, deadline)?;
            let read: Vec<Deployment> =
                read_polled(&step, &filters::CODEDEPLOY_DEPLOYMENTS, &answer)?;
            found.extend(read);
        }
        Ok(deployments_in_asked_order(ids, found))
    }

    fn poll_target(&self, deployment: &str, target: &str, deadline: Instant) -> Polled<Target> {
        let op = "get-deployment-target";
        let step = step_of(op);
        let argv = args(["--deployment-id", deployment, "--target-id", target]);
        let answer = self
            .aws
            .deploy_poll(op, &argv, deadline)
            .map_err(|e| target_failure(e, deployment, Some(target)))?;
        let found: Option<Target> = read_polled(&step, &filters::CODEDEPLOY_TARGET, &answer)?;
        found.ok_or_else(|| unreadable(&step, "the answer holds no ECS target"))
    }

    fn list_targets(&self, deployment: &str, deadline: Instant) -> Polled<Vec<String>> {
        let op = "list-deployment-targets";
        let argv = args(["--deployment-id", deployment]);
        every_page(op, &argv, "targetIds", |argv| {
            self.aws.deploy_poll(op, argv, deadline)
        })
        .map_err(|e| target_failure(e, deployment, None))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    const APP: &str = "AppECS-prod-web";
    const GROUP: &str = "DgpECS-prod-web";
    const OURS: &str = "d-7Q3XHK2NB";
    const ROLLBACK: &str = "d-9ZR4JTM1C";

    /// A recorded answer, `fixtures/deploy/<path>`.
    fn recorded(path: &str) -> Value {
        let full = format!("{}/fixtures/deploy/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    fn groups_of(path: &str, asked: &[&str]) -> Result<Vec<Group>> {
        let step = "deploy batch-get-deployment-groups";
        let answer: GroupsAnswer = read(
            step,
            &filters::CODEDEPLOY_GROUPS,
            &recorded(path),
            &[json!(APP)],
        )?;
        let asked: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
        groups_in_asked_order(APP, &asked, answer.groups, &answer.error)
    }

    fn target_of(path: &str) -> Target {
        let found: Option<Target> = read_polled(
            "deploy get-deployment-target",
            &filters::CODEDEPLOY_TARGET,
            &recorded(path),
        )
        .unwrap();
        found.expect("an ECS target")
    }

    fn deployments_of(path: &str, asked: &[&str]) -> Vec<Option<Deployment>> {
        let found: Vec<Deployment> = read_polled(
            "deploy batch-get-deployments",
            &filters::CODEDEPLOY_DEPLOYMENTS,
            &recorded(path),
        )
        .unwrap();
        let asked: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
        deployments_in_asked_order(&asked, found)
    }

    /// The tracker's observe step on recorded answers: mid-deployment, then the failed
    /// hook with CodeDeploy's rollback.
    #[test]
    fn recorded_answers_through_the_observe_step() {
        use crate::watch::Next;
        use tracker::{Event, Tracker};

        let mut tracker = Tracker::new(OURS, false);
        tracker.start();
        let going = deployments_of("batch-get-deployments/in-progress.json", &[OURS]);
        let going = going[0].clone().expect("ours");
        let step = tracker.observe(
            &going,
            Some(&target_of("get-deployment-target/blue-green-mid.json")),
        );
        assert_eq!(step.next, Next::Waiting);
        assert!(step.events.contains(&Event::Lifecycle {
            name: "AllowTraffic".into(),
            status: EventStatus::InProgress
        }));
        assert_eq!(tracker.current_event(), Some("AllowTraffic"));

        let failed = deployments_of("batch-get-deployments/failed-rolled-back.json", &[OURS]);
        let failed = failed[0].clone().expect("ours");
        let target = target_of("get-deployment-target/hook-failed.json");
        let step = tracker.observe(&failed, Some(&target));
        let Next::Failed(why) = step.next else {
            panic!("a failed deployment fails the wait: {:?}", step.next);
        };
        assert!(
            why.starts_with(&format!(
                "CodeDeploy deployment {OURS} Failed: HOOK_EXECUTION_FAILURE"
            )),
            "{why}"
        );
        assert!(
            why.contains("lifecycle event AfterAllowTestTraffic failed (ScriptFailed"),
            "{why}"
        );
        assert!(
            why.ends_with(&format!(
                "CodeDeploy is rolling it back (deployment {ROLLBACK})"
            )),
            "{why}"
        );
    }

    #[test]
    fn a_group_says_what_it_deploys_and_how_it_rolls_back() {
        let groups = groups_of("batch-get-deployment-groups/web.json", &[GROUP]).unwrap();
        assert_eq!(
            groups,
            [Group {
                application: APP.into(),
                name: GROUP.into(),
                ecs_services: vec![EcsService {
                    cluster: "prod".into(),
                    service: "web".into(),
                }],
                rolls_back_on_failure: true,
                waits_for_reroute: false,
                last_attempted: Some("d-2M8FJ5W0P".into()),
            }]
        );
    }

    #[test]
    fn a_group_that_waits_for_reroute_and_rolls_back_only_on_alarms() {
        let name = "DgpECS-prod-web-manual";
        let group = groups_of("batch-get-deployment-groups/web-ready-wait.json", &[name])
            .unwrap()
            .remove(0);
        assert!(group.waits_for_reroute);
        // Rollback is enabled, but for alarms only: a failed deployment stays failed.
        assert!(!group.rolls_back_on_failure);
        assert_eq!(group.last_attempted.as_deref(), Some("d-5LKD8W2QA"));
        let bare = json!({"deploymentGroupsInfo": [{"deploymentGroupName": "g"}]});
        let read: GroupsAnswer =
            read("s", &filters::CODEDEPLOY_GROUPS, &bare, &[json!(APP)]).unwrap();
        let group = &read.groups[0];
        assert_eq!(group.application, APP);
        assert!(group.ecs_services.is_empty());
        assert!(!group.rolls_back_on_failure && !group.waits_for_reroute);
        assert_eq!(group.last_attempted, None);
    }

    #[test]
    fn groups_that_do_not_exist_are_named() {
        let e = groups_of(
            "batch-get-deployment-groups/missing.json",
            &["DgpECS-prod-wbe"],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        let message = e.to_string();
        assert!(
            message.starts_with(
                "CodeDeploy deployment group 'DgpECS-prod-wbe' does not exist in application \
                 'AppECS-prod-web' (CodeDeploy: Deployment groups do not exist"
            ),
            "{message}"
        );
        // Found or not, by name: the answer's order does not matter; two missing are both named.
        let e = groups_of("batch-get-deployment-groups/web.json", &["a", GROUP, "b"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CodeDeploy deployment groups 'a', 'b' do not exist"),
            "{e}"
        );
    }

    #[test]
    fn a_failed_deployment_says_why_and_which_deployment_rolls_it_back() {
        let read = deployments_of(
            "batch-get-deployments/failed-rolled-back.json",
            &[OURS, "d-NOTLISTED", ROLLBACK],
        );
        let ours = read[0].as_ref().unwrap();
        assert_eq!(ours.status, DeploymentStatus::Failed);
        assert!(ours.status.is_over());
        let error = ours.error.as_ref().unwrap();
        assert_eq!(error.code, "HOOK_EXECUTION_FAILURE");
        assert!(error.message.contains("AfterAllowTestTraffic"));
        assert_eq!(ours.rolled_back_by(), Some(ROLLBACK));
        assert!(
            ours.rollback
                .as_ref()
                .unwrap()
                .rollback_message
                .as_deref()
                .unwrap()
                .starts_with("Automatic rollback")
        );
        assert_eq!(read[1], None);
        let rollback = read[2].as_ref().unwrap();
        assert_eq!(rollback.status, DeploymentStatus::InProgress);
        assert_eq!(rollback.error, None);
        assert_eq!(
            rollback
                .rollback
                .as_ref()
                .unwrap()
                .rollback_triggering_deployment_id
                .as_deref(),
            Some(OURS)
        );
    }

    #[test]
    fn a_stopped_and_an_in_progress_deployment() {
        let stopped = deployments_of("batch-get-deployments/stopped.json", &["d-5LKD8W2QA"])
            .remove(0)
            .unwrap();
        assert_eq!(stopped.status, DeploymentStatus::Stopped);
        assert_eq!(stopped.error.as_ref().unwrap().code, "MANUAL_STOP");
        assert_eq!(stopped.rollback, None);
        assert_eq!(stopped.rolled_back_by(), None);
        let running = deployments_of("batch-get-deployments/in-progress.json", &[OURS])
            .remove(0)
            .unwrap();
        assert_eq!(
            (running.status, running.error, running.rollback),
            (DeploymentStatus::InProgress, None, None)
        );
        let odd = json!({"deploymentsInfo": [{"deploymentId": "d-1", "status": "Paused"}]});
        let read: Vec<Deployment> =
            read_polled("s", &filters::CODEDEPLOY_DEPLOYMENTS, &odd).unwrap();
        assert_eq!(read[0].status, DeploymentStatus::Unknown);
    }

    #[test]
    fn an_unreadable_poll_answer_is_a_failed_poll() {
        let step = "deploy batch-get-deployments";
        let e = read_polled::<Vec<Deployment>>(step, &filters::CODEDEPLOY_DEPLOYMENTS, &json!([1]))
            .unwrap_err();
        assert_eq!((e.kind, e.step.as_str()), (Failure::Unreadable, step));
        let no_ecs = json!({"deploymentTarget": {"deploymentTargetType": "InstanceTarget",
            "instanceTarget": {"targetId": "i-1"}}});
        let found: Option<Target> =
            read_polled(step, &filters::CODEDEPLOY_TARGET, &no_ecs).unwrap();
        assert_eq!(found, None);
    }

    #[test]
    fn a_target_mid_deployment_has_blue_and_green_task_sets() {
        let target = target_of("get-deployment-target/blue-green-mid.json");
        assert_eq!(
            (target.id.as_str(), target.status.as_str()),
            ("prod:web", "InProgress")
        );
        let names: Vec<&str> = target.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, LIFECYCLE_EVENTS);
        assert_eq!(
            target.event("AllowTraffic").unwrap().status,
            EventStatus::InProgress
        );
        assert_eq!(
            target.event("AfterAllowTraffic").unwrap().status,
            EventStatus::Pending
        );
        let install = target.event("Install").unwrap();
        assert_eq!(
            install.diagnostics.as_ref().unwrap().error_code.as_deref(),
            Some("Success")
        );
        let green = target.replacement().unwrap();
        assert_eq!(
            green,
            &TaskSetInfo {
                id: "ecs-svc/7438260157719352190".into(),
                label: Some("Green".into()),
                status: Some("ACTIVE".into()),
                traffic_weight: Some(10),
                desired_count: Some(2),
                running_count: Some(2),
            }
        );
        let blue = &target.task_sets[0];
        assert_eq!(
            (blue.label.as_deref(), blue.traffic_weight),
            (Some("Blue"), Some(90))
        );
    }

    #[test]
    fn a_failed_hook_has_its_diagnostics_with_secrets_masked() {
        crate::secrets::add("pa\"ss\\word-1");
        let target = target_of("get-deployment-target/hook-failed.json");
        assert_eq!(target.status, "Failed");
        let hook = target.event("AfterAllowTestTraffic").unwrap();
        assert_eq!(hook.status, EventStatus::Failed);
        let diagnostics = hook.diagnostics.as_ref().unwrap();
        assert_eq!(diagnostics.error_code.as_deref(), Some("ScriptFailed"));
        assert_eq!(
            diagnostics.script_name.as_deref(),
            Some("CodeDeployHook_web_smoke")
        );
        assert!(diagnostics.message.as_deref().unwrap().contains("HTTP 503"));
        let tail = diagnostics.log_tail.as_deref().unwrap();
        assert!(tail.contains("DB_PASSWORD=****"), "{tail}");
        assert!(!tail.contains("word-1"), "{tail}");
        assert_eq!(
            target.event("AllowTraffic").unwrap().status,
            EventStatus::Skipped
        );
        assert_eq!(target.replacement().unwrap().traffic_weight, Some(0));
    }

    #[test]
    fn traffic_weights_are_rounded_to_whole_percents() {
        let answer = json!({"deploymentTarget": {"ecsTarget": {"targetId": "c:s",
            "taskSetsInfo": [{"identifer": "ecs-svc/1", "trafficWeight": 66.6},
                             {"identifer": "ecs-svc/2", "trafficWeight": 33.4,
                              "taskSetLabel": "Green"},
                             {"identifer": "ecs-svc/3"}]}}});
        let target: Option<Target> =
            read_polled("s", &filters::CODEDEPLOY_TARGET, &answer).unwrap();
        let weights: Vec<Option<i64>> = target
            .unwrap()
            .task_sets
            .iter()
            .map(|t| t.traffic_weight)
            .collect();
        assert_eq!(weights, [Some(67), Some(33), None]);
    }

    #[test]
    fn a_create_deployment_answer_names_the_deployment() {
        let id = |answer: &Value| -> Option<String> {
            filters::extract(&filters::CODEDEPLOY_CREATED, answer, &[]).unwrap()
        };
        assert_eq!(
            id(&recorded("create-deployment/created.json")).as_deref(),
            Some(OURS)
        );
        assert_eq!(id(&json!({})), None);
        assert_eq!(id(&json!("d-1")), None);
        assert_eq!(id(&Value::Null), None);
    }

    /// Pages answered in order, and the argv of each call.
    fn paged(answers: Vec<Value>) -> (RefCell<Vec<Vec<String>>>, RefCell<Vec<Value>>) {
        (RefCell::new(Vec::new()), RefCell::new(answers))
    }

    #[test]
    fn every_page_is_one_call_and_the_token_is_passed_on() {
        let (calls, answers) = paged(vec![
            recorded("list-applications/page-1.json"),
            recorded("list-applications/page-2.json"),
        ]);
        let names = every_page("list-applications", &[], "applications", |argv| {
            calls.borrow_mut().push(argv.to_vec());
            Ok(answers.borrow_mut().remove(0))
        })
        .unwrap();
        assert_eq!(names, [APP, "legacy-ec2-app"]);
        let calls = calls.into_inner();
        assert_eq!(calls[0], ["--no-paginate"]);
        assert_eq!(
            calls[1],
            [
                "--no-paginate",
                "--next-token",
                "eyJhcHAiOiJBcHBFQ1MtcHJvZC13ZWIifQ=="
            ]
        );
    }

    #[test]
    fn a_page_token_given_twice_or_an_odd_page_is_unreadable() {
        let page = json!({"applications": ["a"], "nextToken": "t"});
        let e = every_page("list-applications", &[], "applications", |_| {
            Ok(page.clone())
        })
        .unwrap_err();
        assert_eq!(e.kind, Failure::Unreadable);
        assert_eq!(e.step, "deploy list-applications");
        let e =
            every_page("list-applications", &[], "applications", |_| Ok(json!("x"))).unwrap_err();
        assert_eq!(e.kind, Failure::Unreadable);
        // An empty token ends the list; a paginating CLI's NextToken is a token too.
        let (calls, answers) = paged(vec![
            json!({"deployments": ["d-1"], "NextToken": "n"}),
            json!({"deployments": ["d-2"], "nextToken": ""}),
        ]);
        let ids = every_page("list-deployments", &[], "deployments", |argv| {
            calls.borrow_mut().push(argv.to_vec());
            Ok(answers.borrow_mut().remove(0))
        })
        .unwrap();
        assert_eq!(ids, ["d-1", "d-2"]);
        assert_eq!(calls.into_inner().len(), 2);
    }

    fn refused(exception: &str) -> CallError {
        CallError::new(
            "deploy create-deployment",
            254,
            format!(
                "An error occurred ({exception}) when calling the CreateDeployment operation: no"
            ),
            Failure::Fatal,
        )
    }

    #[test]
    fn refusals_about_names_are_said_in_the_users_terms() {
        let e = in_user_terms(
            refused("ApplicationDoesNotExistException"),
            "app",
            Some("g"),
        );
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.to_string().starts_with(
                "CodeDeploy application 'app' does not exist; check --codedeploy-application"
            ),
            "{e}"
        );
        let e = in_user_terms(
            refused("DeploymentGroupDoesNotExistException"),
            "app",
            Some("g"),
        );
        assert!(
            e.to_string()
                .starts_with("CodeDeploy application 'app' has no deployment group 'g'"),
            "{e}"
        );
        let e = in_user_terms(refused("InvalidRoleException"), "app", Some("g"));
        assert_eq!(e.exit_code(), 254);
        assert!(
            e.to_string()
                .starts_with("deploy create-deployment failed: ")
        );
    }

    #[test]
    fn a_deployment_already_in_progress_says_how_to_see_it() {
        let new = NewDeployment {
            application: APP,
            group: GROUP,
            appspec: "{}",
            sha256: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            description: None,
        };
        let e = already_deploying(&new, &refused("DeploymentLimitExceededException").message);
        assert_eq!(e.exit_code(), 1);
        let message = e.to_string();
        assert!(
            message.contains("already has a deployment in progress"),
            "{message}"
        );
        assert!(
            message.contains(
                "aws deploy list-deployments --application-name AppECS-prod-web \
                 --deployment-group-name DgpECS-prod-web --include-only-statuses InProgress"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_missing_target_is_named_and_a_deployment_not_started_is_worth_another_poll() {
        let e = CallError::new(
            "deploy get-deployment-target",
            254,
            "An error occurred (DeploymentTargetDoesNotExistException) when calling the \
             GetDeploymentTarget operation: The provided target ID does not exist.",
            Failure::Fatal,
        );
        let e = target_failure(e, OURS, Some("prod:web"));
        assert!(is_missing_target(&e));
        assert!(
            e.message
                .starts_with("deployment d-7Q3XHK2NB has no target 'prod:web' ("),
            "{}",
            e.message
        );
        assert_eq!(e.kind, Failure::Fatal);
        let e = CallError::new(
            "deploy list-deployment-targets",
            254,
            "An error occurred (DeploymentNotStartedException) when calling the \
             ListDeploymentTargets operation: The deployment has not started.",
            Failure::Fatal,
        );
        let e = target_failure(e, OURS, None);
        assert_eq!(e.kind, Failure::Transient);
        assert!(
            e.message
                .starts_with("deployment d-7Q3XHK2NB has not started yet")
        );
        assert!(!is_missing_target(&e));
    }
}
