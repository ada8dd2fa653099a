//! `--enable-rollback`: after a failed wait, put the service back on the revision it ran
//! before (through ECS's own rollback of the service deployment where there is one), and
//! wait for that. The run still fails (exit 1).

use std::time::{Duration, Instant};

use crate::ecs::{Ecs, NewRevision, ServiceDeploymentStatus, ServiceRef, ServiceUpdate, Snapshot};
use crate::error::Error;
use crate::poll::{Poller, Stop};
use crate::report::{Report, Rollback, RollbackOutcome, RolledBackBy, Status};
use crate::signals;
use crate::watch::{self, Ended, Failure, Goal, Rollout, Watch};

/// Whether ECS already put the service back on `previous` (its circuit breaker's
/// rollback): then a PRIMARY deployment of `previous` is there that is not ours.
pub fn ecs_already_rolled_back(last: Option<&Snapshot>, previous: &str, rollout: &Rollout) -> bool {
    last.is_some_and(|snapshot| {
        snapshot.deployments.iter().any(|d| {
            d.is_primary()
                && d.task_definition == previous
                && Some(&d.id) != rollout.deployment_id.as_ref()
        })
    })
}

/// Roll `rollout`'s service back to `previous` after `failure`, and wait for it; the
/// error to end with.
pub fn roll_back(
    ecs: &dyn Ecs,
    report: &Report,
    settings: watch::Settings,
    previous: &str,
    rollout: &Rollout,
    failure: Failure,
) -> Error {
    match begin(ecs, report, settings, previous, rollout, failure) {
        Begun::Over(error) => error,
        Begun::Started(started) => started.finish(),
    }
}

/// How a rollback began: over already (nothing to do, or it could not be started), or
/// started and to be waited for.
pub enum Begun<'a> {
    Over(Error),
    Started(Started<'a>),
}

/// A rollback ECS accepted, not yet waited for (several services' rollbacks are all
/// started before any is waited for).
pub struct Started<'a> {
    ecs: &'a dyn Ecs,
    report: &'a Report,
    settings: watch::Settings,
    previous: String,
    why: String,
    service: ServiceRef,
    how: How,
}

/// What the rollback waits for.
enum How {
    /// ECS's own rollback of this service deployment.
    ServiceDeployment(String),
    /// The service pointed back at the previous revision: this deployment of it.
    Update(Box<Rollout>, Vec<String>),
}

/// Decide whether and how to roll `rollout`'s service back to `previous` after `failure`,
/// and start it. With a service deployment, ECS is asked to roll it back itself; without
/// one, or when ECS refuses, the service is pointed back at `previous` as the script did.
pub fn begin<'a>(
    ecs: &'a dyn Ecs,
    report: &'a Report,
    settings: watch::Settings,
    previous: &str,
    rollout: &Rollout,
    failure: Failure,
) -> Begun<'a> {
    let why = failure.why;
    if previous == rollout.task_definition {
        report.progress(
            "not rolling back: the service already runs the previous revision's definition",
        );
        return Begun::Over(Error::Failed(why));
    }
    if let Some(sd) = failure.service_deployment.as_deref()
        && sd.status.is_rolled_back_by_ecs()
    {
        report
            .progress("ECS is already rolling the service deployment back; not rolling back twice");
        record_ecs_rollback(report, sd.status);
        return Begun::Over(Error::Failed(why));
    }
    if ecs_already_rolled_back(failure.last.as_deref(), previous, rollout) {
        report.progress(format!(
            "ECS's circuit breaker already put the service back on {previous}; not rolling back twice"
        ));
        report.record(|o| o.status = Status::RolledBack);
        report.record(|o| {
            o.rollback = Some(Rollback {
                by: RolledBackBy::Ecs,
                outcome: RollbackOutcome::InProgress,
            })
        });
        return Begun::Over(Error::Failed(format!(
            "{why} (ECS rolled the service back to {previous})"
        )));
    }

    report.status(format!("Rolling back to {previous}"));
    let service = &rollout.service;
    // A service deployment ECS already ended cannot be rolled back by ECS any more.
    let ended = failure
        .service_deployment
        .as_deref()
        .is_some_and(|sd| sd.status.is_over());
    let live = rollout.service_deployment.as_ref().filter(|_| !ended);
    let by_ecs = live.and_then(|arn| {
        match ecs.roll_back_service_deployment(arn) {
            Ok(()) => Some(How::ServiceDeployment(arn.clone())),
            Err(e) => {
                report.progress(format!(
                    "note: ECS did not roll the service deployment back ({e}); pointing the service back at {previous} instead"
                ));
                None
            }
        }
    });
    let how = match by_ecs {
        Some(how) => how,
        None => {
            let update = ServiceUpdate {
                service,
                revision: NewRevision::TaskDefinition(previous),
                desired_count: None,
                min_healthy_percent: None,
                max_percent: None,
            };
            match ecs.update_service(&update) {
                Ok(updated) => {
                    let back = Rollout::started(service, &updated, previous, false);
                    How::Update(Box::new(back), updated.event_ids)
                }
                Err(e) => {
                    report.progress(format!("ERROR: the rollback failed: {e}"));
                    return Begun::Over(Error::Failed(format!(
                        "{why} (and the rollback to {previous} failed: {e})"
                    )));
                }
            }
        }
    };
    started(report, previous);
    Begun::Started(Started {
        ecs,
        report,
        settings,
        previous: previous.to_string(),
        why,
        service: service.clone(),
        how,
    })
}

impl<'a> Started<'a> {
    /// Wait for the rollback (not after a signal), record how it ended; the error to end
    /// the run with.
    pub fn finish(self) -> Error {
        let settled = match &self.how {
            _ if signals::interrupted() => Err(Stop::Interrupted),
            How::ServiceDeployment(arn) => {
                wait_for_ecs_rollback(self.ecs, self.report, self.settings, arn)
            }
            How::Update(back, seen) => self.watch_back(back, seen).settle(),
        };
        self.conclude(settled)
    }

    /// The watch of the service settling back on its previous revision (`back`, the
    /// deployment the rollback's update-service started).
    fn watch_back(&self, back: &Rollout, seen: &[String]) -> Watch<'a> {
        Watch::new(
            self.ecs,
            self.report,
            self.settings,
            back.clone(),
            seen.to_vec(),
        )
        .following(Goal::Settle)
    }

    /// Record how the wait for the rollback ended, and say so; the error to end with.
    fn conclude(self, settled: Result<(), Stop>) -> Error {
        let Started {
            report,
            settings,
            previous,
            why,
            service,
            ..
        } = self;
        let outcome = match &settled {
            Ok(()) => RollbackOutcome::Succeeded,
            Err(Stop::Failed(_)) => RollbackOutcome::Failed,
            Err(_) => RollbackOutcome::InProgress,
        };
        report.record(|o| {
            o.rollback = Some(Rollback {
                by: RolledBackBy::EcsDeploy,
                outcome,
            })
        });
        let follow = format!(
            "aws ecs describe-services --cluster {} --services {}",
            service.cluster, service.name
        );
        report.progress(match settled {
            Ok(()) => format!("rollback complete: the service runs {previous} again"),
            Err(Stop::Timeout) => format!(
                "the rollback to {previous} had not settled within {} seconds; ECS goes on with it",
                settings.timing.timeout.as_secs_f64()
            ),
            Err(Stop::Failed(reason)) => {
                format!("the rollback to {previous} did not complete: {reason}")
            }
            Err(Stop::Aws(e)) => format!(
                "could not follow the rollback to {previous} ({} failed: {}); follow it with: {follow}",
                e.step, e.message
            ),
            Err(Stop::Interrupted) => {
                format!("rollback started; follow it with: {follow}")
            }
        });
        Error::Failed(format!("{why} (rolled back to {previous})"))
    }
}

/// Wait for several services' rollbacks, and record how each ended. Those that point a
/// service back at its previous revision are watched together (one describe-services per
/// poll for all); ECS's own rollbacks of service deployments are followed one by one.
pub fn finish_all(ecs: &dyn Ecs, report: &Report, interval: Duration, started: Vec<Started>) {
    let (updates, by_ecs): (Vec<Started>, Vec<Started>) = started
        .into_iter()
        .partition(|one| matches!(one.how, How::Update(..)));
    for one in by_ecs {
        one.finish();
    }
    if signals::interrupted() {
        for one in updates {
            one.conclude(Err(Stop::Interrupted));
        }
        return;
    }
    let watches = updates
        .iter()
        .filter_map(|one| match &one.how {
            How::Update(back, seen) => Some(one.watch_back(back, seen)),
            How::ServiceDeployment(_) => None,
        })
        .collect();
    let ended = watch::together(ecs, report, interval, watches, false);
    for (one, end) in updates.into_iter().zip(ended) {
        let settled = match end {
            Ended::Succeeded => Ok(()),
            Ended::Failed(failure) => Err(failure.stop),
            Ended::Unfinished => Err(Stop::Timeout),
        };
        one.conclude(settled);
    }
}

/// The rollback was accepted: record it.
fn started(report: &Report, previous: &str) {
    report.record(|o| o.status = Status::RolledBack);
    signals::set_standing(format!("the service was pointed back at {previous}"));
}

/// Follow ECS's own rollback of the service deployment `arn` until it succeeded.
fn wait_for_ecs_rollback(
    ecs: &dyn Ecs,
    report: &Report,
    settings: watch::Settings,
    arn: &str,
) -> Result<(), Stop> {
    let deadline = Instant::now() + settings.timing.timeout;
    let mut poller = Poller::new(report, settings.timing.poll_interval);
    let mut last_status = None;
    poller.until(deadline, || {
        let sd = ecs.poll_service_deployment(arn, deadline)?;
        if last_status != Some(sd.status) {
            last_status = Some(sd.status);
            report.progress(format!("service deployment: {}", sd.status.as_str()));
        }
        match sd.status {
            ServiceDeploymentStatus::RollbackSuccessful => Ok(Some(())),
            ServiceDeploymentStatus::RollbackFailed => {
                Err(Stop::Failed(watch::given_up(&sd)).into())
            }
            _ => Ok(None),
        }
    })
}

/// ECS rolled the deployment back on its own.
fn record_ecs_rollback(report: &Report, status: ServiceDeploymentStatus) {
    let outcome = match status {
        ServiceDeploymentStatus::RollbackSuccessful => RollbackOutcome::Succeeded,
        _ => RollbackOutcome::InProgress,
    };
    report.record(|o| {
        o.status = Status::RolledBack;
        o.rollback = Some(Rollback {
            by: RolledBackBy::Ecs,
            outcome,
        });
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecs::RolloutState;
    use crate::ecs::scripted::{self, ScriptedEcs};

    const NEW: &str = "td/web:2";
    const OLD: &str = "td/web:1";

    fn settings() -> watch::Settings {
        watch::Settings {
            timing: crate::poll::Timing {
                timeout: Duration::from_millis(50),
                poll_interval: Duration::ZERO,
            },
            skip_deployments_check: false,
            side: crate::side::Budget::default(),
        }
    }

    fn rollout() -> Rollout {
        Rollout {
            service: scripted::service(),
            deployment_id: Some("ecs-svc/new".into()),
            task_definition: NEW.into(),
            health_checked: false,
            desired_count: Some(2),
            service_deployment: None,
            strategy: crate::ecs::Strategy::Rolling,
        }
    }

    fn snapshot(deployments: Vec<crate::ecs::Deployment>) -> Snapshot {
        Snapshot {
            deployments,
            events: vec![],
        }
    }

    /// An ECS that accepts update-service back to OLD and then shows the service settled
    /// on it.
    fn settling_back() -> ScriptedEcs {
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(vec![scripted::deployment(
            "ecs-svc/back",
            "PRIMARY",
            OLD,
            2,
            0,
        )]))]);
        ecs.updates
            .borrow_mut()
            .push_back(Ok(scripted::updated("ecs-svc/back")));
        ecs
    }

    fn failure(last: Option<Box<Snapshot>>) -> Failure {
        Failure {
            stop: Stop::Timeout,
            why: "no task ran".into(),
            last,
            service_deployment: None,
        }
    }

    #[test]
    fn a_circuit_breaker_rollback_is_recognised() {
        let mut ours = scripted::deployment("ecs-svc/new", "ACTIVE", NEW, 0, 2);
        ours.rollout_state = Some(RolloutState::Failed);
        let restored = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 2, 0);
        let rolled_back = snapshot(vec![restored, ours.clone()]);
        assert!(ecs_already_rolled_back(Some(&rolled_back), OLD, &rollout()));

        let still_ours = snapshot(vec![
            scripted::deployment("ecs-svc/new", "PRIMARY", NEW, 0, 2),
            scripted::deployment("ecs-svc/old", "ACTIVE", OLD, 2, 0),
        ]);
        assert!(!ecs_already_rolled_back(Some(&still_ours), OLD, &rollout()));
        assert!(!ecs_already_rolled_back(None, OLD, &rollout()));
    }

    #[test]
    fn no_second_rollback_after_ecs_rolled_back() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let restored = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 2, 0);
        let error = roll_back(
            &ecs,
            &report,
            settings(),
            OLD,
            &rollout(),
            failure(Some(Box::new(snapshot(vec![restored])))),
        );
        assert!(ecs.calls().is_empty());
        assert_eq!(report.outcome().status, Status::RolledBack);
        assert_eq!(
            error.to_string(),
            "no task ran (ECS rolled the service back to td/web:1)"
        );
    }

    #[test]
    fn the_service_is_pointed_back_and_the_rollback_is_followed() {
        let ecs = ScriptedEcs::polls(vec![
            Ok(snapshot(vec![
                scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 1, 0),
                scripted::deployment("ecs-svc/new", "ACTIVE", NEW, 0, 0),
            ])),
            Ok(snapshot(vec![scripted::deployment(
                "ecs-svc/back",
                "PRIMARY",
                OLD,
                2,
                0,
            )])),
        ]);
        ecs.updates
            .borrow_mut()
            .push_back(Ok(scripted::updated("ecs-svc/back")));
        let report = Report::captured();
        let error = roll_back(&ecs, &report, settings(), OLD, &rollout(), failure(None));
        assert_eq!(
            ecs.calls(),
            [
                "update-service td/web:1",
                "describe-services",
                "describe-services"
            ]
        );
        assert_eq!(report.lines()[0], "Rolling back to td/web:1");
        assert_eq!(
            report.lines().last().unwrap(),
            "> rollback complete: the service runs td/web:1 again"
        );
        assert_eq!(report.outcome().status, Status::RolledBack);
        assert_eq!(error.exit_code(), 1);
        assert_eq!(error.to_string(), "no task ran (rolled back to td/web:1)");
    }

    #[test]
    fn a_rollback_that_fails_says_so_rather_than_not_settled() {
        let mut gone = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 0, 2);
        gone.rollout_state = Some(RolloutState::Failed);
        gone.rollout_state_reason = Some("tasks failed to start".into());
        let ecs = ScriptedEcs::polls(vec![Ok(snapshot(vec![gone]))]);
        ecs.updates
            .borrow_mut()
            .push_back(Ok(scripted::updated("ecs-svc/back")));
        let report = Report::captured();
        roll_back(&ecs, &report, settings(), OLD, &rollout(), failure(None));
        assert_eq!(
            report.lines().last().unwrap(),
            "> the rollback to td/web:1 did not complete: deployment ecs-svc/back failed: tasks failed to start"
        );
    }

    #[test]
    fn a_rollback_update_that_fails_is_reported() {
        let ecs = ScriptedEcs::default();
        ecs.updates
            .borrow_mut()
            .push_back(Err("AccessDenied".into()));
        let report = Report::captured();
        let error = roll_back(&ecs, &report, settings(), OLD, &rollout(), failure(None));
        assert_eq!(
            error.to_string(),
            "no task ran (and the rollback to td/web:1 failed: AccessDenied)"
        );
        assert_eq!(report.outcome().status, Status::Succeeded);
    }

    #[test]
    fn nothing_to_roll_back_to_when_the_revision_is_the_same() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let error = roll_back(&ecs, &report, settings(), NEW, &rollout(), failure(None));
        assert!(ecs.calls().is_empty());
        assert_eq!(error.to_string(), "no task ran");
    }

    const SD: &str = "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd1";

    fn with_service_deployment() -> Rollout {
        Rollout {
            service_deployment: Some(SD.into()),
            ..rollout()
        }
    }

    #[test]
    fn ecs_rolls_its_service_deployment_back_when_asked() {
        use crate::ecs::ServiceDeploymentStatus::{RollbackInProgress, RollbackSuccessful};
        let ecs = ScriptedEcs::default();
        ecs.service_deployments.borrow_mut().extend([
            Ok(scripted::service_deployment(
                RollbackInProgress,
                "RECONCILE_SERVICE",
            )),
            Ok(scripted::service_deployment(RollbackSuccessful, "CLEAN_UP")),
        ]);
        let report = Report::captured();
        let error = roll_back(
            &ecs,
            &report,
            settings(),
            OLD,
            &with_service_deployment(),
            failure(None),
        );
        let describe = format!("describe-service-deployments {SD}");
        assert_eq!(
            ecs.calls(),
            [
                format!("stop-service-deployment {SD}"),
                describe.clone(),
                describe
            ]
        );
        assert_eq!(report.lines()[0], "Rolling back to td/web:1");
        assert_eq!(
            report.lines().last().unwrap(),
            "> rollback complete: the service runs td/web:1 again"
        );
        let outcome = report.outcome();
        assert_eq!(outcome.status, Status::RolledBack);
        assert_eq!(
            outcome.rollback,
            Some(Rollback {
                by: RolledBackBy::EcsDeploy,
                outcome: RollbackOutcome::Succeeded
            })
        );
        assert_eq!(error.to_string(), "no task ran (rolled back to td/web:1)");
    }

    #[test]
    fn when_ecs_refuses_the_service_is_pointed_back_instead() {
        let mut ecs = settling_back();
        ecs.rollback_refused = Some("InvalidParameterException".into());
        let report = Report::captured();
        roll_back(
            &ecs,
            &report,
            settings(),
            OLD,
            &with_service_deployment(),
            failure(None),
        );
        assert_eq!(
            ecs.calls(),
            [
                format!("stop-service-deployment {SD}"),
                "update-service td/web:1".to_string(),
                "describe-services".to_string()
            ]
        );
    }

    #[test]
    fn no_second_rollback_when_ecs_gave_the_service_deployment_up() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let mut given_up = failure(None);
        given_up.service_deployment = Some(Box::new(scripted::service_deployment(
            crate::ecs::ServiceDeploymentStatus::RollbackSuccessful,
            "CLEAN_UP",
        )));
        roll_back(
            &ecs,
            &report,
            settings(),
            OLD,
            &with_service_deployment(),
            given_up,
        );
        assert!(ecs.calls().is_empty());
        assert_eq!(
            report.outcome().rollback,
            Some(Rollback {
                by: RolledBackBy::Ecs,
                outcome: RollbackOutcome::Succeeded
            })
        );
    }

    #[test]
    fn a_deployment_ecs_only_stopped_is_still_rolled_back() {
        let ecs = settling_back();
        let report = Report::captured();
        let mut stopped = failure(None);
        stopped.service_deployment = Some(Box::new(scripted::service_deployment(
            crate::ecs::ServiceDeploymentStatus::Stopped,
            "SCALE_UP",
        )));
        // ECS refuses to roll back a service deployment it stopped: not even asked.
        let mut followed = rollout();
        followed.service_deployment =
            Some(stopped.service_deployment.as_ref().unwrap().arn.clone());
        roll_back(&ecs, &report, settings(), OLD, &followed, stopped);
        assert_eq!(ecs.calls()[0], "update-service td/web:1");
        assert_eq!(report.lines()[0], "Rolling back to td/web:1");
        assert!(!report.lines().iter().any(|line| line.contains("note")));
    }
}
