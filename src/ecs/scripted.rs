//! A scripted [`Ecs`] for unit tests: it answers polls from a list of snapshots, lists
//! and describes a set of tasks, and logs every call, so the waiting decisions can be
//! tested without any process.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;

use super::{
    DescribedTasks, DesiredStatus, Ecs, Polled, Service, ServiceDeployment,
    ServiceDeploymentStatus, ServiceRef, ServiceUpdate, Snapshot, StartedTask, TaskDefinition,
    TaskFilter, TaskPage, Updated,
};
use crate::aws::{CallError, Failure};
use crate::ecs::{Deployment, Event, NewRevision, RunTaskRequest};
use crate::error::{Error, Result};
use crate::task::{Container, Task};

#[derive(Default)]
pub struct ScriptedEcs {
    /// Answers of `poll_services`, in order; the last one repeats.
    pub snapshots: Mutex<VecDeque<Polled<Snapshot>>>,
    /// Answers of `poll_services` for one service by name, in order (the last repeats);
    /// services without an entry get `snapshots`.
    pub by_service: HashMap<String, Mutex<VecDeque<Snapshot>>>,
    /// Answers of `poll_services` once `update_service` has been called (a rollback).
    pub after_update: Mutex<VecDeque<Polled<Snapshot>>>,
    /// Answers of `update_service`, in order; the last one repeats.
    pub updates: Mutex<VecDeque<Result<Updated, String>>>,
    /// The tasks `list_tasks` and `describe_tasks` know.
    pub tasks: Vec<Task>,
    /// Tasks that show up as stopped after the first listing of stopped tasks.
    pub stopped_later: Vec<Task>,
    /// From this describe-tasks call on (1-based), tasks of unknown health are HEALTHY.
    pub become_healthy_after: Option<usize>,
    /// Answers of `describe_tasks`, in order, before `tasks` is looked at (one-off tasks).
    pub described: Mutex<VecDeque<Polled<DescribedTasks>>>,
    /// ARNs per `list_tasks` page (0: all on one page).
    pub page_size: usize,
    /// Answers of `poll_service_deployment`, in order; the last one repeats. They also
    /// answer `poll_service_deployments` for ARNs without an entry in `by_arn`.
    pub service_deployments: Mutex<VecDeque<Polled<ServiceDeployment>>>,
    /// Answers of `poll_service_deployments` for one ARN, in order (the last repeats).
    pub by_arn: HashMap<String, Mutex<VecDeque<ServiceDeployment>>>,
    /// What `roll_back_service_deployment` answers (`Err`: ECS refuses).
    pub rollback_refused: Option<String>,
    stopped_listed: AtomicBool,
    describe_calls: AtomicUsize,
    log: Mutex<Vec<String>>,
}

impl ScriptedEcs {
    pub fn polls(snapshots: Vec<Polled<Snapshot>>) -> ScriptedEcs {
        ScriptedEcs {
            snapshots: Mutex::new(snapshots.into()),
            ..ScriptedEcs::default()
        }
    }

    /// Every call so far: the operation, then what tells the calls apart.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    fn called(&self, call: String) {
        lock(&self.log).push(call);
    }

    fn updated(&self) -> bool {
        lock(&self.log)
            .iter()
            .any(|call| call.starts_with("update-service"))
    }
}

/// The next answer of a list: the first, or the last one forever.
fn next<T: Clone>(answers: &Mutex<VecDeque<T>>) -> Option<T> {
    let mut answers = lock(answers);
    if answers.len() > 1 {
        answers.pop_front()
    } else {
        answers.front().cloned()
    }
}

fn lock<T>(value: &Mutex<T>) -> MutexGuard<'_, T> {
    value.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_scripted(op: &str) -> Error {
    Error::Failed(format!("{op} is not scripted"))
}

impl Ecs for ScriptedEcs {
    fn describe_services(&self, _: &str, _: &[String]) -> Result<Vec<Service>> {
        Err(not_scripted("describe-services"))
    }

    fn describe_task_definition(&self, _: &str, _: bool) -> Result<TaskDefinition> {
        Err(not_scripted("describe-task-definition"))
    }

    fn register_task_definition(&self, _: &Value) -> Result<String> {
        Err(not_scripted("register-task-definition"))
    }

    fn update_service(&self, update: &ServiceUpdate) -> Result<Updated> {
        let revision = match update.revision {
            NewRevision::TaskDefinition(arn) => arn,
            NewRevision::Same => "--force-new-deployment",
        };
        self.called(format!("update-service {revision}"));
        next(&self.updates)
            .unwrap_or_else(|| Err("update-service is not scripted".into()))
            .map_err(Error::Failed)
    }

    fn list_task_definitions(&self, _: &str) -> Result<Vec<String>> {
        Err(not_scripted("list-task-definitions"))
    }

    fn deregister_task_definition(&self, _: &str) -> Result<()> {
        Err(not_scripted("deregister-task-definition"))
    }

    fn run_task(&self, _: &RunTaskRequest) -> Result<StartedTask> {
        Err(not_scripted("run-task"))
    }

    fn roll_back_service_deployment(&self, arn: &str) -> Result<()> {
        self.called(format!("stop-service-deployment {arn}"));
        match &self.rollback_refused {
            Some(why) => Err(Error::Failed(why.clone())),
            None => Ok(()),
        }
    }

    fn continue_service_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: super::HookAction,
    ) -> Result<()> {
        self.called(format!(
            "continue-service-deployment {arn} {hook_id} {}",
            action.as_str()
        ));
        match &self.rollback_refused {
            Some(why) => Err(Error::Failed(why.clone())),
            None => Ok(()),
        }
    }

    fn poll_service_deployment(&self, arn: &str, _: Instant) -> Polled<ServiceDeployment> {
        self.called(format!("describe-service-deployments {arn}"));
        next(&self.service_deployments).expect("no service deployment scripted")
    }

    fn poll_service_deployments(
        &self,
        arns: &[String],
        _: Instant,
    ) -> Polled<Vec<Option<ServiceDeployment>>> {
        self.called(format!("describe-service-deployments {}", arns.join(" ")));
        arns.iter()
            .map(|arn| match self.by_arn.get(arn) {
                Some(own) => Ok(next(own)),
                None => next(&self.service_deployments)
                    .expect("no service deployment scripted")
                    .map(Some),
            })
            .collect()
    }

    fn poll_services(
        &self,
        _: &str,
        names: &[String],
        _: Instant,
    ) -> Polled<Vec<Option<Snapshot>>> {
        self.called(match names {
            [_] => "describe-services".into(),
            _ => format!("describe-services {}", names.join(" ")),
        });
        let answers = if self.updated() && !lock(&self.after_update).is_empty() {
            &self.after_update
        } else {
            &self.snapshots
        };
        names
            .iter()
            .map(|name| match self.by_service.get(name) {
                Some(own) => Ok(next(own)),
                // Nothing scripted at all: the answer leaves the service out.
                None => next(answers).map_or(Ok(None), |answer| answer.map(Some)),
            })
            .collect()
    }

    fn list_tasks(
        &self,
        _: &str,
        filter: TaskFilter,
        next_token: Option<&str>,
        _: Instant,
    ) -> Polled<TaskPage> {
        let (stopped, call) = match filter {
            TaskFilter::StartedBy(id) => (false, format!("list-tasks started-by {id}")),
            TaskFilter::Service(_, DesiredStatus::Running) => (false, "list-tasks RUNNING".into()),
            TaskFilter::Service(_, DesiredStatus::Stopped) => (true, "list-tasks STOPPED".into()),
        };
        self.called(call);
        let mut listed: Vec<&Task> = self.tasks.iter().collect();
        if stopped && self.stopped_listed.swap(true, Ordering::SeqCst) {
            listed.extend(&self.stopped_later);
        }
        let arns: Vec<String> = listed
            .into_iter()
            .filter(|task| task.is_stopped() == stopped)
            .map(|task| task.task_arn.clone())
            .collect();
        let start: usize = next_token.map_or(0, |token| token.parse().unwrap_or(0));
        let size = if self.page_size == 0 {
            arns.len().max(1)
        } else {
            self.page_size
        };
        let end = (start + size).min(arns.len());
        Ok(TaskPage {
            arns: arns[start.min(end)..end].to_vec(),
            next: (end < arns.len()).then(|| end.to_string()),
        })
    }

    fn describe_tasks(&self, _: &str, arns: &[String], _: Instant) -> Polled<DescribedTasks> {
        self.called(format!("describe-tasks {}", arns.join(" ")));
        let calls = self.describe_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(answer) = next(&self.described) {
            return answer;
        }
        let healthy = self.become_healthy_after.is_some_and(|n| calls >= n);
        let tasks = self
            .tasks
            .iter()
            .chain(&self.stopped_later)
            .filter(|task| arns.contains(&task.task_arn))
            .cloned()
            .map(|mut task| {
                if healthy && task.health_status == "UNKNOWN" {
                    task.health_status = "HEALTHY".into();
                }
                task
            })
            .collect();
        Ok(DescribedTasks {
            tasks,
            missing: vec![],
        })
    }
}

pub fn service() -> ServiceRef {
    ServiceRef {
        cluster: "prod".into(),
        name: "web".into(),
    }
}

pub fn deployment(
    id: &str,
    status: &str,
    task_definition: &str,
    running: i64,
    failed: i64,
) -> Deployment {
    Deployment {
        id: id.into(),
        status: status.into(),
        task_definition: task_definition.into(),
        desired_count: 2,
        pending_count: 2 - running.min(2),
        running_count: running,
        failed_tasks: failed,
        rollout_state: None,
        rollout_state_reason: None,
    }
}

pub fn event(id: &str, message: &str) -> Event {
    Event {
        id: id.into(),
        message: message.into(),
    }
}

pub fn task(arn: &str, task_definition: &str, status: &str, health: &str) -> Task {
    Task {
        task_arn: arn.into(),
        task_definition_arn: task_definition.into(),
        last_status: status.into(),
        health_status: health.into(),
        stopped_reason: String::new(),
        stop_code: String::new(),
        containers: vec![],
    }
}

/// A stopped task whose one container `app` exited with `exit_code`.
pub fn stopped(arn: &str, task_definition: &str, reason: &str, exit_code: Option<i64>) -> Task {
    Task {
        stopped_reason: reason.into(),
        containers: vec![Container {
            name: "app".into(),
            exit_code,
            reason: String::new(),
        }],
        ..task(arn, task_definition, "STOPPED", "UNKNOWN")
    }
}

pub fn updated(deployment_id: &str) -> Updated {
    Updated {
        desired_count: Some(2),
        deployment_id: Some(deployment_id.into()),
        ..Updated::default()
    }
}

pub fn throttled(step: &str) -> CallError {
    CallError::new(
        step,
        255,
        "An error occurred (ThrottlingException): Rate exceeded",
        Failure::Transient,
    )
}

pub fn denied() -> CallError {
    CallError::new(
        "describe-services",
        254,
        "An error occurred (AccessDeniedException)",
        Failure::Fatal,
    )
}

/// A service deployment in `status` at `stage`.
pub fn service_deployment(status: ServiceDeploymentStatus, stage: &str) -> ServiceDeployment {
    service_deployment_of("web", status, stage)
}

/// A service deployment of `service` in `status` at `stage`.
pub fn service_deployment_of(
    service: &str,
    status: ServiceDeploymentStatus,
    stage: &str,
) -> ServiceDeployment {
    ServiceDeployment {
        arn: service_deployment_arn(service),
        status,
        status_reason: None,
        lifecycle_stage: Some(stage.into()),
        triggered_alarms: vec![],
        rollback_reason: None,
        hooks: vec![],
    }
}

/// The ARN of `service`'s service deployment in [`service_deployment_of`].
pub fn service_deployment_arn(service: &str) -> String {
    format!("arn:aws:ecs:us-east-1:1:service-deployment/prod/{service}/sd1")
}
