//! When the next poll of a wait comes. Soon after a change (the call that started the
//! wait, or a poll that saw the rollout move), soon twice when the end looks near, and
//! otherwise on the grid of the poll interval counted from the last change: a wait where
//! nothing happens makes no more polls than a fixed interval would, and one that moves is
//! seen moving within about a second.

use std::time::Duration;

/// The shortest wait between two polls, at most (a third of the interval when that is
/// less, so that a short `--poll-interval` keeps its proportions).
const FLOOR: Duration = Duration::from_secs(1);

/// Short waits in a row, at most: a large rollout that moves at every poll for minutes is
/// then polled at the interval, not every second, until a poll sees it quiet.
const MAX_SHORT_IN_A_ROW: u32 = 10;

/// What a poll saw, as far as the timing of the next one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pace {
    /// Nothing changed that brings the end nearer (tasks still pending, a drain going on,
    /// tasks failing that ECS will only replace).
    Quiet,
    /// Something moved toward the end: look again soon.
    Moving,
    /// Something moved and the end looks a poll or two away (the new tasks run and an old
    /// deployment is left, the circuit breaker counts failures): look again soon, twice.
    Near,
}

impl Pace {
    pub fn as_str(self) -> &'static str {
        match self {
            Pace::Quiet => "quiet",
            Pace::Moving => "moving",
            Pace::Near => "near",
        }
    }
}

/// The waits between the polls of one wait (each measured from a poll's start to the
/// next poll's start).
#[derive(Debug, Clone)]
pub struct Cadence {
    floor: Duration,
    ceiling: Duration,
    /// Time from the last change to the poll about to be scheduled.
    since_change: Duration,
    /// Short waits still owed to the last change.
    short: u32,
    /// Short waits since the last poll that saw nothing move.
    short_in_a_row: u32,
}

impl Cadence {
    /// The cadence of a wait polling at most every `ceiling` (`--poll-interval`) while
    /// quiet.
    pub fn new(ceiling: Duration) -> Cadence {
        Cadence {
            floor: FLOOR.min(ceiling / 3),
            ceiling,
            since_change: Duration::ZERO,
            short: 0,
            short_in_a_row: 0,
        }
    }

    /// The wait before the first poll when the wait starts right after a change was made
    /// (update-service, run-task): the answer of a poll at once would show nothing new.
    pub fn after_change(&mut self) -> Duration {
        self.next(Pace::Moving)
    }

    /// The wait before the next poll, after a poll that saw `pace`.
    pub fn next(&mut self, pace: Pace) -> Duration {
        match pace {
            Pace::Quiet => self.short_in_a_row = 0,
            Pace::Moving => self.changed(1),
            Pace::Near => self.changed(2),
        }
        let wait = if self.short > 0 && self.short_in_a_row < MAX_SHORT_IN_A_ROW {
            self.short -= 1;
            self.short_in_a_row += 1;
            self.floor
        } else {
            self.short = 0;
            self.to_grid()
        };
        self.since_change += wait;
        wait
    }

    /// A wait made outside the cadence (a pause after a failed poll): the grid moves on.
    pub fn waited(&mut self, wait: Duration) {
        self.since_change += wait;
    }

    fn changed(&mut self, short: u32) {
        self.since_change = Duration::ZERO;
        self.short = short;
    }

    /// The wait to the next point of the grid that starts at the last change, skipping a
    /// point closer than the floor.
    fn to_grid(&self) -> Duration {
        if self.ceiling.is_zero() {
            return Duration::ZERO;
        }
        let ceiling = self.ceiling.as_nanos();
        let since = self.since_change.as_nanos();
        let mut next = (since / ceiling + 1) * ceiling;
        if next - since < self.floor.as_nanos() {
            next += ceiling;
        }
        Duration::from_nanos(u64::try_from(next - since).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(waits: &[Duration]) -> Vec<f64> {
        waits.iter().map(Duration::as_secs_f64).collect()
    }

    fn waits(ceiling: f64, first: bool, paces: &[Pace]) -> Vec<f64> {
        let mut cadence = Cadence::new(Duration::from_secs_f64(ceiling));
        let mut out = Vec::new();
        if first {
            out.push(cadence.after_change());
        }
        out.extend(paces.iter().map(|&pace| cadence.next(pace)));
        seconds(&out)
    }

    use Pace::{Moving, Near, Quiet};

    #[test]
    fn a_quiet_wait_stretches_to_the_interval() {
        assert_eq!(
            waits(3.0, true, &[Quiet, Quiet, Quiet, Quiet]),
            [1.0, 2.0, 3.0, 3.0, 3.0]
        );
    }

    #[test]
    fn a_moving_rollout_is_looked_at_every_second() {
        assert_eq!(
            waits(3.0, true, &[Moving, Moving, Moving, Quiet, Quiet]),
            [1.0, 1.0, 1.0, 1.0, 2.0, 3.0]
        );
    }

    #[test]
    fn a_rollout_that_moves_at_every_poll_is_polled_at_the_interval_after_ten_seconds() {
        let mut paces = vec![Moving; 12];
        paces.extend([Quiet, Moving]);
        let mut expected = vec![1.0; 10];
        expected.extend([3.0, 3.0, 3.0, 1.0]);
        assert_eq!(waits(3.0, false, &paces), expected);
    }

    #[test]
    fn a_finishing_rollout_gets_two_short_waits_then_the_grid() {
        assert_eq!(
            waits(3.0, true, &[Quiet, Near, Quiet, Quiet, Quiet]),
            [1.0, 2.0, 1.0, 1.0, 1.0, 3.0]
        );
    }

    #[test]
    fn a_long_interval_keeps_its_grid_from_the_last_change() {
        assert_eq!(
            waits(10.0, true, &[Quiet, Quiet, Moving, Quiet, Quiet]),
            [1.0, 9.0, 10.0, 1.0, 9.0, 10.0]
        );
        assert_eq!(waits(1.5, true, &[Quiet, Quiet]), [0.5, 1.0, 1.5]);
    }

    #[test]
    fn a_zero_interval_never_waits() {
        assert_eq!(waits(0.0, true, &[Quiet, Near, Quiet]), [0.0; 4]);
    }

    /// Polls a fixed interval makes in `span` when the first is at once.
    fn fixed_polls(interval: f64, span: f64) -> usize {
        (span / interval).floor() as usize + 1
    }

    /// Polls the cadence makes in `span` when nothing ever changes after the start.
    fn quiet_polls(interval: f64, span: f64) -> usize {
        let mut cadence = Cadence::new(Duration::from_secs_f64(interval));
        let mut at = cadence.after_change().as_secs_f64();
        let mut polls = 0;
        while at <= span + 1e-9 {
            polls += 1;
            at += cadence.next(Quiet).as_secs_f64();
        }
        polls
    }

    #[test]
    fn a_quiet_wait_costs_no_more_polls_than_a_fixed_interval() {
        for interval in [0.3, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0] {
            for span in [1.0, 5.0, 30.0, 60.0, 600.0] {
                assert!(
                    quiet_polls(interval, span) <= fixed_polls(interval, span),
                    "interval {interval}, {span} s: {} > {}",
                    quiet_polls(interval, span),
                    fixed_polls(interval, span)
                );
            }
        }
        assert_eq!(quiet_polls(3.0, 60.0), 21);
        assert_eq!(fixed_polls(3.0, 60.0), 21);
    }
}
