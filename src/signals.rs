//! SIGINT/SIGTERM. The first one becomes a flag that every step checks: no new change
//! starts, a read in flight is given up, and the waiting loops stop (or roll back, when
//! asked). A second one ends the run at once, but cleanly: the aws child's process group is
//! killed, temp files are removed, and one line says what was changed so far (exit 130).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::output;

/// How often a sleep looks at the flag.
const CHECK_EVERY: Duration = Duration::from_millis(50);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Process group of the aws child running now (0: none).
static CHILD_GROUP: AtomicI32 = AtomicI32::new(0);
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// What was changed so far, in words; `None` while nothing was.
static STANDING: Mutex<Option<String>> = Mutex::new(None);

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
    kill_child();
    for path in TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = std::fs::remove_file(path);
    }
    let standing = standing().unwrap_or_else(|| "nothing was changed".into());
    output::stderr(&format!("ecs-deploy: interrupted again; {standing}"));
    output::resume_workflow_commands();
    std::process::exit(130);
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

/// The aws child now running leads this process group (it was started as its leader).
pub fn track_child(group: u32) {
    CHILD_GROUP.store(i32::try_from(group).unwrap_or(0), Ordering::SeqCst);
}

pub fn untrack_child() {
    CHILD_GROUP.store(0, Ordering::SeqCst);
}

/// Kill the aws child's whole process group, if one runs.
pub fn kill_child() {
    let group = CHILD_GROUP.swap(0, Ordering::SeqCst);
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

/// Say what was changed so far (e.g. "the service now runs X"), for any early end.
pub fn set_standing(text: impl Into<String>) {
    *STANDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.into());
}

pub fn standing() -> Option<String> {
    STANDING.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
