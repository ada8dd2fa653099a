//! SIGINT/SIGTERM become a flag that the waiting loops check, so an interrupted deploy can
//! still say what happened and roll back.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How often a sleep looks at the flag.
const CHECK_EVERY: Duration = Duration::from_millis(50);
use std::sync::atomic::{AtomicBool, Ordering};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Catch SIGINT and SIGTERM from now on. A second signal of the same kind while the first
/// is being handled ends the process at once (exit 130), as users expect from Ctrl-C twice.
pub fn install() {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(flag()));
        let _ = signal_hook::flag::register(signal, Arc::clone(flag()));
    }
}

pub fn interrupted() -> bool {
    flag().load(Ordering::SeqCst)
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
