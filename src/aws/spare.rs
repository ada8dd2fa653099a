//! An aws process started before its call is made. Most of an aws call is the CLI
//! starting up (about half a second of a 0.7 s call); a spare does that while the calls
//! before it run, then waits for its JSON input on a FIFO (`--cli-input-json
//! file://FIFO`), and makes its request once the input is written. Until then it has
//! sent nothing, so dropping an unused spare (it is killed) costs nothing.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::REAP_WITHIN;
use crate::signals;

/// How often the FIFO is offered to the child while its call runs.
const OFFER_EVERY: Duration = Duration::from_millis(2);
/// How long a reader that took the whole input is given to see its end and close, before
/// the FIFO is offered to the next one.
const AFTER_EACH_READER: Duration = Duration::from_millis(10);

/// A started aws child waiting for its input on `fifo`.
pub struct Spare {
    pub service: String,
    pub op: String,
    pub args: Vec<String>,
    /// Its whole argv, for the `--verbose` trace.
    pub argv: Vec<String>,
    pub handle: duct::Handle,
    pub group: Option<u32>,
    pub fifo: tempfile::TempPath,
    /// Whether its call was made (and waited for): otherwise it is killed when dropped.
    pub used: bool,
}

impl Spare {
    pub fn is_for(&self, service: &str, op: &str, args: &[String]) -> bool {
        self.service == service && self.op == op && self.args == args
    }
}

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spare(aws {} {})", self.service, self.op)
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        if !self.used {
            if let Some(group) = self.group {
                signals::kill_child(group);
            }
            if self.handle.kill().is_ok() {
                let _ = self.handle.wait_timeout(REAP_WITHIN);
            }
        }
        signals::untrack_temp_file(&self.fifo);
    }
}

/// A private FIFO (mode 0600, a fresh name in the temp directory), removed when dropped.
pub fn fifo() -> std::io::Result<tempfile::TempPath> {
    let file = tempfile::Builder::new()
        .prefix("ecs-deploy-")
        .suffix(".json")
        .make(|path| {
            let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
                .map_err(std::io::Error::other)?;
            // SAFETY: mkfifo(3) reads a NUL-terminated path that lives across the call.
            match unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        })?;
    let path = file.into_temp_path();
    signals::track_temp_file(&path);
    Ok(path)
}

/// Write `input` to every reader that opens `fifo`, until `done`: the AWS CLI may open
/// its input file more than once. Says whether any reader came, that is whether the
/// child read its input (and may have sent its request).
pub fn offer(fifo: &Path, input: &[u8], done: &AtomicBool) -> bool {
    let mut read = false;
    while !done.load(Ordering::SeqCst) {
        // Without a reader a non-blocking open fails at once (ENXIO), instead of waiting.
        let opened = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo);
        let Ok(mut writer) = opened else {
            std::thread::sleep(OFFER_EVERY);
            continue;
        };
        read = true;
        if blocking(&writer).is_ok() && writer.write_all(input).is_ok() {
            // The reader must have taken it all, and seen the end, before the FIFO is
            // offered again: another open now would add a second copy to its input.
            while unread(&writer) > 0 && !done.load(Ordering::SeqCst) {
                std::thread::sleep(OFFER_EVERY);
            }
        }
        drop(writer);
        std::thread::sleep(AFTER_EACH_READER);
    }
    read
}

/// Bytes written to the pipe that its reader has not taken yet.
fn unread(file: &std::fs::File) -> libc::c_int {
    use std::os::fd::AsRawFd;
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int, to `bytes`.
    match unsafe { libc::ioctl(file.as_raw_fd(), libc::FIONREAD, &mut bytes) } {
        0 => bytes,
        _ => 0,
    }
}

fn blocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl(2) on a descriptor this function borrows, changing only its flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    match unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    #[test]
    fn a_fifo_is_private_and_gone_when_dropped() {
        let path = fifo().unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        use std::os::unix::fs::FileTypeExt;
        assert!(meta.file_type().is_fifo());
        let kept = path.to_path_buf();
        drop(path);
        assert!(!kept.exists());
    }

    #[test]
    fn every_reader_gets_the_whole_input_until_done() {
        let path = fifo().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let input = vec![b'x'; 200_000];
        let reader = {
            let path = path.to_path_buf();
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut reads = Vec::new();
                for _ in 0..2 {
                    let mut got = Vec::new();
                    std::fs::File::open(&path)
                        .unwrap()
                        .read_to_end(&mut got)
                        .unwrap();
                    reads.push(got.len());
                }
                done.store(true, Ordering::SeqCst);
                reads
            })
        };
        assert!(offer(&path, &input, &done));
        assert_eq!(reader.join().unwrap(), [200_000, 200_000]);
    }

    #[test]
    fn without_a_reader_nothing_was_read() {
        let path = fifo().unwrap();
        let done = AtomicBool::new(true);
        assert!(!offer(&path, b"{}", &done));
    }
}
