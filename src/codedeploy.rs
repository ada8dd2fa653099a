//! The CodeDeploy operations used to deploy ECS services whose deployment controller is
//! CODE_DEPLOY, typed: the [`CodeDeploy`] trait is what the deploy flow and the CodeDeploy
//! watch talk to, and `AwsCodeDeploy` is its implementation on the AWS CLI
//! (`aws deploy ...`). This is the only module that builds `aws deploy` argument lists.

use std::time::Instant;

use serde::Deserialize;

use crate::ecs::Polled;
use crate::error::Result;

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
