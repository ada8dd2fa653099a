//! Waiting for a rollout: phase 1 (a task of the new revision runs, or is healthy),
//! phase 2 (the service has one deployment, ours), each with its own monotonic deadline;
//! fail fast on a failed rollout, report stopped tasks and events, roll back when asked.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::aws::CallError;
use crate::deploy::{Deploy, Service};
use crate::error::{Error, Result};
use crate::filters;
use crate::report::StoppedTask;
use crate::signals;
use crate::task::Task;

/// describe-tasks takes at most 100 ARNs per call.
const DESCRIBE_TASKS_CHUNK: usize = 100;
/// The longest wait between polls while describe-services keeps failing.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(15);

/// The deployment that `update-service` started.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub deployment_id: Option<String>,
    pub task_definition: String,
    pub health_checked: bool,
    pub desired_count: i64,
    seen_events: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateAnswer {
    desired_count: i64,
    deployment_id: Option<String>,
    seen_events: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Deployment {
    id: String,
    status: String,
    task_definition: String,
    desired_count: i64,
    pending_count: i64,
    running_count: i64,
    failed_tasks: i64,
    rollout_state: Option<String>,
    rollout_state_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Event {
    id: String,
    message: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Snapshot {
    deployments: Vec<Deployment>,
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct ArnPage {
    arns: Vec<String>,
    next: Option<String>,
}

fn unexpected(e: Error) -> CallError {
    CallError {
        code: 255,
        message: e.to_string(),
        transient: false,
        interrupted: false,
    }
}

impl Rollout {
    pub fn from_update(
        answer: &Value,
        task_definition: &str,
        health_checked: bool,
    ) -> Result<Rollout> {
        let update: UpdateAnswer = filters::extract(&filters::UPDATE_ROLLOUT, answer, &[])?;
        Ok(Rollout {
            deployment_id: update.deployment_id,
            task_definition: task_definition.to_string(),
            health_checked,
            desired_count: update.desired_count,
            seen_events: update.seen_events,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NewTaskRunning,
    SingleDeployment,
}

/// Why a phase ended without success.
#[derive(Debug)]
enum Stop {
    Timeout,
    Failed(String),
    /// An aws call failed for good: without rollback, exit with the CLI's own code.
    Aws(CallError),
    Interrupted,
}

/// The wait before the next poll after `failures` failed polls in a row: the poll
/// interval, doubled per failure, at most `MAX_RETRY_WAIT` (or the interval if longer).
fn retry_wait(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(10));
    doubled.min(MAX_RETRY_WAIT.max(interval))
}

fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn describe_stopped(task: &Task) -> StoppedTask {
    let containers = task
        .containers
        .iter()
        .map(|c| {
            let exit = c.exit_text();
            if c.reason.is_empty() {
                format!("{}: {exit}", c.name)
            } else {
                format!("{}: {exit} ({})", c.name, c.reason)
            }
        })
        .collect();
    let reason = match (task.stopped_reason.is_empty(), task.stop_code.is_empty()) {
        (false, _) => task.stopped_reason.clone(),
        (true, false) => task.stop_code.clone(),
        (true, true) => "no reason given".to_string(),
    };
    StoppedTask {
        task_arn: task.task_arn.clone(),
        stopped_reason: reason,
        containers,
    }
}

pub struct Watch<'a> {
    deploy: &'a Deploy<'a>,
    service: &'a Service,
    rollout: Rollout,
    seen_events: HashSet<String>,
    last_counts: Option<(i64, i64, i64)>,
    failed_tasks_seen: i64,
    reported_tasks: HashSet<String>,
    last: Option<Snapshot>,
    /// When the last describe-services poll started.
    last_poll: Option<Instant>,
}

impl<'a> Watch<'a> {
    pub fn new(deploy: &'a Deploy<'a>, service: &'a Service, rollout: Rollout) -> Watch<'a> {
        let seen_events = rollout
            .seen_events
            .iter()
            .chain(&service.known_events)
            .cloned()
            .collect();
        Watch {
            deploy,
            service,
            rollout,
            seen_events,
            last_counts: None,
            failed_tasks_seen: 0,
            reported_tasks: HashSet::new(),
            last: None,
            last_poll: None,
        }
    }

    fn timeout(&self) -> Duration {
        self.deploy.options.timeout
    }

    fn status(&self, line: impl std::fmt::Display) {
        self.deploy.report.status(line);
    }

    fn progress(&self, line: impl std::fmt::Display) {
        self.deploy.report.progress(line);
    }

    /// Step 5 after a new revision: both phases, then success.
    pub fn wait(mut self) -> Result<()> {
        if self.rollout.desired_count <= 0 {
            self.status("Skipping check for running task definition, as desired-count <= 0");
        } else {
            if let Err(stop) = self.phase(Phase::NewTaskRunning) {
                return self.fail(stop, Phase::NewTaskRunning);
            }
            self.status("Service updated successfully, new task definition running.");
        }
        self.wait_for_single_deployment()
    }

    /// Step 5 after `--force-new-deployment`: only the single-deployment phase, as in the script.
    pub fn wait_for_forced(mut self) -> Result<()> {
        self.wait_for_single_deployment()
    }

    fn wait_for_single_deployment(&mut self) -> Result<()> {
        if self.deploy.options.skip_deployments_check {
            return Ok(());
        }
        self.status("Waiting for service deployment to complete...");
        if let Err(stop) = self.phase(Phase::SingleDeployment) {
            return self.fail(stop, Phase::SingleDeployment);
        }
        self.status("Service deployment successful.");
        Ok(())
    }

    /// Poll until the phase is reached, it fails, or its own deadline passes. The last
    /// snapshot of the previous phase counts as the first poll. Polls start every
    /// `--poll-interval` (API time included); after failed polls the wait doubles.
    fn phase(&mut self, phase: Phase) -> std::result::Result<(), Stop> {
        let deadline = Instant::now() + self.timeout();
        if let Some(snapshot) = self.last.clone()
            && self.reached(phase, &snapshot)?
        {
            return Ok(());
        }
        let interval = self.deploy.options.poll_interval;
        if let Some(previous) = self.last_poll {
            // The previous phase's last poll was just made: keep the cadence.
            signals::sleep_until((previous + interval).min(deadline))?;
        }
        let mut failures = 0;
        loop {
            let started = Instant::now();
            self.last_poll = Some(started);
            let wait = match self.poll()? {
                Some(snapshot) => {
                    failures = 0;
                    if self.reached(phase, &snapshot)? {
                        return Ok(());
                    }
                    interval
                }
                None => {
                    failures += 1;
                    retry_wait(interval, failures)
                }
            };
            if Instant::now() >= deadline {
                return Err(Stop::Timeout);
            }
            signals::sleep_until((started + wait).min(deadline))?;
        }
    }

    fn service_args(&self) -> Vec<String> {
        vec![
            "--cluster".into(),
            self.service.cluster.clone(),
            "--services".into(),
            self.service.name.clone(),
        ]
    }

    /// One describe-services; a transient failure is reported and yields no snapshot.
    fn poll(&mut self) -> std::result::Result<Option<Snapshot>, Stop> {
        if signals::interrupted() {
            return Err(Stop::Interrupted);
        }
        let answer = match self
            .deploy
            .aws
            .poll("describe-services", &self.service_args())
        {
            Ok(answer) => answer,
            Err(e) if e.interrupted => return Err(Stop::Interrupted),
            Err(e) if e.transient => {
                self.progress(format!(
                    "describe-services failed (transient), will retry: {}",
                    e.message
                ));
                return Ok(None);
            }
            Err(e) => return Err(Stop::Aws(e)),
        };
        let snapshot: Snapshot = filters::extract(&filters::ROLLOUT_SNAPSHOT, &answer, &[])
            .map_err(|e| Stop::Failed(e.to_string()))?;
        self.observe(&snapshot);
        self.last = Some(snapshot.clone());
        Ok(Some(snapshot))
    }

    fn ours<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s Deployment> {
        match &self.rollout.deployment_id {
            Some(id) => snapshot.deployments.iter().find(|d| &d.id == id),
            None => snapshot.deployments.iter().find(|d| {
                d.status == "PRIMARY" && d.task_definition == self.rollout.task_definition
            }),
        }
    }

    /// Print what is new: events, our deployment's counts, stopped tasks.
    fn observe(&mut self, snapshot: &Snapshot) {
        for event in &snapshot.events {
            if self.seen_events.insert(event.id.clone()) {
                self.progress(format!("event: {}", event.message));
            }
        }
        let Some(ours) = self.ours(snapshot).cloned() else {
            return;
        };
        let counts = (ours.desired_count, ours.pending_count, ours.running_count);
        if self.last_counts != Some(counts) {
            self.last_counts = Some(counts);
            self.progress(format!(
                "deployment {}: {} desired, {} pending, {} running",
                ours.id, ours.desired_count, ours.pending_count, ours.running_count
            ));
        }
        if ours.failed_tasks > self.failed_tasks_seen {
            self.failed_tasks_seen = ours.failed_tasks;
            self.report_stopped_tasks();
        }
    }

    fn reached(&mut self, phase: Phase, snapshot: &Snapshot) -> std::result::Result<bool, Stop> {
        let Some(ours) = self.ours(snapshot).cloned() else {
            let id = self
                .rollout
                .deployment_id
                .as_deref()
                .unwrap_or("of the new revision");
            return Err(Stop::Failed(format!(
                "deployment {id} is gone from the service; ECS replaced it"
            )));
        };
        if ours.rollout_state.as_deref() == Some("FAILED") {
            // Its stopped tasks were reported by `observe` when failedTasks grew.
            let reason = ours
                .rollout_state_reason
                .unwrap_or_else(|| "no reason given".into());
            return Err(Stop::Failed(format!(
                "deployment {} failed: {reason}",
                ours.id
            )));
        }
        Ok(match phase {
            Phase::NewTaskRunning if ours.running_count < 1 => false,
            Phase::NewTaskRunning if self.rollout.health_checked => self.healthy_task_exists()?,
            Phase::NewTaskRunning => true,
            Phase::SingleDeployment => snapshot.deployments.len() == 1,
        })
    }

    /// Every task ARN of the service with this desired status, following pages.
    fn list_tasks(&self, desired_status: &str) -> std::result::Result<Vec<String>, CallError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut args = vec![
                "--cluster".to_string(),
                self.service.cluster.clone(),
                "--service-name".into(),
                self.service.name.clone(),
                "--desired-status".into(),
                desired_status.into(),
            ];
            if let Some(token) = &token {
                args.extend(["--starting-token".to_string(), token.clone()]);
            }
            let answer = self.deploy.aws.poll("list-tasks", &args)?;
            let page: ArnPage = filters::extract(&filters::TASK_ARN_PAGE, &answer, &[])
                .map_err(|e| unexpected(e.into()))?;
            arns.extend(page.arns);
            match page.next {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(arns),
            }
        }
    }

    /// The tasks of the new revision among these ARNs, 100 per describe-tasks call.
    fn describe_tasks(&self, arns: &[String]) -> std::result::Result<Vec<Task>, CallError> {
        let mut tasks = Vec::new();
        for chunk in arns.chunks(DESCRIBE_TASKS_CHUNK) {
            let mut args = vec![
                "--cluster".to_string(),
                self.service.cluster.clone(),
                "--tasks".into(),
            ];
            args.extend(chunk.iter().cloned());
            let answer = self.deploy.aws.poll("describe-tasks", &args)?;
            let found: Vec<Task> = filters::extract(
                &filters::TASKS_OF_REVISION,
                &answer,
                &[json!(self.rollout.task_definition)],
            )
            .map_err(|e| unexpected(e.into()))?;
            tasks.extend(found);
        }
        Ok(tasks)
    }

    fn healthy_task_exists(&self) -> std::result::Result<bool, Stop> {
        let tasks = self
            .list_tasks("RUNNING")
            .and_then(|arns| self.describe_tasks(&arns));
        match tasks {
            Ok(tasks) => Ok(tasks.iter().any(|t| t.health_status == "HEALTHY")),
            Err(e) if e.interrupted => Err(Stop::Interrupted),
            Err(e) => {
                self.progress(format!(
                    "could not check task health, will retry: {}",
                    e.message
                ));
                Ok(false)
            }
        }
    }

    /// Report each stopped task of the new revision once, with its reason and exit codes.
    fn report_stopped_tasks(&mut self) {
        let tasks = self.list_tasks("STOPPED").and_then(|arns| {
            let unreported: Vec<String> = arns
                .into_iter()
                .filter(|arn| !self.reported_tasks.contains(arn))
                .collect();
            self.describe_tasks(&unreported)
        });
        let tasks = match tasks {
            Ok(tasks) => tasks,
            Err(e) if e.interrupted => return,
            Err(e) => {
                return self.progress(format!(
                    "could not list the stopped tasks (will try again when more fail): {}",
                    e.message
                ));
            }
        };
        for task in tasks {
            self.reported_tasks.insert(task.task_arn.clone());
            let stopped = describe_stopped(&task);
            let containers = if stopped.containers.is_empty() {
                String::new()
            } else {
                format!(" [{}]", stopped.containers.join("; "))
            };
            self.progress(format!(
                "task {} stopped: {}{containers}",
                short_id(&stopped.task_arn),
                stopped.stopped_reason
            ));
            self.deploy.report.record(|o| o.stopped_tasks.push(stopped));
        }
    }

    // Failure and rollback ---------------------------------------------------------------

    fn fail(&mut self, stop: Stop, phase: Phase) -> Result<()> {
        let seconds = self.timeout().as_secs_f64();
        let (why, status) = match stop {
            Stop::Timeout if phase == Phase::NewTaskRunning => {
                self.status(format!(
                    "ERROR: New task definition not running within {seconds} seconds"
                ));
                (
                    format!(
                        "no task of {} was running within {seconds} seconds",
                        self.rollout.task_definition
                    ),
                    "timed_out",
                )
            }
            Stop::Timeout => {
                let why = format!(
                    "the service still had more than one deployment after {seconds} seconds"
                );
                self.progress(format!("ERROR: {why}"));
                (why, "timed_out")
            }
            Stop::Failed(why) => {
                self.progress(format!("ERROR: {why}"));
                (why, "failed")
            }
            Stop::Aws(e) => {
                let why = format!("describe-services failed: {}", e.message);
                self.progress(format!("ERROR: {why}"));
                if !self.deploy.options.enable_rollback {
                    self.deploy.report.record(|o| {
                        o.status = "failed";
                        o.failure_reason = Some(why.clone());
                    });
                    return Err(e.into_error("describe-services"));
                }
                (why, "failed")
            }
            Stop::Interrupted => {
                let why = "interrupted by a signal while waiting".to_string();
                self.progress(format!("ERROR: {why}"));
                (why, "failed")
            }
        };
        let interrupted = signals::interrupted();
        self.deploy.report.record(|o| {
            o.status = status;
            o.failure_reason = Some(why.clone());
        });
        if !self.deploy.options.enable_rollback {
            if interrupted {
                return Err(Error::Interrupted(format!(
                    "stopped waiting; the deployment goes on in ECS. Follow it with: aws ecs describe-services --cluster {} --services {}",
                    self.service.cluster, self.service.name
                )));
            }
            return Err(Error::Failed(why));
        }
        self.roll_back(why)
    }

    fn ecs_already_rolled_back(&self) -> bool {
        let previous = &self.service.task_definition;
        self.last.as_ref().is_some_and(|s| {
            s.deployments.iter().any(|d| {
                d.status == "PRIMARY"
                    && &d.task_definition == previous
                    && Some(&d.id) != self.rollout.deployment_id.as_ref()
            })
        })
    }

    fn roll_back(&mut self, why: String) -> Result<()> {
        let previous = self.service.task_definition.clone();
        if previous == self.rollout.task_definition {
            self.progress(
                "not rolling back: the service already runs the previous revision's definition",
            );
            return Err(Error::Failed(why));
        }
        if self.ecs_already_rolled_back() {
            self.progress(format!("ECS's circuit breaker already put the service back on {previous}; not rolling back twice"));
            self.deploy.report.record(|o| o.status = "rolled_back");
            return Err(Error::Failed(format!(
                "{why} (ECS rolled the service back to {previous})"
            )));
        }
        self.status(format!("Rolling back to {previous}"));
        let args = vec![
            "--cluster".to_string(),
            self.service.cluster.clone(),
            "--service".into(),
            self.service.name.clone(),
            "--task-definition".into(),
            previous.clone(),
        ];
        let answer = match self.deploy.aws.ecs("update-service", &args) {
            Ok(answer) => answer,
            Err(e) => {
                self.progress(format!("ERROR: the rollback failed: {e}"));
                return Err(Error::Failed(format!(
                    "{why} (and the rollback to {previous} failed: {e})"
                )));
            }
        };
        self.deploy.report.record(|o| o.status = "rolled_back");
        if signals::interrupted() {
            self.progress(format!(
                "rollback started; follow it with: aws ecs describe-services --cluster {} --services {}",
                self.service.cluster, self.service.name
            ));
            return Err(Error::Failed(format!("{why} (rolled back to {previous})")));
        }
        self.rollout = Rollout::from_update(&answer, &previous, false)?;
        self.last = None;
        self.last_counts = None;
        self.failed_tasks_seen = 0;
        match self.phase(Phase::SingleDeployment) {
            Ok(()) => self.progress(format!(
                "rollback complete: the service runs {previous} again"
            )),
            Err(_) => self.progress(format!(
                "the rollback to {previous} had not settled within {} seconds; ECS goes on with it",
                self.timeout().as_secs_f64()
            )),
        }
        Err(Error::Failed(format!("{why} (rolled back to {previous})")))
    }
}

impl From<signals::Interrupted> for Stop {
    fn from(_: signals::Interrupted) -> Stop {
        Stop::Interrupted
    }
}
