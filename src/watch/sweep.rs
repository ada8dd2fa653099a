//! When to look for the stopped tasks of a rollout. ECS counting a failed task asks for a
//! look; the first comes at once, later ones only when due, the gap between them doubling
//! from one poll interval up to [`MAX_GAPS`] of them. A rollout whose tasks keep crashing
//! (no circuit breaker to stop it) thus costs a few listings, not one per poll; the look
//! made to explain a verdict takes in whatever is left.

use std::time::{Duration, Instant};

/// The longest gap between two looks, in poll intervals.
const MAX_GAPS: u32 = 10;

#[derive(Debug, Clone)]
pub struct Sweeps {
    interval: Duration,
    gap: Duration,
    /// When the next look may come; `None` before the first.
    next: Option<Instant>,
    /// Whether ECS counted failures that no look has taken in yet.
    owed: bool,
}

impl Sweeps {
    pub fn new(poll_interval: Duration) -> Sweeps {
        Sweeps {
            interval: poll_interval,
            gap: poll_interval,
            next: None,
            owed: false,
        }
    }

    /// ECS counted new failed tasks.
    pub fn failed(&mut self) {
        self.owed = true;
    }

    /// Whether ECS counted failures that no look has taken in yet.
    pub fn owed(&self) -> bool {
        self.owed
    }

    /// Whether to look now; if so, the look is taken as made and the next one put off.
    pub fn due(&mut self, now: Instant) -> bool {
        if !self.owed || self.next.is_some_and(|next| now < next) {
            return false;
        }
        self.owed = false;
        self.next = Some(now + self.gap);
        self.gap = (self.gap * 2).min(self.interval * MAX_GAPS);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_secs(3);

    /// The seconds (from the start) at which a rollout whose tasks fail at every poll of
    /// an interval P is looked at, over `polls` polls.
    fn looks(polls: u32) -> Vec<u64> {
        let start = Instant::now();
        let mut sweeps = Sweeps::new(P);
        (1..=polls)
            .filter(|k| {
                sweeps.failed();
                sweeps.due(start + P * *k)
            })
            .map(|k| (P * k).as_secs())
            .collect()
    }

    #[test]
    fn nothing_is_looked_for_until_ecs_counts_a_failure() {
        let mut sweeps = Sweeps::new(P);
        assert!(!sweeps.due(Instant::now()));
    }

    #[test]
    fn the_first_failure_is_looked_at_at_once() {
        let mut sweeps = Sweeps::new(P);
        sweeps.failed();
        assert!(sweeps.due(Instant::now()));
        assert!(!sweeps.due(Instant::now()), "nothing new was counted");
    }

    #[test]
    fn failures_at_every_poll_are_looked_at_ever_more_seldom_up_to_ten_intervals() {
        assert_eq!(looks(40), [3, 6, 12, 24, 48, 78, 108]);
    }

    #[test]
    fn a_failure_counted_between_looks_waits_for_the_next_due_poll() {
        let start = Instant::now();
        let mut sweeps = Sweeps::new(P);
        sweeps.failed();
        assert!(sweeps.due(start));
        sweeps.failed();
        assert!(!sweeps.due(start + Duration::from_secs(1)));
        assert!(
            sweeps.due(start + P),
            "still owed when due, with no new count"
        );
    }
}
