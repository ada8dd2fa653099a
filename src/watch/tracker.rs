//! The pure tracker of a rollout: decisive reads in (the service's snapshot and, where it
//! is followed, its service deployment), events and the next step out. No I/O, no clock,
//! no printing: the watch makes the reads, keeps the deadlines and shows the events.

use std::collections::HashSet;

use super::{Goal, Rollout};
use crate::ecs::{
    Hook, HookStatus, LIFECYCLE_STAGES, RolloutState, ServiceDeployment, ServiceDeploymentStatus,
    Snapshot,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NewTaskRunning,
    SingleDeployment,
}

/// What one snapshot says of a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Reached,
    NotYet,
    /// A task runs; whether one is HEALTHY needs a look at the tasks.
    CheckHealth,
    Failed(String),
}

/// The service deployment as one poll saw it.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// Not followed: the service's deployments alone decide.
    NotFollowed,
    Read(&'a ServiceDeployment),
    /// Followed, but this poll could not read it: it decides nothing this time.
    Unread,
}

/// What happened, for the watch to show (or act on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Desired count 0: no task of the new revision is waited for.
    NewTaskCheckSkipped,
    /// Phase 1 reached: a task of the new revision runs (is healthy, where checked).
    NewTaskRunning,
    /// Phase 2 begins.
    WaitingForSingleDeployment,
    /// Phase 2 reached.
    DeploymentDone,
    /// An event of the service not seen before.
    ServiceEvent(String),
    /// Our deployment's counts changed.
    Counts {
        deployment: String,
        desired: i64,
        pending: i64,
        running: i64,
    },
    /// The service deployment entered a lifecycle stage.
    Stage(String),
    /// ECS counted more failed tasks of our deployment: worth a look at the stopped ones.
    TasksFailed,
    /// A lifecycle hook's status changed (at the stage the deployment was in).
    Hook { hook: Hook, stage: Option<String> },
    /// A PAUSE hook holds the deployment, waiting for someone to continue or roll back.
    Paused { hook: Hook, stage: Option<String> },
    /// `--wait-until` was reached: the wait ends here, the deployment goes on.
    StoppedAt(StopAt),
}

/// Where `--wait-until` ends the wait: at a lifecycle stage, or at a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopAt {
    Stage(String),
    Paused,
}

impl StopAt {
    /// Whether the service deployment as seen has come this far.
    fn reached(&self, sd: &ServiceDeployment) -> bool {
        match self {
            StopAt::Paused => sd.awaiting().is_some(),
            StopAt::Stage(stage) => {
                let at = |name: &str| LIFECYCLE_STAGES.iter().position(|s| *s == name);
                let current = sd.lifecycle_stage.as_deref().and_then(at);
                sd.status == ServiceDeploymentStatus::Successful
                    || matches!((current, at(stage)), (Some(now), Some(wanted)) if now >= wanted)
            }
        }
    }
}

/// Where the rollout stands after a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Waiting,
    /// Phase 1 needs a look at the tasks' health before it can be called reached.
    CheckHealth,
    Done,
    Failed(String),
}

/// The events of one look, and what comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub events: Vec<Event>,
    pub next: Next,
    /// The phase entered during this look, if any: it has a deadline of its own.
    pub entered: Option<Phase>,
}

/// Why a service deployment that ECS gave up failed, and what ECS did about it.
pub fn given_up(service_deployment: &ServiceDeployment) -> String {
    let id = service_deployment
        .arn
        .rsplit('/')
        .next()
        .unwrap_or(&service_deployment.arn);
    let mut why = format!(
        "service deployment {id} is {}",
        service_deployment.status.as_str()
    );
    if let Some(reason) = &service_deployment.status_reason {
        why.push_str(&format!(": {reason}"));
    }
    for hook in service_deployment
        .hooks
        .iter()
        .filter(|h| h.status.is_failure())
    {
        why.push_str(&format!(
            " (hook {} ({}) {})",
            hook.id,
            hook.what(),
            hook.status.as_str()
        ));
    }
    if !service_deployment.triggered_alarms.is_empty() {
        why.push_str(&format!(
            " (alarms: {})",
            service_deployment.triggered_alarms.join(", ")
        ));
    }
    why.push_str(match service_deployment.status {
        ServiceDeploymentStatus::RollbackSuccessful => "; ECS rolled the service back",
        ServiceDeploymentStatus::RollbackFailed => "; ECS's own rollback failed",
        ServiceDeploymentStatus::RollbackRequested
        | ServiceDeploymentStatus::RollbackInProgress => "; ECS is rolling the service back",
        _ => "; ECS stopped it",
    });
    why
}

/// The decision on one phase, from one snapshot and the service deployment as seen.
pub fn verdict(rollout: &Rollout, phase: Phase, snapshot: &Snapshot, seen: Seen) -> Verdict {
    if let Seen::Read(sd) = seen
        && sd.status.is_given_up()
    {
        return Verdict::Failed(given_up(sd));
    }
    let Some(ours) = rollout.ours(snapshot) else {
        let id = rollout
            .deployment_id
            .as_deref()
            .unwrap_or("of the new revision");
        return Verdict::Failed(format!(
            "deployment {id} is gone from the service; ECS replaced it"
        ));
    };
    if ours.rollout_state == Some(RolloutState::Failed) {
        let reason = ours
            .rollout_state_reason
            .as_deref()
            .unwrap_or("no reason given");
        return Verdict::Failed(format!("deployment {} failed: {reason}", ours.id));
    }
    match phase {
        Phase::NewTaskRunning if ours.running_count < 1 => Verdict::NotYet,
        Phase::NewTaskRunning if rollout.health_checked => Verdict::CheckHealth,
        Phase::NewTaskRunning => Verdict::Reached,
        Phase::SingleDeployment => match seen {
            Seen::Read(sd) if sd.status == ServiceDeploymentStatus::Successful => Verdict::Reached,
            Seen::Read(_) | Seen::Unread => Verdict::NotYet,
            Seen::NotFollowed if snapshot.deployments.len() == 1 => Verdict::Reached,
            Seen::NotFollowed => Verdict::NotYet,
        },
    }
}

/// The state of one rollout's watch, apart from time and I/O.
#[derive(Debug, Clone)]
pub struct Tracker {
    rollout: Rollout,
    goal: Goal,
    skip_deployments_check: bool,
    phase: Phase,
    seen_events: HashSet<String>,
    counts: Option<(i64, i64, i64)>,
    failed_tasks: i64,
    stage: Option<String>,
    /// Each hook's status as last seen.
    hooks: Vec<(String, HookStatus)>,
    /// Where `--wait-until` ends the wait, if it was given.
    stop_at: Option<StopAt>,
}

impl Tracker {
    /// `seen_events`: ids of the events that are no news (those from before).
    pub fn new(
        rollout: Rollout,
        goal: Goal,
        skip_deployments_check: bool,
        seen_events: impl IntoIterator<Item = String>,
    ) -> Tracker {
        Tracker {
            rollout,
            goal,
            skip_deployments_check,
            phase: Phase::NewTaskRunning,
            seen_events: seen_events.into_iter().collect(),
            counts: None,
            failed_tasks: 0,
            stage: None,
            hooks: Vec::new(),
            stop_at: None,
        }
    }

    /// End the wait at `stop_at` (`--wait-until`), before the deployment's end.
    pub fn stop_at(&mut self, stop_at: StopAt) {
        self.stop_at = Some(stop_at);
    }

    pub fn rollout(&self) -> &Rollout {
        &self.rollout
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn goal(&self) -> Goal {
        self.goal
    }

    /// Follow `goal` (before the start).
    pub fn follow(&mut self, goal: Goal) {
        self.goal = goal;
    }

    /// The lifecycle stage last seen.
    pub fn stage(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// The first phase; done at once when no phase applies.
    pub fn start(&mut self) -> Step {
        let mut events = Vec::new();
        let next = match self.goal {
            Goal::NewRevision if self.rollout.desired_count.is_some_and(|count| count <= 0) => {
                events.push(Event::NewTaskCheckSkipped);
                self.enter_single_deployment(&mut events)
            }
            Goal::NewRevision => self.enter(Phase::NewTaskRunning),
            Goal::Redeploy => self.enter_single_deployment(&mut events),
            Goal::Settle => self.enter(Phase::SingleDeployment),
        };
        Step {
            events,
            entered: (next == Next::Waiting).then_some(self.phase),
            next,
        }
    }

    fn enter(&mut self, phase: Phase) -> Next {
        self.phase = phase;
        Next::Waiting
    }

    fn enter_single_deployment(&mut self, events: &mut Vec<Event>) -> Next {
        if self.skip_deployments_check {
            return Next::Done;
        }
        events.push(Event::WaitingForSingleDeployment);
        self.enter(Phase::SingleDeployment)
    }

    /// One look: what is new, and where the rollout stands.
    pub fn observe(&mut self, snapshot: &Snapshot, seen: Seen) -> Step {
        let mut events = Vec::new();
        for event in &snapshot.events {
            if self.seen_events.insert(event.id.clone()) {
                events.push(Event::ServiceEvent(event.message.clone()));
            }
        }
        if let Some(ours) = self.rollout.ours(snapshot) {
            let counts = (ours.desired_count, ours.pending_count, ours.running_count);
            if self.counts != Some(counts) {
                self.counts = Some(counts);
                events.push(Event::Counts {
                    deployment: ours.id.clone(),
                    desired: ours.desired_count,
                    pending: ours.pending_count,
                    running: ours.running_count,
                });
            }
            if ours.failed_tasks > self.failed_tasks {
                self.failed_tasks = ours.failed_tasks;
                events.push(Event::TasksFailed);
            }
        }
        if let Seen::Read(sd) = seen
            && let Some(stage) = &sd.lifecycle_stage
            && self.stage.as_ref() != Some(stage)
        {
            self.stage = Some(stage.clone());
            events.push(Event::Stage(stage.clone()));
        }
        if let Seen::Read(sd) = seen {
            self.see_hooks(sd, &mut events);
            if let Some(stop_at) = self.stop_at.as_ref().filter(|s| s.reached(sd))
                && !sd.status.is_given_up()
            {
                events.push(Event::StoppedAt(stop_at.clone()));
                return Step {
                    events,
                    next: Next::Done,
                    entered: None,
                };
            }
        }
        self.judge(snapshot, seen, events, false)
    }

    /// A line for each hook whose status changed; a pause announced once.
    fn see_hooks(&mut self, sd: &ServiceDeployment, events: &mut Vec<Event>) {
        for hook in &sd.hooks {
            let known = self.hooks.iter_mut().find(|(id, _)| *id == hook.id);
            let changed = match known {
                Some((_, status)) if *status == hook.status => false,
                Some((_, status)) => {
                    *status = hook.status;
                    true
                }
                None => {
                    self.hooks.push((hook.id.clone(), hook.status));
                    true
                }
            };
            if !changed {
                continue;
            }
            let stage = sd.lifecycle_stage.clone();
            events.push(Event::Hook {
                hook: hook.clone(),
                stage: stage.clone(),
            });
            if hook.status == HookStatus::AwaitingAction {
                events.push(Event::Paused {
                    hook: hook.clone(),
                    stage,
                });
            }
        }
    }

    /// The hook holding the deployment, as last seen, if one is.
    pub fn paused_by(&self) -> Option<&str> {
        self.hooks
            .iter()
            .find(|(_, status)| *status == HookStatus::AwaitingAction)
            .map(|(id, _)| id.as_str())
    }

    /// The look at the tasks that `Next::CheckHealth` asked for found a healthy one.
    pub fn healthy(&mut self, snapshot: &Snapshot, seen: Seen) -> Step {
        self.judge(snapshot, seen, Vec::new(), true)
    }

    /// A phase reached hands the same snapshot to the next phase as its first look.
    fn judge(
        &mut self,
        snapshot: &Snapshot,
        seen: Seen,
        mut events: Vec<Event>,
        mut healthy: bool,
    ) -> Step {
        let mut entered = None;
        let next = loop {
            let reached = match verdict(&self.rollout, self.phase, snapshot, seen) {
                Verdict::Reached => true,
                Verdict::CheckHealth if healthy => true,
                Verdict::CheckHealth => break Next::CheckHealth,
                Verdict::NotYet => break Next::Waiting,
                Verdict::Failed(why) => break Next::Failed(why),
            };
            healthy = false;
            debug_assert!(reached);
            match (self.phase, self.goal) {
                (Phase::NewTaskRunning, _) => {
                    events.push(Event::NewTaskRunning);
                    match self.enter_single_deployment(&mut events) {
                        Next::Done => break Next::Done,
                        _ => entered = Some(Phase::SingleDeployment),
                    }
                }
                (Phase::SingleDeployment, Goal::Settle) => break Next::Done,
                (Phase::SingleDeployment, _) => {
                    events.push(Event::DeploymentDone);
                    break Next::Done;
                }
            }
        };
        Step {
            events,
            next,
            entered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::scripted;
    use crate::ecs::{ServiceRef, Strategy};

    const NEW: &str = "td/web:2";
    const OURS: &str = "ecs-svc/new";

    fn rollout(health_checked: bool, strategy: Strategy) -> Rollout {
        Rollout {
            service: ServiceRef {
                cluster: "prod".into(),
                name: "web".into(),
            },
            deployment_id: Some(OURS.into()),
            task_definition: NEW.into(),
            health_checked,
            desired_count: Some(2),
            service_deployment: strategy
                .is_managed()
                .then(|| "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd1".into()),
            strategy,
        }
    }

    /// Our deployment with `running` tasks (`failed` failed), with the old one unless `alone`.
    fn snap(running: i64, failed: i64, alone: bool) -> Snapshot {
        let mut deployments = vec![scripted::deployment(OURS, "PRIMARY", NEW, running, failed)];
        if !alone {
            deployments.push(scripted::deployment(
                "ecs-svc/old",
                "ACTIVE",
                "td/web:1",
                2,
                0,
            ));
        }
        Snapshot {
            deployments,
            events: vec![],
            circuit_breaker: false,
        }
    }

    fn broken() -> Snapshot {
        let mut s = snap(0, 2, false);
        s.deployments[0].rollout_state = Some(RolloutState::Failed);
        s.deployments[0].rollout_state_reason = Some("circuit breaker".into());
        s
    }

    fn gone() -> Snapshot {
        let mut s = snap(0, 0, false);
        s.deployments.remove(0);
        s
    }

    /// How a service deployment was seen in one poll of a table row.
    #[derive(Clone, Copy)]
    enum Sd {
        No,
        Unread,
        Is(ServiceDeploymentStatus, &'static str),
    }

    /// A row of the table: its name, the rollout, the looks and the verdicts wanted.
    type Row = (
        &'static str,
        Rollout,
        Vec<(Snapshot, Sd)>,
        Vec<&'static str>,
    );

    /// Feed the looks to a fresh tracker; the `next` of each look, in short.
    fn run(rollout: Rollout, looks: &[(Snapshot, Sd)]) -> Vec<String> {
        let mut tracker = Tracker::new(rollout, Goal::NewRevision, false, []);
        assert_eq!(tracker.start().next, Next::Waiting);
        let mut out = Vec::new();
        for (snapshot, sd) in looks {
            let read;
            let seen = match sd {
                Sd::No => Seen::NotFollowed,
                Sd::Unread => Seen::Unread,
                Sd::Is(status, stage) => {
                    read = scripted::service_deployment(*status, stage);
                    Seen::Read(&read)
                }
            };
            let mut step = tracker.observe(snapshot, seen);
            if step.next == Next::CheckHealth {
                out.push("check-health".to_string());
                step = tracker.healthy(snapshot, seen);
            }
            out.push(match step.next {
                Next::Waiting => format!("waiting in {:?}", tracker.phase()),
                Next::Done => "done".into(),
                Next::Failed(why) => format!("failed: {why}"),
                Next::CheckHealth => unreachable!(),
            });
        }
        out
    }

    #[test]
    fn sequences_of_looks_to_verdicts() {
        use ServiceDeploymentStatus::*;
        use Strategy::{BlueGreen, Rolling};
        let table: Vec<Row> = vec![
            (
                "a rolling update comes up",
                rollout(false, Rolling),
                vec![
                    (snap(0, 0, false), Sd::No),
                    (snap(1, 0, false), Sd::No),
                    (snap(2, 0, true), Sd::No),
                ],
                vec![
                    "waiting in NewTaskRunning",
                    "waiting in SingleDeployment",
                    "done",
                ],
            ),
            (
                "one look may pass both phases",
                rollout(false, Rolling),
                vec![(snap(2, 0, true), Sd::No)],
                vec!["done"],
            ),
            (
                "a health check is asked for before phase 1 is reached",
                rollout(true, Rolling),
                vec![(snap(1, 0, false), Sd::No)],
                vec!["check-health", "waiting in SingleDeployment"],
            ),
            (
                "the circuit breaker ends it in either phase",
                rollout(false, Rolling),
                vec![(snap(1, 0, false), Sd::No), (broken(), Sd::No)],
                vec![
                    "waiting in SingleDeployment",
                    "failed: deployment ecs-svc/new failed: circuit breaker",
                ],
            ),
            (
                "our deployment replaced by ECS",
                rollout(false, Rolling),
                vec![(gone(), Sd::No)],
                vec!["failed: deployment ecs-svc/new is gone from the service; ECS replaced it"],
            ),
            (
                "blue/green waits for its service deployment through bake time",
                rollout(false, BlueGreen),
                vec![
                    (snap(2, 0, false), Sd::Is(InProgress, "SCALE_UP")),
                    (snap(2, 0, true), Sd::Is(InProgress, "BAKE_TIME")),
                    (snap(2, 0, true), Sd::Is(Successful, "CLEAN_UP")),
                ],
                vec![
                    "waiting in SingleDeployment",
                    "waiting in SingleDeployment",
                    "done",
                ],
            ),
            (
                "an unreadable service deployment still lets phase 1 be reached",
                rollout(false, BlueGreen),
                vec![
                    (snap(1, 0, false), Sd::Unread),
                    (snap(2, 0, true), Sd::Unread),
                    (snap(2, 0, true), Sd::Is(Successful, "CLEAN_UP")),
                ],
                vec![
                    "waiting in SingleDeployment",
                    "waiting in SingleDeployment",
                    "done",
                ],
            ),
            (
                "an unreadable service deployment does not hide a failed rollout",
                rollout(false, BlueGreen),
                vec![(broken(), Sd::Unread)],
                vec!["failed: deployment ecs-svc/new failed: circuit breaker"],
            ),
            (
                "ECS's rollback ends it at once",
                rollout(false, BlueGreen),
                vec![(snap(2, 0, false), Sd::Is(RollbackInProgress, "BAKE_TIME"))],
                vec![
                    "failed: service deployment sd1 is ROLLBACK_IN_PROGRESS; ECS is rolling the service back",
                ],
            ),
        ];
        for (name, rollout, looks, wanted) in table {
            assert_eq!(run(rollout, &looks), wanted, "{name}");
        }
    }

    #[test]
    fn events_are_new_ones_only() {
        let mut tracker = Tracker::new(
            rollout(false, Strategy::BlueGreen),
            Goal::NewRevision,
            false,
            ["e0".to_string()],
        );
        tracker.start();
        let mut first = snap(0, 1, false);
        first.events = vec![scripted::event("e0", "old"), scripted::event("e1", "new")];
        let sd = scripted::service_deployment(ServiceDeploymentStatus::InProgress, "SCALE_UP");
        let step = tracker.observe(&first, Seen::Read(&sd));
        assert_eq!(
            step.events,
            [
                Event::ServiceEvent("new".into()),
                Event::Counts {
                    deployment: OURS.into(),
                    desired: 2,
                    pending: 2,
                    running: 0
                },
                Event::TasksFailed,
                Event::Stage("SCALE_UP".into()),
            ]
        );
        assert_eq!(tracker.observe(&first, Seen::Read(&sd)).events, []);
        assert_eq!(tracker.stage(), Some("SCALE_UP"));
    }

    #[test]
    fn the_start_follows_the_goal() {
        let mut zero = rollout(false, Strategy::Rolling);
        zero.desired_count = Some(0);
        let start = Tracker::new(zero.clone(), Goal::NewRevision, false, []).start();
        assert_eq!(
            start.events,
            [
                Event::NewTaskCheckSkipped,
                Event::WaitingForSingleDeployment
            ]
        );
        assert_eq!(start.entered, Some(Phase::SingleDeployment));
        let skipped = Tracker::new(zero, Goal::NewRevision, true, []).start();
        assert_eq!(skipped.next, Next::Done);
        let settle =
            Tracker::new(rollout(false, Strategy::Rolling), Goal::Settle, false, []).start();
        assert_eq!(
            (settle.events.len(), settle.entered),
            (0, Some(Phase::SingleDeployment))
        );
    }

    fn hooked(stage: &str, hooks: &[(&str, &str, HookStatus)]) -> ServiceDeployment {
        let mut sd = scripted::service_deployment(ServiceDeploymentStatus::InProgress, stage);
        sd.hooks = hooks
            .iter()
            .map(|(id, kind, status)| Hook {
                id: id.to_string(),
                target_type: kind.to_string(),
                target_arn: None,
                status: *status,
                expires_at: None,
                timeout_action: None,
            })
            .collect();
        sd
    }

    fn hook_events(step: &Step) -> Vec<String> {
        step.events
            .iter()
            .filter_map(|e| match e {
                Event::Hook { hook, stage } => {
                    Some(format!("{} {} {:?}", hook.id, hook.status.as_str(), stage))
                }
                Event::Paused { hook, .. } => Some(format!("paused by {}", hook.id)),
                Event::StoppedAt(at) => Some(format!("stopped at {at:?}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_hook_change_is_one_event_and_a_pause_is_announced_once() {
        let mut tracker = Tracker::new(
            rollout(false, Strategy::BlueGreen),
            Goal::NewRevision,
            false,
            [],
        );
        tracker.start();
        let s = snap(2, 0, false);
        let lambda = hooked(
            "POST_SCALE_UP",
            &[("h1", "AWS_LAMBDA", HookStatus::InProgress)],
        );
        assert_eq!(
            hook_events(&tracker.observe(&s, Seen::Read(&lambda))),
            ["h1 IN_PROGRESS Some(\"POST_SCALE_UP\")"]
        );
        assert!(hook_events(&tracker.observe(&s, Seen::Read(&lambda))).is_empty());
        let paused = hooked(
            "POST_TEST_TRAFFIC_SHIFT",
            &[
                ("h1", "AWS_LAMBDA", HookStatus::Succeeded),
                ("p1", "PAUSE", HookStatus::AwaitingAction),
            ],
        );
        assert_eq!(
            hook_events(&tracker.observe(&s, Seen::Read(&paused))),
            [
                "h1 SUCCEEDED Some(\"POST_TEST_TRAFFIC_SHIFT\")",
                "p1 AWAITING_ACTION Some(\"POST_TEST_TRAFFIC_SHIFT\")",
                "paused by p1",
            ]
        );
        assert_eq!(tracker.paused_by(), Some("p1"));
        assert!(hook_events(&tracker.observe(&s, Seen::Read(&paused))).is_empty());
    }

    #[test]
    fn wait_until_ends_at_the_stage_or_a_later_one_or_at_a_pause() {
        let s = snap(2, 0, false);
        let mut tracker = Tracker::new(
            rollout(false, Strategy::BlueGreen),
            Goal::NewRevision,
            false,
            [],
        );
        tracker.stop_at(StopAt::Stage("TEST_TRAFFIC_SHIFT".into()));
        tracker.start();
        assert_eq!(
            tracker
                .observe(&s, Seen::Read(&hooked("SCALE_UP", &[])))
                .next,
            Next::Waiting
        );
        // A look may miss the stage itself: a later one ends the wait too.
        let step = tracker.observe(&s, Seen::Read(&hooked("PRODUCTION_TRAFFIC_SHIFT", &[])));
        assert_eq!(step.next, Next::Done);
        assert_eq!(
            hook_events(&step),
            ["stopped at Stage(\"TEST_TRAFFIC_SHIFT\")"]
        );

        let mut tracker = Tracker::new(
            rollout(false, Strategy::BlueGreen),
            Goal::NewRevision,
            false,
            [],
        );
        tracker.stop_at(StopAt::Paused);
        tracker.start();
        assert_eq!(
            tracker
                .observe(&s, Seen::Read(&hooked("BAKE_TIME", &[])))
                .next,
            Next::Waiting
        );
        let paused = hooked("BAKE_TIME", &[("p1", "PAUSE", HookStatus::AwaitingAction)]);
        assert_eq!(tracker.observe(&s, Seen::Read(&paused)).next, Next::Done);
    }

    #[test]
    fn a_failed_hook_is_named_in_the_reason() {
        let mut sd = hooked(
            "POST_TEST_TRAFFIC_SHIFT",
            &[("h1", "AWS_LAMBDA", HookStatus::TimedOut)],
        );
        sd.status = ServiceDeploymentStatus::RollbackInProgress;
        assert_eq!(
            given_up(&sd),
            "service deployment sd1 is ROLLBACK_IN_PROGRESS (hook h1 (AWS_LAMBDA) TIMED_OUT); ECS is rolling the service back"
        );
    }
}
