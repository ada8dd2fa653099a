//! Reading a file named on the command line (`--task-definition-file`,
//! `--codedeploy-appspec`): a regular file of at most [`MAX_BYTES`], read without blocking
//! on a FIFO and without reading an endless device to its end.

use std::path::Path;

/// The largest input file accepted, in bytes (1 MiB).
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The bytes of the file that `flag` names, which must be a regular file of at most
/// [`MAX_BYTES`]; else one line that names the flag, the file and the problem, and says
/// that `expected` (e.g. "a JSON file") is wanted.
///
/// Its kind and size are checked before it is opened (a FIFO would block the open, a device
/// could be endless); what was opened is checked again (the path may have changed in
/// between), and at most one byte more than the limit is read, so a file growing meanwhile
/// cannot make the read unbounded either.
pub fn read(path: &Path, flag: &str, expected: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let unreadable = |e: std::io::Error| format!("cannot read {flag} {}: {e}", path.display());
    check(
        path,
        flag,
        expected,
        &std::fs::metadata(path).map_err(unreadable)?,
    )?;
    // Non-blocking, so that a FIFO swapped in after the check does not hang the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(unreadable)?;
    check(path, flag, expected, &file.metadata().map_err(unreadable)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(path, flag, "grew past 1 MiB while it was read"));
    }
    Ok(bytes)
}

fn too_large(path: &Path, flag: &str, what: &str) -> String {
    format!(
        "{flag} {} {what}; at most 1 MiB ({MAX_BYTES} bytes) is accepted",
        path.display()
    )
}

/// A regular file of at most [`MAX_BYTES`], or the problem.
fn check(
    path: &Path,
    flag: &str,
    expected: &str,
    metadata: &std::fs::Metadata,
) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;

    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "something else"
        };
        return Err(format!(
            "{flag} {} is {what}, not a regular file; give {expected} of at most 1 MiB",
            path.display()
        ));
    }
    if metadata.len() > MAX_BYTES {
        return Err(too_large(
            path,
            flag,
            &format!("is {} bytes", metadata.len()),
        ));
    }
    Ok(())
}
