//! The one polling loop behind every wait (a rollout, a rollback, a one-off task): a
//! deadline on a monotonic clock, a poll every interval (the time of the call included),
//! a growing pause after failed polls, SIGINT/SIGTERM checked before each poll and during
//! each pause, and the one place where a failed call is judged worth another try or not.

use std::time::{Duration, Instant};

use crate::aws::{CallError, Failure};
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

/// Polls at a steady cadence, across several waits (the phases of one rollout).
pub struct Poller<'a> {
    report: &'a Report,
    interval: Duration,
    /// When the last poll started: the next wait keeps the cadence from there.
    last_poll: Option<Instant>,
}

impl<'a> Poller<'a> {
    pub fn new(report: &'a Report, interval: Duration) -> Poller<'a> {
        Poller {
            report,
            interval,
            last_poll: None,
        }
    }

    /// Poll until `poll` gives a value, it fails for good, a signal arrives or `deadline`
    /// passes (a poll that started before the deadline still counts).
    pub fn until<T>(
        &mut self,
        deadline: Instant,
        mut poll: impl FnMut() -> Result<Option<T>, PollError>,
    ) -> Result<T, Stop> {
        if let Some(previous) = self.last_poll {
            signals::sleep_until((previous + self.interval).min(deadline))?;
        }
        let mut failures = 0;
        loop {
            if signals::interrupted() {
                return Err(Stop::Interrupted);
            }
            let started = Instant::now();
            self.last_poll = Some(started);
            let wait = match poll() {
                Ok(Some(done)) => return Ok(done),
                Ok(None) => {
                    failures = 0;
                    self.interval
                }
                Err(PollError::Retry(e)) => {
                    failures += 1;
                    self.report.progress(retry_line(&e));
                    retry_wait(self.interval, failures)
                }
                Err(PollError::Backoff) => {
                    failures += 1;
                    retry_wait(self.interval, failures)
                }
                Err(PollError::Stop(stop)) => return Err(stop),
            };
            if Instant::now() >= deadline {
                return Err(Stop::Timeout);
            }
            signals::sleep_until((started + wait).min(deadline))?;
        }
    }
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
        let mut poller = Poller::new(&report, Duration::ZERO);
        let mut polls = 0;
        let got = poller.until(Instant::now() + Duration::from_secs(5), || {
            polls += 1;
            Ok((polls == 3).then_some("done"))
        });
        assert_eq!(got.unwrap(), "done");
        assert_eq!(polls, 3);
    }

    #[test]
    fn transient_failures_are_reported_and_retried() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::ZERO);
        let mut polls = 0;
        let got = poller.until(Instant::now() + Duration::from_secs(5), || {
            polls += 1;
            if polls < 3 {
                return Err(transient().into());
            }
            Ok(Some(polls))
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
        let mut poller = Poller::new(&report, Duration::ZERO);
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
        let mut poller = Poller::new(&report, Duration::from_millis(5));
        let mut polls = 0;
        let got: Result<(), Stop> =
            poller.until(Instant::now() + Duration::from_millis(30), || {
                polls += 1;
                Ok(None)
            });
        assert!(matches!(got, Err(Stop::Timeout)));
        assert!((2..=7).contains(&polls), "{polls} polls");
    }

    #[test]
    fn a_past_deadline_still_allows_one_poll() {
        let report = Report::captured();
        let mut poller = Poller::new(&report, Duration::from_secs(3));
        let got = poller.until(Instant::now(), || Ok(Some(1)));
        assert_eq!(got.unwrap(), 1);
    }
}
