//! The ECS operations the tool uses, typed: the [`Ecs`] trait is what the deploy flow, the
//! watch, the rollback and one-off tasks talk to, and [`AwsEcs`] is its implementation on
//! the AWS CLI. This is the only module that builds `aws ecs` argument lists and reads the
//! answers (through the jq filters of `filters.rs`).
//!
//! Calls that change something retry throttling and report any other failure as final;
//! polls make one attempt, are given up on SIGINT/SIGTERM, and leave the triage of their
//! failures (transient or not) to the polling loop.

use std::time::Instant;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aws::{Aws, CallError, ECS, Failure, Interrupt};
use crate::controller::{Controller, ControllerType};
use crate::error::{Error, Result};
use crate::filters::{self, Jq};
use crate::secrets;
use crate::task::{Task, TaskStatus};

#[cfg(test)]
pub mod scripted;

/// The answer of a poll, whose failure the polling loop triages.
pub type Polled<T> = std::result::Result<T, CallError>;

/// A service, by cluster and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub cluster: String,
    pub name: String,
}

/// What `describe-services` says of a service before it is touched.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    /// The task definition ARN the service runs.
    pub task_definition: String,
    /// The deployment controller: ECS, CODE_DEPLOY or EXTERNAL.
    pub controller: ControllerType,
    /// Where its load balancers send traffic (a CodeDeploy AppSpec names the container).
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// Ids of the events the service already shows: not news to the user.
    pub event_ids: Vec<String>,
    /// The newest deployment (PRIMARY), if the service has one.
    pub primary: Option<PrimaryDeployment>,
    /// ECS's record of the current deployment, where the API has one.
    pub service_deployment: Option<String>,
    #[serde(default)]
    pub strategy: Strategy,
}

impl Service {
    pub fn controller(&self) -> Controller {
        Controller::new(self.controller, self.strategy)
    }
}

/// A load balancer of a service: the container and port it sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub container_name: String,
    pub container_port: u16,
}

/// The PRIMARY deployment of a service, as describe-services shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryDeployment {
    pub id: String,
    pub desired_count: Option<i64>,
}

/// A task definition as `describe-task-definition` answered it (or a file gave it).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinition {
    pub arn: String,
    /// The whole answer, `{"taskDefinition": {...}, "tags": [...]}`.
    pub answer: Value,
}

/// What to point the service at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewRevision<'a> {
    TaskDefinition(&'a str),
    /// Redeploy the task definition it runs (`--force-new-deployment`).
    Same,
}

/// `update-service` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUpdate<'a> {
    pub service: &'a ServiceRef,
    pub revision: NewRevision<'a>,
    pub desired_count: Option<i64>,
    pub min_healthy_percent: Option<u32>,
    pub max_percent: Option<u32>,
}

/// How ECS rolls a service's deployments out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Strategy {
    #[default]
    Rolling,
    BlueGreen,
    Linear,
    Canary,
    #[serde(other)]
    Unknown,
}

impl Strategy {
    /// Whether ECS itself decides when the deployment is done (traffic shifts, bake time):
    /// then only the service deployment's status says so.
    pub fn is_managed(self) -> bool {
        matches!(
            self,
            Strategy::BlueGreen | Strategy::Linear | Strategy::Canary
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Linear => "LINEAR",
            Strategy::Canary => "CANARY",
            Strategy::Unknown => "UNKNOWN",
        }
    }
}

/// What `update-service` says of the deployment it started. ECS accepted the update even
/// when its answer could not be read: then everything here is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Updated {
    /// The service deployment ECS made of this update (`currentServiceDeployment`), where
    /// the API has them.
    pub service_deployment: Option<String>,
    #[serde(default)]
    pub strategy: Strategy,
    pub desired_count: Option<i64>,
    /// The PRIMARY deployment: the one just started.
    pub deployment_id: Option<String>,
    pub event_ids: Vec<String>,
    /// Why the answer could not be read, if it could not.
    #[serde(skip)]
    pub unreadable: Option<String>,
    /// Why no answer came (the call was stopped, or aws died or lost its connection): then
    /// whether ECS applied the update is not known, and nothing else here is.
    #[serde(skip)]
    pub lost: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    InProgress,
    Completed,
    Failed,
    #[serde(other)]
    Unknown,
}

/// One deployment of a service, as one poll saw it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    /// PRIMARY (the newest), ACTIVE (draining) or INACTIVE.
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub failed_tasks: i64,
    pub rollout_state: Option<RolloutState>,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub rollout_state_reason: Option<String>,
}

impl Deployment {
    pub fn is_primary(&self) -> bool {
        self.status == "PRIMARY"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceDeploymentStatus {
    Pending,
    InProgress,
    Successful,
    StopRequested,
    Stopped,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
    #[serde(other)]
    Unknown,
}

impl ServiceDeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceDeploymentStatus::Pending => "PENDING",
            ServiceDeploymentStatus::InProgress => "IN_PROGRESS",
            ServiceDeploymentStatus::Successful => "SUCCESSFUL",
            ServiceDeploymentStatus::StopRequested => "STOP_REQUESTED",
            ServiceDeploymentStatus::Stopped => "STOPPED",
            ServiceDeploymentStatus::RollbackRequested => "ROLLBACK_REQUESTED",
            ServiceDeploymentStatus::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            ServiceDeploymentStatus::RollbackSuccessful => "ROLLBACK_SUCCESSFUL",
            ServiceDeploymentStatus::RollbackFailed => "ROLLBACK_FAILED",
            ServiceDeploymentStatus::Unknown => "UNKNOWN",
        }
    }

    /// ECS rolled (or is rolling) the service back itself: rolling back again would only
    /// get in its way. A stopped deployment, or a failed rollback, leaves that to us.
    pub fn is_rolled_back_by_ecs(self) -> bool {
        matches!(
            self,
            ServiceDeploymentStatus::RollbackRequested
                | ServiceDeploymentStatus::RollbackInProgress
                | ServiceDeploymentStatus::RollbackSuccessful
        )
    }

    /// The service deployment has ended: nothing about it can be changed any more.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            ServiceDeploymentStatus::Successful
                | ServiceDeploymentStatus::Stopped
                | ServiceDeploymentStatus::RollbackSuccessful
                | ServiceDeploymentStatus::RollbackFailed
        )
    }

    /// ECS is rolling the deployment back, or has stopped it: it will not succeed.
    pub fn is_given_up(self) -> bool {
        matches!(
            self,
            ServiceDeploymentStatus::StopRequested
                | ServiceDeploymentStatus::Stopped
                | ServiceDeploymentStatus::RollbackRequested
                | ServiceDeploymentStatus::RollbackInProgress
                | ServiceDeploymentStatus::RollbackSuccessful
                | ServiceDeploymentStatus::RollbackFailed
        )
    }
}

/// A service deployment, as `describe-service-deployments` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeployment {
    pub arn: String,
    pub status: ServiceDeploymentStatus,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub status_reason: Option<String>,
    /// RECONCILE_SERVICE, SCALE_UP, TEST_TRAFFIC_SHIFT, BAKE_TIME, ...
    pub lifecycle_stage: Option<String>,
    #[serde(deserialize_with = "crate::secrets::masked_list")]
    pub triggered_alarms: Vec<String>,
    #[serde(default, deserialize_with = "crate::secrets::masked_option")]
    pub rollback_reason: Option<String>,
    /// The lifecycle hooks run so far (`lifecycleHookDetails`).
    #[serde(default)]
    pub hooks: Vec<Hook>,
}

impl ServiceDeployment {
    /// The PAUSE hook holding the deployment, if one is.
    pub fn awaiting(&self) -> Option<&Hook> {
        self.hooks
            .iter()
            .find(|h| h.status == HookStatus::AwaitingAction)
    }
}

/// ECS's lifecycle stages of a service deployment, in their order.
pub const LIFECYCLE_STAGES: [&str; 10] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// A lifecycle hook of a service deployment, as `lifecycleHookDetails` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub id: String,
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    pub target_arn: Option<String>,
    pub status: HookStatus,
    /// When an AWAITING_ACTION pause gives up waiting (as ECS wrote it).
    pub expires_at: Option<String>,
    /// What happens then: CONTINUE or ROLLBACK.
    pub timeout_action: Option<String>,
}

impl Hook {
    /// What the hook runs, for a line: the Lambda function's name, or PAUSE.
    pub fn what(&self) -> String {
        let target = self.target_arn.as_deref().map(|arn| {
            arn.strip_prefix("arn:")
                .and_then(|_| arn.split(":function:").nth(1))
                .map_or(arn, |name| name.split(':').next().unwrap_or(name))
        });
        match target {
            Some(target) if !target.is_empty() => format!("{} {target}", self.target_type),
            _ => self.target_type.clone(),
        }
    }
}

/// What a paused deployment is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAction {
    Continue,
    Rollback,
}

impl HookAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HookAction::Continue => "CONTINUE",
            HookAction::Rollback => "ROLLBACK",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    AwaitingAction,
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
    #[serde(other)]
    Unknown,
}

impl HookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::AwaitingAction => "AWAITING_ACTION",
            HookStatus::InProgress => "IN_PROGRESS",
            HookStatus::Succeeded => "SUCCEEDED",
            HookStatus::Failed => "FAILED",
            HookStatus::TimedOut => "TIMED_OUT",
            HookStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, HookStatus::Failed | HookStatus::TimedOut)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(deserialize_with = "crate::secrets::masked")]
    pub message: String,
}

/// One poll of a service: its deployments and its events, oldest event first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    pub deployments: Vec<Deployment>,
    pub events: Vec<Event>,
    /// Whether ECS's deployment circuit breaker watches the service's rollouts.
    #[serde(default, rename = "circuitBreaker")]
    pub circuit_breaker: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesiredStatus {
    Running,
    Stopped,
}

/// Which tasks `list-tasks` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFilter<'a> {
    /// The tasks a deployment started (ECS starts a service's tasks with the deployment
    /// id as `startedBy`); ECS allows no other filter with it, so these are the running
    /// ones.
    StartedBy(&'a str),
    /// A service's tasks with this desired status.
    Service(&'a str, DesiredStatus),
}

/// `list-tasks` pages hold at most this many ARNs, so that a large service is walked a
/// page at a time instead of in one long answer.
pub const LIST_TASKS_PAGE: usize = 100;

/// One page of `list-tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskPage {
    pub arns: Vec<String>,
    pub next: Option<String>,
}

/// A `describe-tasks` answer: the tasks found and, for those not found, ECS's reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DescribedTasks {
    pub tasks: Vec<Task>,
    #[serde(deserialize_with = "crate::secrets::masked_list")]
    pub missing: Vec<String>,
}

/// `run-task` input; every field reaches aws as its own argument, exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTaskRequest<'a> {
    pub cluster: &'a str,
    pub task_definition: &'a str,
    pub launch_type: Option<&'a str>,
    pub platform_version: Option<&'a str>,
    pub network_configuration: Option<&'a str>,
}

/// What `run-task` answered: the task it started, if any, and every failure it listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedTask {
    pub task_arn: Option<String>,
    pub last_status: TaskStatus,
    pub failures: Vec<RunFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunFailure {
    pub arn: String,
    #[serde(deserialize_with = "crate::secrets::masked")]
    pub reason: String,
    #[serde(deserialize_with = "crate::secrets::masked")]
    pub detail: String,
}

/// The ECS operations the tool uses; a read may run on a thread of its own.
pub trait Ecs: Sync {
    /// The services of one cluster (at most [`DESCRIBE_SERVICES_LIMIT`]), in the order
    /// asked, in one call; or an error naming what is missing (services or the cluster).
    fn describe_services(&self, cluster: &str, names: &[String]) -> Result<Vec<Service>>;
    fn describe_task_definition(
        &self,
        task_definition: &str,
        include_tags: bool,
    ) -> Result<TaskDefinition>;
    /// Registers the input; the new revision's ARN.
    fn register_task_definition(&self, input: &Value) -> Result<String>;
    /// A register-task-definition is to come soon: its call may start getting ready
    /// (nothing is sent before it is made).
    fn expect_register(&self) {}
    /// A poll of these services is to come: its call may start getting ready.
    fn expect_poll(&self, _cluster: &str, _names: &[String]) {}
    /// A describe-task-definition is to come (its name not yet known).
    fn expect_describe_task_definition(&self, _include_tags: bool) {}
    /// This update is to come, to a revision not yet registered.
    fn expect_update(&self, _update: &ServiceUpdate) {}
    fn update_service(&self, update: &ServiceUpdate) -> Result<Updated>;
    /// One service read back after an update whose answer was lost, to learn whether ECS
    /// applied it: made even after SIGINT/SIGTERM, and stopped at `deadline`.
    fn read_back(&self, cluster: &str, name: &str, deadline: Instant) -> Result<Service> {
        let _ = deadline;
        let mut found = self.describe_services(cluster, &[name.to_string()])?;
        Ok(found.remove(0))
    }
    /// ACTIVE revisions of families starting with `family`, oldest first.
    fn list_task_definitions(&self, family_prefix: &str) -> Result<Vec<String>>;
    fn deregister_task_definition(&self, arn: &str) -> Result<()>;
    fn run_task(&self, request: &RunTaskRequest) -> Result<StartedTask>;
    /// Ask ECS to roll a service deployment back to the revision it replaced.
    fn roll_back_service_deployment(&self, arn: &str) -> Result<()>;
    /// `continue-service-deployment`: release the pause `hook_id` holds, going on or
    /// rolling back.
    fn continue_service_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<()>;

    /// `describe-service-deployments` of one ARN while waiting.
    fn poll_service_deployment(&self, arn: &str, deadline: Instant) -> Polled<ServiceDeployment>;
    /// One `describe-service-deployments` of several ARNs (at most
    /// [`DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT`]) while waiting: one per ARN asked, in that
    /// order (`None` where the answer has none).
    fn poll_service_deployments(
        &self,
        arns: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<ServiceDeployment>>>;
    /// One `describe-services` of several services while waiting, stopped at the wait's
    /// `deadline`: a snapshot per name asked, in that order (`None` where the answer has
    /// none).
    fn poll_services(
        &self,
        cluster: &str,
        names: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<Snapshot>>>;
    fn list_tasks(
        &self,
        cluster: &str,
        filter: TaskFilter,
        next: Option<&str>,
        deadline: Instant,
    ) -> Polled<TaskPage>;
    /// At most [`DESCRIBE_TASKS_LIMIT`] ARNs.
    fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
        deadline: Instant,
    ) -> Polled<DescribedTasks>;
}

/// describe-services takes at most 10 services per call.
pub const DESCRIBE_SERVICES_LIMIT: usize = 10;

/// describe-service-deployments takes at most 20 ARNs per call.
pub const DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT: usize = 20;

/// describe-tasks takes at most 100 ARNs per call.
pub const DESCRIBE_TASKS_LIMIT: usize = 100;

/// The arguments of describe-task-definition besides the name (which goes in its input,
/// so that its CLI can start before the name is known).
fn describe_args(include_tags: bool) -> Vec<String> {
    match include_tags {
        true => args(["--include", "TAGS"]),
        false => Vec::new(),
    }
}

/// The arguments of update-service, and its input: the new revision goes in the input, so
/// that its CLI can start before the revision is registered.
fn update_args(update: &ServiceUpdate) -> (Vec<String>, Option<Value>) {
    let service = update.service;
    let mut argv = args(["--cluster", &service.cluster, "--service", &service.name]);
    let input = match update.revision {
        NewRevision::TaskDefinition(arn) => Some(serde_json::json!({ "taskDefinition": arn })),
        NewRevision::Same => {
            argv.extend(args(["--force-new-deployment"]));
            None
        }
    };
    if let Some(count) = update.desired_count {
        argv.extend(args(["--desired-count", &count.to_string()]));
    }
    let config: Vec<String> = [
        ("maximumPercent", update.max_percent),
        ("minimumHealthyPercent", update.min_healthy_percent),
    ]
    .iter()
    .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
    .collect();
    if !config.is_empty() {
        argv.extend(args(["--deployment-configuration", &config.join(",")]));
    }
    (argv, input)
}

/// The arguments of a poll of `names`.
fn poll_args(cluster: &str, names: &[String]) -> Vec<String> {
    let mut argv = args(["--cluster", cluster, "--services"]);
    argv.extend(names.iter().cloned());
    argv
}

/// [`Ecs`] on the AWS CLI.
pub struct AwsEcs<'a> {
    aws: &'a Aws,
}

impl<'a> AwsEcs<'a> {
    pub fn new(aws: &'a Aws) -> AwsEcs<'a> {
        AwsEcs { aws }
    }
}

fn args<const N: usize>(list: [&str; N]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// An answer that a change made through aws could not be read: the change's step failed.
pub(crate) fn read<T: DeserializeOwned>(
    step: &str,
    jq: &Jq,
    answer: &Value,
    vars: &[Value],
) -> Result<T> {
    filters::extract(jq, answer, vars).map_err(|e| Error::Aws {
        step: step.to_string(),
        code: 255,
        message: e.to_string(),
    })
}

/// A poll answer that cannot be read is one failed poll, like a network error.
pub(crate) fn read_polled<T: DeserializeOwned>(step: &str, jq: &Jq, answer: &Value) -> Polled<T> {
    filters::extract(jq, answer, &[])
        .map_err(|e| CallError::new(step, 255, e.to_string(), Failure::Unreadable))
}

/// Whether a failure's ARN is that of the service `asked` (by name or ARN).
fn names_missing(asked: &str, arn: &str) -> bool {
    names(asked, arn.rsplit('/').next().unwrap_or(arn), arn)
}

/// The services that `describe-services` did not find, and ECS's reason for each.
fn not_found(cluster: &str, missing: &[&String], reasons: &[&str]) -> Error {
    if let ([name], [reason]) = (missing, reasons) {
        return Error::Failed(format!(
            "service '{name}' was not found in cluster '{cluster}' ({reason}); check -n and -c (and the region)"
        ));
    }
    let listed: Vec<String> = missing
        .iter()
        .zip(reasons)
        .map(|(name, reason)| format!("'{name}' ({reason})"))
        .collect();
    Error::Failed(format!(
        "services {} were not found in cluster '{cluster}'; check -n and -c (and the region); nothing was changed",
        listed.join(", ")
    ))
}

/// ECS says "Cluster not found." without naming it; say which one, and what to check.
fn name_missing_cluster(error: CallError, cluster: &str) -> Error {
    let mut error = error;
    if error.message.contains("ClusterNotFound") {
        error.message = format!(
            "cluster '{cluster}' was not found; check -c (and the region): {}",
            error.message
        );
    }
    error.into()
}

#[derive(Deserialize)]
struct ServicesAnswer {
    services: Vec<Service>,
    missing: Vec<Missing>,
}

#[derive(Deserialize)]
struct Missing {
    arn: String,
    reason: String,
}

/// One service of a poll answer, with the names to match it by.
#[derive(Debug, Deserialize)]
struct NamedSnapshot {
    name: String,
    arn: String,
    #[serde(flatten)]
    snapshot: Snapshot,
}

/// Whether `asked` (a name or an ARN, as given to `-n`) names the service `name`/`arn`.
fn names(asked: &str, name: &str, arn: &str) -> bool {
    asked == name
        || (!arn.is_empty() && asked == arn)
        || (asked.starts_with("arn:") && asked.rsplit('/').next() == Some(name))
}

/// The answer's entries in the order they were asked for. An entry with neither name nor
/// ARN (a terse answer) is taken for the name asked at its position.
fn in_asked_order<T>(
    asked: &[String],
    found: Vec<T>,
    key: impl Fn(&T) -> (&str, &str),
) -> Vec<Option<T>> {
    let mut found: Vec<Option<T>> = found.into_iter().map(Some).collect();
    asked
        .iter()
        .enumerate()
        .map(|(position, asked)| {
            let by_name = found.iter().position(|entry| {
                entry.as_ref().is_some_and(|entry| {
                    let (name, arn) = key(entry);
                    names(asked, name, arn)
                })
            });
            let anonymous = || {
                found.get(position).and_then(|entry| {
                    let (name, arn) = key(entry.as_ref()?);
                    (name.is_empty() && arn.is_empty()).then_some(position)
                })
            };
            by_name.or_else(anonymous).and_then(|i| found[i].take())
        })
        .collect()
}

/// The services of a describe-services answer, in the order asked, or an error naming
/// those it lacks.
fn services_in(cluster: &str, names: &[String], answer: &Value) -> Result<Vec<Service>> {
    let step = "describe-services";
    let answer: ServicesAnswer = read(step, &filters::SERVICES, answer, &[])?;
    let found = in_asked_order(names, answer.services, |s| (&s.name, &s.arn));
    let missing: Vec<&String> = names
        .iter()
        .zip(&found)
        .filter(|(_, service)| service.is_none())
        .map(|(name, _)| name)
        .collect();
    if !missing.is_empty() {
        let reasons: Vec<&str> = missing
            .iter()
            .map(|name| {
                answer
                    .missing
                    .iter()
                    .find(|m| names_missing(name, &m.arn))
                    .map_or("not found", |m| m.reason.as_str())
            })
            .collect();
        return Err(not_found(cluster, &missing, &reasons));
    }
    Ok(found.into_iter().flatten().collect())
}

impl Ecs for AwsEcs<'_> {
    fn describe_services(&self, cluster: &str, names: &[String]) -> Result<Vec<Service>> {
        let step = "describe-services";
        let mut argv = args(["--cluster", cluster, "--services"]);
        argv.extend(names.iter().cloned());
        let answer = self
            .aws
            .ecs(step, &argv, Interrupt::Abandon)
            .map_err(|e| name_missing_cluster(e, cluster))?;
        services_in(cluster, names, &answer)
    }

    fn read_back(&self, cluster: &str, name: &str, deadline: Instant) -> Result<Service> {
        let step = "describe-services";
        let names = [name.to_string()];
        let argv = args(["--cluster", cluster, "--services", name]);
        let answer = self.aws.ecs_settling_read(step, &argv, deadline)?;
        let mut found = services_in(cluster, &names, &answer)?;
        Ok(found.remove(0))
    }

    fn describe_task_definition(
        &self,
        task_definition: &str,
        include_tags: bool,
    ) -> Result<TaskDefinition> {
        let step = "describe-task-definition";
        let input = serde_json::json!({ "taskDefinition": task_definition });
        let answer = self.aws.ecs_with_input(
            step,
            &input,
            &describe_args(include_tags),
            Interrupt::Abandon,
        )?;
        if !answer["taskDefinition"].is_object() {
            return Err(Error::Aws {
                step: step.into(),
                code: 255,
                message: "the answer holds no taskDefinition".into(),
            });
        }
        let arn: Option<String> = read(step, &filters::DESCRIBED_ARN, &answer, &[])?;
        // Its tasks may print these values; whatever they print is masked from now on.
        secrets::learn_definition(&answer["taskDefinition"]);
        Ok(TaskDefinition {
            arn: arn.unwrap_or_else(|| task_definition.to_string()),
            answer,
        })
    }

    fn expect_poll(&self, cluster: &str, names: &[String]) {
        self.aws
            .prepare(ECS, "describe-services", &poll_args(cluster, names));
    }

    fn expect_describe_task_definition(&self, include_tags: bool) {
        self.aws.prepare(
            ECS,
            "describe-task-definition",
            &describe_args(include_tags),
        );
    }

    fn expect_update(&self, update: &ServiceUpdate) {
        let (argv, input) = update_args(update);
        if input.is_some() {
            self.aws.prepare(ECS, "update-service", &argv);
        }
    }

    fn expect_register(&self) {
        self.aws.prepare(ECS, "register-task-definition", &[]);
    }

    fn register_task_definition(&self, input: &Value) -> Result<String> {
        let step = "register-task-definition";
        // An unused revision is harmless: a signal may kill this call.
        let answer = self
            .aws
            .ecs_with_input(step, input, &[], Interrupt::Abandon)?;
        let arn: Option<String> = read(step, &filters::REGISTERED_ARN, &answer, &[])?;
        arn.ok_or_else(|| Error::Aws {
            step: step.into(),
            code: 255,
            message: "the answer holds no taskDefinitionArn".into(),
        })
    }

    fn update_service(&self, update: &ServiceUpdate) -> Result<Updated> {
        let step = "update-service";
        let (argv, input) = update_args(update);
        // What the service runs hangs on this call: let it finish, within its limit. Once
        // aws succeeded, ECS accepted the update, whatever the answer looks like.
        let unreadable = |why: String| Updated {
            unreadable: Some(why),
            ..Updated::default()
        };
        let answer = match &input {
            Some(input) => self
                .aws
                .ecs_with_input(step, input, &argv, Interrupt::Finish),
            None => self.aws.ecs(step, &argv, Interrupt::Finish),
        };
        match answer {
            Ok(answer) => Ok(read(step, &filters::UPDATED_SERVICE, &answer, &[])
                .unwrap_or_else(|e| unreadable(e.to_string()))),
            Err(e) if e.kind == Failure::Unreadable => Ok(unreadable(e.message)),
            Err(e) if e.outcome_unknown() => Ok(Updated {
                lost: Some(e.message),
                ..Updated::default()
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn list_task_definitions(&self, family_prefix: &str) -> Result<Vec<String>> {
        let step = "list-task-definitions";
        let argv = args([
            "--family-prefix",
            family_prefix,
            "--status",
            "ACTIVE",
            "--sort",
            "ASC",
        ]);
        let answer = self.aws.ecs(step, &argv, Interrupt::Abandon)?;
        read(step, &filters::TASK_DEFINITION_ARNS, &answer, &[])
    }

    fn deregister_task_definition(&self, arn: &str) -> Result<()> {
        let argv = args(["--task-definition", arn]);
        self.aws
            .ecs("deregister-task-definition", &argv, Interrupt::Abandon)?;
        Ok(())
    }

    fn run_task(&self, request: &RunTaskRequest) -> Result<StartedTask> {
        let step = "run-task";
        let mut argv = args([
            "--cluster",
            request.cluster,
            "--task-definition",
            request.task_definition,
        ]);
        let optional = [
            ("--launch-type", request.launch_type),
            ("--platform-version", request.platform_version),
            ("--network-configuration", request.network_configuration),
        ];
        for (flag, value) in optional {
            if let Some(value) = value {
                argv.extend(args([flag, value]));
            }
        }
        // Once started, the task runs whatever we do: let the call say which task it is.
        let answer = self.aws.ecs(step, &argv, Interrupt::Finish)?;
        read(step, &filters::RUN_TASK_STARTED, &answer, &[])
    }

    fn roll_back_service_deployment(&self, arn: &str) -> Result<()> {
        let argv = args(["--service-deployment-arn", arn, "--stop-type", "ROLLBACK"]);
        // What the service runs hangs on this call: let it finish, within its limit.
        self.aws
            .ecs("stop-service-deployment", &argv, Interrupt::Finish)?;
        Ok(())
    }

    fn continue_service_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<()> {
        let argv = args([
            "--service-deployment-arn",
            arn,
            "--hook-id",
            hook_id,
            "--action",
            action.as_str(),
        ]);
        // What the service runs hangs on this call: let it finish, within its limit.
        let e = match self
            .aws
            .ecs("continue-service-deployment", &argv, Interrupt::Finish)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.outcome_unknown() => e,
            Err(e) => return Err(e.into()),
        };
        // The answer was lost: the pause, read once, says whether it was released.
        let step = "describe-service-deployments";
        let read = args(["--service-deployment-arns", arn]);
        let until =
            Instant::now() + std::time::Duration::from_secs(10).min(self.aws.call_timeout());
        let released = self
            .aws
            .ecs_settling_read(step, &read, until)
            .ok()
            .and_then(|answer| {
                read_polled::<Option<ServiceDeployment>>(
                    step,
                    &filters::SERVICE_DEPLOYMENT,
                    &answer,
                )
                .ok()
            })
            .flatten()
            .and_then(|sd| sd.hooks.into_iter().find(|h| h.id == hook_id))
            .is_some_and(|hook| hook.status != HookStatus::AwaitingAction);
        if released {
            return Ok(());
        }
        Err(Error::Aws {
            step: "continue-service-deployment".into(),
            code: e.code,
            message: format!(
                "{}; whether hook {hook_id} was released is unknown. Check with: \
                 aws ecs describe-service-deployments --service-deployment-arns {arn}",
                e.message
            ),
        })
    }

    fn poll_service_deployment(&self, arn: &str, deadline: Instant) -> Polled<ServiceDeployment> {
        let step = "describe-service-deployments";
        let argv = args(["--service-deployment-arns", arn]);
        let answer = self.aws.poll(step, &argv, deadline)?;
        let found: Option<ServiceDeployment> =
            read_polled(step, &filters::SERVICE_DEPLOYMENT, &answer)?;
        found.ok_or_else(|| {
            let why: String = read_polled(step, &filters::SERVICE_DEPLOYMENT_MISSING, &answer)
                .unwrap_or_else(|_| "not in the answer".into());
            let message = format!("ECS does not list it ({why})");
            CallError::new(step, 255, message, Failure::Unreadable)
        })
    }

    fn poll_service_deployments(
        &self,
        arns: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<ServiceDeployment>>> {
        let step = "describe-service-deployments";
        let mut argv = args(["--service-deployment-arns"]);
        argv.extend(arns.iter().cloned());
        let answer = self.aws.poll(step, &argv, deadline)?;
        let found: Vec<ServiceDeployment> =
            read_polled(step, &filters::SERVICE_DEPLOYMENTS, &answer)?;
        Ok(in_asked_order(arns, found, |sd| ("", &sd.arn)))
    }

    fn poll_services(
        &self,
        cluster: &str,
        names: &[String],
        deadline: Instant,
    ) -> Polled<Vec<Option<Snapshot>>> {
        let step = "describe-services";
        let argv = poll_args(cluster, names);
        let answer = self.aws.poll(step, &argv, deadline)?;
        let found: Vec<NamedSnapshot> = read_polled(step, &filters::ROLLOUT_SNAPSHOTS, &answer)?;
        Ok(in_asked_order(names, found, |s| (&s.name, &s.arn))
            .into_iter()
            .map(|named| named.map(|named| named.snapshot))
            .collect())
    }

    fn list_tasks(
        &self,
        cluster: &str,
        filter: TaskFilter,
        next: Option<&str>,
        deadline: Instant,
    ) -> Polled<TaskPage> {
        let step = "list-tasks";
        let mut argv = args(["--cluster", cluster]);
        match filter {
            TaskFilter::StartedBy(id) => argv.extend(args(["--started-by", id])),
            TaskFilter::Service(name, status) => {
                let status = match status {
                    DesiredStatus::Running => "RUNNING",
                    DesiredStatus::Stopped => "STOPPED",
                };
                argv.extend(args(["--service-name", name, "--desired-status", status]));
            }
        }
        argv.extend(args(["--max-items", &LIST_TASKS_PAGE.to_string()]));
        if let Some(token) = next {
            argv.extend(args(["--starting-token", token]));
        }
        let answer = self.aws.poll(step, &argv, deadline)?;
        read_polled(step, &filters::TASK_ARN_PAGE, &answer)
    }

    fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
        deadline: Instant,
    ) -> Polled<DescribedTasks> {
        let step = "describe-tasks";
        let mut argv = args(["--cluster", cluster, "--tasks"]);
        argv.extend(arns.iter().cloned());
        let answer = self.aws.poll(step, &argv, deadline)?;
        read_polled(step, &filters::DESCRIBED_TASKS, &answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_snapshot_reads_deployments_and_orders_events_oldest_first() {
        let answer = json!({"services": [{
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "td:2",
                "desiredCount": 2, "runningCount": 1, "rolloutState": "FAILED",
                "rolloutStateReason": "circuit breaker"},
                {"id": "ecs-svc/0", "status": "ACTIVE", "taskDefinition": "td:1",
                 "rolloutState": "SOMETHING_NEW"}],
            "events": [{"id": "b", "message": "newer"}, {"id": "a", "message": "older"}]}]});
        let mut read: Vec<NamedSnapshot> =
            read_polled("describe-services", &filters::ROLLOUT_SNAPSHOTS, &answer).unwrap();
        let snapshot = read.remove(0).snapshot;
        let ours = &snapshot.deployments[0];
        assert!(ours.is_primary());
        assert_eq!(
            (ours.pending_count, ours.running_count, ours.failed_tasks),
            (0, 1, 0)
        );
        assert_eq!(ours.rollout_state, Some(RolloutState::Failed));
        assert_eq!(
            snapshot.deployments[1].rollout_state,
            Some(RolloutState::Unknown)
        );
        let ids: Vec<&str> = snapshot.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn an_unreadable_poll_answer_is_a_failed_poll() {
        let error = read_polled::<Vec<NamedSnapshot>>(
            "describe-services",
            &filters::ROLLOUT_SNAPSHOTS,
            &json!([1]),
        )
        .unwrap_err();
        assert_eq!(error.kind, Failure::Unreadable);
        assert_eq!(error.step, "describe-services");
    }

    #[test]
    fn a_pauses_expiry_reads_as_a_date_whether_the_cli_gave_a_number_or_a_string() {
        for (given, shown) in [
            (json!(1796416362.686), "2026-12-04T"),
            (
                json!("2026-12-04T12:00:00+00:00"),
                "2026-12-04T12:00:00+00:00",
            ),
        ] {
            let answer = json!({"serviceDeployments": [{"serviceDeploymentArn": "a", "status": "IN_PROGRESS",
                "lifecycleHookDetails": [{"hookId": "p1", "targetType": "PAUSE", "status": "AWAITING_ACTION",
                                          "expiresAt": given, "timeoutAction": "ROLLBACK"}]}]});
            let sd: Option<ServiceDeployment> =
                read("d", &filters::SERVICE_DEPLOYMENT, &answer, &[]).unwrap();
            let expires = sd.unwrap().hooks[0].expires_at.clone().unwrap();
            assert!(expires.starts_with(shown), "{expires}");
        }
    }

    #[test]
    fn a_service_deployment_is_read() {
        let answer = json!({"serviceDeployments": [{
            "serviceDeploymentArn": "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc",
            "status": "ROLLBACK_SUCCESSFUL", "statusReason": "alarm in bake time",
            "lifecycleStage": "BAKE_TIME",
            "alarms": {"status": "TRIGGERED", "alarmNames": ["a", "b"], "triggeredAlarmNames": ["b"]},
            "rollback": {"reason": "alarm b", "serviceRevisionArn": "x"}}], "failures": []});
        let read: ServiceDeployment =
            read_polled("d", &filters::SERVICE_DEPLOYMENT, &answer).unwrap();
        assert_eq!(read.status, ServiceDeploymentStatus::RollbackSuccessful);
        assert!(read.status.is_given_up());
        assert_eq!(read.lifecycle_stage.as_deref(), Some("BAKE_TIME"));
        assert_eq!(read.triggered_alarms, ["b"]);
        assert_eq!(read.rollback_reason.as_deref(), Some("alarm b"));
        let none = json!({"serviceDeployments": [], "failures": [{"reason": "MISSING"}]});
        assert!(
            read_polled::<ServiceDeployment>("d", &filters::SERVICE_DEPLOYMENT, &none).is_err()
        );
    }

    #[test]
    fn several_service_deployments_are_read_from_one_answer() {
        let answer = json!({"serviceDeployments": [
            {"serviceDeploymentArn": "arn:sd/b", "status": "ROLLBACK_SUCCESSFUL"},
            {"serviceDeploymentArn": "arn:sd/a", "status": "ROLLBACK_IN_PROGRESS",
             "lifecycleStage": "RECONCILE_SERVICE"}],
            "failures": [{"arn": "arn:sd/c", "reason": "MISSING"}]});
        let read: Vec<ServiceDeployment> =
            read_polled("d", &filters::SERVICE_DEPLOYMENTS, &answer).unwrap();
        let statuses: Vec<(&str, ServiceDeploymentStatus)> =
            read.iter().map(|sd| (sd.arn.as_str(), sd.status)).collect();
        assert_eq!(
            statuses,
            [
                ("arn:sd/b", ServiceDeploymentStatus::RollbackSuccessful),
                ("arn:sd/a", ServiceDeploymentStatus::RollbackInProgress),
            ]
        );
        let asked = ["arn:sd/a", "arn:sd/b", "arn:sd/c"].map(String::from);
        let ordered = in_asked_order(&asked, read, |sd| ("", &sd.arn));
        let arns: Vec<Option<&str>> = ordered
            .iter()
            .map(|sd| sd.as_ref().map(|sd| sd.arn.as_str()))
            .collect();
        assert_eq!(arns, [Some("arn:sd/a"), Some("arn:sd/b"), None]);
    }

    #[test]
    fn an_update_names_its_service_deployment_and_strategy() {
        let answer = json!({"service": {"desiredCount": 2, "currentServiceDeployment": "arn:sd",
            "deploymentConfiguration": {"strategy": "BLUE_GREEN"}, "deployments": [], "events": []}});
        let updated: Updated = read("u", &filters::UPDATED_SERVICE, &answer, &[]).unwrap();
        assert_eq!(updated.service_deployment.as_deref(), Some("arn:sd"));
        assert_eq!(updated.strategy, Strategy::BlueGreen);
        let rolling: Updated =
            read("u", &filters::UPDATED_SERVICE, &json!({"service": {}}), &[]).unwrap();
        assert_eq!(rolling.strategy, Strategy::Rolling);
        assert_eq!(rolling.service_deployment, None);
    }

    #[test]
    fn a_missing_service_says_why() {
        let answer = json!({"services": [],
            "failures": [{"arn": "arn:aws:ecs:us-east-1:1:service/c/web", "reason": "MISSING"}]});
        let found: ServicesAnswer = read("d", &filters::SERVICES, &answer, &[]).unwrap();
        assert!(found.services.is_empty());
        assert_eq!(found.missing[0].reason, "MISSING");
        assert!(names_missing("web", &found.missing[0].arn));
        let one = not_found("c", &[&"web".to_string()], &["MISSING"]);
        assert_eq!(
            one.to_string(),
            "service 'web' was not found in cluster 'c' (MISSING); check -n and -c (and the region)"
        );
        let two = not_found(
            "c",
            &[&"a".to_string(), &"b".to_string()],
            &["MISSING", "x"],
        );
        assert!(
            two.to_string()
                .starts_with("services 'a' (MISSING), 'b' (x) were not found")
        );
    }

    #[test]
    fn a_service_defaults_to_active_and_the_ecs_controller() {
        let answer = json!({"services": [{"taskDefinition": "td:1",
            "events": [{"id": "e1"}, {"message": "no id"}]}]});
        let mut found: ServicesAnswer = read("d", &filters::SERVICES, &answer, &[]).unwrap();
        assert_eq!(
            found.services.remove(0),
            Service {
                name: String::new(),
                arn: String::new(),
                status: "ACTIVE".into(),
                task_definition: "td:1".into(),
                controller: ControllerType::Ecs,
                load_balancers: Vec::new(),
                event_ids: vec!["e1".into()],
                primary: None,
                service_deployment: None,
                strategy: Strategy::Rolling,
            }
        );
    }

    #[test]
    fn services_are_matched_to_the_names_asked_in_their_order() {
        let asked: Vec<String> = ["web", "arn:aws:ecs:r:1:service/c/worker", "cron", "gone"]
            .map(String::from)
            .to_vec();
        let found = vec![
            ("worker", "arn:aws:ecs:r:1:service/c/worker"),
            ("cron", "arn:aws:ecs:r:1:service/c/cron"),
            ("web", "arn:aws:ecs:r:1:service/c/web"),
        ];
        let ordered = in_asked_order(&asked, found, |(name, arn)| (*name, *arn));
        let names: Vec<Option<&str>> = ordered.iter().map(|f| f.map(|(n, _)| n)).collect();
        assert_eq!(names, [Some("web"), Some("worker"), Some("cron"), None]);
        let terse = in_asked_order(&asked[..1], vec![("", "")], |(n, a)| (*n, *a));
        assert_eq!(terse, [Some(("", ""))]);
    }

    #[test]
    fn run_task_failures_are_read() {
        let answer =
            json!({"tasks": [], "failures": [{"arn": "arn:ci/x", "reason": "RESOURCE:MEMORY"}]});
        let started: StartedTask =
            read("run-task", &filters::RUN_TASK_STARTED, &answer, &[]).unwrap();
        assert_eq!(started.task_arn, None);
        assert_eq!(started.failures[0].reason, "RESOURCE:MEMORY");
        assert_eq!(started.failures[0].detail, "");
    }

    #[test]
    fn a_task_not_yet_listed_is_missing() {
        let answer = json!({"tasks": [], "failures": [{"arn": "t", "reason": "MISSING"}]});
        let described: DescribedTasks =
            read_polled("describe-tasks", &filters::DESCRIBED_TASKS, &answer).unwrap();
        assert!(described.tasks.is_empty());
        assert_eq!(described.missing, ["MISSING"]);
    }
}
