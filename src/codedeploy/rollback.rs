//! `--enable-rollback` for a CODE_DEPLOY service: a deployment still going is stopped with
//! CodeDeploy's own rollback (`stop-deployment --auto-rollback-enabled`), which puts
//! production traffic back on the original task set; one that is over is followed by a
//! new deployment of the previous revision. Never a second rollback when CodeDeploy
//! already rolls back by itself. The rollbacks of a release are waited for together.

use std::time::Instant;

use super::watch::Rollout;
use super::{CodeDeploy, Deployment, DeploymentStatus};
use crate::error::{Error, Result};
use crate::poll::{Outcome, PollError, Poller, Start, Stop, Timing, retry_line};
use crate::record::{Fact, Stage};
use crate::report::{Report, Rollback, RollbackOutcome, RolledBackBy};
use crate::watch::Failure;

/// Looks at a stopped deployment without a rollback deployment after which CodeDeploy is
/// taken to have started none.
const NO_ROLLBACK_AFTER: u32 = 3;

/// What a rollback waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum How {
    /// The rollback deployment CodeDeploy starts for this stopped one.
    RollbackOf(String),
    /// This deployment, to its end.
    Deployment(String),
}

/// A rollback under way, to be waited for.
pub struct Started<'a> {
    report: &'a Report,
    previous: String,
    why: String,
    by: RolledBackBy,
    how: How,
    /// Looks at a stopped deployment that named no rollback yet.
    without_rollback: u32,
}

/// Decide whether and how to roll `rollout` back to `previous` after `failure`, and start
/// it; `redeploy` starts a new deployment of a revision (for a deployment that is over).
/// `Err`: nothing to wait for, the error to end with.
pub fn begin<'a>(
    codedeploy: &dyn CodeDeploy,
    report: &'a Report,
    rollout: &Rollout,
    previous: &str,
    failure: Failure,
    redeploy: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<Started<'a>, Error> {
    let why = failure.why;
    let under_way = |by, how| Started {
        report,
        previous: previous.to_string(),
        why: why.clone(),
        by,
        how,
        without_rollback: 0,
    };
    if previous == rollout.task_definition {
        report.progress(
            "not rolling back: the service already runs the previous revision's definition",
        );
        return Err(Error::Failed(why));
    }
    let last = failure.codedeploy.as_deref();
    if let Some(id) = last.and_then(Deployment::rolled_back_by) {
        report.progress(format!(
            "CodeDeploy is already rolling the deployment back (deployment {id}); not rolling back twice"
        ));
        return Ok(under_way(
            RolledBackBy::CodeDeploy,
            How::Deployment(id.to_string()),
        ));
    }
    report.fact(Fact::RollingBack(previous.to_string()));
    report.record(|o| o.stage.reach(Stage::RollbackAsked));
    let over = last.is_some_and(|d| d.status.is_over());
    if !over {
        match codedeploy.stop_deployment(&rollout.deployment_id, true) {
            Ok(()) => {
                report.progress(format!(
                    "asked CodeDeploy to stop deployment {} and roll it back",
                    rollout.deployment_id
                ));
                return Ok(under_way(
                    RolledBackBy::EcsDeploy,
                    How::RollbackOf(rollout.deployment_id.clone()),
                ));
            }
            // Over after all (the last look was older): a new deployment puts it back.
            Err(e) if e.to_string().contains("DeploymentAlreadyCompleted") => {
                report.progress(format!(
                    "note: deployment {} is already over ({e}); deploying {previous} instead",
                    rollout.deployment_id
                ))
            }
            Err(e) => {
                report.progress(format!("ERROR: the rollback failed: {e}"));
                return Err(Error::Failed(format!(
                    "{why} (and the rollback to {previous} failed: {e})"
                )));
            }
        }
    }
    match redeploy(previous) {
        Ok(id) => {
            report.progress(format!("CodeDeploy deployment {id} puts {previous} back"));
            report.record(|o| o.stage.reach(Stage::PointedBack));
            Ok(under_way(RolledBackBy::EcsDeploy, How::Deployment(id)))
        }
        Err(e) => {
            report.progress(format!("ERROR: the rollback failed: {e}"));
            Err(Error::Failed(format!(
                "{why} (and the rollback to {previous} failed: {e})"
            )))
        }
    }
}

impl Started<'_> {
    fn id(&self) -> &str {
        match &self.how {
            How::RollbackOf(id) | How::Deployment(id) => id,
        }
    }

    /// One look at the deployment it waits for: `Some` once the rollback is over.
    fn look(&mut self, deployment: &Deployment) -> Option<std::result::Result<(), Stop>> {
        match &self.how {
            How::RollbackOf(stopped) => {
                if let Some(rollback) = deployment.rolled_back_by() {
                    self.report.progress(format!(
                        "CodeDeploy rolls {stopped} back with deployment {rollback}"
                    ));
                    self.how = How::Deployment(rollback.to_string());
                    return None;
                }
                if !deployment.status.is_over() {
                    return None;
                }
                self.without_rollback += 1;
                (self.without_rollback >= NO_ROLLBACK_AFTER).then(|| {
                    Err(Stop::Failed(format!(
                        "CodeDeploy ended deployment {stopped} ({}) without starting a rollback",
                        deployment.status.as_str()
                    )))
                })
            }
            How::Deployment(id) => match deployment.status {
                DeploymentStatus::Succeeded => Some(Ok(())),
                DeploymentStatus::Failed | DeploymentStatus::Stopped => {
                    let error = deployment
                        .error
                        .as_ref()
                        .map_or_else(String::new, |e| format!(": {} {}", e.code, e.message));
                    Some(Err(Stop::Failed(format!(
                        "CodeDeploy deployment {id} {}{}",
                        deployment.status.as_str(),
                        error.trim_end()
                    ))))
                }
                _ => None,
            },
        }
    }

    /// Record how the wait for the rollback ended, and say so; the error to end with.
    fn conclude(self, settled: std::result::Result<(), Stop>) -> Error {
        let Started {
            report,
            previous,
            why,
            by,
            how,
            ..
        } = self;
        let outcome = match &settled {
            Ok(()) => RollbackOutcome::Succeeded,
            Err(Stop::Failed(_)) => RollbackOutcome::Failed,
            Err(_) => RollbackOutcome::InProgress,
        };
        report.record(|o| o.rolled_back(Rollback { by, outcome }));
        let id = match &how {
            How::RollbackOf(id) | How::Deployment(id) => id.clone(),
        };
        let follow = format!("aws deploy get-deployment --deployment-id {id}");
        report.progress(match settled {
            Ok(()) => format!(
                "rollback complete: production traffic is on {previous} again (CodeDeploy deployment {id} succeeded)"
            ),
            Err(Stop::Timeout) => format!(
                "the rollback to {previous} was not over in time; CodeDeploy goes on with it. Follow it with: {follow}"
            ),
            Err(Stop::Failed(reason)) => {
                format!("the rollback to {previous} did not complete: {reason}")
            }
            Err(Stop::Aws(e)) => format!(
                "could not follow the rollback to {previous} ({} failed: {}); follow it with: {follow}",
                e.step, e.message
            ),
            Err(Stop::Interrupted) => format!("rollback started; follow it with: {follow}"),
        });
        Error::Failed(match outcome {
            RollbackOutcome::Succeeded => format!("{why} (rolled back to {previous})"),
            RollbackOutcome::InProgress => format!("{why} (still rolling back to {previous})"),
            RollbackOutcome::Failed => format!("{why} (the rollback to {previous} failed)"),
        })
    }
}

/// Wait for `started` in one poll loop with one deadline (`timing.timeout`), one
/// batch-get-deployments per poll; the errors to end with, in the order given.
pub fn wait_all(
    codedeploy: &dyn CodeDeploy,
    report: &Report,
    timing: Timing,
    mut started: Vec<Started>,
) -> Vec<Error> {
    let deadline = Instant::now() + timing.timeout;
    let mut ended: Vec<Option<std::result::Result<(), Stop>>> = vec![None; started.len()];
    let mut poller = Poller::new(report, timing.poll_interval, Start::AfterChange);
    let polled = poller.until(deadline, || {
        let waiting: Vec<usize> = (0..started.len()).filter(|&i| ended[i].is_none()).collect();
        let ids: Vec<String> = waiting
            .iter()
            .map(|&i| started[i].id().to_string())
            .collect();
        let mut answers = Vec::new();
        for chunk in ids.chunks(super::BATCH_GET_DEPLOYMENTS_LIMIT) {
            match codedeploy.poll_deployments(chunk, deadline) {
                Ok(found) => answers.extend(found),
                Err(e) => {
                    return match PollError::from(e) {
                        PollError::Retry(e) => {
                            report.progress(retry_line(&e));
                            Err(PollError::Backoff)
                        }
                        other => Err(other),
                    };
                }
            }
        }
        for (&i, answer) in waiting.iter().zip(answers) {
            if let Some(deployment) = answer {
                ended[i] = started[i].look(&deployment);
            }
        }
        Ok(Outcome::quiet_unless(
            ended.iter().all(Option::is_some).then_some(()),
        ))
    });
    let unfinished = polled.err().unwrap_or(Stop::Timeout);
    started
        .drain(..)
        .zip(ended)
        .map(|(one, end)| one.conclude(end.unwrap_or_else(|| Err(unfinished.clone()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::codedeploy::RollbackInfo;
    use crate::codedeploy::scripted::ScriptedCodeDeploy;
    use crate::ecs::ServiceRef;
    use crate::report::Status;
    use crate::watch::stopped;

    fn rollout() -> Rollout {
        Rollout {
            service: ServiceRef {
                cluster: "prod".into(),
                name: "web".into(),
            },
            application: "app".into(),
            group: "web-dg".into(),
            deployment_id: "d-1".into(),
            task_definition: "td/web:2".into(),
        }
    }

    fn deployment(id: &str, status: DeploymentStatus, rollback: Option<&str>) -> Deployment {
        Deployment {
            id: id.into(),
            status,
            error: None,
            rollback: rollback.map(|r| RollbackInfo {
                rollback_deployment_id: Some(r.into()),
                ..RollbackInfo::default()
            }),
        }
    }

    fn timing() -> Timing {
        Timing {
            timeout: Duration::from_secs(5),
            poll_interval: Duration::ZERO,
        }
    }

    fn no_redeploy(_: &str) -> Result<String> {
        Err(Error::Failed("not expected".into()))
    }

    #[test]
    fn a_deployment_still_going_is_stopped_with_codedeploys_rollback_and_followed() {
        let cd = ScriptedCodeDeploy::default()
            .deployment(
                "d-1",
                vec![
                    Ok(deployment("d-1", DeploymentStatus::Stopped, None)),
                    Ok(deployment("d-1", DeploymentStatus::Stopped, Some("d-2"))),
                ],
            )
            .deployment(
                "d-2",
                vec![
                    Ok(deployment("d-2", DeploymentStatus::InProgress, None)),
                    Ok(deployment("d-2", DeploymentStatus::Succeeded, None)),
                ],
            );
        let report = Report::captured();
        report.record(|o| o.status = Status::TimedOut);
        let mut failure = stopped(Stop::Timeout, "too slow".into());
        failure.codedeploy = Some(Box::new(deployment("d-1", DeploymentStatus::Ready, None)));
        let started = begin(&cd, &report, &rollout(), "td/web:1", failure, &no_redeploy).unwrap();
        let errors = wait_all(&cd, &report, timing(), vec![started]);
        assert_eq!(errors[0].to_string(), "too slow (rolled back to td/web:1)");
        assert_eq!(
            cd.calls(),
            [
                "stop-deployment d-1 --auto-rollback-enabled",
                "batch-get-deployments d-1",
                "batch-get-deployments d-1",
                "batch-get-deployments d-2",
                "batch-get-deployments d-2",
            ]
        );
        let outcome = report.outcome();
        assert_eq!(outcome.status, Status::RolledBack);
        assert_eq!(outcome.rollback.unwrap().by, RolledBackBy::EcsDeploy);
        assert!(
            report
                .lines()
                .contains(&"Rolling back to td/web:1".to_string())
        );
    }

    #[test]
    fn no_second_rollback_when_codedeploy_already_rolls_back() {
        let cd = ScriptedCodeDeploy::default().deployment(
            "d-2",
            vec![Ok(deployment("d-2", DeploymentStatus::Succeeded, None))],
        );
        let report = Report::captured();
        let mut failure = stopped(Stop::Failed("hook failed".into()), "hook failed".into());
        failure.codedeploy = Some(Box::new(deployment(
            "d-1",
            DeploymentStatus::Failed,
            Some("d-2"),
        )));
        let started = begin(&cd, &report, &rollout(), "td/web:1", failure, &no_redeploy).unwrap();
        let errors = wait_all(&cd, &report, timing(), vec![started]);
        assert_eq!(
            errors[0].to_string(),
            "hook failed (rolled back to td/web:1)"
        );
        assert_eq!(cd.calls(), ["batch-get-deployments d-2"]);
        assert_eq!(
            report.outcome().rollback.unwrap().by,
            RolledBackBy::CodeDeploy
        );
        assert!(
            !report
                .lines()
                .contains(&"Rolling back to td/web:1".to_string())
        );
    }

    #[test]
    fn a_deployment_that_is_over_is_followed_by_one_of_the_previous_revision() {
        let cd = ScriptedCodeDeploy::default().deployment(
            "d-9",
            vec![Ok(deployment("d-9", DeploymentStatus::Succeeded, None))],
        );
        let report = Report::captured();
        let mut failure = stopped(
            Stop::Failed("the release failed".into()),
            "the release failed".into(),
        );
        failure.codedeploy = Some(Box::new(deployment(
            "d-1",
            DeploymentStatus::Succeeded,
            None,
        )));
        let redeploy = |previous: &str| {
            assert_eq!(previous, "td/web:1");
            Ok("d-9".to_string())
        };
        let started = begin(&cd, &report, &rollout(), "td/web:1", failure, &redeploy).unwrap();
        let errors = wait_all(&cd, &report, timing(), vec![started]);
        assert_eq!(
            errors[0].to_string(),
            "the release failed (rolled back to td/web:1)"
        );
        assert_eq!(cd.calls(), ["batch-get-deployments d-9"]);
    }

    #[test]
    fn a_stop_that_starts_no_rollback_is_a_failed_rollback() {
        let cd = ScriptedCodeDeploy::default().deployment(
            "d-1",
            vec![Ok(deployment("d-1", DeploymentStatus::Stopped, None))],
        );
        let report = Report::captured();
        let failure = stopped(Stop::Timeout, "too slow".into());
        let started = begin(&cd, &report, &rollout(), "td/web:1", failure, &no_redeploy).unwrap();
        let errors = wait_all(&cd, &report, timing(), vec![started]);
        assert_eq!(
            errors[0].to_string(),
            "too slow (the rollback to td/web:1 failed)"
        );
        assert_eq!(
            report.outcome().rollback.unwrap().outcome,
            RollbackOutcome::Failed
        );
    }
}
