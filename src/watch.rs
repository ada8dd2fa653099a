//! What "done" and "failed" mean for a rollout. Phase 1: a task of the new revision runs
//! (or is healthy, when an essential container has a health check). Phase 2: the service
//! has one deployment, ours. Each phase has its own deadline; a failed rollout ends the
//! wait at once. While waiting, the user sees new events, our deployment's counts and
//! every stopped task of the new revision.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

mod follow;
mod motion;
mod sweep;
mod together;
mod tracker;

pub use follow::{Answer, Decisive, Follow, Reads, stopped};
use motion::Motion;
use sweep::Sweeps;
pub use together::{Ended, watch as together};
pub use tracker::{Event, Next, Phase, Seen, Step, StopAt, Tracker, Verdict, given_up, verdict};

use crate::cadence::Pace;
use crate::ecs::{
    DESCRIBE_TASKS_LIMIT, Deployment, DesiredStatus, Ecs, Hook, Polled, RolloutState,
    ServiceDeployment, ServiceDeploymentStatus, ServiceRef, Snapshot, Strategy, TaskFilter,
    Updated,
};
use crate::error::Error;
use crate::logs::{self, ContainerLogs, LogReader, LogTarget, Note};
use crate::poll::{PollError, Start, Stop, Timing};
use crate::record::Fact;
use crate::report::{HookRecord, Report, Rollback, RollbackOutcome, RolledBackBy, Status};
use crate::side::{self, Budget};
use crate::signals;
use crate::task::{StoppedTask, Task};

/// Unreadable answers in a row after which the service deployment is no longer read.
const UNREADABLE_IN_A_ROW: u32 = 3;

/// Of how many stopped tasks the crash logs are read: later ones most likely say the same.
const LOGS_OF_TASKS: usize = 3;

/// How to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The budget of each phase, and the poll interval.
    pub timing: Timing,
    /// Stop after phase 1 (`--skip-deployments-check`).
    pub skip_deployments_check: bool,
    /// What a read that only explains (stopped tasks, logs) may take.
    pub side: Budget,
}

/// The deployment a watch follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub service: ServiceRef,
    /// The deployment `update-service` started (unknown if its answer listed none).
    pub deployment_id: Option<String>,
    pub task_definition: String,
    /// Phase 1 waits for a HEALTHY task, not merely a RUNNING one.
    pub health_checked: bool,
    /// Unknown when update-service's answer could not be read: then phase 1 is not skipped.
    pub desired_count: Option<i64>,
    /// ECS's record of this deployment, where the API has one.
    pub service_deployment: Option<String>,
    pub strategy: Strategy,
}

impl Rollout {
    pub fn started(
        service: &ServiceRef,
        updated: &Updated,
        task_definition: &str,
        health_checked: bool,
    ) -> Rollout {
        Rollout {
            service: service.clone(),
            deployment_id: updated.deployment_id.clone(),
            task_definition: task_definition.to_string(),
            health_checked,
            desired_count: updated.desired_count,
            service_deployment: updated.service_deployment.clone(),
            strategy: updated.strategy,
        }
    }

    /// Whether each poll also reads the service deployment: for the strategies where ECS
    /// alone knows when the deployment is done (bake time, traffic shifts).
    pub fn follows_service_deployment(&self) -> bool {
        self.strategy.is_managed() && self.service_deployment.is_some()
    }

    /// Our deployment in a snapshot: by id, else the PRIMARY one of our revision.
    pub fn ours<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s Deployment> {
        match &self.deployment_id {
            Some(id) => snapshot.deployments.iter().find(|d| &d.id == id),
            None => snapshot
                .deployments
                .iter()
                .find(|d| d.is_primary() && d.task_definition == self.task_definition),
        }
    }

    /// The deployment with which ECS's circuit breaker put the service back on an earlier
    /// revision, if it did: a PRIMARY deployment of another revision, while ours failed or
    /// is gone.
    pub fn restored_by_ecs<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s Deployment> {
        let ours = self.ours(snapshot);
        if ours.is_some_and(|d| d.rollout_state != Some(RolloutState::Failed)) {
            return None;
        }
        snapshot.deployments.iter().find(|d| {
            d.is_primary()
                && Some(&d.id) != self.deployment_id.as_ref()
                && d.task_definition != self.task_definition
        })
    }
}

/// How ECS's own rollback of `rollout` stood at the last reads, if ECS rolled the service
/// back by itself: as its service deployment says, or, where the circuit breaker put a
/// deployment of an earlier revision in place, done once that is the only one left.
pub fn rolled_back_by_ecs(
    rollout: &Rollout,
    last: Option<&Snapshot>,
    service_deployment: Option<&ServiceDeployment>,
) -> Option<RollbackOutcome> {
    let said = service_deployment.and_then(|sd| match sd.status {
        ServiceDeploymentStatus::RollbackRequested
        | ServiceDeploymentStatus::RollbackInProgress => Some(RollbackOutcome::InProgress),
        ServiceDeploymentStatus::RollbackSuccessful => Some(RollbackOutcome::Succeeded),
        ServiceDeploymentStatus::RollbackFailed => Some(RollbackOutcome::Failed),
        _ => None,
    });
    if said.is_some() {
        return said;
    }
    let snapshot = last?;
    let restored = rollout.restored_by_ecs(snapshot)?;
    Some(match restored.rollout_state {
        Some(RolloutState::Failed) => RollbackOutcome::Failed,
        _ if snapshot.deployments.len() == 1 => RollbackOutcome::Succeeded,
        _ => RollbackOutcome::InProgress,
    })
}

/// A wait that ended without success; already told to the user and recorded.
#[derive(Debug)]
pub struct Failure {
    pub stop: Stop,
    pub why: String,
    /// The last snapshot seen, if any: it shows whether ECS already rolled back.
    pub last: Option<Box<Snapshot>>,
    /// The service deployment as last seen, when it was followed.
    pub service_deployment: Option<Box<ServiceDeployment>>,
    /// The CodeDeploy deployment as last seen, when CodeDeploy ran it.
    pub codedeploy: Option<Box<crate::codedeploy::Deployment>>,
}

impl Failure {
    /// The error the run ends with when nothing is rolled back.
    pub fn into_error(self, service: &ServiceRef) -> Error {
        match self.stop {
            Stop::Aws(e) => e.into(),
            _ if signals::interrupted() => Error::Interrupted(format!(
                "stopped waiting; the deployment goes on in ECS. Follow it with: aws ecs describe-services --cluster {} --services {}",
                service.cluster, service.name
            )),
            _ => Error::Failed(self.why),
        }
    }
}

pub struct Watch<'a> {
    ecs: &'a dyn Ecs,
    report: &'a Report,
    settings: Settings,
    /// What the decisive reads say, apart from time and I/O.
    tracker: Tracker,
    /// The stopped tasks already looked at: ours told, others passed over.
    reported_tasks: HashSet<String>,
    /// When to look for stopped tasks again.
    sweeps: Sweeps,
    /// Of how many stopped tasks the crash logs were asked for.
    logs_asked: usize,
    /// Whether the last poll already listed the stopped tasks (no need to sweep again).
    stopped_listed_last_poll: bool,
    last: Option<Snapshot>,
    /// Whether each poll reads the service deployment too (until it cannot be read).
    follows_service_deployment: bool,
    service_deployment: Option<ServiceDeployment>,
    /// The current phase's deadline; every call of the phase is stopped there.
    deadline: Instant,
    /// Where the next look for a healthy task goes on (the next list-tasks page).
    health_cursor: Option<String>,
    /// Where the logs of the new revision's failed tasks are read, and how each container
    /// of its definition logs.
    logs: Option<(LogReader<'a>, Vec<ContainerLogs>)>,
    /// Containers whose logs cannot be shown, already said once (also by side work).
    log_notes: Arc<Mutex<HashSet<String>>>,
    /// Log reads asked for by the last look, to run beside the poll loop.
    log_reads: Vec<LogRead>,
    /// Unreadable service deployment answers in a row.
    unreadable_in_a_row: u32,
    /// Whether the last look did side work after its decisive read, which the verdict of
    /// a deadline may then not rest on.
    side_work_done: bool,
    /// The PAUSE hook holding the deployment, at which stage, and since when it was seen.
    paused: Option<(Hook, String, jiff::Timestamp)>,
    /// How the rollout moved at each look.
    motion: Motion,
    pace: Pace,
}

/// The last lines of some crashed containers of one stopped task, shown under its line.
struct LogRead {
    stopped_line: String,
    /// Why some containers' lines cannot be shown.
    notes: Vec<String>,
    targets: Vec<LogTarget>,
}

/// What a watch follows to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// A new revision: both phases, with the script's lines.
    NewRevision,
    /// `--force-new-deployment`: only the single-deployment phase, as in the script.
    Redeploy,
    /// A rollback: until the service has one deployment, without the script's lines.
    Settle,
}

/// Where a watch stands after a look at its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Waiting,
    Done,
}

impl<'a> Watch<'a> {
    /// `seen_events`: ids of the events the user has no need to see (those from before).
    pub fn new(
        ecs: &'a dyn Ecs,
        report: &'a Report,
        settings: Settings,
        rollout: Rollout,
        seen_events: impl IntoIterator<Item = String>,
    ) -> Watch<'a> {
        Watch {
            ecs,
            report,
            settings,
            follows_service_deployment: rollout.follows_service_deployment(),
            tracker: Tracker::new(
                rollout,
                Goal::NewRevision,
                settings.skip_deployments_check,
                seen_events,
            ),
            reported_tasks: HashSet::new(),
            sweeps: Sweeps::new(settings.timing.poll_interval),
            logs_asked: 0,
            stopped_listed_last_poll: false,
            last: None,
            service_deployment: None,
            deadline: Instant::now(),
            health_cursor: None,
            logs: None,
            log_notes: Arc::default(),
            log_reads: Vec::new(),
            unreadable_in_a_row: 0,
            side_work_done: false,
            paused: None,
            motion: Motion::default(),
            pace: Pace::Quiet,
        }
    }

    /// The same watch, showing the last log lines of each failed essential container of
    /// the new revision's stopped tasks (`definition` says where they log).
    pub fn with_logs(mut self, reader: LogReader<'a>, definition: &Value) -> Watch<'a> {
        // A definition whose containers cannot be read shows no log lines.
        let containers = logs::containers(definition).ok();
        self.logs = containers
            .filter(|_| reader.lines > 0)
            .map(|containers| (reader, containers));
        self
    }

    /// The same watch, ending the wait at `stop_at` (`--wait-until`) when it is given.
    pub fn stopping_at(mut self, stop_at: Option<StopAt>) -> Watch<'a> {
        if let Some(stop_at) = stop_at {
            self.tracker.stop_at(stop_at);
        }
        self
    }

    /// The same watch, following `goal` (a new revision unless told otherwise).
    pub fn following(mut self, goal: Goal) -> Watch<'a> {
        self.tracker.follow(goal);
        self
    }

    pub fn service(&self) -> &ServiceRef {
        &self.tracker.rollout().service
    }

    pub fn rollout(&self) -> &Rollout {
        self.tracker.rollout()
    }

    /// After a new revision: both phases, with the script's lines.
    pub fn new_revision(self) -> Result<(), Failure> {
        self.following(Goal::NewRevision).alone()
    }

    /// After `--force-new-deployment`: only the single-deployment phase, as in the script.
    pub fn redeploy(self) -> Result<(), Failure> {
        self.following(Goal::Redeploy).alone()
    }

    /// Until the service has one deployment, without the script's lines (a rollback).
    pub fn settle(self) -> Result<(), Stop> {
        self.following(Goal::Settle).alone().map_err(|f| f.stop)
    }

    fn alone(self) -> Result<(), Failure> {
        let (ecs, report, interval) = (self.ecs, self.report, self.settings.timing.poll_interval);
        let mut ended = together::watch(
            Reads::ecs(ecs),
            report,
            interval,
            Start::AfterChange,
            vec![Box::new(self)],
            false,
        );
        match ended.pop() {
            Some(Ended::Failed(failure)) => Err(*failure),
            _ => Ok(()),
        }
    }

    /// How the last look saw the rollout move.
    pub fn pace_seen(&self) -> Pace {
        self.pace
    }

    /// Begin the first phase; done at once when no phase applies.
    pub fn begin(&mut self) -> Progress {
        let step = self.tracker.start();
        self.show(&step.events);
        self.take(step.next, step.entered)
    }

    /// Start the deadline of a phase entered; where the watch stands.
    fn take(&mut self, next: Next, entered: Option<Phase>) -> Progress {
        if entered.is_some() {
            self.deadline = Instant::now() + self.settings.timing.timeout;
        }
        match next {
            Next::Done => Progress::Done,
            _ => Progress::Waiting,
        }
    }

    /// One look at the service: its snapshot from the poll shared by every watch, and
    /// whatever else the phase needs (the service deployment, the tasks).
    pub fn look(&mut self, snapshot: Snapshot) -> Result<Progress, PollError> {
        self.side_work_done = false;
        self.stopped_listed_last_poll = false;
        self.pace = Pace::Quiet;
        // A service deployment that cannot be read this time leaves the snapshot to decide
        // what it can (phase 1, a failed rollout); the poll counts as failed all the same.
        let (read, unread) = match self.poll_service_deployment(self.deadline) {
            Ok(read) => (read, None),
            Err(PollError::Retry(e)) => (None, Some(e)),
            Err(other) => return Err(other),
        };
        let seen = match (&read, &unread) {
            (Some(sd), _) => Seen::Read(sd),
            (None, Some(_)) => Seen::Unread,
            (None, None) => Seen::NotFollowed,
        };
        self.pace = self
            .motion
            .pace(self.tracker.rollout(), &snapshot, read.as_ref());
        let mut step = self.tracker.observe(&snapshot, seen);
        if step.next == Next::CheckHealth {
            self.show(&step.events);
            step = match self.healthy_task_exists()? {
                true => self.tracker.healthy(&snapshot, seen),
                false => Step {
                    events: Vec::new(),
                    next: Next::Waiting,
                    entered: None,
                },
            };
        }
        self.show(&step.events);
        if let Some(sd) = read {
            self.service_deployment = Some(sd);
        }
        self.last = Some(snapshot);
        let interval = self.settings.timing.poll_interval;
        let until = self.settings.side.until(self.deadline, interval);
        // With no time left before the deadline, the verdict's look lists them.
        let now = Instant::now();
        if step.next == Next::Done && self.sweeps.owed() {
            // Tasks that failed on the way to a good end are still told, once.
            self.report_stopped_tasks(self.settings.side.from_now(), LogsRead::Now);
        } else if !matches!(step.next, Next::Failed(_)) && until > now && self.sweeps.due(now) {
            self.side_work_done = true;
            // A listing cut short (by its budget) leaves the verdict's look to list them.
            self.stopped_listed_last_poll = self.report_stopped_tasks(until, LogsRead::Beside);
        }
        if let Next::Failed(why) = step.next {
            let why = self.explain_failure().unwrap_or(why);
            return Err(PollError::Stop(Stop::Failed(why)));
        }
        let progress = self.take(step.next, step.entered);
        match unread {
            Some(e) if progress == Progress::Waiting => Err(PollError::Retry(e)),
            _ => Ok(progress),
        }
    }

    /// Show what the tracker saw; look at the stopped tasks when ECS counted new failures.
    fn show(&mut self, events: &[Event]) {
        let report = self.report;
        for event in events {
            match event {
                Event::NewTaskCheckSkipped => report.fact(Fact::NewTaskCheckSkipped),
                Event::NewTaskRunning => report.fact(Fact::NewTaskRunning),
                Event::WaitingForSingleDeployment => {
                    report.fact(Fact::WaitingForSingleDeployment);
                }
                Event::DeploymentDone => report.fact(Fact::DeploymentDone),
                Event::ServiceEvent(message) => report.progress(format!("event: {message}")),
                Event::Counts {
                    deployment,
                    desired,
                    pending,
                    running,
                } => report.progress(format!(
                    "deployment {deployment}: {desired} desired, {pending} pending, {running} running"
                )),
                Event::Stage(stage) => {
                    report.progress(format!("stage: {stage}"));
                    report.record(|o| o.lifecycle_stage = Some(stage.clone()));
                }
                Event::Hook { hook, stage } => {
                    if self.paused.as_ref().is_some_and(|(held, ..)| held.id == hook.id) {
                        self.paused = None;
                    }
                    self.show_hook(hook, stage.as_deref());
                }
                Event::Paused { hook, stage } => self.announce_pause(hook, stage.as_deref()),
                Event::StoppedAt(stop_at) => self.show_stopped_at(stop_at),
                Event::TasksFailed => self.sweeps.failed(),
            }
        }
    }

    fn show_hook(&self, hook: &Hook, stage: Option<&str>) {
        let at = stage.map_or_else(String::new, |stage| format!(" at {stage}"));
        self.report.progress(format!(
            "hook {} ({}){at}: {}",
            hook.id,
            hook.what(),
            hook.status.as_str()
        ));
        let record = HookRecord {
            id: hook.id.clone(),
            kind: hook.target_type.clone(),
            target: hook.target_arn.clone(),
            stage: stage.map(str::to_string),
            status: hook.status.as_str().to_string(),
            expires_at: hook.expires_at.clone(),
            timeout_action: hook.timeout_action.clone(),
        };
        self.report
            .record(|o| match o.hooks.iter_mut().find(|h| h.id == record.id) {
                Some(known) => *known = record,
                None => o.hooks.push(record),
            });
    }

    /// The commands that continue a paused deployment, and roll it back.
    fn pause_commands(&self, hook: &Hook) -> [String; 2] {
        let arn = self
            .tracker
            .rollout()
            .service_deployment
            .as_deref()
            .unwrap_or("SERVICE_DEPLOYMENT_ARN");
        ["CONTINUE", "ROLLBACK"].map(|action| {
            format!(
                "aws ecs continue-service-deployment --service-deployment-arn {arn} --hook-id {} --action {action}",
                hook.id
            )
        })
    }

    fn announce_pause(&mut self, hook: &Hook, stage: Option<&str>) {
        let stage = stage.unwrap_or("its current stage");
        self.paused = Some((hook.clone(), stage.to_string(), jiff::Timestamp::now()));
        let until = match (&hook.expires_at, &hook.timeout_action) {
            (Some(at), Some(action)) => format!(" until {at}, then {action}"),
            (Some(at), None) => format!(" until {at}"),
            _ => String::new(),
        };
        let [go_on, back] = self.pause_commands(hook);
        let message = format!(
            "the deployment is paused at {stage} by hook {}{until}",
            hook.id
        );
        self.report.progress(&message);
        self.report.progress(format!("  continue it with: {go_on}"));
        self.report.progress(format!("  roll it back with: {back}"));
        let service = self.service();
        self.report.progress(format!(
            "  (or: ecs-deploy -c {} -n {} --continue-deployment [--action rollback])",
            service.cluster, service.name
        ));
        self.report.notice(
            "ecs-deploy: deployment paused",
            &format!("{message}. Continue: {go_on}. Roll back: {back}"),
        );
    }

    fn show_stopped_at(&self, stop_at: &StopAt) {
        let service = self.service();
        let at = match stop_at {
            StopAt::Stage(stage) => format!("stage {stage}"),
            StopAt::Paused => "a pause".to_string(),
        };
        self.report.progress(format!(
            "stopped waiting at {at} (--wait-until); the deployment goes on. Follow it with: \
             ecs-deploy -c {} -n {} --wait-only",
            service.cluster, service.name
        ));
    }

    /// The service deployment, when it is followed. One that cannot be read for good
    /// (AccessDenied, an older CLI without the operation) is dropped with one note, and
    /// the service's deployments alone decide from then on.
    fn poll_service_deployment(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<ServiceDeployment>, PollError> {
        let Some(arn) = self
            .tracker
            .rollout()
            .service_deployment
            .as_deref()
            .filter(|_| self.follows_service_deployment)
        else {
            return Ok(None);
        };
        let unreadable = match self.ecs.poll_service_deployment(arn, deadline) {
            Ok(sd) => {
                self.unreadable_in_a_row = 0;
                return Ok(Some(sd));
            }
            Err(e) if e.kind == crate::aws::Failure::Unreadable => {
                self.unreadable_in_a_row += 1;
                if self.unreadable_in_a_row < UNREADABLE_IN_A_ROW {
                    return Err(PollError::Retry(e));
                }
                e
            }
            Err(e) => match PollError::from(e) {
                PollError::Stop(Stop::Aws(e)) => e,
                other => return Err(other),
            },
        };
        self.follows_service_deployment = false;
        self.service_deployment = None;
        self.report.progress(format!(
            "note: cannot read the service deployment ({}); following the service's deployments alone",
            unreadable.message
        ));
        Ok(None)
    }

    /// A failed rollout: its stopped tasks not yet told, and, for a service whose service
    /// deployment was not followed (a rolling one), one look at that service deployment,
    /// read side by side. The service deployment names the alarms that fired and says what
    /// ECS did about it; nothing when it cannot be read, or says nothing more.
    fn explain_failure(&mut self) -> Option<String> {
        let unread = match self.service_deployment {
            Some(_) => None,
            None => self.tracker.rollout().service_deployment.clone(),
        };
        let (ecs, deadline) = (self.ecs, self.deadline);
        let sd = std::thread::scope(|scope| {
            let reading =
                unread.map(|arn| scope.spawn(move || ecs.poll_service_deployment(&arn, deadline)));
            // A rollback's watch has no stopped tasks to tell.
            if self.tracker.goal() != Goal::Settle {
                let until = self.settings.side.from_now();
                self.stopped_listed_last_poll = self.report_stopped_tasks(until, LogsRead::Now);
            }
            reading.and_then(|reading| reading.join().ok()?.ok())
        })?;
        let explained = sd.status.is_given_up() || !sd.triggered_alarms.is_empty();
        let why = explained.then(|| given_up(&sd));
        self.service_deployment = Some(sd);
        why
    }

    /// Whether a task of the new revision is HEALTHY. Each poll looks at one page of the
    /// tasks our deployment started (one list-tasks, one describe-tasks), going on where
    /// the previous poll stopped and starting over after the last page, so a poll costs
    /// the same however large the service, and every task is looked at in turn.
    fn healthy_task_exists(&mut self) -> Result<bool, Stop> {
        let filter = match &self.tracker.rollout().deployment_id {
            Some(id) => TaskFilter::StartedBy(id),
            None => {
                TaskFilter::Service(&self.tracker.rollout().service.name, DesiredStatus::Running)
            }
        };
        let start = self.health_cursor.take();
        let resumed = start.is_some();
        let mut found = false;
        let walked = self.walk_tasks(filter, &HashSet::new(), start, Some(1), |task| {
            found = self.ours(task) && task.is_healthy();
            found
        });
        match walked {
            Ok(next) => {
                self.health_cursor = next.filter(|_| !found);
                Ok(found)
            }
            Err(e) => {
                let e = match PollError::from(e) {
                    PollError::Retry(e) => e,
                    // A page token may have expired: start over rather than give up.
                    PollError::Stop(Stop::Aws(e)) if resumed => e,
                    PollError::Stop(stop) => return Err(stop),
                    PollError::Backoff => return Ok(false),
                };
                self.report.progress(format!(
                    "could not check task health, will retry: {}",
                    e.message
                ));
                Ok(false)
            }
        }
    }

    /// Whether `task` runs the new revision.
    fn ours(&self, task: &Task) -> bool {
        task.task_definition_arn == self.tracker.rollout().task_definition
    }

    /// Hand each task that `filter` lists (except those in `skip`) to
    /// `visit`, a list-tasks page and a describe-tasks chunk at a time, from the page
    /// `start` names, for at most `max_pages` pages (all when `None`), until `visit` says
    /// it has seen enough. Where the walk stopped: the token of the next page, if any.
    fn walk_tasks(
        &self,
        filter: TaskFilter,
        skip: &HashSet<String>,
        start: Option<String>,
        max_pages: Option<usize>,
        mut visit: impl FnMut(&Task) -> bool,
    ) -> Polled<Option<String>> {
        let cluster = &self.tracker.rollout().service.cluster;
        let mut next = start;
        let mut pages = 0;
        loop {
            let page = self
                .ecs
                .list_tasks(cluster, filter, next.as_deref(), self.deadline)?;
            pages += 1;
            next = page.next.filter(|token| !token.is_empty());
            let arns: Vec<String> = page
                .arns
                .into_iter()
                .filter(|arn| !skip.contains(arn))
                .collect();
            for chunk in arns.chunks(DESCRIBE_TASKS_LIMIT) {
                let described = self.ecs.describe_tasks(cluster, chunk, self.deadline)?;
                for task in &described.tasks {
                    if visit(task) {
                        return Ok(next);
                    }
                }
            }
            if next.is_none() || max_pages.is_some_and(|max| pages >= max) {
                return Ok(next);
            }
        }
    }

    /// Report each stopped task of the new revision once, with its reason and exit codes,
    /// and the last log lines of the crashed containers of the first few, read as `logs`
    /// says; whether every stopped task could be listed by `deadline`.
    fn report_stopped_tasks(&mut self, deadline: Instant, logs: LogsRead) -> bool {
        let started = Instant::now();
        let filter =
            TaskFilter::Service(&self.tracker.rollout().service.name, DesiredStatus::Stopped);
        let mut tasks = Vec::new();
        let saved = std::mem::replace(&mut self.deadline, deadline);
        let walked = self.walk_tasks(filter, &self.reported_tasks, None, None, |task| {
            tasks.push(task.clone());
            false
        });
        self.deadline = saved;
        let listed = walked.is_ok();
        if let Err(e) = walked {
            let why = match PollError::from(e) {
                PollError::Retry(e) | PollError::Stop(Stop::Aws(e)) => e.message,
                PollError::Stop(Stop::Timeout) => format!(
                    "no answer within {} s",
                    deadline
                        .saturating_duration_since(started)
                        .as_secs_f64()
                        .round()
                ),
                _ => String::new(),
            };
            if !why.is_empty() {
                self.report.progress(format!(
                    "note: could not list the stopped tasks (will try again when more fail): {why}"
                ));
            }
        }
        // A stopped task stays stopped: none is described twice, ours or not.
        self.reported_tasks
            .extend(tasks.iter().map(|task| task.task_arn.clone()));
        tasks.retain(|task| self.ours(task));
        let reads: Vec<LogRead> = tasks.iter().map(|task| self.told(task)).collect();
        let Some(reader) = self.logs.as_ref().map(|(reader, _)| *reader) else {
            for read in reads {
                self.report.progress(read.stopped_line);
            }
            return listed;
        };
        match logs {
            LogsRead::Beside => {
                for read in reads {
                    if !read.targets.is_empty() {
                        self.log_reads.push(read);
                        continue;
                    }
                    for line in read.run(reader, &self.log_notes, Instant::now()) {
                        self.report.progress(line);
                    }
                }
            }
            LogsRead::Now => {
                let until = self.settings.side.from_now();
                for line in read_side_by_side(reads, reader, &self.log_notes, until) {
                    self.report.progress(line);
                }
            }
        }
        listed
    }

    /// Record a stopped task of ours; its line, and which crash logs to read under it.
    fn told(&mut self, task: &Task) -> LogRead {
        let stopped = StoppedTask::from(task);
        let stopped_line = stopped.line();
        self.report.record(|o| o.stopped_tasks.push(stopped));
        let (mut targets, mut notes) = self.crashed_logs(task);
        if !targets.is_empty() {
            self.logs_asked += 1;
            if self.logs_asked > LOGS_OF_TASKS {
                targets.clear();
            }
            if self.logs_asked == LOGS_OF_TASKS + 1 {
                notes.push(format!(
                    "note: log lines are shown for the first {LOGS_OF_TASKS} crashed tasks only"
                ));
            }
        }
        LogRead {
            stopped_line,
            notes,
            targets,
        }
    }

    /// Explain a failure: the stopped tasks of the watched revision not yet told, with the
    /// last log lines of their crashed containers, read at once within the side budget.
    pub fn explain_stopped_tasks(&mut self) {
        self.report_stopped_tasks(self.settings.side.from_now(), LogsRead::Now);
    }

    /// Where the last lines of each essential container of `task` that crashed (ran and
    /// exited non-zero) are read; a note, once per container, for those that cannot be.
    fn crashed_logs(&self, task: &Task) -> (Vec<LogTarget>, Vec<String>) {
        let Some((_, containers)) = &self.logs else {
            return (Vec::new(), Vec::new());
        };
        let mut targets = Vec::new();
        let mut notes = Vec::new();
        for container in containers.iter().filter(|c| c.essential) {
            let crashed = task
                .containers
                .iter()
                .any(|c| c.name == container.name && c.exit_code.is_some_and(|code| code != 0));
            if !crashed || said(&self.log_notes, &container.name) {
                continue;
            }
            match container.target(&task.task_arn) {
                Ok(target) => targets.push(target),
                Err(note) => {
                    if say_once(&self.log_notes, &container.name) {
                        notes.push(format!("note: {note}"));
                    }
                }
            }
        }
        (targets, notes)
    }

    /// The log reads the last look asked for, as work to run beside the poll loop, each
    /// with what to show should it be stopped first.
    fn log_work(&mut self) -> Vec<(side::Work<'a>, Vec<String>)> {
        let Some((reader, _)) = self.logs.as_ref().map(|(reader, c)| (*reader, c)) else {
            self.log_reads.clear();
            return Vec::new();
        };
        self.log_reads
            .drain(..)
            .map(|read| {
                let if_stopped = read.if_stopped();
                let notes = Arc::clone(&self.log_notes);
                let work: side::Work<'a> = Box::new(move |until| read.run(reader, &notes, until));
                (work, if_stopped)
            })
            .collect()
    }

    /// Say why the phase ended, record it, and hand the failure to whoever decides what
    /// comes next (a rollback or the exit).
    fn end(&mut self, stop: Stop) -> Failure {
        if self.tracker.goal() == Goal::Settle {
            return Failure {
                stop,
                why: String::new(),
                last: self.last.take().map(Box::new),
                service_deployment: self.service_deployment.take().map(Box::new),
                codedeploy: None,
            };
        }
        let phase = self.tracker.phase();
        // Tasks may have failed without ECS counting them (failedTasks stays 0 once a task
        // of the deployment has run): list those not yet told, once, before saying why.
        if matches!(stop, Stop::Timeout | Stop::Failed(_)) && !self.stopped_listed_last_poll {
            self.report_stopped_tasks(self.settings.side.from_now(), LogsRead::Now);
        }
        let seconds = self.settings.timing.timeout.as_secs_f64();
        if let (Stop::Timeout, Some((hook, stage, since))) = (&stop, self.paused.clone()) {
            if phase == Phase::NewTaskRunning {
                self.report.fact(Fact::NotRunningWithin(seconds));
            }
            let why = format!(
                "paused at {stage} by hook {} since {}; nothing was changed",
                hook.id,
                since.round(jiff::Unit::Second).unwrap_or(since)
            );
            self.report.progress(format!("ERROR: {why}"));
            let [go_on, back] = self.pause_commands(&hook);
            self.report.progress(format!("  continue it with: {go_on}"));
            self.report.progress(format!("  roll it back with: {back}"));
            self.report.fail(Status::TimedOut, why.clone());
            return Failure {
                stop,
                why,
                last: self.last.take().map(Box::new),
                service_deployment: self.service_deployment.take().map(Box::new),
                codedeploy: None,
            };
        }
        let (why, status) = match (&stop, phase) {
            (Stop::Timeout, Phase::NewTaskRunning) => {
                self.report.fact(Fact::NotRunningWithin(seconds));
                let state = if self.tracker.rollout().health_checked {
                    "healthy"
                } else {
                    "running"
                };
                let why = format!(
                    "no task of {} was {state} within {seconds} seconds",
                    self.tracker.rollout().task_definition
                );
                (why, Status::TimedOut)
            }
            (Stop::Timeout, Phase::SingleDeployment) => {
                let why = match self.service_deployment.as_ref() {
                    Some(sd) => format!(
                        "service deployment {} was still {}{} after {seconds} seconds",
                        short_id(&sd.arn),
                        sd.status.as_str(),
                        sd.lifecycle_stage
                            .as_deref()
                            .map_or_else(String::new, |stage| format!(" at stage {stage}")),
                    ),
                    None => format!(
                        "the service still had more than one deployment after {seconds} seconds"
                    ),
                };
                self.report.progress(format!("ERROR: {why}"));
                (why, Status::TimedOut)
            }
            (stop, _) => (said_why(self.report, stop), Status::Failed),
        };
        self.report.fail(status, why.clone());
        let rollout = self.tracker.rollout();
        let sd = self.service_deployment.as_ref();
        if let Some(outcome) = rolled_back_by_ecs(rollout, self.last.as_ref(), sd) {
            let by = RolledBackBy::Ecs;
            self.report
                .record(|o| o.rolled_back(Rollback { by, outcome }));
        }
        Failure {
            stop,
            why,
            last: self.last.take().map(Box::new),
            service_deployment: self.service_deployment.take().map(Box::new),
            codedeploy: None,
        }
    }
}

impl<'a> Follow<'a> for Watch<'a> {
    fn report(&self) -> &'a Report {
        self.report
    }

    fn side(&self) -> Budget {
        self.settings.side
    }

    fn decisive(&self) -> Decisive {
        let service = self.service();
        Decisive::Service {
            cluster: service.cluster.clone(),
            name: service.name.clone(),
        }
    }

    fn start(&mut self) -> Progress {
        self.begin()
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn advance(&mut self, answer: Answer) -> Result<Progress, PollError> {
        match answer {
            Answer::Service(snapshot) => self.look(snapshot),
            Answer::Deployment(d) => Err(PollError::Retry(crate::aws::CallError::new(
                "describe-services",
                255,
                format!(
                    "a CodeDeploy deployment ({}) answered a service's read",
                    d.id
                ),
                crate::aws::Failure::Unreadable,
            ))),
        }
    }

    fn pace(&self) -> Pace {
        self.pace_seen()
    }

    fn did_side_work(&self) -> bool {
        self.side_work_done
    }

    fn side_work(&mut self) -> Vec<(side::Work<'a>, Vec<String>)> {
        self.log_work()
    }

    fn fail(&mut self, stop: Stop) -> Failure {
        self.end(stop)
    }
}

/// Say why a wait ended other than by running out of time (a failure, an aws error, a
/// signal); the reason.
pub fn said_why(report: &Report, stop: &Stop) -> String {
    let why = match stop {
        Stop::Failed(why) => why.clone(),
        Stop::Aws(e) => format!("{} failed: {}", e.step, e.message),
        Stop::Interrupted => "interrupted by a signal while waiting".to_string(),
        Stop::Timeout => "timed out".to_string(),
    };
    report.progress(format!("ERROR: {why}"));
    why
}

/// How the log lines of a crashed task are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogsRead {
    /// Beside the poll loop, so that a slow read holds nothing up.
    Beside,
    /// At once: the verdict is in, and only explaining it is left.
    Now,
}

impl LogRead {
    /// The stopped-task line, then the last lines of each container (or why not).
    fn run(self, reader: LogReader, said: &Mutex<HashSet<String>>, until: Instant) -> Vec<String> {
        let mut shown = vec![self.stopped_line];
        shown.extend(self.notes);
        for target in &self.targets {
            if self::said(said, &target.container) {
                continue;
            }
            match logs::last_lines(reader.source, target, reader.lines, until) {
                Ok(lines) => shown.extend(
                    lines
                        .into_iter()
                        .map(|line| format!("    {} | {line}", target.container)),
                ),
                Err(note) => {
                    if say_once(said, &target.container) {
                        shown.push(format!("note: {note}"));
                    }
                }
            }
        }
        shown
    }

    /// What to show when the read is stopped before it ends.
    fn if_stopped(&self) -> Vec<String> {
        let names: Vec<&str> = self.targets.iter().map(|t| t.container.as_str()).collect();
        let note = Note::NotRead {
            containers: names.join(", "),
        };
        let mut shown = vec![self.stopped_line.clone()];
        shown.extend(self.notes.iter().cloned());
        shown.push(format!("note: {note}"));
        shown
    }
}

/// What `reads` show, in their order; those with logs to read run side by side, each
/// within `until`.
fn read_side_by_side(
    reads: Vec<LogRead>,
    reader: LogReader,
    notes: &Mutex<HashSet<String>>,
    until: Instant,
) -> Vec<String> {
    enum Shown<T> {
        Ready(Vec<String>),
        Reading(T, Vec<String>),
    }
    std::thread::scope(|scope| {
        let shown: Vec<_> = reads
            .into_iter()
            .map(|read| match read.targets.is_empty() {
                true => Shown::Ready(read.run(reader, notes, until)),
                false => {
                    let if_stopped = read.if_stopped();
                    Shown::Reading(
                        scope.spawn(move || read.run(reader, notes, until)),
                        if_stopped,
                    )
                }
            })
            .collect();
        shown
            .into_iter()
            .flat_map(|shown| match shown {
                Shown::Ready(lines) => lines,
                Shown::Reading(thread, if_stopped) => thread.join().unwrap_or(if_stopped),
            })
            .collect()
    })
}

/// Whether the logs of `container` were already said to be unreadable.
fn said(notes: &Mutex<HashSet<String>>, container: &str) -> bool {
    notes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(container)
}

/// Mark the logs of `container` as unreadable; whether that is news.
fn say_once(notes: &Mutex<HashSet<String>>, container: &str) -> bool {
    notes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(container.to_string())
}

/// The last part of an ARN.
fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecs::RolloutState;
    use crate::ecs::scripted::{self, ScriptedEcs};

    const NEW: &str = "td/web:2";
    const OLD: &str = "td/web:1";
    const OURS: &str = "ecs-svc/new";

    fn settings(timeout_ms: u64) -> Settings {
        Settings {
            timing: Timing {
                timeout: Duration::from_millis(timeout_ms),
                poll_interval: Duration::ZERO,
            },
            skip_deployments_check: false,
            side: crate::side::Budget::default(),
        }
    }

    fn rollout(health_checked: bool) -> Rollout {
        Rollout {
            service: scripted::service(),
            deployment_id: Some(OURS.into()),
            task_definition: NEW.into(),
            health_checked,
            desired_count: Some(2),
            service_deployment: None,
            strategy: Strategy::Rolling,
        }
    }

    /// Our deployment with (running, failed) tasks, alone or next to the old one.
    fn snapshot(running: i64, failed: i64, old_still_there: bool) -> Snapshot {
        let mut deployments = vec![scripted::deployment(OURS, "PRIMARY", NEW, running, failed)];
        if old_still_there {
            deployments.push(scripted::deployment("ecs-svc/old", "ACTIVE", OLD, 2, 0));
        }
        Snapshot {
            deployments,
            events: vec![],
            circuit_breaker: false,
        }
    }

    fn failed_rollout() -> Snapshot {
        let mut snapshot = snapshot(0, 2, true);
        snapshot.deployments[0].rollout_state = Some(RolloutState::Failed);
        snapshot.deployments[0].rollout_state_reason = Some("circuit breaker".into());
        snapshot
    }

    fn watch<'a>(ecs: &'a ScriptedEcs, report: &'a Report, timeout_ms: u64) -> Watch<'a> {
        Watch::new(ecs, report, settings(timeout_ms), rollout(false), [])
    }

    #[test]
    fn verdicts_follow_the_phase() {
        let plain = rollout(false);
        let checked = rollout(true);
        let both = snapshot(1, 0, true);
        assert_eq!(
            verdict(
                &plain,
                Phase::NewTaskRunning,
                &snapshot(0, 0, true),
                Seen::NotFollowed
            ),
            Verdict::NotYet
        );
        assert_eq!(
            verdict(&plain, Phase::NewTaskRunning, &both, Seen::NotFollowed),
            Verdict::Reached
        );
        assert_eq!(
            verdict(&checked, Phase::NewTaskRunning, &both, Seen::NotFollowed),
            Verdict::CheckHealth
        );
        assert_eq!(
            verdict(&plain, Phase::SingleDeployment, &both, Seen::NotFollowed),
            Verdict::NotYet
        );
        assert_eq!(
            verdict(
                &plain,
                Phase::SingleDeployment,
                &snapshot(2, 0, false),
                Seen::NotFollowed
            ),
            Verdict::Reached
        );
        assert_eq!(
            verdict(
                &plain,
                Phase::SingleDeployment,
                &failed_rollout(),
                Seen::NotFollowed
            ),
            Verdict::Failed("deployment ecs-svc/new failed: circuit breaker".into())
        );
    }

    #[test]
    fn without_a_deployment_id_ours_is_the_primary_of_our_revision() {
        let mut unknown = rollout(false);
        unknown.deployment_id = None;
        let snapshot = snapshot(1, 0, true);
        assert_eq!(unknown.ours(&snapshot).map(|d| d.id.as_str()), Some(OURS));
        let mut replaced = snapshot.clone();
        replaced.deployments[0].task_definition = "td/web:3".into();
        assert_eq!(
            verdict(
                &unknown,
                Phase::NewTaskRunning,
                &replaced,
                Seen::NotFollowed
            ),
            Verdict::Failed(
                "deployment of the new revision is gone from the service; ECS replaced it".into()
            )
        );
    }

    #[test]
    fn a_rollout_that_comes_up_passes_both_phases_with_the_script_lines() {
        let ecs = ScriptedEcs::polls(vec![
            Ok(snapshot(0, 0, true)),
            Ok(snapshot(2, 0, true)),
            Ok(snapshot(2, 0, false)),
        ]);
        let report = Report::captured();
        watch(&ecs, &report, 5_000).new_revision().unwrap();
        assert_eq!(ecs.calls(), ["describe-services"; 3]);
        assert_eq!(
            report.lines(),
            [
                "> deployment ecs-svc/new: 2 desired, 2 pending, 0 running",
                "> deployment ecs-svc/new: 2 desired, 0 pending, 2 running",
                "Service updated successfully, new task definition running.",
                "Waiting for service deployment to complete...",
                "Service deployment successful.",
            ]
        );
    }

    #[test]
    fn the_last_snapshot_of_phase_one_is_the_first_of_phase_two() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, false))]);
        let report = Report::captured();
        watch(&ecs, &report, 5_000).new_revision().unwrap();
        assert_eq!(ecs.calls(), ["describe-services"]);
    }

    #[test]
    fn a_failed_rollout_ends_the_wait_at_once_with_its_reason() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(0, 0, true)), Ok(failed_rollout())]);
        let report = Report::captured();
        let failure = watch(&ecs, &report, 60_000).new_revision().unwrap_err();
        assert!(matches!(failure.stop, Stop::Failed(_)));
        assert_eq!(
            failure.why,
            "deployment ecs-svc/new failed: circuit breaker"
        );
        assert_eq!(failure.last, Some(Box::new(failed_rollout())));
        assert_eq!(report.outcome().status, Status::Failed);
        assert!(
            report
                .lines()
                .contains(&"> ERROR: deployment ecs-svc/new failed: circuit breaker".to_string())
        );
    }

    #[test]
    fn a_task_that_never_runs_times_out_with_the_script_line() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(0, 0, true))]);
        let report = Report::captured();
        let failure = watch(&ecs, &report, 20).new_revision().unwrap_err();
        assert!(matches!(failure.stop, Stop::Timeout));
        assert_eq!(
            failure.why,
            "no task of td/web:2 was running within 0.02 seconds"
        );
        assert_eq!(report.outcome().status, Status::TimedOut);
        assert!(
            report
                .lines()
                .contains(&"ERROR: New task definition not running within 0.02 seconds".into())
        );
    }

    #[test]
    fn a_second_deployment_that_never_drains_times_out_in_phase_two() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, true))]);
        let report = Report::captured();
        let failure = watch(&ecs, &report, 20).new_revision().unwrap_err();
        assert!(matches!(failure.stop, Stop::Timeout));
        assert!(failure.why.contains("more than one deployment"));
        assert!(
            report
                .lines()
                .contains(&"Service updated successfully, new task definition running.".into())
        );
    }

    #[test]
    fn desired_count_zero_skips_phase_one() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(0, 0, false))]);
        let report = Report::captured();
        let mut zero = rollout(false);
        zero.desired_count = Some(0);
        Watch::new(&ecs, &report, settings(5_000), zero, [])
            .new_revision()
            .unwrap();
        assert_eq!(
            report.lines()[0],
            "Skipping check for running task definition, as desired-count <= 0"
        );
    }

    #[test]
    fn transient_poll_failures_are_retried_and_fatal_ones_end_the_wait() {
        let ecs = ScriptedEcs::polls(vec![
            Err(scripted::throttled("describe-services")),
            Ok(snapshot(1, 0, false)),
        ]);
        let report = Report::captured();
        watch(&ecs, &report, 5_000).new_revision().unwrap();
        assert_eq!(ecs.calls(), ["describe-services"; 2]);

        let ecs = ScriptedEcs::polls(vec![Err(scripted::denied())]);
        let report = Report::captured();
        let failure = watch(&ecs, &report, 5_000).new_revision().unwrap_err();
        assert!(matches!(&failure.stop, Stop::Aws(e) if e.code == 254));
        assert_eq!(failure.into_error(&scripted::service()).exit_code(), 254);
    }

    #[test]
    fn a_health_check_waits_for_a_healthy_task_of_the_new_revision() {
        let mut ecs = ScriptedEcs::polls(vec![Ok(snapshot(1, 0, false))]);
        ecs.tasks = vec![
            scripted::task("t-old", OLD, "RUNNING", "HEALTHY"),
            scripted::task("t-new", NEW, "RUNNING", "UNKNOWN"),
        ];
        ecs.become_healthy_after = Some(2);
        let report = Report::captured();
        Watch::new(&ecs, &report, settings(5_000), rollout(true), [])
            .new_revision()
            .unwrap();
        assert_eq!(
            ecs.calls(),
            [
                "describe-services",
                "list-tasks started-by ecs-svc/new",
                "describe-tasks t-old t-new",
                "describe-services",
                "list-tasks started-by ecs-svc/new",
                "describe-tasks t-old t-new",
            ]
        );
    }

    /// A health-checked rollout whose deployment started `count` running tasks of which
    /// only task `healthy` is HEALTHY, listed a page of 100 at a time: every call it made.
    fn health_walk(count: usize, healthy: usize) -> Vec<String> {
        let mut ecs = ScriptedEcs::polls(vec![Ok(snapshot(1, 0, false))]);
        ecs.tasks = (0..count)
            .map(|i| {
                let health = if i == healthy { "HEALTHY" } else { "UNKNOWN" };
                scripted::task(&format!("t{i}"), NEW, "RUNNING", health)
            })
            .collect();
        ecs.page_size = crate::ecs::LIST_TASKS_PAGE;
        let report = Report::captured();
        Watch::new(&ecs, &report, settings(5_000), rollout(true), [])
            .new_revision()
            .unwrap();
        ecs.calls()
    }

    /// The operation of each call.
    fn ops(calls: &[String]) -> Vec<&str> {
        calls.iter().map(|c| c.split(' ').next().unwrap()).collect()
    }

    #[test]
    fn the_health_check_stops_at_the_first_healthy_task() {
        let calls = health_walk(5_000, 42);
        assert_eq!(
            ops(&calls),
            ["describe-services", "list-tasks", "describe-tasks"]
        );
    }

    #[test]
    fn stopped_tasks_of_the_new_revision_are_reported_once_each() {
        let mut ecs = ScriptedEcs::polls(vec![
            Ok(snapshot(0, 1, true)),
            Ok(snapshot(0, 1, true)),
            Ok(snapshot(0, 2, true)),
            Ok(snapshot(1, 2, false)),
        ]);
        ecs.tasks = vec![
            scripted::stopped("t-1", NEW, "Essential container in task exited", Some(1)),
            scripted::stopped("t-old", OLD, "Scaling activity", Some(0)),
        ];
        ecs.stopped_later = vec![scripted::stopped("t-2", NEW, "", None)];
        let report = Report::captured();
        watch(&ecs, &report, 5_000).new_revision().unwrap();
        let stopped: Vec<String> = report
            .lines()
            .into_iter()
            .filter(|line| line.contains("stopped:"))
            .collect();
        assert_eq!(
            stopped,
            [
                "> task t-1 stopped: Essential container in task exited [app: exit code 1]",
                "> task t-2 stopped: no reason given [app: no exit code]",
            ]
        );
        assert_eq!(report.outcome().stopped_tasks.len(), 2);
        let described_t1 = ecs
            .calls()
            .iter()
            .filter(|call| call.starts_with("describe-tasks") && call.contains("t-1"))
            .count();
        assert_eq!(described_t1, 1, "{:?}", ecs.calls());
    }

    #[test]
    fn events_are_shown_once_and_known_ones_not_at_all() {
        let mut first = snapshot(0, 0, true);
        first.events = vec![
            scripted::event("e0", "before"),
            scripted::event("e1", "started"),
        ];
        let mut second = snapshot(1, 0, false);
        second.events = vec![
            scripted::event("e0", "before"),
            scripted::event("e1", "started"),
            scripted::event("e2", "steady"),
        ];
        let ecs = ScriptedEcs::polls(vec![Ok(first), Ok(second)]);
        let report = Report::captured();
        Watch::new(
            &ecs,
            &report,
            settings(5_000),
            rollout(false),
            ["e0".into()],
        )
        .new_revision()
        .unwrap();
        let events: Vec<String> = report
            .lines()
            .into_iter()
            .filter(|line| line.starts_with("> event:"))
            .collect();
        assert_eq!(events, ["> event: started", "> event: steady"]);
    }

    #[test]
    fn pages_are_walked_one_at_a_time_and_described_in_chunks() {
        let calls = health_walk(250, 120);
        let described: Vec<usize> = calls
            .iter()
            .filter(|c| c.starts_with("describe-tasks"))
            .map(|c| c.split(' ').count() - 1)
            .collect();
        assert_eq!(described, [100, 100]);
    }

    #[test]
    fn each_poll_looks_at_one_page_going_on_where_the_last_one_stopped() {
        let calls = health_walk(300, 250);
        assert_eq!(
            ops(&calls),
            ["describe-services", "list-tasks", "describe-tasks"].repeat(3)
        );
    }

    #[test]
    fn a_permanent_error_while_checking_health_ends_the_wait() {
        let mut ecs = ScriptedEcs::polls(vec![Ok(snapshot(1, 0, false))]);
        ecs.tasks = vec![scripted::task("t1", NEW, "RUNNING", "UNKNOWN")];
        ecs.described
            .lock()
            .unwrap()
            .push_back(Err(crate::aws::CallError::new(
                "describe-tasks",
                254,
                "An error occurred (AccessDeniedException)",
                crate::aws::Failure::Fatal,
            )));
        let report = Report::captured();
        let failure = Watch::new(&ecs, &report, settings(60_000), rollout(true), [])
            .new_revision()
            .unwrap_err();
        assert!(matches!(&failure.stop, Stop::Aws(e) if e.code == 254));
    }

    #[test]
    fn a_timeout_lists_the_stopped_tasks_ecs_did_not_count() {
        let mut ecs = ScriptedEcs::polls(vec![Ok(snapshot(0, 0, true))]);
        ecs.tasks = vec![scripted::stopped(
            "t-9",
            NEW,
            "CannotPullContainerError: pull access denied",
            None,
        )];
        let report = Report::captured();
        let failure = watch(&ecs, &report, 20).new_revision().unwrap_err();
        assert!(matches!(failure.stop, Stop::Timeout));
        assert!(report.lines().contains(
            &"> task t-9 stopped: CannotPullContainerError: pull access denied [app: no exit code]"
                .to_string()
        ));
        assert_eq!(
            ecs.calls()
                .iter()
                .filter(|c| c.as_str() == "list-tasks STOPPED")
                .count(),
            1
        );
    }

    #[test]
    fn an_unknown_desired_count_does_not_skip_phase_one() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(1, 0, false))]);
        let report = Report::captured();
        let mut unknown = rollout(false);
        unknown.desired_count = None;
        Watch::new(&ecs, &report, settings(5_000), unknown, [])
            .new_revision()
            .unwrap();
        assert_eq!(
            report.lines()[1],
            "Service updated successfully, new task definition running."
        );
    }

    #[test]
    fn settle_waits_quietly_for_one_deployment() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, true)), Ok(snapshot(2, 0, false))]);
        let report = Report::captured();
        watch(&ecs, &report, 5_000).settle().unwrap();
        assert!(report.lines().iter().all(|line| line.starts_with("> ")));
    }

    fn blue_green() -> Rollout {
        Rollout {
            service_deployment: Some(
                "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd1".into(),
            ),
            strategy: Strategy::BlueGreen,
            ..rollout(false)
        }
    }

    fn sd(status: ServiceDeploymentStatus, stage: &str) -> Polled<ServiceDeployment> {
        Ok(scripted::service_deployment(status, stage))
    }

    #[test]
    fn blue_green_succeeds_only_when_its_service_deployment_does() {
        use ServiceDeploymentStatus::{InProgress, Successful};
        let ecs = ScriptedEcs::polls(vec![
            Ok(snapshot(2, 0, true)),
            Ok(snapshot(2, 0, true)),
            Ok(snapshot(2, 0, true)),
            Ok(snapshot(2, 0, false)),
        ]);
        ecs.service_deployments.lock().unwrap().extend([
            sd(InProgress, "SCALE_UP"),
            sd(InProgress, "BAKE_TIME"),
            sd(InProgress, "BAKE_TIME"),
            sd(Successful, "CLEAN_UP"),
        ]);
        let report = Report::captured();
        Watch::new(&ecs, &report, settings(5_000), blue_green(), [])
            .new_revision()
            .unwrap();
        let stages: Vec<String> = report
            .lines()
            .into_iter()
            .filter(|line| line.starts_with("> stage:"))
            .collect();
        assert_eq!(
            stages,
            [
                "> stage: SCALE_UP",
                "> stage: BAKE_TIME",
                "> stage: CLEAN_UP"
            ]
        );
        // Two deployments are listed through bake time: only the service deployment's
        // status ends phase 2.
        assert_eq!(ecs.calls().len(), 8);
        assert_eq!(
            report.outcome().lifecycle_stage.as_deref(),
            Some("CLEAN_UP")
        );
    }

    #[test]
    fn a_bake_time_longer_than_the_timeout_names_its_stage() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, true))]);
        ecs.service_deployments.lock().unwrap().extend([
            sd(ServiceDeploymentStatus::InProgress, "SCALE_UP"),
            sd(ServiceDeploymentStatus::InProgress, "BAKE_TIME"),
        ]);
        let report = Report::captured();
        let failure = Watch::new(&ecs, &report, settings(30), blue_green(), [])
            .new_revision()
            .unwrap_err();
        assert!(matches!(failure.stop, Stop::Timeout));
        assert_eq!(
            failure.why,
            "service deployment sd1 was still IN_PROGRESS at stage BAKE_TIME after 0.03 seconds"
        );
    }

    #[test]
    fn an_alarm_rollback_by_ecs_ends_the_wait_at_once_and_names_the_alarm() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, true))]);
        let mut rolled_back =
            scripted::service_deployment(ServiceDeploymentStatus::RollbackInProgress, "BAKE_TIME");
        rolled_back.status_reason = Some("CloudWatch alarm in alarm state".into());
        rolled_back.triggered_alarms = vec!["web-5xx".into()];
        ecs.service_deployments.lock().unwrap().extend([
            sd(ServiceDeploymentStatus::InProgress, "BAKE_TIME"),
            Ok(rolled_back),
        ]);
        let report = Report::captured();
        let failure = Watch::new(&ecs, &report, settings(60_000), blue_green(), [])
            .new_revision()
            .unwrap_err();
        assert_eq!(
            failure.why,
            "service deployment sd1 is ROLLBACK_IN_PROGRESS: CloudWatch alarm in alarm state \
             (alarms: web-5xx); ECS is rolling the service back"
        );
        assert!(failure.service_deployment.is_some());
    }

    #[test]
    fn a_service_deployment_that_cannot_be_read_falls_back_to_the_deployments() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, true)), Ok(snapshot(2, 0, false))]);
        ecs.service_deployments
            .lock()
            .unwrap()
            .push_back(Err(crate::aws::CallError::new(
                "describe-service-deployments",
                254,
                "An error occurred (AccessDeniedException)",
                crate::aws::Failure::Fatal,
            )));
        let report = Report::captured();
        Watch::new(&ecs, &report, settings(5_000), blue_green(), [])
            .new_revision()
            .unwrap();
        let notes: Vec<String> = report
            .lines()
            .into_iter()
            .filter(|line| line.contains("cannot read the service deployment"))
            .collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(
            ecs.calls(),
            [
                "describe-services",
                "describe-service-deployments arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd1",
                "describe-services",
            ]
        );
    }

    #[test]
    fn a_rolling_service_keeps_to_describe_services() {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(2, 0, false))]);
        let report = Report::captured();
        let rolling = Rollout {
            strategy: Strategy::Rolling,
            ..blue_green()
        };
        Watch::new(&ecs, &report, settings(5_000), rolling, [])
            .new_revision()
            .unwrap();
        assert_eq!(ecs.calls(), ["describe-services"]);
    }

    #[test]
    fn a_failed_rolling_rollout_names_the_alarm_from_its_service_deployment() {
        let mut failed = snapshot(1, 0, true);
        failed.deployments[0].rollout_state = Some(RolloutState::Failed);
        failed.deployments[0].rollout_state_reason = Some("alarm".into());
        let ecs = ScriptedEcs::polls(vec![Ok(failed)]);
        let mut by_ecs =
            scripted::service_deployment(ServiceDeploymentStatus::RollbackSuccessful, "CLEAN_UP");
        by_ecs.triggered_alarms = vec!["web-5xx".into()];
        ecs.service_deployments
            .lock()
            .unwrap()
            .push_back(Ok(by_ecs));
        let report = Report::captured();
        let rolling = Rollout {
            strategy: Strategy::Rolling,
            ..blue_green()
        };
        let failure = Watch::new(&ecs, &report, settings(5_000), rolling, [])
            .new_revision()
            .unwrap_err();
        assert_eq!(
            failure.why,
            "service deployment sd1 is ROLLBACK_SUCCESSFUL (alarms: web-5xx); ECS rolled the service back"
        );
        assert!(failure.service_deployment.is_some());
        // The service deployment is read beside the stopped tasks' listing.
        let calls = ecs.calls();
        assert_eq!(calls[0], "describe-services");
        let mut beside = calls[1..3].to_vec();
        beside.sort();
        assert_eq!(
            beside,
            [
                "describe-service-deployments arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd1",
                "list-tasks STOPPED"
            ]
        );
    }
}
