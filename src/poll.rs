//! The one polling loop behind every wait (a rollout, a rollback, a one-off task): a
//! deadline on a monotonic clock, polls at the cadence of what they see (the time of the
//! call included; see `cadence.rs`),
//! a growing pause after failed polls, SIGINT/SIGTERM checked before each poll and during
//! each pause, and the one place where a failed call is judged worth another try or not.

use std::time::{Duration, Instant};

use crate::aws::{CallError, Failure};
use crate::cadence::{Cadence, Pace};
use crate::output;
use crate::report::Report;
use crate::signals;

/// The longest pause between polls while they keep failing.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(15);

/// How long a wait may take, and how often it polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The budget of one wait (each phase of a rollout has its own).
    pub timeout: Duration,
    pub poll_interval: Duration,
}

/// Why a wait ended without reaching what it waited for.
#[derive(Debug, Clone)]
pub enum Stop {
    Timeout,
    Interrupted,
    /// What was waited for can no longer happen (e.g. the rollout failed).
    Failed(String),
    /// A poll failed in a way that asking again will not mend.
    Aws(CallError),
}

/// How one poll went wrong: worth another poll, or the end of the wait.
#[derive(Debug)]
pub enum PollError {
    Retry(CallError),
    /// A poll that went wrong in part and was already told to the user: wait longer
    /// before the next, as after a failed poll.
    Backoff,
    Stop(Stop),
}

/// The triage of a failed call.
impl From<CallError> for PollError {
    fn from(e: CallError) -> PollError {
        match e.kind {
            Failure::Transient | Failure::Unreadable => PollError::Retry(e),
            Failure::Interrupted => PollError::Stop(Stop::Interrupted),
            Failure::Deadline => PollError::Stop(Stop::Timeout),
            Failure::Fatal | Failure::Lost => PollError::Stop(Stop::Aws(e)),
        }
    }
}

impl From<Stop> for PollError {
    fn from(stop: Stop) -> PollError {
        PollError::Stop(stop)
    }
}

impl From<signals::Interrupted> for Stop {
    fn from(_: signals::Interrupted) -> Stop {
        Stop::Interrupted
    }
}

/// The pause before the next poll after `failures` failed polls in a row: the interval,
/// doubled per failure, at most `MAX_RETRY_WAIT` (or the interval if that is longer).
fn retry_wait(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(10));
    doubled.min(MAX_RETRY_WAIT.max(interval))
}

/// What the user is told of a poll that failed and will be made again.
pub fn retry_line(e: &CallError) -> String {
    format!("{} failed (transient), will retry: {}", e.step, e.message)
}

/// What one poll found: the value waited for, or not yet; and how things moved. A value
/// found is a change, so a poll that comes after it (the next phase) comes soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    Done(T, Pace),
    Waiting(Pace),
}

impl<T> Outcome<T> {
    /// The value when there is one, else a quiet wait.
    pub fn quiet_unless(value: Option<T>) -> Outcome<T> {
        value.map_or(Outcome::Waiting(Pace::Quiet), |v| {
            Outcome::Done(v, Pace::Moving)
        })
    }
}

/// When the first poll of a wait comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At once: the state may already be what is waited for (`--wait-only`).
    Now,
    /// Soon after the change just made (update-service, run-task), which a poll at once
    /// would not yet show.
    AfterChange,
}

/// Polls at the cadence of what it sees, across several waits (the phases of one
/// rollout): see [`Cadence`].
pub struct Poller<'a> {
    report: &'a Report,
    /// The ceiling of the cadence, and the base of the pauses after failed polls.
    interval: Duration,
    cadence: Cadence,
    /// When the next poll is due (none: at once).
    next_at: Option<Instant>,
    /// The trace of the wait after a poll that found its value, shown only if another
    /// poll comes.
    untold: Option<(Duration, Pace)>,
}

impl<'a> Poller<'a> {
    pub fn new(report: &'a Report, interval: Duration, start: Start) -> Poller<'a> {
        let mut cadence = Cadence::new(interval);
        let next_at = match start {
            Start::Now => None,
            Start::AfterChange => {
                let wait = cadence.after_change();
                trace_wait(wait, "first poll");
                Some(Instant::now() + wait)
            }
        };
        Poller {
            report,
            interval,
            cadence,
            next_at,
            untold: None,
        }
    }

    /// Poll until `poll` gives a value, it fails for good, a signal arrives or `deadline`
    /// passes (a poll that started before the deadline still counts).
    pub fn until<T>(
        &mut self,
        deadline: Instant,
        mut poll: impl FnMut() -> Result<Outcome<T>, PollError>,
    ) -> Result<T, Stop> {
        if let Some((wait, pace)) = self.untold.take() {
            trace_wait(wait, pace.as_str());
        }
        if let Some(at) = self.next_at {
            signals::sleep_until(at.min(deadline))?;
        }
        let mut failures = 0;
        loop {
            if signals::interrupted() {
                return Err(Stop::Interrupted);
            }
            let started = Instant::now();
            let wait = match poll() {
                Ok(Outcome::Done(done, pace)) => {
                    // What comes next (another phase, the other services) follows a change.
                    let pace = pace.max(Pace::Moving);
                    let wait = self.cadence.next(pace);
                    self.untold = Some((wait, pace));
                    self.next_at = Some(started + wait);
                    return Ok(done);
                }
                Ok(Outcome::Waiting(pace)) => {
                    failures = 0;
                    let wait = self.cadence.next(pace);
                    trace_wait(wait, pace.as_str());
                    wait
                }
                Err(PollError::Retry(e)) => {
                    failures += 1;
                    self.report.progress(retry_line(&e));
                    let wait = retry_wait(self.interval, failures);
                    self.cadence.waited(wait);
                    wait
                }
                Err(PollError::Backoff) => {
                    failures += 1;
                    let wait = retry_wait(self.interval, failures);
                    self.cadence.waited(wait);
                    wait
                }
                Err(PollError::Stop(stop)) => return Err(stop),
            };
            self.next_at = Some(started + wait);
            if Instant::now() >= deadline {
                return Err(Stop::Timeout);
            }
            signals::sleep_until((started + wait).min(deadline))?;
        }
    }
}

/// The `--verbose` trace of the cadence: the wait before the next poll, and why.
fn trace_wait(wait: Duration, why: &str) {
    output::trace(&format!("[next poll in {:.2}s: {why}]", wait.as_secs_f64()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> CallError {
        CallError::new(
            "describe-services",
            255,
            "Rate exceeded",
            Failure::Transient,
        )
    }

    #[test]
    fn retry_waits_double_up_to_a_limit() {
        let second = Duration::from_secs(1);
        assert_eq!(retry_wait(second, 1), second);
        assert_eq!(retry_wait(second, 2), 2 * second);
        assert_eq!(retry_wait(second, 4), 8 * second);
        assert_eq!(retry_wait(second, 30), MAX_RETRY_WAIT);
        assert_eq!(retry_wait(20 * second, 3), 20 * second);
    }

    #[test]
    fn a_value_ends_the_wait() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::ZERO, Start::Now);
        let mut polls = 0;
        let got = poller.until(Instant::now() + Duration::from_secs(5), || {
            polls += 1;
            Ok(Outcome::quiet_unless((polls == 3).then_some("done")))
        });
        assert_eq!(got.unwrap(), "done");
        assert_eq!(polls, 3);
    }

    #[test]
    fn transient_failures_are_reported_and_retried() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::ZERO, Start::Now);
        let mut polls = 0;
        let got = poller.until(Instant::now() + Duration::from_secs(5), || {
            polls += 1;
            if polls < 3 {
                return Err(transient().into());
            }
            Ok(Outcome::Done(polls, Pace::Moving))
        });
        assert_eq!(got.unwrap(), 3);
        assert_eq!(
            report.lines(),
            [
                "> describe-services failed (transient), will retry: Rate exceeded",
                "> describe-services failed (transient), will retry: Rate exceeded",
            ]
        );
    }

    #[test]
    fn a_fatal_failure_ends_the_wait_at_once() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::ZERO, Start::Now);
        let mut polls = 0;
        let got: Result<(), Stop> = poller.until(Instant::now() + Duration::from_secs(5), || {
            polls += 1;
            Err(CallError::new("describe-tasks", 254, "AccessDenied", Failure::Fatal).into())
        });
        assert!(matches!(got, Err(Stop::Aws(e)) if e.code == 254));
        assert_eq!(polls, 1);
    }

    #[test]
    fn the_deadline_ends_the_wait_after_the_poll_that_crossed_it() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::from_millis(5), Start::Now);
        let mut polls = 0;
        let got: Result<(), Stop> =
            poller.until(Instant::now() + Duration::from_millis(30), || {
                polls += 1;
                Ok(Outcome::Waiting(Pace::Quiet))
            });
        assert!(matches!(got, Err(Stop::Timeout)));
        assert!((2..=7).contains(&polls), "{polls} polls");
    }

    #[test]
    fn a_past_deadline_still_allows_one_poll() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::from_secs(3), Start::Now);
        let got = poller.until(Instant::now(), || Ok(Outcome::Done(1, Pace::Moving)));
        assert_eq!(got.unwrap(), 1);
    }
}
