//! Following a CodeDeploy deployment of an ECS service: the poll loop reads the
//! deployment (batch-get-deployments, shared by every CodeDeploy watch of a release), and
//! each look adds one read of its ECS target (lifecycle events, task sets) while the
//! deployment is not over. The tracker decides; this shows, keeps the deadlines and, on
//! a failure, explains it (the failed hook's log tail, the replacement's stopped tasks).

use std::time::Instant;

use super::tracker::{Event, Phase, Step, Tracker};
use super::{CodeDeploy, Deployment, DeploymentStatus, EventStatus, Target, target_id};
use crate::aws::{CallError, Failure as CallFailure};
use crate::cadence::Pace;
use crate::ecs::ServiceRef;
use crate::poll::{PollError, Stop};
use crate::record::Fact;
use crate::report::{
    CodeDeployRecord, LifecycleRecord, Report, Rollback, RollbackOutcome, RolledBackBy, Status,
};
use crate::side::{self, Budget};
use crate::watch::{Answer, Decisive, Failure, Follow, Next, Progress, Settings, Watch, said_why};

/// Unreadable target answers in a row after which the target is no longer read.
const UNREADABLE_IN_A_ROW: u32 = 3;

/// The CodeDeploy deployment a watch follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub service: ServiceRef,
    pub application: String,
    pub group: String,
    pub deployment_id: String,
    /// The revision the deployment puts in place.
    pub task_definition: String,
}

impl Rollout {
    /// The deployment as it stands once it Succeeded.
    pub fn succeeded(&self) -> Deployment {
        Deployment {
            id: self.deployment_id.clone(),
            status: DeploymentStatus::Succeeded,
            error: None,
            rollback: None,
        }
    }

    /// The command that shows the deployment.
    pub fn follow_command(&self) -> String {
        format!(
            "aws deploy get-deployment --deployment-id {}",
            self.deployment_id
        )
    }
}

pub struct DeploymentWatch<'a> {
    codedeploy: &'a dyn CodeDeploy,
    report: &'a Report,
    settings: Settings,
    rollout: Rollout,
    tracker: Tracker,
    target_id: String,
    /// Whether the target's id was already looked up with list-deployment-targets.
    target_listed: bool,
    /// Whether each look reads the target too (until it cannot be read).
    reads_target: bool,
    unreadable_in_a_row: u32,
    last: Option<Deployment>,
    last_target: Option<Target>,
    deadline: Instant,
    /// Reports the replacement's stopped tasks, with their logs, when a failure is explained.
    tasks: Option<Watch<'a>>,
    /// Moving while lifecycle events change.
    pace: Pace,
}

impl<'a> DeploymentWatch<'a> {
    pub fn new(
        codedeploy: &'a dyn CodeDeploy,
        report: &'a Report,
        settings: Settings,
        rollout: Rollout,
    ) -> DeploymentWatch<'a> {
        report.record(|o| {
            let record = o.codedeploy.get_or_insert_with(CodeDeployRecord::default);
            record.application = rollout.application.clone();
            record.deployment_group = rollout.group.clone();
            record.deployment_id = Some(rollout.deployment_id.clone());
        });
        DeploymentWatch {
            codedeploy,
            report,
            settings,
            tracker: Tracker::new(&rollout.deployment_id, settings.skip_deployments_check),
            target_id: target_id(&rollout.service.cluster, &rollout.service.name),
            target_listed: false,
            reads_target: true,
            unreadable_in_a_row: 0,
            last: None,
            last_target: None,
            deadline: Instant::now(),
            tasks: None,
            pace: Pace::Quiet,
            rollout,
        }
    }

    /// The same watch, ending the wait at lifecycle event `event` (`--wait-until`).
    pub fn stopping_at(mut self, event: Option<&str>) -> DeploymentWatch<'a> {
        if let Some(event) = event {
            self.tracker.stop_at(event);
        }
        self
    }

    /// The same watch, telling the replacement's stopped tasks (and their logs, as `tasks`
    /// is set up to read them) when it fails.
    pub fn with_tasks(mut self, tasks: Watch<'a>) -> DeploymentWatch<'a> {
        self.tasks = Some(tasks);
        self
    }

    pub fn rollout(&self) -> &Rollout {
        &self.rollout
    }

    /// The target, read when the deployment is still going (or failed: for its diagnostics).
    fn read_target(&mut self, deployment: &Deployment) -> Result<Option<Target>, CallError> {
        if !self.reads_target || deployment.status == DeploymentStatus::Succeeded {
            return Ok(None);
        }
        let id = &self.rollout.deployment_id;
        let read = match self
            .codedeploy
            .poll_target(id, &self.target_id, self.deadline)
        {
            Err(e) if !self.target_listed && super::is_missing_target(&e) => {
                // CodeDeploy names the target otherwise than expected: ask it once.
                self.target_listed = true;
                let listed = self.codedeploy.list_targets(id, self.deadline)?;
                let Some(first) = listed.into_iter().next() else {
                    return Err(e);
                };
                self.target_id = first;
                self.codedeploy
                    .poll_target(id, &self.target_id, self.deadline)
            }
            other => other,
        };
        match read {
            Ok(target) => {
                self.unreadable_in_a_row = 0;
                Ok(Some(target))
            }
            Err(e) => {
                let for_good = matches!(PollError::from(e.clone()), PollError::Stop(Stop::Aws(_)));
                self.unreadable_in_a_row += 1;
                if for_good || self.unreadable_in_a_row >= UNREADABLE_IN_A_ROW {
                    self.reads_target = false;
                    self.report.progress(format!(
                        "note: cannot read the deployment's ECS target ({}); following the deployment's status alone",
                        e.message
                    ));
                    return Ok(None);
                }
                Err(e)
            }
        }
    }

    fn show(&mut self, step: &Step) {
        let report = self.report;
        let id = &self.rollout.deployment_id;
        for event in &step.events {
            match event {
                Event::Status(status) => {
                    report.progress(format!("CodeDeploy deployment {id}: {}", status.as_str()));
                }
                Event::Lifecycle { name, status } => {
                    report.progress(format!("lifecycle: {name} {}", status.as_str()));
                }
                Event::Replacement {
                    id,
                    desired,
                    running,
                } => report.progress(format!(
                    "replacement task set {id}: {desired} desired, {running} running"
                )),
                Event::WaitingForReroute => report.progress(format!(
                    "CodeDeploy deployment {id} is Ready: production traffic moves once it is continued, with: \
                     aws deploy continue-deployment --deployment-id {id} --deployment-wait-type READY_WAIT"
                )),
                Event::TrafficShifted => report.fact(Fact::NewTaskRunning),
                Event::WaitingToFinish => report.fact(Fact::WaitingForSingleDeployment),
                Event::Done => report.fact(Fact::DeploymentDone),
                Event::StoppedAt(event) => report.progress(format!(
                    "stopped waiting at lifecycle event {event} (--wait-until); the deployment goes on. \
                     Follow it with: ecs-deploy -c {} -n {} --wait-only",
                    self.rollout.service.cluster, self.rollout.service.name
                )),
            }
        }
        let status = self.tracker.status().map(|s| s.as_str().to_string());
        let events: Vec<LifecycleRecord> = self
            .tracker
            .lifecycle()
            .iter()
            .map(|(name, status)| LifecycleRecord {
                name: name.clone(),
                status: status.as_str().to_string(),
            })
            .collect();
        report.record(|o| {
            let record = o.codedeploy.get_or_insert_with(CodeDeployRecord::default);
            record.status = status;
            record.lifecycle_events = events;
        });
    }

    /// The last lines the failed lifecycle event's hook left, under its name.
    fn show_log_tail(&self) {
        let Some(target) = &self.last_target else {
            return;
        };
        for event in target
            .events
            .iter()
            .filter(|e| e.status == EventStatus::Failed)
        {
            let tail = event
                .diagnostics
                .as_ref()
                .and_then(|d| d.log_tail.as_deref());
            for line in tail
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                self.report.progress(format!("    {} | {line}", event.name));
            }
        }
    }
}

impl<'a> Follow<'a> for DeploymentWatch<'a> {
    fn report(&self) -> &'a Report {
        self.report
    }

    fn side(&self) -> Budget {
        self.settings.side
    }

    fn decisive(&self) -> Decisive {
        Decisive::Deployment(self.rollout.deployment_id.clone())
    }

    fn start(&mut self) -> Progress {
        let step = self.tracker.start();
        if step.entered.is_some() {
            self.deadline = Instant::now() + self.settings.timing.timeout;
        }
        Progress::Waiting
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn pace(&self) -> Pace {
        self.pace
    }

    fn advance(&mut self, answer: Answer) -> Result<Progress, PollError> {
        let Answer::Deployment(deployment) = answer else {
            return Err(PollError::Retry(CallError::new(
                "batch-get-deployments",
                255,
                "a service's snapshot answered a CodeDeploy deployment's read",
                CallFailure::Unreadable,
            )));
        };
        // A target that cannot be read this time leaves the deployment's status to decide
        // what it can; the poll counts as failed all the same.
        let (target, unread) = match self.read_target(&deployment) {
            Ok(target) => (target, None),
            Err(e) => match PollError::from(e) {
                PollError::Retry(e) => (None, Some(e)),
                other => return Err(other),
            },
        };
        let step = self.tracker.observe(&deployment, target.as_ref());
        if target.is_some() {
            self.last_target = target;
        }
        self.last = Some(deployment);
        self.pace = match step.events.is_empty() {
            true => Pace::Quiet,
            false => Pace::Moving,
        };
        self.show(&step);
        if step.entered == Some(Phase::Finish) {
            self.deadline = Instant::now() + self.settings.timing.timeout;
        }
        match step.next {
            Next::Failed(why) => Err(PollError::Stop(Stop::Failed(why))),
            Next::Done => Ok(Progress::Done),
            Next::Waiting | Next::CheckHealth => match unread {
                Some(e) => Err(PollError::Retry(e)),
                None => Ok(Progress::Waiting),
            },
        }
    }

    fn did_side_work(&self) -> bool {
        false
    }

    fn side_work(&mut self) -> Vec<(side::Work<'a>, Vec<String>)> {
        Vec::new()
    }

    fn fail(&mut self, stop: Stop) -> Failure {
        if matches!(stop, Stop::Timeout | Stop::Failed(_)) {
            self.show_log_tail();
            if let Some(tasks) = self.tasks.as_mut() {
                tasks.explain_stopped_tasks();
            }
        }
        let seconds = self.settings.timing.timeout.as_secs_f64();
        let id = &self.rollout.deployment_id;
        let still = || {
            let status = self.tracker.status().map_or("Created", |s| s.as_str());
            let at = self
                .tracker
                .current_event()
                .map_or_else(String::new, |event| format!(" at {event}"));
            format!("CodeDeploy deployment {id} was still {status}{at} after {seconds} seconds")
        };
        let (why, status) = match (&stop, self.tracker.phase()) {
            (Stop::Timeout, Phase::TrafficShift) => {
                self.report.fact(Fact::NotRunningWithin(seconds));
                (still(), Status::TimedOut)
            }
            (Stop::Timeout, Phase::Finish) => {
                let why = still();
                self.report.progress(format!("ERROR: {why}"));
                (why, Status::TimedOut)
            }
            (stop, _) => (said_why(self.report, stop), Status::Failed),
        };
        self.report.fail(status, why.clone());
        if self
            .last
            .as_ref()
            .and_then(Deployment::rolled_back_by)
            .is_some()
        {
            let by = RolledBackBy::CodeDeploy;
            let outcome = RollbackOutcome::InProgress;
            self.report
                .record(|o| o.rolled_back(Rollback { by, outcome }));
        }
        Failure {
            stop,
            why,
            last: None,
            service_deployment: None,
            codedeploy: self.last.take().map(Box::new),
        }
    }
}
