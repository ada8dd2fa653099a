//! Several watches advanced by one poll: each poll is a single `describe-services` for
//! every service still being watched, and each watch takes its own snapshot from it
//! (looking at tasks or its service deployment only where its phase needs them). Each
//! watch keeps its own phases and deadlines; one that fails is done at once.

use std::time::{Duration, Instant};

use super::follow::{Decisive, Follow, Reads};
use super::{Failure, Progress};
use crate::aws::{CallError, Failure as CallFailure};
use crate::cadence::Pace;
use crate::poll::{Outcome, PollError, Poller, Start, Stop, retry_line};
use crate::report::Report;
use crate::side::Jobs;

/// How one watch ended.
#[derive(Debug)]
pub enum Ended {
    Succeeded,
    Failed(Box<Failure>),
    /// No longer watched: another service failed and `fail_fast` was asked for.
    Unfinished,
}

/// Watch every service to its end (or, with `fail_fast`, until the first failure). The
/// services share one cluster. How each ended, in the order given.
///
/// Side work (log reads) runs beside the loop: what it finds is shown as it comes, a
/// failed watch waits for its own before saying why, and what is still running when the
/// watches end may go on until one poll interval (at least [`SUCCESS_GRACE`]) after it
/// started, then is stopped.
pub fn watch<'a>(
    reads: Reads,
    report: &Report,
    interval: Duration,
    start: Start,
    mut watches: Vec<Box<dyn Follow<'a> + 'a>>,
    fail_fast: bool,
) -> Vec<Ended> {
    std::thread::scope(|scope| {
        let mut jobs = Jobs::new(scope);
        let poller = Poller::new(report, interval, start);
        let ended = watch_beside(reads, poller, &mut watches, fail_fast, &mut jobs);
        show(&watches, jobs.grace(interval.max(SUCCESS_GRACE)));
        show(&watches, jobs.abandon());
        ended
    })
}

/// The least time side work is given from its start before it may be stopped.
const SUCCESS_GRACE: Duration = Duration::from_secs(2);

/// Print side work's lines through the report of the watch that asked for it.
fn show(watches: &[Box<dyn Follow + '_>], done: Vec<(usize, Vec<String>)>) {
    for (owner, lines) in done {
        for line in lines {
            watches[owner].report().progress(line);
        }
    }
}

/// Hand the side work watch `i` asked for to `jobs`.
fn start_side_work<'a>(watch: &mut dyn Follow<'a>, i: usize, jobs: &mut Jobs<'_, 'a>) {
    for (work, if_stopped) in watch.side_work() {
        let until = watch.side().from_now();
        jobs.spawn(i, until, work, if_stopped);
    }
}

fn watch_beside<'a>(
    reads: Reads,
    mut poller: Poller,
    watches: &mut [Box<dyn Follow<'a> + 'a>],
    fail_fast: bool,
    jobs: &mut Jobs<'_, 'a>,
) -> Vec<Ended> {
    let mut ended: Vec<Option<Ended>> = watches
        .iter_mut()
        .map(|watch| (watch.start() == Progress::Done).then_some(Ended::Succeeded))
        .collect();
    // Watches whose phase deadline passed during side work: one more decisive read decides.
    let mut last_look: Vec<bool> = vec![false; watches.len()];
    loop {
        let pending: Vec<usize> = (0..watches.len()).filter(|&i| ended[i].is_none()).collect();
        let failed = ended.iter().any(|e| matches!(e, Some(Ended::Failed(_))));
        if pending.is_empty() || (fail_fast && failed) {
            break;
        }
        let Some(deadline) = pending.iter().map(|&i| watches[i].deadline()).max() else {
            break;
        };
        let wanted: Vec<Decisive> = pending.iter().map(|&i| watches[i].decisive()).collect();
        reads.expect(&wanted);
        let polled = poller.until(deadline, || {
            // The decisive read after side work is not cut short by the time that work
            // took: the verdict rests on it.
            let after_side_work = pending.iter().any(|&i| watches[i].did_side_work());
            let call_deadline = match after_side_work {
                true => deadline.max(Instant::now() + watches[pending[0]].side().per_call),
                false => deadline,
            };
            let answers = reads.read(&wanted, call_deadline)?;
            show(watches, jobs.finished());
            let mut changed = false;
            let mut retried = false;
            let mut pace = Pace::Quiet;
            for ((&i, answer), read) in pending.iter().zip(answers).zip(&wanted) {
                let watch = &mut watches[i];
                let phase_deadline = watch.deadline();
                let step = match answer {
                    Some(answer) => watch.advance(answer),
                    None => Err(PollError::Retry(not_in_answer(read))),
                };
                pace = pace.max(watch.pace());
                start_side_work(watch.as_mut(), i, jobs);
                let step = match step {
                    Err(PollError::Stop(stop)) => Err(stop),
                    Ok(Progress::Done) => Ok(true),
                    Ok(Progress::Waiting) => Ok(false),
                    Err(PollError::Retry(e)) => {
                        watch.report().progress(retry_line(&e));
                        retried = true;
                        Ok(false)
                    }
                    Err(PollError::Backoff) => {
                        retried = true;
                        Ok(false)
                    }
                };
                let timed_out = Instant::now() >= watch.deadline();
                let stop = match step {
                    Ok(true) => {
                        ended[i] = Some(Ended::Succeeded);
                        changed = true;
                        continue;
                    }
                    Err(stop) => stop,
                    Ok(false) if timed_out && watch.did_side_work() && !last_look[i] => {
                        last_look[i] = true;
                        changed = true;
                        continue;
                    }
                    Ok(false) if timed_out => Stop::Timeout,
                    Ok(false) => {
                        if watch.deadline() != phase_deadline {
                            // A new phase, with a deadline of its own.
                            last_look[i] = false;
                            changed = true;
                        }
                        continue;
                    }
                };
                // A failed watch shows what its side work found before it says why.
                show(watches, jobs.wait_for(&[i]));
                ended[i] = Some(Ended::Failed(Box::new(watches[i].fail(stop))));
                changed = true;
            }
            if changed {
                return Ok(Outcome::Done((), pace));
            }
            // The next poll is this same read again.
            reads.expect(&wanted);
            match retried {
                true => Err(PollError::Backoff),
                false => Ok(Outcome::Waiting(pace)),
            }
        });
        if let Err(stop) = polled {
            for &i in &pending {
                if ended[i].is_none() {
                    show(watches, jobs.wait_for(&[i]));
                    ended[i] = Some(Ended::Failed(Box::new(watches[i].fail(stop.clone()))));
                }
            }
        }
    }
    ended
        .into_iter()
        .map(|e| e.unwrap_or(Ended::Unfinished))
        .collect()
}

/// A poll whose answer lacks one of the reads asked for: a failed look at that one.
fn not_in_answer(read: &Decisive) -> CallError {
    let (step, what) = match read {
        Decisive::Service { name, .. } => ("describe-services", format!("service '{name}'")),
        Decisive::Deployment(id) => ("batch-get-deployments", format!("deployment {id}")),
    };
    CallError::new(
        step,
        255,
        format!("the answer does not include {what}"),
        CallFailure::Unreadable,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::ecs::scripted::{self, ScriptedEcs};
    use crate::ecs::{RolloutState, ServiceRef, Snapshot, Strategy};
    use crate::poll::Timing;
    use crate::watch::{Rollout, Settings, Watch};

    fn boxed<'a>(watch: Watch<'a>) -> Box<dyn Follow<'a> + 'a> {
        Box::new(watch)
    }

    fn settings() -> Settings {
        Settings {
            timing: Timing {
                timeout: Duration::from_secs(5),
                poll_interval: Duration::ZERO,
            },
            skip_deployments_check: false,
            side: crate::side::Budget::default(),
        }
    }

    fn rollout(name: &str) -> Rollout {
        Rollout {
            service: ServiceRef {
                cluster: "prod".into(),
                name: name.into(),
            },
            deployment_id: Some(format!("ecs-svc/{name}")),
            task_definition: "td/app:2".into(),
            health_checked: false,
            desired_count: Some(2),
            service_deployment: None,
            strategy: Strategy::Rolling,
        }
    }

    /// `name`'s deployment with `running` tasks, next to the old one unless `alone`.
    fn seen(name: &str, running: i64, alone: bool) -> Snapshot {
        let id = format!("ecs-svc/{name}");
        let mut deployments = vec![scripted::deployment(&id, "PRIMARY", "td/app:2", running, 0)];
        if !alone {
            deployments.push(scripted::deployment(
                "ecs-svc/old",
                "ACTIVE",
                "td/app:1",
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

    fn failed(name: &str) -> Snapshot {
        let mut snapshot = seen(name, 0, false);
        snapshot.deployments[0].rollout_state = Some(RolloutState::Failed);
        snapshot.deployments[0].rollout_state_reason = Some("circuit breaker".into());
        snapshot
    }

    fn ecs(answers: &[(&str, Vec<Snapshot>)]) -> ScriptedEcs {
        let mut ecs = ScriptedEcs::default();
        for (name, snapshots) in answers {
            let queue: VecDeque<Snapshot> = snapshots.clone().into();
            ecs.by_service.insert(name.to_string(), Mutex::new(queue));
        }
        ecs
    }

    fn run(ecs: &ScriptedEcs, report: &Report, names: &[&str], fail_fast: bool) -> Vec<Ended> {
        let reports: Vec<Report> = names.iter().map(|n| report.for_service(n)).collect();
        let watches = names
            .iter()
            .zip(&reports)
            .map(|(name, report)| boxed(Watch::new(ecs, report, settings(), rollout(name), [])))
            .collect();
        watch(
            Reads::ecs(ecs),
            report,
            Duration::ZERO,
            Start::Now,
            watches,
            fail_fast,
        )
    }

    fn outcome(ended: &[Ended]) -> Vec<&'static str> {
        ended
            .iter()
            .map(|e| match e {
                Ended::Succeeded => "succeeded",
                Ended::Failed(_) => "failed",
                Ended::Unfinished => "unfinished",
            })
            .collect()
    }

    #[test]
    fn one_poll_asks_for_every_service_still_being_watched() {
        let ecs = ecs(&[
            ("web", vec![seen("web", 2, true)]),
            (
                "worker",
                vec![
                    seen("worker", 0, false),
                    seen("worker", 2, false),
                    seen("worker", 2, true),
                ],
            ),
        ]);
        let report = Report::captured();
        let ended = run(&ecs, &report, &["web", "worker"], false);
        assert_eq!(outcome(&ended), ["succeeded", "succeeded"]);
        assert_eq!(
            ecs.calls(),
            [
                "describe-services web worker",
                "describe-services",
                "describe-services",
            ]
        );
        let lines = report.lines();
        assert!(lines.contains(&"[web] Service deployment successful.".to_string()));
        assert!(lines.contains(&"[worker] Service deployment successful.".to_string()));
    }

    #[test]
    fn a_failure_ends_that_watch_and_the_others_go_on() {
        let ecs = ecs(&[
            ("web", vec![failed("web")]),
            (
                "worker",
                vec![seen("worker", 0, false), seen("worker", 2, true)],
            ),
        ]);
        let report = Report::captured();
        let ended = run(&ecs, &report, &["web", "worker"], false);
        assert_eq!(outcome(&ended), ["failed", "succeeded"]);
        // The failed service's stopped tasks are looked for once; then only worker is asked.
        assert_eq!(
            ecs.calls(),
            [
                "describe-services web worker",
                "list-tasks STOPPED",
                "describe-services"
            ]
        );
        assert!(
            report
                .lines()
                .contains(&"> [web] ERROR: deployment ecs-svc/web failed: circuit breaker".into())
        );
    }

    #[test]
    fn failing_fast_leaves_the_others_unfinished() {
        let ecs = ecs(&[
            ("web", vec![failed("web")]),
            ("worker", vec![seen("worker", 0, false)]),
        ]);
        let report = Report::captured();
        let ended = run(&ecs, &report, &["web", "worker"], true);
        assert_eq!(outcome(&ended), ["failed", "unfinished"]);
        assert_eq!(
            ecs.calls(),
            ["describe-services web worker", "list-tasks STOPPED"]
        );
    }

    #[test]
    fn a_service_missing_from_an_answer_is_one_failed_look_at_it() {
        let mut ecs = ecs(&[("web", vec![seen("web", 2, true)])]);
        ecs.snapshots = Mutex::new(VecDeque::new());
        let report = Report::captured();
        let reports = [report.for_service("web"), report.for_service("gone")];
        let mut gone = rollout("gone");
        gone.desired_count = Some(0);
        let short = Settings {
            timing: Timing {
                timeout: Duration::from_millis(30),
                poll_interval: Duration::ZERO,
            },
            ..settings()
        };
        let watches = vec![
            boxed(Watch::new(
                &ecs,
                &reports[0],
                settings(),
                rollout("web"),
                [],
            )),
            boxed(Watch::new(&ecs, &reports[1], short, gone, [])),
        ];
        // "gone" has no scripted answer: the scripted ECS leaves it out of the poll.
        let ended = watch(
            Reads::ecs(&ecs),
            &report,
            Duration::ZERO,
            Start::Now,
            watches,
            false,
        );
        assert_eq!(outcome(&ended), ["succeeded", "failed"]);
        assert!(report.lines().iter().any(|line| line
            == "> [gone] describe-services failed (transient), will retry: the answer does not include service 'gone'"));
    }
}
