//! SIGINT/SIGTERM. The first one becomes a flag that every step checks: no new change
//! starts, a read in flight is given up, and the waiting loops stop (or roll back, when
//! asked). A second one ends the run at once, but cleanly: the aws child's process group is
//! killed and the child reaped, temp files are removed, and one line says what was changed
//! so far (exit 130).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::output;

/// How often a sleep looks at the flag.
const CHECK_EVERY: Duration = Duration::from_millis(50);
/// How long the second signal waits for the killed children to be gone, all together.
const REAP_WITHIN: Duration = Duration::from_secs(1);
const REAP_CHECK_EVERY: Duration = Duration::from_millis(5);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// What says where things stand and renders the run's result when a second signal ends it.
static LAST_WORD: Mutex<Option<fn()>> = Mutex::new(None);
/// The second signal is ending the run.
static ENDING: AtomicBool = AtomicBool::new(false);
/// Held while an aws child is started and tracked. The second signal takes it for good, so
/// no child can start (or start untracked) once the run is ending.
static STARTING: Mutex<()> = Mutex::new(());
/// Process groups of the aws children running now (0: a free slot). More than one runs
/// when a read is made on another thread while the main flow calls ECS.
static CHILD_GROUPS: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Catch SIGINT and SIGTERM from now on.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        output::stderr("ecs-deploy: warning: cannot catch SIGINT/SIGTERM");
        return;
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                stop_now();
            }
        }
    });
}

/// The second signal: leave nothing behind, say where things stand, exit 130.
fn stop_now() -> ! {
    ENDING.store(true, Ordering::SeqCst);
    let _starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    let killed = kill_children();
    reap(&killed, Instant::now() + REAP_WITHIN);
    for path in TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = std::fs::remove_file(path);
    }
    match *LAST_WORD.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(last_word) => last_word(),
        None => {
            output::stderr("ecs-deploy: interrupted again");
            output::resume_workflow_commands();
        }
    }
    std::process::exit(130);
}

/// `last_word` says where things stand and gives the run's result if a second signal ends
/// it.
pub fn on_second_signal(last_word: fn()) {
    *LAST_WORD.lock().unwrap_or_else(|e| e.into_inner()) = Some(last_word);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A SIGINT/SIGTERM arrived.
#[derive(Debug)]
pub struct Interrupted;

/// Sleep until `until`, waking early when a signal arrives.
pub fn sleep_until(until: Instant) -> Result<(), Interrupted> {
    while Instant::now() < until {
        if interrupted() {
            return Err(Interrupted);
        }
        std::thread::sleep(CHECK_EVERY.min(until.saturating_duration_since(Instant::now())));
    }
    if interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// Wait here for the end of the run once the second signal has begun it, so that nothing
/// this thread would do next (a new call, a line about the killed child) gets in its way.
pub fn halt_if_ending() {
    if ENDING.load(Ordering::SeqCst) {
        halt();
    }
}

fn halt() -> ! {
    loop {
        std::thread::park();
    }
}

/// Start an aws child and track its process group (see [`track_child`]) while holding
/// this; once the run is ending, this never returns.
pub fn starting_child() -> MutexGuard<'static, ()> {
    let starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if ENDING.load(Ordering::SeqCst) {
        // The second signal waits for this lock before it kills anything.
        drop(starting);
        halt();
    }
    starting
}

/// An aws child now running leads this process group (it was started as its leader).
pub fn track_child(group: u32) {
    let Ok(group) = i32::try_from(group) else {
        return;
    };
    // With every slot taken the child goes untracked: its own call still kills it at its
    // limit; only a second signal would miss it.
    for slot in &CHILD_GROUPS {
        if slot
            .compare_exchange(0, group, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

pub fn untrack_child(group: u32) {
    let Ok(group) = i32::try_from(group) else {
        return;
    };
    for slot in &CHILD_GROUPS {
        let _ = slot.compare_exchange(group, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Kill one aws child's whole process group, if it is still tracked.
pub fn kill_child(group: u32) {
    let Ok(group) = i32::try_from(group) else {
        return;
    };
    for slot in &CHILD_GROUPS {
        if slot
            .compare_exchange(group, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            kill_group(group);
        }
    }
}

/// Kill the process group of every aws child that runs; the groups killed.
fn kill_children() -> Vec<i32> {
    CHILD_GROUPS
        .iter()
        .map(|slot| slot.swap(0, Ordering::SeqCst))
        .filter(|group| *group > 0)
        .inspect(|group| kill_group(*group))
        .collect()
}

/// Wait, until `until` at the latest, for each killed child (the leader of its group, so
/// its pid is the group's id), so that none is left behind as a zombie. A child already
/// reaped by the thread that started it is done too.
fn reap(groups: &[i32], until: Instant) {
    for &child in groups {
        loop {
            let mut status = 0;
            // SAFETY: waitpid(2) on a child of this process, writing only to `status`.
            let reaped = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
            if reaped != 0 || Instant::now() >= until {
                break;
            }
            std::thread::sleep(REAP_CHECK_EVERY);
        }
    }
}

fn kill_group(group: i32) {
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

/// A temp file to remove if the run must end at once.
pub fn track_temp_file(path: &Path) {
    TEMP_FILES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

pub fn untrack_temp_file(path: &Path) {
    TEMP_FILES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|known| known != path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(group: u32) -> usize {
        let group = i32::try_from(group).unwrap();
        CHILD_GROUPS
            .iter()
            .filter(|slot| slot.load(Ordering::SeqCst) == group)
            .count()
    }

    #[test]
    fn children_of_two_threads_are_tracked_apart() {
        // Process groups that cannot exist (above any pid limit), never killed here.
        let (a, b) = (2_000_000_001, 2_000_000_002);
        std::thread::scope(|scope| {
            scope.spawn(|| track_child(a));
            scope.spawn(|| track_child(b));
        });
        assert_eq!((tracked(a), tracked(b)), (1, 1));
        untrack_child(a);
        assert_eq!((tracked(a), tracked(b)), (0, 1));
        untrack_child(b);
        assert_eq!(tracked(b), 0);
    }
}
