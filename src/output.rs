//! Everything the tool prints goes through here, so that printing is safe wherever it
//! happens: a write never panics and never stops the flow (a closed pipe is normal in a
//! pipeline), and a line is one line: control characters (newlines included), line
//! separators and bidi controls are escaped, so text from AWS cannot start a line of its
//! own nor reorder what is shown. Secrets are masked earlier, where text from outside is
//! read (see `secrets`). Under GitHub Actions the run's output is also kept inside a
//! `::stop-commands::` window, so that nothing from AWS can act as a workflow command.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static WINDOW: Mutex<Option<String>> = Mutex::new(None);

/// Whether `--verbose` asked for the trace of calls and waits.
static TRACE: AtomicBool = AtomicBool::new(false);

/// Turn the `--verbose` trace on.
pub fn enable_trace() {
    TRACE.store(true, Ordering::Relaxed);
}

/// Whether the `--verbose` trace is on (for a line that costs something to build).
pub fn tracing() -> bool {
    TRACE.load(Ordering::Relaxed)
}

/// A line of the `--verbose` trace, when it is on.
pub fn trace(text: &str) {
    if tracing() {
        stderr(text);
    }
}

/// Control characters (C0, DEL, C1), the line and paragraph separators and the bidi
/// controls as visible escapes (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`): a line stays
/// one line, and shows in the order its characters come.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// How many bytes `c` takes once escaped.
pub fn escaped_len(c: char) -> usize {
    match c {
        '\n' | '\r' | '\t' => 2,
        c if needs_escape(c) => {
            let hex_digits = (32 - (c as u32).leading_zeros()).div_ceil(4).max(1);
            "\\u{}".len() + hex_digits as usize
        }
        c => c.len_utf8(),
    }
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// Characters that move the cursor, break the line or reorder what follows on screen.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
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
    fn c1_controls_and_delete_are_escaped() {
        assert_eq!(
            escape("a\u{7f}b\u{80}c\u{85}d\u{9b}31me\u{9f}f"),
            "a\\u{7f}b\\u{80}c\\u{85}d\\u{9b}31me\\u{9f}f"
        );
        // The neighbours of the C1 range are ordinary text.
        assert_eq!(escape("~\u{a0}\u{a9}"), "~\u{a0}\u{a9}");
    }

    #[test]
    fn line_separators_and_bidi_controls_are_escaped() {
        assert_eq!(
            escape("one\u{2028}two\u{2029}three"),
            "one\\u{2028}two\\u{2029}three"
        );
        // "deploy \u{202e}txt.exe" would show as "deploy exe.txt".
        assert_eq!(escape("deploy \u{202e}txt.exe"), "deploy \\u{202e}txt.exe");
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            assert_eq!(escape(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        // Their neighbours (a zero-width joiner, the per-mille sign, a word joiner) are
        // left alone.
        assert_eq!(
            escape("\u{200d}\u{2027}\u{202f}\u{2030}\u{2060}\u{206a}"),
            "\u{200d}\u{2027}\u{202f}\u{2030}\u{2060}\u{206a}"
        );
    }

    #[test]
    fn escaped_len_is_the_length_of_the_escape() {
        for c in [
            'a', 'é', '✓', '😀', '\n', '\u{0}', '\u{1b}', '\u{85}', '\u{2028}', '\u{202e}',
        ] {
            assert_eq!(escaped_len(c), escape(&c.to_string()).len(), "{c:?}");
        }
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
    }
}
