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
    deployments: Vec<(String, String, i64, Option<RolloutState>)>,
    counted_failures: i64,
    service_deployment: Option<ServiceDeploymentMark>,
}

type ServiceDeploymentMark = (
    ServiceDeploymentStatus,
    Option<String>,
    Vec<(String, HookStatus)>,
);

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
            Some(sd) => Some((
                sd.status,
                sd.lifecycle_stage.clone(),
                sd.hooks.iter().map(|h| (h.id.clone(), h.status)).collect(),
            )),
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
                .map(|d| {
                    (
                        d.id.clone(),
                        d.status.clone(),
                        d.running_count,
                        d.rollout_state,
                    )
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
