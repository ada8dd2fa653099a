//! Side work: reads that only explain what happened (the log lines of a crashed task), run
//! beside the poll loop on threads of their own, each within a budget of its own, so that
//! a slow or hung one never holds up, nor decides, the verdict. Their output is handed back
//! to the loop, which prints it in the order the work was asked for.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crate::aws;

/// The most a side read may take by default, and never more than `--call-timeout`.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

/// How many side reads run at once; the others wait their turn.
const AT_ONCE: usize = 4;

/// How long one side read may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub per_call: Duration,
}

impl Budget {
    /// The budget for a run whose calls may each take `call_timeout`.
    pub fn new(call_timeout: Duration) -> Budget {
        Budget {
            per_call: call_timeout.min(DEFAULT_BUDGET),
        }
    }

    /// When a side read that starts now must end: within its budget, and one poll interval
    /// before the phase deadline, so that the verdict still gets a fresh look after it.
    pub fn until(&self, phase_deadline: Instant, poll_interval: Duration) -> Instant {
        let latest = phase_deadline
            .checked_sub(poll_interval)
            .unwrap_or(phase_deadline);
        (Instant::now() + self.per_call).min(latest)
    }

    /// When a side read that starts now must end, once the phase is over (a failure being
    /// explained).
    pub fn from_now(&self) -> Instant {
        Instant::now() + self.per_call
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            per_call: DEFAULT_BUDGET,
        }
    }
}

/// One piece of side work: given when it must end, the lines it has to show.
pub type Work<'scope> = Box<dyn FnOnce(Instant) -> Vec<String> + Send + 'scope>;

struct Queued<'scope> {
    owner: usize,
    until: Instant,
    work: Work<'scope>,
    if_abandoned: Vec<String>,
}

struct Running<'scope> {
    owner: usize,
    started: Instant,
    handle: ScopedJoinHandle<'scope, Vec<String>>,
    if_abandoned: Vec<String>,
}

/// Side work of several owners (the watches of a release), run on scoped threads.
pub struct Jobs<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    queued: VecDeque<Queued<'scope>>,
    running: VecDeque<Running<'scope>>,
    /// Set when what is still running is no longer wanted: its aws child is killed.
    abandon: Arc<AtomicBool>,
}

impl<'scope, 'env> Jobs<'scope, 'env> {
    pub fn new(scope: &'scope Scope<'scope, 'env>) -> Jobs<'scope, 'env> {
        Jobs {
            scope,
            queued: VecDeque::new(),
            running: VecDeque::new(),
            abandon: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Run `work` for `owner`, to end by `until`; `if_abandoned` is what to show instead
    /// when it is stopped before it ends.
    pub fn spawn(
        &mut self,
        owner: usize,
        until: Instant,
        work: Work<'scope>,
        if_abandoned: Vec<String>,
    ) {
        self.queued.push_back(Queued {
            owner,
            until,
            work,
            if_abandoned,
        });
        self.start_queued();
    }

    fn start_queued(&mut self) {
        while self.running.len() < AT_ONCE {
            let Some(job) = self.queued.pop_front() else {
                return;
            };
            let abandon = Arc::clone(&self.abandon);
            let handle = self.scope.spawn(move || {
                aws::abandon_calls_when(abandon);
                (job.work)(job.until)
            });
            self.running.push_back(Running {
                owner: job.owner,
                started: Instant::now(),
                handle,
                if_abandoned: job.if_abandoned,
            });
        }
    }

    /// The output of the work that has finished, in the order it was asked for (work that
    /// finished behind unfinished work waits for it).
    pub fn finished(&mut self) -> Vec<(usize, Vec<String>)> {
        let mut done = Vec::new();
        while self
            .running
            .front()
            .is_some_and(|job| job.handle.is_finished())
        {
            if let Some(job) = self.running.pop_front() {
                done.push((job.owner, job.handle.join().unwrap_or_default()));
            }
            self.start_queued();
        }
        done
    }

    /// Whether `owner` has side work that has not been handed back yet.
    pub fn has_pending(&self, owner: usize) -> bool {
        self.running.iter().any(|job| job.owner == owner)
            || self.queued.iter().any(|job| job.owner == owner)
    }

    /// Wait for every piece of work of `owners` (each ends within its own budget), and hand
    /// back all that finished meanwhile, in order.
    pub fn wait_for(&mut self, owners: &[usize]) -> Vec<(usize, Vec<String>)> {
        let mut done = Vec::new();
        while owners.iter().any(|&owner| self.has_pending(owner)) {
            done.extend(self.finished());
            std::thread::sleep(Duration::from_millis(20));
        }
        done.extend(self.finished());
        done
    }

    /// Let the work that started less than `grace` ago run on until then (no longer), and
    /// hand back all that finished meanwhile, in order.
    pub fn grace(&mut self, grace: Duration) -> Vec<(usize, Vec<String>)> {
        let mut done = Vec::new();
        loop {
            done.extend(self.finished());
            let now = Instant::now();
            let young = self
                .running
                .iter()
                .any(|job| !job.handle.is_finished() && job.started + grace > now);
            if !young {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done
    }

    /// Stop all work still running (its calls are killed) and queued; what each piece that
    /// did not finish shows instead, in order.
    pub fn abandon(&mut self) -> Vec<(usize, Vec<String>)> {
        self.abandon.store(true, Ordering::SeqCst);
        let mut stopped = Vec::new();
        for job in self.running.drain(..) {
            let _ = job.handle.join();
            stopped.push((job.owner, job.if_abandoned));
        }
        stopped.extend(
            self.queued
                .drain(..)
                .map(|job| (job.owner, job.if_abandoned)),
        );
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_call_timeout_at_most_and_ends_a_poll_before_the_deadline() {
        assert_eq!(
            Budget::new(Duration::from_secs(120)).per_call,
            DEFAULT_BUDGET
        );
        assert_eq!(
            Budget::new(Duration::from_secs(2)).per_call,
            Duration::from_secs(2)
        );
        let budget = Budget::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        let until = budget.until(deadline, Duration::from_secs(3));
        assert!(until <= deadline - Duration::from_secs(3));
    }

    #[test]
    fn output_comes_back_in_the_order_asked() {
        std::thread::scope(|scope| {
            let mut jobs = Jobs::new(scope);
            let until = Instant::now() + Duration::from_secs(5);
            jobs.spawn(
                0,
                until,
                Box::new(|_| {
                    std::thread::sleep(Duration::from_millis(50));
                    vec!["first".to_string()]
                }),
                Vec::new(),
            );
            jobs.spawn(1, until, Box::new(|_| vec!["second".to_string()]), vec![]);
            let done = jobs.wait_for(&[0, 1]);
            assert_eq!(
                done,
                [(0, vec!["first".to_string()]), (1, vec!["second".into()])]
            );
            assert!(!jobs.has_pending(0));
        });
    }

    #[test]
    fn young_work_gets_its_grace_and_old_work_none() {
        std::thread::scope(|scope| {
            let mut jobs = Jobs::new(scope);
            let until = Instant::now() + Duration::from_secs(5);
            let quick = Box::new(|_| {
                std::thread::sleep(Duration::from_millis(30));
                vec!["read".to_string()]
            });
            jobs.spawn(0, until, quick, vec!["not read".into()]);
            assert_eq!(
                jobs.grace(Duration::from_secs(5)),
                [(0, vec!["read".to_string()])]
            );
            let hung = Box::new(move |_| {
                while !aws::abandoned() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                vec!["read".to_string()]
            });
            jobs.spawn(1, until, hung, vec!["not read".into()]);
            assert_eq!(jobs.grace(Duration::ZERO), []);
            assert_eq!(jobs.abandon(), [(1, vec!["not read".to_string()])]);
        });
    }

    #[test]
    fn abandoned_work_names_its_owners() {
        std::thread::scope(|scope| {
            let mut jobs = Jobs::new(scope);
            let until = Instant::now() + Duration::from_secs(5);
            for owner in 0..6 {
                let slow = Box::new(|_| {
                    std::thread::sleep(Duration::from_millis(20));
                    Vec::new()
                });
                jobs.spawn(owner, until, slow, vec![format!("not read {owner}")]);
            }
            let stopped = jobs.abandon();
            let owners: Vec<usize> = stopped.iter().map(|(owner, _)| *owner).collect();
            assert_eq!(owners, [0, 1, 2, 3, 4, 5]);
            assert_eq!(stopped[5].1, ["not read 5"]);
        });
    }
}
