//! Several watches advanced by one poll: each poll is a single `describe-services` for
//! every service still being watched, and each watch takes its own snapshot from it
//! (looking at tasks or its service deployment only where its phase needs them). Each
//! watch keeps its own phases and deadlines; one that fails is done at once.

use std::time::{Duration, Instant};

use super::{Failure, Progress, Watch};
use crate::aws::{CallError, Failure as CallFailure};
use crate::ecs::Ecs;
use crate::poll::{PollError, Poller, Stop};
use crate::report::Report;

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
pub fn watch(
    ecs: &dyn Ecs,
    report: &Report,
    interval: Duration,
    mut watches: Vec<Watch>,
    fail_fast: bool,
) -> Vec<Ended> {
    let mut ended: Vec<Option<Ended>> = watches
        .iter_mut()
        .map(|watch| (watch.start() == Progress::Done).then_some(Ended::Succeeded))
        .collect();
    let mut poller = Poller::new(report, interval);
    loop {
        let pending: Vec<usize> = (0..watches.len()).filter(|&i| ended[i].is_none()).collect();
        let failed = ended.iter().any(|e| matches!(e, Some(Ended::Failed(_))));
        if pending.is_empty() || (fail_fast && failed) {
            break;
        }
        let Some(deadline) = pending.iter().map(|&i| watches[i].deadline()).max() else {
            break;
        };
        let cluster = watches[pending[0]].service().cluster.clone();
        let names: Vec<String> = pending
            .iter()
            .map(|&i| watches[i].service().name.clone())
            .collect();
        let polled = poller.until(deadline, || {
            let snapshots = ecs.poll_services(&cluster, &names, deadline)?;
            let mut changed = false;
            let mut retried = false;
            for (&i, snapshot) in pending.iter().zip(snapshots) {
                let watch = &mut watches[i];
                let phase_deadline = watch.deadline();
                let step = match snapshot {
                    Some(snapshot) => watch.advance(snapshot),
                    None => Err(PollError::Retry(not_in_answer(&watch.service().name))),
                };
                match step {
                    Ok(Progress::Done) => {
                        ended[i] = Some(Ended::Succeeded);
                        changed = true;
                        continue;
                    }
                    Ok(Progress::Waiting) => {}
                    Err(PollError::Retry(e)) => {
                        watch.report.progress(format!(
                            "{} failed (transient), will retry: {}",
                            e.step, e.message
                        ));
                        retried = true;
                    }
                    Err(PollError::Backoff) => retried = true,
                    Err(PollError::Stop(stop)) => {
                        ended[i] = Some(Ended::Failed(Box::new(watch.fail(stop))));
                        changed = true;
                        continue;
                    }
                }
                if Instant::now() >= watch.deadline() {
                    ended[i] = Some(Ended::Failed(Box::new(watch.fail(Stop::Timeout))));
                    changed = true;
                } else if watch.deadline() != phase_deadline {
                    // A new phase, with a deadline of its own.
                    changed = true;
                }
            }
            if changed {
                Ok(Some(()))
            } else if retried {
                Err(PollError::Backoff)
            } else {
                Ok(None)
            }
        });
        if let Err(stop) = polled {
            for &i in &pending {
                if ended[i].is_none() {
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

/// A poll whose answer lacks one of the services asked for: a failed look at that one.
fn not_in_answer(name: &str) -> CallError {
    CallError::new(
        "describe-services",
        255,
        format!("the answer does not include service '{name}'"),
        CallFailure::Unreadable,
    )
}
