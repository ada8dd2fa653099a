//! How each look moved a rollout on, for the timing of the next look (see `cadence.rs`).
//! Pure: the decisive reads in, a [`Pace`] out.

use super::Rollout;
use crate::cadence::Pace;
use crate::ecs::{HookStatus, RolloutState, ServiceDeployment, ServiceDeploymentStatus, Snapshot};

/// What of a rollout counts as moving: each deployment's running tasks and state, the
/// failures the circuit breaker counts, and the service deployment's status, stage and
/// hooks. Pending counts, events and failures without a circuit breaker are left out:
/// tasks being placed, or failing only to be replaced, bring no verdict nearer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    deployments: Vec<DeploymentMark>,
    counted_failures: i64,
    service_deployment: Option<ServiceDeploymentMark>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DeploymentMark {
    id: String,
    status: String,
    running: i64,
    rollout_state: Option<RolloutState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceDeploymentMark {
    status: ServiceDeploymentStatus,
    stage: Option<String>,
    hooks: Vec<HookMark>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HookMark {
    id: String,
    status: HookStatus,
}

/// The rollout as the last look saw it.
#[derive(Debug, Clone, Default)]
pub struct Motion {
    last: Option<Mark>,
}

impl Motion {
    /// How this look (`service_deployment`: as read this time, if it was) moved the rollout
    /// on since the last one. The first look only sets the mark, unless the end already
    /// looks near.
    pub fn pace(
        &mut self,
        rollout: &Rollout,
        snapshot: &Snapshot,
        service_deployment: Option<&ServiceDeployment>,
    ) -> Pace {
        let ours = rollout.ours(snapshot);
        let service_deployment = match service_deployment {
            Some(sd) => Some(ServiceDeploymentMark {
                status: sd.status,
                stage: sd.lifecycle_stage.clone(),
                hooks: sd
                    .hooks
                    .iter()
                    .map(|h| HookMark {
                        id: h.id.clone(),
                        status: h.status,
                    })
                    .collect(),
            }),
            // Not read this time: no news of it, rather than a change.
            None => self
                .last
                .as_ref()
                .and_then(|m| m.service_deployment.clone()),
        };
        let mark = Mark {
            deployments: snapshot
                .deployments
                .iter()
                .map(|d| DeploymentMark {
                    id: d.id.clone(),
                    status: d.status.clone(),
                    running: d.running_count,
                    rollout_state: d.rollout_state,
                })
                .collect(),
            counted_failures: match snapshot.circuit_breaker {
                true => ours.map_or(0, |d| d.failed_tasks),
                false => 0,
            },
            service_deployment,
        };
        let first = self.last.is_none();
        let moved = self.last.as_ref().is_some_and(|last| *last != mark);
        self.last = Some(mark);
        let near = ours.is_some_and(|ours| {
            let running_reached = ours.desired_count > 0
                && ours.running_count >= ours.desired_count
                && snapshot.deployments.len() > 1;
            let breaker_counting = snapshot.circuit_breaker
                && ours.failed_tasks > 0
                && ours.rollout_state == Some(RolloutState::InProgress);
            running_reached || breaker_counting
        });
        match (moved || first, near) {
            (true, true) => Pace::Near,
            _ if moved => Pace::Moving,
            _ => Pace::Quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::scripted;
    use crate::ecs::{Hook, ServiceDeploymentStatus, ServiceRef, Strategy};

    const NEW: &str = "td/web:2";
    const OURS: &str = "ecs-svc/new";

    fn rollout() -> Rollout {
        Rollout {
            service: ServiceRef {
                cluster: "prod".into(),
                name: "web".into(),
            },
            deployment_id: Some(OURS.into()),
            task_definition: NEW.into(),
            health_checked: false,
            desired_count: Some(2),
            service_deployment: None,
            strategy: Strategy::Rolling,
        }
    }

    /// Our deployment (2 desired) with `running` tasks (`failed` failed), with the old one
    /// unless `alone`.
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

    /// `snap` with the circuit breaker on and our deployment IN_PROGRESS.
    fn breaker(running: i64, failed: i64) -> Snapshot {
        let mut s = snap(running, failed, false);
        s.circuit_breaker = true;
        s.deployments[0].rollout_state = Some(RolloutState::InProgress);
        s
    }

    fn sd(stage: &str) -> ServiceDeployment {
        scripted::service_deployment(ServiceDeploymentStatus::InProgress, stage)
    }

    fn hook(status: HookStatus) -> Hook {
        Hook {
            id: "hook-1".into(),
            target_type: "PAUSE".into(),
            target_arn: None,
            status,
            expires_at: None,
            timeout_action: None,
        }
    }

    /// The pace of each look in turn, none of them reading the service deployment.
    fn paces(looks: &[Snapshot]) -> Vec<Pace> {
        let rollout = rollout();
        let mut motion = Motion::default();
        looks
            .iter()
            .map(|s| motion.pace(&rollout, s, None))
            .collect()
    }

    /// The pace of each look in turn, with the service deployment as each read it (or not).
    fn paces_reading(looks: &[Option<ServiceDeployment>]) -> Vec<Pace> {
        let rollout = rollout();
        let mut motion = Motion::default();
        let snapshot = snap(0, 0, false);
        looks
            .iter()
            .map(|sd| motion.pace(&rollout, &snapshot, sd.as_ref()))
            .collect()
    }

    use Pace::{Moving, Near, Quiet};

    #[test]
    fn a_first_look_only_sets_the_mark() {
        assert_eq!(paces(&[snap(0, 0, false)]), [Quiet]);
        assert_eq!(paces(&[snap(1, 0, false)]), [Quiet]);
        assert_eq!(paces(&[snap(2, 0, true)]), [Quiet]);
    }

    #[test]
    fn a_first_look_near_the_end_is_near() {
        assert_eq!(paces(&[snap(2, 0, false)]), [Near]);
        assert_eq!(paces(&[breaker(0, 1)]), [Near]);
    }

    #[test]
    fn a_running_count_that_changes_is_moving() {
        assert_eq!(
            paces(&[snap(0, 0, false), snap(1, 0, false), snap(0, 0, false)]),
            [Quiet, Moving, Moving]
        );
    }

    #[test]
    fn an_unchanged_rollout_is_quiet() {
        assert_eq!(
            paces(&[snap(1, 0, false), snap(1, 0, false), snap(1, 0, false)]),
            [Quiet, Quiet, Quiet]
        );
    }

    #[test]
    fn the_end_in_sight_is_near_once_per_change() {
        // Our tasks all run, the old deployment is left: near; seen again unchanged: quiet.
        assert_eq!(
            paces(&[snap(1, 0, false), snap(2, 0, false), snap(2, 0, false)]),
            [Quiet, Near, Quiet]
        );
        // The old deployment gone is a change, and not near: nothing is left to wait for
        // but the verdict.
        assert_eq!(
            paces(&[snap(2, 0, false), snap(2, 0, true)]),
            [Near, Moving]
        );
    }

    #[test]
    fn failures_count_only_with_the_circuit_breaker() {
        // Without a circuit breaker, failed tasks are only replaced.
        assert_eq!(
            paces(&[snap(0, 0, false), snap(0, 1, false), snap(0, 2, false)]),
            [Quiet, Quiet, Quiet]
        );
        // With one, each failure brings its verdict nearer.
        assert_eq!(
            paces(&[breaker(0, 0), breaker(0, 1), breaker(0, 1), breaker(0, 2)]),
            [Quiet, Near, Quiet, Near]
        );
        // A breaker's count on a rollout no longer IN_PROGRESS moves it, no more.
        let mut counted = breaker(0, 1);
        counted.deployments[0].rollout_state = None;
        let mut uncounted = counted.clone();
        uncounted.deployments[0].failed_tasks = 0;
        assert_eq!(paces(&[uncounted, counted]), [Quiet, Moving]);
    }

    #[test]
    fn pending_counts_and_events_are_no_motion() {
        let before = snap(0, 0, false);
        let mut placed = before.clone();
        placed.deployments[0].pending_count = 0;
        let mut told = placed.clone();
        told.events = vec![scripted::event("e1", "(service web) has started 2 tasks")];
        assert_eq!(paces(&[before, placed, told]), [Quiet, Quiet, Quiet]);
    }

    #[test]
    fn a_rollout_state_or_deployment_status_that_changes_is_moving() {
        let before = snap(0, 0, false);
        let mut completed = before.clone();
        completed.deployments[0].rollout_state = Some(RolloutState::Completed);
        let mut inactive = completed.clone();
        inactive.deployments[1].status = "INACTIVE".into();
        assert_eq!(
            paces(&[before, completed, inactive]),
            [Quiet, Moving, Moving]
        );
    }

    #[test]
    fn a_service_deployment_not_read_is_no_news() {
        assert_eq!(
            paces_reading(&[Some(sd("SCALE_UP")), None, None, Some(sd("SCALE_UP"))]),
            [Quiet, Quiet, Quiet, Quiet]
        );
    }

    #[test]
    fn a_service_deployment_read_anew_moves_on_its_status_stage_or_hooks() {
        let mut successful = sd("BAKE_TIME");
        successful.status = ServiceDeploymentStatus::Successful;
        let mut paused = sd("BAKE_TIME");
        paused.hooks = vec![hook(HookStatus::AwaitingAction)];
        let mut continued = paused.clone();
        continued.hooks = vec![hook(HookStatus::Succeeded)];
        assert_eq!(
            paces_reading(&[
                Some(sd("SCALE_UP")),
                Some(sd("BAKE_TIME")),
                None,
                Some(paused),
                Some(continued),
                Some(successful),
            ]),
            [Quiet, Moving, Quiet, Moving, Moving, Moving]
        );
    }

    #[test]
    fn a_first_read_of_the_service_deployment_after_none_is_a_change() {
        // Unread at the first look, read at the next: what it says is news.
        assert_eq!(
            paces_reading(&[None, Some(sd("SCALE_UP")), None]),
            [Quiet, Moving, Quiet]
        );
    }
}
