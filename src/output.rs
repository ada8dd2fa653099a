//! Everything the tool prints goes through here, so that printing is safe wherever it
//! happens: a write never panics and never stops the flow (a closed pipe is normal in a
//! pipeline), and a line is one line: control characters (newlines included) are escaped,
//! so text from AWS cannot start a line of its own. Secrets are masked earlier, where text
//! from outside is read (see `secrets`). Under
//! GitHub Actions the run's output is also kept inside a `::stop-commands::` window, so that
//! nothing from AWS can act as a workflow command.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::Mutex;

static WINDOW: Mutex<Option<String>> = Mutex::new(None);

/// Control characters as visible escapes (`\n`, `\r`, `\t`, `\u{1b}`), so a line stays one.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Write one line, made safe; a failed write (closed pipe, full disk) is ignored.
pub fn line(stream: Stream, text: &str) {
    raw(stream, format!("{}\n", escape(text)).as_bytes());
}

/// Write bytes as they are (generated documents, a coloured diff), ignoring failures.
pub fn raw(stream: Stream, bytes: &[u8]) {
    let _ = match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
}

pub fn stderr(text: &str) {
    line(Stream::Stderr, text);
}

/// A random token for `::stop-commands::`: nothing printed before it can guess it.
fn token() -> String {
    let half = || {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.finish()
    };
    format!("ecs-deploy-{:016x}{:016x}", half(), half())
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true`), stop the runner from reading workflow
/// commands in what follows, until [`resume_workflow_commands`].
pub fn stop_workflow_commands() {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return;
    }
    let mut window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    if window.is_none() {
        let token = token();
        raw(
            Stream::Stderr,
            format!("::stop-commands::{token}\n").as_bytes(),
        );
        *window = Some(token);
    }
}

/// Let the runner read workflow commands again (for the tool's own annotation).
pub fn resume_workflow_commands() {
    let mut window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(token) = window.take() {
        raw(Stream::Stderr, format!("::{token}::\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_line() {
        assert_eq!(
            escape("stopped\n::warning file=x::owned\r\u{1b}[31m\ttab"),
            "stopped\\n::warning file=x::owned\\r\\u{1b}[31m\\ttab"
        );
        assert_eq!(escape("plain text: é ✓"), "plain text: é ✓");
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
    }
}
