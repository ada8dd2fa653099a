//! `--enable-rollback`: after a failed wait, put the service back on the revision it ran
//! before (through ECS's own rollback of the service deployment where there is one), and
//! wait for that. The run still fails (exit 1). The rollbacks of a release are waited for
//! together, in one poll loop with one deadline.

use std::time::Instant;

use crate::aws::{CallError, Failure as CallFailure};
use crate::cadence::Pace;
use crate::ecs::{
    DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT, Deployment, Ecs, HookAction, NewRevision,
    ServiceDeployment, ServiceDeploymentStatus, ServiceRef, ServiceUpdate, Snapshot,
};
use crate::error::Error;
use crate::poll::{Outcome, PollError, Poller, Start, Stop, Timing, retry_line};
use crate::record::{Fact, Stage};
use crate::report::{Report, Rollback, RollbackOutcome, RolledBackBy};
use crate::watch::{self, Failure, Goal, Progress, Rollout, Watch};

/// The deployment with which ECS (its circuit breaker) already put the service back on
/// `previous`, if it did.
fn restored_by_ecs<'s>(
    last: Option<&'s Snapshot>,
    previous: &str,
    rollout: &Rollout,
) -> Option<&'s Deployment> {
    rollout
        .restored_by_ecs(last?)
        .filter(|d| d.task_definition == previous)
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
        // One service ends at once when ECS rolls it back on its own.
        Begun::ByEcs(error, _) => error,
        Begun::Started(started) => started.finish(),
    }
}

/// How a rollback began.
pub enum Begun<'a> {
    /// Over already (nothing to do, or it could not be started): the error to end with.
    Over(Error),
    /// ECS rolls the service back on its own: the error to end with at once, and ECS's
    /// rollback, which a release waits for with its other rollbacks.
    ByEcs(Error, Started<'a>),
    /// Started, to be waited for.
    Started(Started<'a>),
}

/// A rollback under way, not yet waited for (several services' rollbacks are all started
/// before any is waited for).
pub struct Started<'a> {
    ecs: &'a dyn Ecs,
    report: &'a Report,
    settings: watch::Settings,
    previous: String,
    why: String,
    service: ServiceRef,
    by: RolledBackBy,
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
    let service = &rollout.service;
    let under_way = |by, how| Started {
        ecs,
        report,
        settings,
        previous: previous.to_string(),
        why: why.clone(),
        service: service.clone(),
        by,
        how,
    };
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
        record_ecs_rollback(report, rollout, failure.last.as_deref(), Some(sd));
        let followed = rollout.service_deployment.clone();
        return match followed.filter(|_| !sd.status.is_over()) {
            Some(arn) => Begun::ByEcs(
                Error::Failed(why.clone()),
                under_way(RolledBackBy::Ecs, How::ServiceDeployment(arn)),
            ),
            None => Begun::Over(Error::Failed(why)),
        };
    }
    if let Some(restored) = restored_by_ecs(failure.last.as_deref(), previous, rollout) {
        report.progress(format!(
            "ECS's circuit breaker already put the service back on {previous}; not rolling back twice"
        ));
        let sd = failure.service_deployment.as_deref();
        record_ecs_rollback(report, rollout, failure.last.as_deref(), sd);
        let back = Rollout {
            service: service.clone(),
            deployment_id: Some(restored.id.clone()),
            task_definition: previous.to_string(),
            health_checked: false,
            desired_count: Some(restored.desired_count),
            service_deployment: None,
            strategy: rollout.strategy,
        };
        let seen = failure.last.iter().flat_map(|s| &s.events);
        let seen = seen.map(|e| e.id.clone()).collect();
        return Begun::ByEcs(
            Error::Failed(format!("{why} (ECS rolled the service back to {previous})")),
            under_way(RolledBackBy::Ecs, How::Update(Box::new(back), seen)),
        );
    }

    report.fact(Fact::RollingBack(previous.to_string()));
    report.record(|o| o.stage.reach(Stage::RollbackAsked));
    // A service deployment ECS already ended cannot be rolled back by ECS any more.
    let ended = failure
        .service_deployment
        .as_deref()
        .is_some_and(|sd| sd.status.is_over());
    let live = rollout.service_deployment.as_ref().filter(|_| !ended);
    // A paused deployment is rolled back by telling its pause so.
    let paused = failure
        .service_deployment
        .as_deref()
        .and_then(|sd| sd.awaiting());
    let by_ecs = live.and_then(|arn| {
        let asked = match paused {
            Some(hook) => ecs.continue_service_deployment(arn, &hook.id, HookAction::Rollback),
            None => ecs.roll_back_service_deployment(arn),
        };
        match asked {
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
                    if let Some(why) = &updated.lost {
                        report.progress(format!(
                            "note: the rollback's update-service gave no answer ({why}); \
                             following the service to see whether it goes back to {previous}"
                        ));
                    }
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
    started(report);
    Begun::Started(under_way(RolledBackBy::EcsDeploy, how))
}

impl<'a> Started<'a> {
    /// ECS's rollback of service deployment `arn` of `service`, which this tool asked for
    /// (`continue-service-deployment --action ROLLBACK`), to be waited for.
    pub fn asked_of_ecs(
        ecs: &'a dyn Ecs,
        report: &'a Report,
        settings: watch::Settings,
        service: ServiceRef,
        arn: &str,
    ) -> Started<'a> {
        Started {
            ecs,
            report,
            settings,
            previous: "the previous revision".into(),
            why: "rolled back as asked".into(),
            service,
            by: RolledBackBy::EcsDeploy,
            how: How::ServiceDeployment(arn.to_string()),
        }
    }

    /// Wait for the rollback (not after a signal), record how it ended; the error to end
    /// the run with.
    pub fn finish(self) -> Error {
        let (ecs, report, timing) = (self.ecs, self.report, self.settings.timing);
        let mut errors = wait_all(ecs, report, timing, vec![self]);
        errors.pop().expect("one rollback, one error")
    }

    /// What to follow until the rollback is over.
    fn follow(&self) -> Follow<'a> {
        match &self.how {
            How::ServiceDeployment(arn) => Follow::ServiceDeployment {
                arn: arn.clone(),
                last: None,
            },
            How::Update(back, seen) => {
                let mut watch = Watch::new(
                    self.ecs,
                    self.report,
                    self.settings,
                    (**back).clone(),
                    seen.clone(),
                )
                .following(Goal::Settle);
                watch.begin();
                Follow::Settle(Box::new(watch))
            }
        }
    }

    /// Record how the wait for the rollback ended, and say so; the error to end with.
    fn conclude(self, settled: Result<(), Stop>) -> Error {
        let Started {
            report,
            settings,
            previous,
            why,
            service,
            by,
            ..
        } = self;
        let outcome = match &settled {
            Ok(()) => RollbackOutcome::Succeeded,
            Err(Stop::Failed(_)) => RollbackOutcome::Failed,
            Err(_) => RollbackOutcome::InProgress,
        };
        report.record(|o| o.rolled_back(Rollback { by, outcome }));
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
        Error::Failed(match outcome {
            RollbackOutcome::Succeeded => format!("{why} (rolled back to {previous})"),
            RollbackOutcome::InProgress => format!("{why} (still rolling back to {previous})"),
            RollbackOutcome::Failed => format!("{why} (the rollback to {previous} failed)"),
        })
    }
}

/// Wait for several services' rollbacks together, and record how each ended.
pub fn finish_all(ecs: &dyn Ecs, report: &Report, timing: Timing, started: Vec<Started>) {
    wait_all(ecs, report, timing, started);
}

/// What a rollback is followed by while it is waited for.
enum Follow<'a> {
    /// The service settling back on its previous revision.
    Settle(Box<Watch<'a>>),
    /// ECS's rollback of this service deployment, with the status last seen.
    ServiceDeployment {
        arn: String,
        last: Option<ServiceDeploymentStatus>,
    },
}

/// One rollback being waited for: how it is followed, and how it ended once it did.
struct Waited<'s, 'a> {
    one: &'s Started<'a>,
    follow: Follow<'a>,
    ended: Option<Result<(), Stop>>,
}

/// Wait for `started` in one poll loop with one deadline (`timing.timeout`): each poll is
/// one describe-services for every service settling back on its previous revision, and
/// one describe-service-deployments for every service deployment that ECS rolls back. A
/// rollback still going at the deadline is left to ECS. Each is concluded; the errors to
/// end with, in the order given.
fn wait_all(ecs: &dyn Ecs, report: &Report, timing: Timing, started: Vec<Started>) -> Vec<Error> {
    let deadline = Instant::now() + timing.timeout;
    let mut waited: Vec<Waited> = started
        .iter()
        .map(|one| Waited {
            one,
            follow: one.follow(),
            ended: None,
        })
        .collect();
    let mut poller = Poller::new(report, timing.poll_interval, Start::AfterChange);
    let polled = poller.until(deadline, || {
        let (settling, pace) = poll_settling(ecs, report, deadline, &mut waited);
        let by_ecs = poll_rolled_back_by_ecs(ecs, report, deadline, &mut waited);
        if waited.iter().all(|w| w.ended.is_some()) {
            Ok(Outcome::Done((), pace))
        } else if settling == Look::Retry || by_ecs == Look::Retry {
            Err(PollError::Backoff)
        } else {
            Ok(Outcome::Waiting(pace))
        }
    });
    let unfinished = polled.err().unwrap_or(Stop::Timeout);
    let ended: Vec<Result<(), Stop>> = waited
        .into_iter()
        .map(|w| w.ended.unwrap_or_else(|| Err(unfinished.clone())))
        .collect();
    started
        .into_iter()
        .zip(ended)
        .map(|(one, settled)| one.conclude(settled))
        .collect()
}

/// How one look at some rollbacks went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Seen,
    /// Something could not be read: look again after a longer pause.
    Retry,
}

/// One describe-services for every service still settling back: each watch takes its
/// snapshot from it. How the look went, and how the rollbacks moved.
fn poll_settling(
    ecs: &dyn Ecs,
    report: &Report,
    deadline: Instant,
    waited: &mut [Waited],
) -> (Look, Pace) {
    let pending: Vec<usize> = (0..waited.len())
        .filter(|&i| waited[i].ended.is_none() && matches!(waited[i].follow, Follow::Settle(_)))
        .collect();
    let Some(&first) = pending.first() else {
        return (Look::Seen, Pace::Quiet);
    };
    let cluster = waited[first].one.service.cluster.clone();
    let names: Vec<String> = pending
        .iter()
        .map(|&i| waited[i].one.service.name.clone())
        .collect();
    let snapshots = match ecs.poll_services(&cluster, &names, deadline) {
        Ok(snapshots) => snapshots,
        Err(e) => return (call_failed(report, e, &pending, waited), Pace::Quiet),
    };
    let mut look = Look::Seen;
    let mut pace = Pace::Quiet;
    for (&i, snapshot) in pending.iter().zip(snapshots) {
        let Waited { one, follow, ended } = &mut waited[i];
        let Follow::Settle(watch) = follow else {
            continue;
        };
        let step = match snapshot {
            Some(snapshot) => watch.look(snapshot),
            None => Err(left_out(
                "describe-services",
                &format!("service '{}'", one.service.name),
            )
            .into()),
        };
        pace = pace.max(watch.pace_seen());
        match step {
            Ok(Progress::Done) => *ended = Some(Ok(())),
            Ok(Progress::Waiting) => {}
            Err(PollError::Retry(e)) => {
                one.report.progress(retry_line(&e));
                look = Look::Retry;
            }
            Err(PollError::Backoff) => look = Look::Retry,
            Err(PollError::Stop(stop)) => *ended = Some(Err(stop)),
        }
    }
    (look, pace)
}

/// One describe-service-deployments (per [`DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT`]) for
/// every service deployment ECS is still rolling back.
fn poll_rolled_back_by_ecs(
    ecs: &dyn Ecs,
    report: &Report,
    deadline: Instant,
    waited: &mut [Waited],
) -> Look {
    let pending: Vec<usize> = (0..waited.len())
        .filter(|&i| {
            waited[i].ended.is_none()
                && matches!(waited[i].follow, Follow::ServiceDeployment { .. })
        })
        .collect();
    let mut look = Look::Seen;
    for batch in pending.chunks(DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT) {
        let arns: Vec<String> = batch
            .iter()
            .filter_map(|&i| match &waited[i].follow {
                Follow::ServiceDeployment { arn, .. } => Some(arn.clone()),
                Follow::Settle(_) => None,
            })
            .collect();
        let answers = match ecs.poll_service_deployments(&arns, deadline) {
            Ok(answers) => answers,
            Err(e) => {
                if call_failed(report, e, batch, waited) == Look::Retry {
                    look = Look::Retry;
                }
                continue;
            }
        };
        for (&i, answer) in batch.iter().zip(answers) {
            let Waited { one, follow, ended } = &mut waited[i];
            let Follow::ServiceDeployment { arn, last } = follow else {
                continue;
            };
            let Some(sd) = answer else {
                let what = format!("service deployment {arn}");
                one.report
                    .progress(retry_line(&left_out("describe-service-deployments", &what)));
                look = Look::Retry;
                continue;
            };
            if *last != Some(sd.status) {
                *last = Some(sd.status);
                one.report
                    .progress(format!("service deployment: {}", sd.status.as_str()));
            }
            *ended = rollback_end(&sd);
        }
    }
    look
}

/// Whether ECS's rollback of a service deployment is over, and how.
fn rollback_end(sd: &ServiceDeployment) -> Option<Result<(), Stop>> {
    match sd.status {
        ServiceDeploymentStatus::RollbackSuccessful => Some(Ok(())),
        ServiceDeploymentStatus::RollbackFailed => Some(Err(Stop::Failed(watch::given_up(sd)))),
        _ => None,
    }
}

/// A poll of `which` failed as a whole: look again, or end them with why.
fn call_failed(report: &Report, e: CallError, which: &[usize], waited: &mut [Waited]) -> Look {
    match PollError::from(e) {
        PollError::Retry(e) => {
            report.progress(retry_line(&e));
            Look::Retry
        }
        PollError::Backoff => Look::Retry,
        PollError::Stop(stop) => {
            for &i in which {
                waited[i].ended = Some(Err(stop.clone()));
            }
            Look::Seen
        }
    }
}

/// An answer that lacks `what`, which was asked for: a failed look at that one.
fn left_out(step: &str, what: &str) -> CallError {
    CallError::new(
        step,
        255,
        format!("the answer does not include {what}"),
        CallFailure::Unreadable,
    )
}

/// The rollback was accepted: record it, under way.
fn started(report: &Report) {
    report.record(|o| {
        o.stage.reach(Stage::PointedBack);
        o.rolled_back(Rollback {
            by: RolledBackBy::EcsDeploy,
            outcome: RollbackOutcome::InProgress,
        })
    });
}

/// ECS rolled the deployment back on its own: record it as the watch did, from the same
/// reads, so that the result is the same with `--enable-rollback` as without.
fn record_ecs_rollback(
    report: &Report,
    rollout: &Rollout,
    last: Option<&Snapshot>,
    service_deployment: Option<&ServiceDeployment>,
) {
    let Some(outcome) = watch::rolled_back_by_ecs(rollout, last, service_deployment) else {
        return;
    };
    let by = RolledBackBy::Ecs;
    report.record(|o| o.rolled_back(Rollback { by, outcome }));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecs::RolloutState;
    use crate::ecs::scripted::{self, ScriptedEcs};
    use crate::poll::Timing;
    use crate::report::Status;

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
            circuit_breaker: false,
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
            .lock()
            .unwrap()
            .push_back(Ok(scripted::updated("ecs-svc/back")));
        ecs
    }

    fn failure(last: Option<Box<Snapshot>>) -> Failure {
        Failure {
            stop: Stop::Timeout,
            why: "no task ran".into(),
            last,
            service_deployment: None,
            codedeploy: None,
        }
    }

    #[test]
    fn a_circuit_breaker_rollback_is_recognised() {
        let mut ours = scripted::deployment("ecs-svc/new", "ACTIVE", NEW, 0, 2);
        ours.rollout_state = Some(RolloutState::Failed);
        let restored = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 2, 0);
        let rolled_back = snapshot(vec![restored, ours.clone()]);
        let restored = restored_by_ecs(Some(&rolled_back), OLD, &rollout());
        assert_eq!(restored.map(|d| d.id.as_str()), Some("ecs-svc/back"));

        let still_ours = snapshot(vec![
            scripted::deployment("ecs-svc/new", "PRIMARY", NEW, 0, 2),
            scripted::deployment("ecs-svc/old", "ACTIVE", OLD, 2, 0),
        ]);
        assert!(restored_by_ecs(Some(&still_ours), OLD, &rollout()).is_none());
        assert!(restored_by_ecs(None, OLD, &rollout()).is_none());

        // Someone else's deployment while ours goes on is no rollback.
        let replaced = snapshot(vec![
            scripted::deployment("ecs-svc/other", "PRIMARY", OLD, 0, 0),
            scripted::deployment("ecs-svc/new", "ACTIVE", NEW, 1, 0),
        ]);
        assert!(restored_by_ecs(Some(&replaced), OLD, &rollout()).is_none());
    }

    #[test]
    fn the_circuit_breakers_rollback_is_done_once_its_deployment_is_alone() {
        let mut ours = scripted::deployment("ecs-svc/new", "ACTIVE", NEW, 0, 2);
        ours.rollout_state = Some(RolloutState::Failed);
        let restoring = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 1, 0);
        let by_ecs =
            |deployments| watch::rolled_back_by_ecs(&rollout(), Some(&snapshot(deployments)), None);
        assert_eq!(
            by_ecs(vec![restoring.clone(), ours]),
            Some(RollbackOutcome::InProgress)
        );
        assert_eq!(by_ecs(vec![restoring]), Some(RollbackOutcome::Succeeded));
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
            .lock()
            .unwrap()
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
            .lock()
            .unwrap()
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
            .lock()
            .unwrap()
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
        ecs.service_deployments.lock().unwrap().extend([
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

    /// Roll back with `ecs` after a failure whose service deployment ECS left in `status`.
    fn roll_back_after(ecs: &ScriptedEcs, status: crate::ecs::ServiceDeploymentStatus) -> Report {
        let report = Report::captured();
        let mut failed = failure(None);
        failed.service_deployment =
            Some(Box::new(scripted::service_deployment(status, "CLEAN_UP")));
        let rollout = with_service_deployment();
        roll_back(ecs, &report, settings(), OLD, &rollout, failed);
        report
    }

    #[test]
    fn no_second_rollback_when_ecs_gave_the_service_deployment_up() {
        let ecs = ScriptedEcs::default();
        let status = crate::ecs::ServiceDeploymentStatus::RollbackSuccessful;
        let report = roll_back_after(&ecs, status);
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
    fn after_ecs_failed_to_roll_back_the_rollback_is_ours() {
        let ecs = settling_back();
        let status = crate::ecs::ServiceDeploymentStatus::RollbackFailed;
        let report = roll_back_after(&ecs, status);
        assert_eq!(ecs.calls()[0], "update-service td/web:1");
        let outcome = report.outcome();
        assert_eq!(
            outcome.rollback,
            Some(Rollback {
                by: RolledBackBy::EcsDeploy,
                outcome: RollbackOutcome::Succeeded
            })
        );
        assert_eq!(outcome.status, Status::RolledBack);
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

    // Several services ------------------------------------------------------------------

    use crate::ecs::ServiceDeploymentStatus::{InProgress, RollbackInProgress, RollbackSuccessful};
    use std::sync::Mutex;

    /// `name`'s blue/green rollout of NEW, with its service deployment.
    fn blue_green(name: &str) -> Rollout {
        Rollout {
            service: ServiceRef {
                cluster: "prod".into(),
                name: name.into(),
            },
            deployment_id: Some(format!("ecs-svc/{name}")),
            service_deployment: Some(scripted::service_deployment_arn(name)),
            strategy: crate::ecs::Strategy::BlueGreen,
            ..rollout()
        }
    }

    /// The wait for `name` ended with its service deployment in `status`.
    fn ended_in(name: &str, status: ServiceDeploymentStatus) -> Failure {
        let sd = scripted::service_deployment_of(name, status, "BAKE_TIME");
        Failure {
            stop: Stop::Failed(watch::given_up(&sd)),
            why: watch::given_up(&sd),
            last: None,
            service_deployment: Some(Box::new(sd)),
            codedeploy: None,
        }
    }

    /// `ecs` answers describe-service-deployments of `name`'s with `statuses` in turn.
    fn answering(ecs: &mut ScriptedEcs, name: &str, statuses: &[ServiceDeploymentStatus]) {
        let answers = statuses
            .iter()
            .map(|&status| scripted::service_deployment_of(name, status, "RECONCILE_SERVICE"))
            .collect();
        let arn = scripted::service_deployment_arn(name);
        ecs.by_arn.insert(arn, Mutex::new(answers));
    }

    /// Begin each service's rollback (with its report) and wait for them all.
    fn release<'a>(
        ecs: &'a ScriptedEcs,
        report: &Report,
        reports: &'a [Report],
        each: Vec<(Rollout, Failure)>,
        timing: Timing,
    ) {
        let settings = watch::Settings {
            timing,
            ..settings()
        };
        let started = reports
            .iter()
            .zip(each)
            .filter_map(|(report, (rollout, failure))| {
                match begin(ecs, report, settings, OLD, &rollout, failure) {
                    Begun::Over(_) => None,
                    Begun::ByEcs(_, one) | Begun::Started(one) => Some(one),
                }
            })
            .collect();
        finish_all(ecs, report, timing, started);
    }

    fn outcome_of(report: &Report) -> Option<(RolledBackBy, RollbackOutcome)> {
        report.outcome().rollback.map(|r| (r.by, r.outcome))
    }

    fn describe(names: &[&str]) -> String {
        let arns: Vec<String> = names
            .iter()
            .map(|name| scripted::service_deployment_arn(name))
            .collect();
        format!("describe-service-deployments {}", arns.join(" "))
    }

    #[test]
    fn ecs_own_rollbacks_of_several_services_are_read_together_until_one_deadline() {
        let mut ecs = ScriptedEcs::default();
        answering(&mut ecs, "web", &[RollbackInProgress, RollbackSuccessful]);
        answering(
            &mut ecs,
            "worker",
            &[RollbackInProgress, RollbackInProgress, RollbackSuccessful],
        );
        answering(&mut ecs, "api", &[RollbackInProgress]);
        let report = Report::captured();
        let names = ["web", "worker", "api"];
        let reports: Vec<Report> = names.iter().map(|n| report.for_service(n)).collect();
        let each = names
            .iter()
            .map(|name| (blue_green(name), ended_in(name, RollbackInProgress)))
            .collect();
        let timing = Timing {
            timeout: Duration::from_millis(100),
            poll_interval: Duration::from_millis(5),
        };
        let started = Instant::now();
        release(&ecs, &report, &reports, each, timing);
        let waited = started.elapsed();

        // Every poll reads every rollback still going, in one call; none waits for another.
        let calls = ecs.calls();
        assert_eq!(
            calls[..3],
            [
                describe(&["web", "worker", "api"]),
                describe(&["web", "worker", "api"]),
                describe(&["worker", "api"]),
            ]
        );
        assert!(calls.len() > 3, "{calls:?}");
        assert!(
            calls[3..].iter().all(|c| *c == describe(&["api"])),
            "{calls:?}"
        );
        assert!(waited < Duration::from_millis(1000), "{waited:?}");

        let by_ecs = RolledBackBy::Ecs;
        let outcomes: Vec<_> = reports.iter().map(outcome_of).collect();
        assert_eq!(
            outcomes,
            [
                Some((by_ecs, RollbackOutcome::Succeeded)),
                Some((by_ecs, RollbackOutcome::Succeeded)),
                Some((by_ecs, RollbackOutcome::InProgress)),
            ]
        );
        let lines = report.lines();
        let of = |name: &str| -> Vec<&str> {
            let prefix = format!("> [{name}] ");
            lines
                .iter()
                .filter_map(|line| line.strip_prefix(prefix.as_str()))
                .collect()
        };
        assert_eq!(
            of("web"),
            [
                "ECS is already rolling the service deployment back; not rolling back twice",
                "service deployment: ROLLBACK_IN_PROGRESS",
                "service deployment: ROLLBACK_SUCCESSFUL",
                "rollback complete: the service runs td/web:1 again",
            ]
        );
        assert_eq!(
            of("api").last().copied(),
            Some(
                "the rollback to td/web:1 had not settled within 0.1 seconds; ECS goes on with it"
            )
        );
    }

    #[test]
    fn each_poll_reads_the_services_settling_back_and_the_service_deployments_once() {
        // web: ECS rolls it back on its own; worker: ECS is asked to; api has no service
        // deployment and is pointed back at OLD.
        let mut ecs = ScriptedEcs::default();
        answering(&mut ecs, "web", &[RollbackInProgress, RollbackSuccessful]);
        answering(
            &mut ecs,
            "worker",
            &[RollbackInProgress, RollbackInProgress, RollbackSuccessful],
        );
        let back = |running| scripted::deployment("ecs-svc/back", "PRIMARY", OLD, running, 0);
        let ours = scripted::deployment("ecs-svc/api", "ACTIVE", NEW, 0, 0);
        ecs.by_service.insert(
            "api".into(),
            Mutex::new([snapshot(vec![back(1), ours]), snapshot(vec![back(2)])].into()),
        );
        ecs.updates
            .lock()
            .unwrap()
            .push_back(Ok(scripted::updated("ecs-svc/back")));
        let report = Report::captured();
        let reports: Vec<Report> = ["web", "worker", "api"]
            .iter()
            .map(|n| report.for_service(n))
            .collect();
        let api = Rollout {
            service_deployment: None,
            strategy: crate::ecs::Strategy::Rolling,
            ..blue_green("api")
        };
        let each = vec![
            (blue_green("web"), ended_in("web", RollbackInProgress)),
            (blue_green("worker"), ended_in("worker", InProgress)),
            (api, failure(None)),
        ];
        let timing = Timing {
            timeout: Duration::from_secs(5),
            poll_interval: Duration::ZERO,
        };
        release(&ecs, &report, &reports, each, timing);

        assert_eq!(
            ecs.calls(),
            [
                format!(
                    "stop-service-deployment {}",
                    scripted::service_deployment_arn("worker")
                ),
                "update-service td/web:1".to_string(),
                "describe-services".to_string(),
                describe(&["web", "worker"]),
                "describe-services".to_string(),
                describe(&["web", "worker"]),
                describe(&["worker"]),
            ]
        );
        let outcomes: Vec<_> = reports.iter().map(outcome_of).collect();
        assert_eq!(
            outcomes,
            [
                Some((RolledBackBy::Ecs, RollbackOutcome::Succeeded)),
                Some((RolledBackBy::EcsDeploy, RollbackOutcome::Succeeded)),
                Some((RolledBackBy::EcsDeploy, RollbackOutcome::Succeeded)),
            ]
        );
    }

    #[test]
    fn a_service_deployment_left_out_of_the_answer_is_read_again() {
        let mut ecs = ScriptedEcs::default();
        answering(&mut ecs, "web", &[RollbackSuccessful]);
        answering(&mut ecs, "worker", &[]);
        let report = Report::captured();
        let reports = [report.for_service("web"), report.for_service("worker")];
        let each = ["web", "worker"]
            .iter()
            .map(|name| (blue_green(name), ended_in(name, RollbackInProgress)))
            .collect();
        let timing = Timing {
            timeout: Duration::from_millis(30),
            poll_interval: Duration::ZERO,
        };
        release(&ecs, &report, &reports, each, timing);
        let worker = scripted::service_deployment_arn("worker");
        assert!(report.lines().contains(&format!(
            "> [worker] describe-service-deployments failed (transient), will retry: \
             the answer does not include service deployment {worker}"
        )));
        assert_eq!(
            outcome_of(&reports[1]),
            Some((RolledBackBy::Ecs, RollbackOutcome::InProgress))
        );
        assert_eq!(
            outcome_of(&reports[0]),
            Some((RolledBackBy::Ecs, RollbackOutcome::Succeeded))
        );
    }

    #[test]
    fn one_service_that_ecs_rolls_back_is_not_waited_for() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let error = roll_back(
            &ecs,
            &report,
            settings(),
            OLD,
            &blue_green("web"),
            ended_in("web", RollbackInProgress),
        );
        assert!(ecs.calls().is_empty());
        assert_eq!(
            outcome_of(&report),
            Some((RolledBackBy::Ecs, RollbackOutcome::InProgress))
        );
        assert_eq!(
            error.to_string(),
            "service deployment sd1 is ROLLBACK_IN_PROGRESS; ECS is rolling the service back"
        );
    }

    #[test]
    fn a_circuit_breaker_rollback_in_a_release_is_waited_for() {
        let mut ours = scripted::deployment("ecs-svc/web", "ACTIVE", NEW, 0, 2);
        ours.rollout_state = Some(RolloutState::Failed);
        let restoring = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 1, 0);
        let last = snapshot(vec![restoring, ours]);
        let restored = scripted::deployment("ecs-svc/back", "PRIMARY", OLD, 2, 0);
        let ecs = ScriptedEcs::polls(vec![Ok(last.clone()), Ok(snapshot(vec![restored]))]);
        let report = Report::captured();
        let reports = [report.for_service("web")];
        let rolling = Rollout {
            service_deployment: None,
            strategy: crate::ecs::Strategy::Rolling,
            ..blue_green("web")
        };
        let timing = Timing {
            timeout: Duration::from_secs(5),
            poll_interval: Duration::ZERO,
        };
        let each = vec![(rolling, failure(Some(Box::new(last))))];
        release(&ecs, &report, &reports, each, timing);
        assert_eq!(ecs.calls(), ["describe-services", "describe-services"]);
        assert_eq!(
            outcome_of(&reports[0]),
            Some((RolledBackBy::Ecs, RollbackOutcome::Succeeded))
        );
    }
}
