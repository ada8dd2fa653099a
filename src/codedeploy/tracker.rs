//! What the reads of a CodeDeploy deployment mean, apart from time and I/O: the
//! deployment (its status) and its ECS target (lifecycle events, task sets) go in; the
//! events to show and the next step come out. Phase 1 ends when production traffic is on
//! the replacement task set (AllowTraffic succeeded), phase 2 when the deployment
//! Succeeded; Failed or Stopped ends the wait at once.

use super::{Deployment, DeploymentStatus, EventStatus, LIFECYCLE_EVENTS, LifecycleEvent, Target};
use crate::watch::Next;

/// The phases of a CodeDeploy deployment's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Until production traffic is on the replacement task set.
    TrafficShift,
    /// Until the deployment Succeeded (the original task set is gone).
    Finish,
}

/// Something to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Status(DeploymentStatus),
    Lifecycle {
        name: String,
        status: EventStatus,
    },
    /// The replacement task set's counts changed.
    Replacement {
        id: String,
        desired: i64,
        running: i64,
    },
    /// The deployment waits for traffic to be rerouted by hand (status Ready).
    WaitingForReroute,
    /// Production traffic is on the replacement task set: phase 1 is over.
    TrafficShifted,
    /// Phase 2 begins: until the deployment Succeeded.
    WaitingToFinish,
    Done,
    /// `--wait-until` reached this lifecycle event: the wait ends, the deployment goes on.
    StoppedAt(String),
}

/// One step of the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub events: Vec<Event>,
    pub next: Next,
    /// The phase this step entered, whose deadline starts now.
    pub entered: Option<Phase>,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    deployment_id: String,
    /// Stop after phase 1 (`--skip-deployments-check`).
    traffic_only: bool,
    phase: Phase,
    status: Option<DeploymentStatus>,
    events: Vec<(String, EventStatus)>,
    replacement: Option<(String, i64, i64)>,
    reroute_said: bool,
    /// The lifecycle event at which `--wait-until` ends the wait.
    stop_at: Option<String>,
}

impl Tracker {
    pub fn new(deployment_id: &str, traffic_only: bool) -> Tracker {
        Tracker {
            deployment_id: deployment_id.to_string(),
            traffic_only,
            phase: Phase::TrafficShift,
            status: None,
            events: Vec::new(),
            replacement: None,
            reroute_said: false,
            stop_at: None,
        }
    }

    /// End the wait once the deployment has reached lifecycle event `event`.
    pub fn stop_at(&mut self, event: &str) {
        self.stop_at = Some(event.to_string());
    }

    /// Whether `--wait-until`'s event was reached: started or done, or a later one is.
    fn stop_reached(&self) -> Option<String> {
        let wanted = self.stop_at.as_ref()?;
        let reached = self.events.iter().any(|(name, status)| {
            order(name) >= order(wanted)
                && matches!(status, EventStatus::InProgress | EventStatus::Succeeded)
        });
        reached.then(|| wanted.clone())
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The last status seen, if any.
    pub fn status(&self) -> Option<DeploymentStatus> {
        self.status
    }

    /// The lifecycle events as last seen, in their order.
    pub fn lifecycle(&self) -> &[(String, EventStatus)] {
        &self.events
    }

    /// The lifecycle event under way (or the last one reached), for a timeout's reason.
    pub fn current_event(&self) -> Option<&str> {
        let busy = self
            .events
            .iter()
            .find(|(_, status)| *status == EventStatus::InProgress);
        let reached = || {
            self.events
                .iter()
                .rev()
                .find(|(_, status)| *status != EventStatus::Pending)
        };
        busy.or_else(reached).map(|(name, _)| name.as_str())
    }

    pub fn start(&mut self) -> Step {
        Step {
            events: Vec::new(),
            next: Next::Waiting,
            entered: Some(Phase::TrafficShift),
        }
    }

    /// A look at the deployment, and at its target when it could be read.
    pub fn observe(&mut self, deployment: &Deployment, target: Option<&Target>) -> Step {
        let mut events = Vec::new();
        if self.status != Some(deployment.status) {
            self.status = Some(deployment.status);
            events.push(Event::Status(deployment.status));
        }
        if let Some(target) = target {
            self.see_target(target, &mut events);
        }
        let mut entered = None;
        let next = match deployment.status {
            DeploymentStatus::Failed | DeploymentStatus::Stopped => {
                Next::Failed(failed(deployment, target))
            }
            status if status != DeploymentStatus::Succeeded && self.stop_reached().is_some() => {
                events.extend(self.stop_reached().map(Event::StoppedAt));
                Next::Done
            }
            status => {
                if status == DeploymentStatus::Ready && !self.reroute_said {
                    self.reroute_said = true;
                    events.push(Event::WaitingForReroute);
                }
                let shifted = status == DeploymentStatus::Succeeded
                    || target
                        .and_then(|t| t.event("AllowTraffic"))
                        .is_some_and(|e| e.status == EventStatus::Succeeded);
                if self.phase == Phase::TrafficShift && shifted {
                    events.push(Event::TrafficShifted);
                    if !self.traffic_only {
                        self.phase = Phase::Finish;
                        entered = Some(Phase::Finish);
                        events.push(Event::WaitingToFinish);
                    }
                }
                match (self.phase, status) {
                    (Phase::TrafficShift, _) if self.traffic_only && shifted => Next::Done,
                    (Phase::Finish, DeploymentStatus::Succeeded) => {
                        events.push(Event::Done);
                        Next::Done
                    }
                    _ => Next::Waiting,
                }
            }
        };
        Step {
            events,
            next,
            entered,
        }
    }

    fn see_target(&mut self, target: &Target, events: &mut Vec<Event>) {
        let mut ordered: Vec<&LifecycleEvent> = target.events.iter().collect();
        ordered.sort_by_key(|e| order(&e.name));
        for event in ordered {
            let known = self.events.iter_mut().find(|(name, _)| *name == event.name);
            let changed = match known {
                Some((_, status)) if *status == event.status => false,
                Some((_, status)) => {
                    *status = event.status;
                    true
                }
                None => {
                    self.events.push((event.name.clone(), event.status));
                    event.status != EventStatus::Pending
                }
            };
            if changed {
                events.push(Event::Lifecycle {
                    name: event.name.clone(),
                    status: event.status,
                });
            }
        }
        self.events.sort_by_key(|(name, _)| order(name));
        if let Some(green) = target.replacement() {
            let counts = (
                green.id.clone(),
                green.desired_count.unwrap_or(0),
                green.running_count.unwrap_or(0),
            );
            if self.replacement.as_ref() != Some(&counts) {
                events.push(Event::Replacement {
                    id: counts.0.clone(),
                    desired: counts.1,
                    running: counts.2,
                });
                self.replacement = Some(counts);
            }
        }
    }

    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }
}

/// Where a lifecycle event comes in CodeDeploy's order (unknown ones last).
fn order(name: &str) -> usize {
    LIFECYCLE_EVENTS
        .iter()
        .position(|known| *known == name)
        .unwrap_or(LIFECYCLE_EVENTS.len())
}

/// Why a deployment that Failed or was Stopped ended: CodeDeploy's error, the failed
/// lifecycle event's diagnostics, and whether CodeDeploy rolled it back.
pub fn failed(deployment: &Deployment, target: Option<&Target>) -> String {
    let mut why = format!(
        "CodeDeploy deployment {} {}",
        deployment.id,
        deployment.status.as_str()
    );
    if let Some(error) = &deployment.error {
        match (error.code.is_empty(), error.message.is_empty()) {
            (false, false) => why.push_str(&format!(": {}: {}", error.code, error.message)),
            (false, true) => why.push_str(&format!(": {}", error.code)),
            (true, false) => why.push_str(&format!(": {}", error.message)),
            (true, true) => {}
        }
    }
    let failed_event =
        target.and_then(|t| t.events.iter().find(|e| e.status == EventStatus::Failed));
    if let Some(event) = failed_event {
        why.push_str(&format!("; lifecycle event {} failed", event.name));
        if let Some(d) = &event.diagnostics {
            let detail: Vec<&str> = [
                d.error_code.as_deref(),
                d.script_name.as_deref(),
                d.message.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
            if !detail.is_empty() {
                why.push_str(&format!(" ({})", detail.join(": ")));
            }
        }
    }
    if let Some(id) = deployment.rolled_back_by() {
        why.push_str(&format!(
            "; CodeDeploy is rolling it back (deployment {id})"
        ));
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codedeploy::{Diagnostics, ErrorInformation, RollbackInfo, TaskSetInfo};

    fn deployment(status: DeploymentStatus) -> Deployment {
        Deployment {
            id: "d-1".into(),
            status,
            error: None,
            rollback: None,
        }
    }

    fn target(events: &[(&str, EventStatus)], running: i64) -> Target {
        Target {
            id: "prod:web".into(),
            status: "InProgress".into(),
            events: events
                .iter()
                .map(|(name, status)| LifecycleEvent {
                    name: name.to_string(),
                    status: *status,
                    diagnostics: None,
                })
                .collect(),
            task_sets: vec![TaskSetInfo {
                id: "ecs-svc/green".into(),
                label: Some("Green".into()),
                status: Some("ACTIVE".into()),
                traffic_weight: Some(0),
                desired_count: Some(2),
                running_count: Some(running),
            }],
        }
    }

    use EventStatus::{InProgress, Pending, Skipped, Succeeded};

    #[test]
    fn a_deployment_passes_both_phases_with_a_line_per_lifecycle_change() {
        let mut tracker = Tracker::new("d-1", false);
        assert_eq!(tracker.start().entered, Some(Phase::TrafficShift));
        let step = tracker.observe(
            &deployment(DeploymentStatus::InProgress),
            Some(&target(
                &[
                    ("BeforeInstall", Succeeded),
                    ("Install", InProgress),
                    ("AllowTraffic", Pending),
                ],
                0,
            )),
        );
        assert_eq!(step.next, Next::Waiting);
        assert_eq!(
            step.events,
            [
                Event::Status(DeploymentStatus::InProgress),
                Event::Lifecycle {
                    name: "BeforeInstall".into(),
                    status: Succeeded
                },
                Event::Lifecycle {
                    name: "Install".into(),
                    status: InProgress
                },
                Event::Replacement {
                    id: "ecs-svc/green".into(),
                    desired: 2,
                    running: 0
                },
            ]
        );
        // Nothing new: nothing said.
        let again = tracker.observe(
            &deployment(DeploymentStatus::InProgress),
            Some(&target(
                &[
                    ("BeforeInstall", Succeeded),
                    ("Install", InProgress),
                    ("AllowTraffic", Pending),
                ],
                0,
            )),
        );
        assert!(again.events.is_empty());
        let shifted = tracker.observe(
            &deployment(DeploymentStatus::InProgress),
            Some(&target(
                &[
                    ("Install", Succeeded),
                    ("AllowTestTraffic", Skipped),
                    ("AllowTraffic", Succeeded),
                ],
                2,
            )),
        );
        assert_eq!(shifted.entered, Some(Phase::Finish));
        assert_eq!(shifted.next, Next::Waiting);
        assert!(
            shifted
                .events
                .ends_with(&[Event::TrafficShifted, Event::WaitingToFinish])
        );
        assert_eq!(tracker.current_event(), Some("AllowTraffic"));
        let done = tracker.observe(&deployment(DeploymentStatus::Succeeded), None);
        assert_eq!(done.next, Next::Done);
        assert_eq!(
            done.events,
            [Event::Status(DeploymentStatus::Succeeded), Event::Done]
        );
    }

    #[test]
    fn a_deployment_that_succeeds_between_looks_passes_both_phases_at_once() {
        let mut tracker = Tracker::new("d-1", false);
        tracker.start();
        let step = tracker.observe(&deployment(DeploymentStatus::Succeeded), None);
        assert_eq!(step.next, Next::Done);
        assert_eq!(
            step.events,
            [
                Event::Status(DeploymentStatus::Succeeded),
                Event::TrafficShifted,
                Event::WaitingToFinish,
                Event::Done
            ]
        );
    }

    #[test]
    fn skipping_the_second_phase_ends_once_traffic_is_shifted() {
        let mut tracker = Tracker::new("d-1", true);
        tracker.start();
        let step = tracker.observe(
            &deployment(DeploymentStatus::InProgress),
            Some(&target(&[("AllowTraffic", Succeeded)], 2)),
        );
        assert_eq!(step.next, Next::Done);
        assert!(step.events.contains(&Event::TrafficShifted));
        assert!(!step.events.contains(&Event::WaitingToFinish));
    }

    #[test]
    fn ready_is_announced_once() {
        let mut tracker = Tracker::new("d-1", false);
        tracker.start();
        let first = tracker.observe(&deployment(DeploymentStatus::Ready), None);
        assert!(first.events.contains(&Event::WaitingForReroute));
        let second = tracker.observe(&deployment(DeploymentStatus::Ready), None);
        assert!(second.events.is_empty());
        assert_eq!(second.next, Next::Waiting);
    }

    #[test]
    fn a_failed_hook_ends_the_wait_with_its_diagnostics_and_codedeploys_rollback() {
        let mut tracker = Tracker::new("d-1", false);
        tracker.start();
        let mut failed = deployment(DeploymentStatus::Failed);
        failed.error = Some(ErrorInformation {
            code: "HOOK_EXECUTION_FAILURE".into(),
            message: "Lifecycle event AfterAllowTestTraffic failed".into(),
        });
        failed.rollback = Some(RollbackInfo {
            rollback_deployment_id: Some("d-2".into()),
            ..RollbackInfo::default()
        });
        let mut seen = target(&[("AfterAllowTestTraffic", EventStatus::Failed)], 2);
        seen.events[0].diagnostics = Some(Diagnostics {
            error_code: Some("ScriptFailed".into()),
            script_name: Some("smoke-test".into()),
            message: Some("status 500 from /health".into()),
            log_tail: None,
        });
        let step = tracker.observe(&failed, Some(&seen));
        assert_eq!(
            step.next,
            Next::Failed(
                "CodeDeploy deployment d-1 Failed: HOOK_EXECUTION_FAILURE: Lifecycle event AfterAllowTestTraffic failed; \
                 lifecycle event AfterAllowTestTraffic failed (ScriptFailed: smoke-test: status 500 from /health); \
                 CodeDeploy is rolling it back (deployment d-2)"
                    .into()
            )
        );
    }

    #[test]
    fn a_stopped_deployment_fails_even_after_traffic_shifted() {
        let mut tracker = Tracker::new("d-1", false);
        tracker.start();
        tracker.observe(
            &deployment(DeploymentStatus::InProgress),
            Some(&target(&[("AllowTraffic", Succeeded)], 2)),
        );
        let step = tracker.observe(&deployment(DeploymentStatus::Stopped), None);
        assert_eq!(
            step.next,
            Next::Failed("CodeDeploy deployment d-1 Stopped".into())
        );
    }
}
