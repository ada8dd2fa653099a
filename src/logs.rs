//! Container logs from CloudWatch Logs: where a container of a task logs (its `awslogs`
//! configuration), its last lines, and following its new lines while the task runs.
//!
//! The [`LogSource`] trait is the process boundary. Nothing here prints: log lines are
//! untrusted text, returned for the caller to print through `output`, and every reason
//! not to show lines is a [`Note`] for the caller to print once.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::aws::{Aws, CallError, Failure};
use crate::filters::{self, FilterError};
use crate::output;
use crate::side::Budget;
use crate::signals;

/// `get-log-events` returns at most this many events per call.
const MAX_LIMIT: u32 = 10_000;
/// Pages one container's stream may be read in during one poll; the next poll goes on.
const PAGES_PER_POLL: usize = 5;
/// The most one log line takes once printed (escapes counted): a program that logs a
/// whole payload on one line must not flood the output once per stopped task.
const MAX_LINE_BYTES: usize = 2048;

/// How one container of a task definition logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContainerLogs {
    pub name: String,
    pub essential: bool,
    driver: Option<String>,
    group: Option<String>,
    region: Option<String>,
    prefix: Option<String>,
}

/// Every container of a task definition (bare, or a `describe-task-definition` answer)
/// and how it logs, in order.
pub fn containers(task_definition: &Value) -> Result<Vec<ContainerLogs>, FilterError> {
    filters::extract(&filters::CONTAINER_LOG_CONFIGS, task_definition, &[])
}

/// Where one container of one task logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub container: String,
    pub group: String,
    pub stream: String,
    /// `awslogs-region`; without it, the run's own region.
    pub region: Option<String>,
}

/// The last segment of a task ARN (`arn:...:task/CLUSTER/ID`, or the older `task/ID`).
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// Why a container's log lines are not shown: one short note, printed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The container logs with another driver (or none).
    NotAwslogs {
        container: String,
    },
    /// awslogs without `awslogs-stream-prefix` names its streams after the container id,
    /// which the task does not show.
    NoStreamPrefix {
        container: String,
    },
    /// The group or the stream does not exist (yet).
    MissingStream {
        target: LogTarget,
    },
    AccessDenied {
        container: String,
        reason: String,
    },
    /// A read that did not answer within the time side work is given.
    NoAnswer {
        container: String,
        within: Duration,
    },
    /// Reads that were still running when the wait ended, and were stopped.
    NotRead {
        containers: String,
    },
    /// Any other failure to read.
    Unreadable {
        container: String,
        reason: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::NotAwslogs { container } => write!(
                f,
                "container {container} does not log with the awslogs driver; its log lines cannot be shown"
            ),
            Note::NoStreamPrefix { container } => write!(
                f,
                "container {container} logs with awslogs but has no awslogs-stream-prefix, so its log stream cannot be found"
            ),
            Note::MissingStream { target } => write!(
                f,
                "container {}: no log stream '{}' in log group '{}'",
                target.container, target.stream, target.group
            ),
            Note::AccessDenied { container, reason } => write!(
                f,
                "container {container}: not allowed to read its logs ({reason})"
            ),
            Note::NoAnswer { container, within } => write!(
                f,
                "logs of {container}: no answer within {} s; not read",
                within.as_secs_f64().round()
            ),
            Note::NotRead { containers } => write!(
                f,
                "logs of {containers}: still being read when the wait ended; not shown"
            ),
            Note::Unreadable { container, reason } => {
                write!(
                    f,
                    "container {container}: its logs cannot be read ({reason})"
                )
            }
        }
    }
}

impl ContainerLogs {
    /// Where this container logs in the task `task_arn`, or why that cannot be known.
    pub fn target(&self, task_arn: &str) -> Result<LogTarget, Note> {
        let container = self.name.clone();
        let (Some("awslogs"), Some(group)) = (self.driver.as_deref(), &self.group) else {
            return Err(Note::NotAwslogs { container });
        };
        let Some(prefix) = self.prefix.as_deref().filter(|p| !p.is_empty()) else {
            return Err(Note::NoStreamPrefix { container });
        };
        Ok(LogTarget {
            stream: format!("{prefix}/{}/{}", self.name, task_id(task_arn)),
            group: group.clone(),
            region: self.region.clone(),
            container,
        })
    }
}

/// The log targets of a task's essential containers, and a note for each essential
/// container whose logs cannot be read.
pub fn essential_targets(
    task_definition: &Value,
    task_arn: &str,
) -> Result<(Vec<LogTarget>, Vec<Note>), FilterError> {
    let mut targets = Vec::new();
    let mut notes = Vec::new();
    for container in containers(task_definition)?.iter().filter(|c| c.essential) {
        match container.target(task_arn) {
            Ok(target) => targets.push(target),
            Err(note) => notes.push(note),
        }
    }
    Ok((targets, notes))
}

/// Which events of a stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position<'a> {
    /// The newest `n` events.
    Newest(u32),
    /// Forward: from the start of the stream (`None`), or after a forward token.
    Forward(Option<&'a str>),
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogPage {
    /// Oldest first.
    #[serde(deserialize_with = "crate::secrets::masked_list")]
    pub messages: Vec<String>,
    /// Where the next forward read starts; the same token as sent when nothing is new.
    pub next: Option<String>,
}

/// Where logs are read, and how many lines of a failed container to show (0: none, and
/// no log is read at all).
#[derive(Clone, Copy)]
pub struct LogReader<'a> {
    pub source: &'a dyn LogSource,
    pub lines: u32,
    /// How long one read may take.
    pub budget: Budget,
}

/// Where log events are read.
pub trait LogSource: Sync {
    fn events(
        &self,
        target: &LogTarget,
        position: Position<'_>,
        deadline: Instant,
    ) -> Result<LogPage, CallError>;
}

fn events_args(target: &LogTarget, position: Position<'_>) -> Vec<String> {
    let mut args = vec![
        "--log-group-name".to_string(),
        target.group.clone(),
        "--log-stream-name".to_string(),
        target.stream.clone(),
    ];
    match position {
        Position::Newest(n) => args.extend(["--limit".into(), n.min(MAX_LIMIT).to_string()]),
        // A forward token is only honoured together with --start-from-head.
        Position::Forward(token) => {
            args.push("--start-from-head".into());
            if let Some(token) = token {
                args.extend(["--next-token".into(), token.to_string()]);
            }
        }
    }
    args
}

impl LogSource for Aws {
    fn events(
        &self,
        target: &LogTarget,
        position: Position<'_>,
        deadline: Instant,
    ) -> Result<LogPage, CallError> {
        let args = events_args(target, position);
        let answer = self.logs_poll("get-log-events", &args, target.region.as_deref(), deadline)?;
        filters::extract(&filters::LOG_EVENTS, &answer, &[]).map_err(|e| {
            CallError::new(
                "logs get-log-events",
                255,
                e.to_string(),
                Failure::Unreadable,
            )
        })
    }
}

/// What a failed read means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReadFailure {
    /// The stream (or group) does not exist, or not yet.
    Missing,
    Denied(String),
    /// Worth another try later: throttling, network, a signal.
    Passing,
    /// No answer within the time the read was given.
    NoAnswer(Duration),
    Other(String),
}

fn read_failure(e: &CallError, started: Instant, deadline: Instant) -> ReadFailure {
    if e.message.contains("ResourceNotFoundException") {
        return ReadFailure::Missing;
    }
    if e.message.contains("AccessDenied") || e.message.contains("not authorized") {
        return ReadFailure::Denied(e.message.clone());
    }
    match e.kind {
        Failure::Deadline if !signals::interrupted() => {
            ReadFailure::NoAnswer(deadline.saturating_duration_since(started))
        }
        Failure::Transient | Failure::Interrupted | Failure::Deadline | Failure::Unreadable => {
            ReadFailure::Passing
        }
        Failure::Fatal | Failure::Lost => ReadFailure::Other(e.message.clone()),
    }
}

fn note(target: &LogTarget, failure: ReadFailure, reason: &str) -> Note {
    let container = target.container.clone();
    match failure {
        ReadFailure::Missing => Note::MissingStream {
            target: target.clone(),
        },
        ReadFailure::Denied(reason) => Note::AccessDenied { container, reason },
        ReadFailure::NoAnswer(within) => Note::NoAnswer { container, within },
        ReadFailure::Passing | ReadFailure::Other(_) => Note::Unreadable {
            container,
            reason: reason.to_string(),
        },
    }
}

/// A message as one line: without the line break that ends most of them, and cut to
/// [`MAX_LINE_BYTES`].
fn line(message: String) -> String {
    let line = match message.strip_suffix('\n') {
        Some(rest) => rest.strip_suffix('\r').unwrap_or(rest).to_string(),
        None => message,
    };
    cut(line)
}

/// `line` as it is if it prints within [`MAX_LINE_BYTES`]; else its start, cut at a
/// character, and `... (N bytes)` with its whole length.
fn cut(line: String) -> String {
    let printed = |text: &str| text.chars().map(output::escaped_len).sum::<usize>();
    // Escaping never shortens: a longer line is cut without being measured.
    if line.len() <= MAX_LINE_BYTES && printed(&line) <= MAX_LINE_BYTES {
        return line;
    }
    let tail = format!(" ... ({} bytes)", line.len());
    let room = MAX_LINE_BYTES - tail.len();
    let mut used = 0;
    let mut end = 0;
    for (at, c) in line.char_indices() {
        used += output::escaped_len(c);
        if used > room {
            break;
        }
        end = at + c.len_utf8();
    }
    format!("{}{tail}", &line[..end])
}

/// The last `n` lines of a container's log, oldest first (none asked for: no call).
pub fn last_lines(
    source: &dyn LogSource,
    target: &LogTarget,
    n: u32,
    deadline: Instant,
) -> Result<Vec<String>, Note> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let started = Instant::now();
    match source.events(target, Position::Newest(n), deadline) {
        Ok(page) => Ok(page.messages.into_iter().map(line).collect()),
        Err(e) => Err(note(
            target,
            read_failure(&e, started, deadline),
            &e.message,
        )),
    }
}

/// A new line of a followed container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub container: String,
    pub text: String,
}

/// What one poll of the followed containers brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polled {
    /// Per container in order of reading; each container's lines oldest first.
    pub lines: Vec<Line>,
    /// Containers that are no longer read, and why (each reported once).
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The stream has not been found yet (it appears when the container starts).
    Waiting,
    Reading,
    Stopped,
}

#[derive(Debug)]
struct Followed {
    target: LogTarget,
    token: Option<String>,
    stage: Stage,
}

/// Follows the log streams of a task's containers, each from its first line.
#[derive(Debug)]
pub struct Follower {
    streams: Vec<Followed>,
}

impl Follower {
    pub fn new(targets: Vec<LogTarget>) -> Follower {
        let streams = targets
            .into_iter()
            .map(|target| Followed {
                target,
                token: None,
                stage: Stage::Waiting,
            })
            .collect();
        Follower { streams }
    }

    /// Read what is new in every followed stream. A stream that does not exist yet is
    /// asked for again next time; a passing failure too; a denied or failed read is
    /// noted once and that container is no longer read.
    pub fn poll(&mut self, source: &dyn LogSource, deadline: Instant) -> Polled {
        let mut polled = Polled::default();
        for followed in &mut self.streams {
            followed.poll(source, deadline, &mut polled);
        }
        polled
    }

    /// A note for each stream never found: for when the task has stopped, and it will
    /// not appear any more.
    pub fn never_found(&self) -> Vec<Note> {
        self.streams
            .iter()
            .filter(|f| f.stage == Stage::Waiting)
            .map(|f| Note::MissingStream {
                target: f.target.clone(),
            })
            .collect()
    }
}

impl Followed {
    fn poll(&mut self, source: &dyn LogSource, deadline: Instant, polled: &mut Polled) {
        for _ in 0..PAGES_PER_POLL {
            if self.stage == Stage::Stopped || Instant::now() >= deadline {
                return;
            }
            let position = Position::Forward(self.token.as_deref());
            let started = Instant::now();
            let page = match source.events(&self.target, position, deadline) {
                Ok(page) => page,
                Err(e) => {
                    let failure = read_failure(&e, started, deadline);
                    if matches!(failure, ReadFailure::Missing | ReadFailure::Passing) {
                        return;
                    }
                    polled.notes.push(note(&self.target, failure, &e.message));
                    self.stage = Stage::Stopped;
                    return;
                }
            };
            self.stage = Stage::Reading;
            polled
                .lines
                .extend(page.messages.into_iter().map(|message| Line {
                    container: self.target.container.clone(),
                    text: line(message),
                }));
            // The same token back (or none): the end of the stream for now.
            let at_end = page.next.is_none() || page.next == self.token;
            if page.next.is_some() {
                self.token = page.next;
            }
            if at_end {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    const TASK: &str = "arn:aws:ecs:eu-west-1:123456789012:task/prod/0f3c1e2d";

    #[test]
    fn a_line_loses_its_line_break_and_is_kept_whole_up_to_the_limit() {
        assert_eq!(line("started\r\n".into()), "started");
        assert_eq!(line("started\n".into()), "started");
        assert_eq!(line("a\nb".into()), "a\nb");
        let longest = "x".repeat(MAX_LINE_BYTES);
        assert_eq!(line(format!("{longest}\n")), longest);
    }

    #[test]
    fn a_long_line_is_cut_and_says_how_long_it_was() {
        let cut = line("x".repeat(1 << 20));
        assert!(cut.ends_with("x ... (1048576 bytes)"), "{cut}");
        assert_eq!(cut.len(), MAX_LINE_BYTES);
        assert_eq!(line("x".repeat(MAX_LINE_BYTES + 1)).len(), MAX_LINE_BYTES);
    }

    #[test]
    fn a_line_is_cut_at_a_character() {
        // 2-byte characters up to one byte before the room ends, then a 4-byte one.
        let cut = line(format!("{}😀{}", "é".repeat(1015), "x".repeat(20)));
        let tail = " ... (2054 bytes)";
        assert_eq!(cut, format!("{}{tail}", "é".repeat(1015)));
        assert_eq!(cut.len(), MAX_LINE_BYTES - 1);
    }

    #[test]
    fn a_line_is_measured_as_it_prints() {
        // 500 bytes of ESC print as 3000: cut, so that what prints stays within the limit.
        let hostile = "\u{1b}".repeat(500);
        let cut = line(hostile);
        assert!(cut.ends_with(" ... (500 bytes)"), "{cut}");
        assert!(output::escape(&cut).len() <= MAX_LINE_BYTES);
        assert!(output::escape(&cut).len() > MAX_LINE_BYTES - 6);
        // Well within the limit: whole, and escaped only when printed.
        assert_eq!(
            line("\u{1b}[31mred\u{2028}\u{202e}".into()),
            "\u{1b}[31mred\u{2028}\u{202e}"
        );
    }

    fn definition() -> Value {
        json!({"taskDefinition": {"containerDefinitions": [
            {"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1",
                "awslogs-stream-prefix": "ecs"}}},
            {"name": "sidecar", "essential": false, "logConfiguration": {
                "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web",
                "awslogs-stream-prefix": "ecs"}}},
            {"name": "proxy", "essential": true, "logConfiguration": {
                "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/proxy"}}},
            {"name": "router", "logConfiguration": {"logDriver": "fluentd", "options": {}}},
            {"name": "bare"}
        ]}})
    }

    fn web() -> LogTarget {
        LogTarget {
            container: "web".into(),
            group: "/ecs/web".into(),
            stream: "ecs/web/0f3c1e2d".into(),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn where_each_container_logs() {
        assert_eq!(task_id(TASK), "0f3c1e2d");
        assert_eq!(task_id("arn:aws:ecs:us-east-1:1:task/abc"), "abc");
        let all = containers(&definition()).unwrap();
        assert_eq!(
            all.iter().map(|c| c.essential).collect::<Vec<_>>(),
            [true, false, true, true, true]
        );
        assert_eq!(all[0].target(TASK), Ok(web()));
        assert_eq!(
            all[1].target(TASK).unwrap().region,
            None,
            "no awslogs-region: the run's region"
        );
        let (targets, notes) = essential_targets(&definition(), TASK).unwrap();
        assert_eq!(targets, [web()]);
        assert_eq!(
            notes,
            [
                Note::NoStreamPrefix {
                    container: "proxy".into()
                },
                Note::NotAwslogs {
                    container: "router".into()
                },
                Note::NotAwslogs {
                    container: "bare".into()
                },
            ]
        );
        assert!(notes[0].to_string().contains("awslogs-stream-prefix"));
    }

    #[test]
    fn get_log_events_arguments() {
        let args = |position| events_args(&web(), position);
        let base = [
            "--log-group-name",
            "/ecs/web",
            "--log-stream-name",
            "ecs/web/0f3c1e2d",
        ];
        assert_eq!(
            args(Position::Newest(20)),
            [&base[..], &["--limit", "20"]].concat()
        );
        assert_eq!(
            args(Position::Newest(50_000))[5],
            "10000",
            "at most what the API allows"
        );
        assert_eq!(
            args(Position::Forward(None)),
            [&base[..], &["--start-from-head"]].concat()
        );
        assert_eq!(
            args(Position::Forward(Some("f/1"))),
            [&base[..], &["--start-from-head", "--next-token", "f/1"]].concat()
        );
    }

    #[test]
    fn answers_are_read_by_the_filter() {
        let answer = json!({"events": [
            {"timestamp": 1, "message": "first\n", "ingestionTime": 2},
            {"timestamp": 3, "message": "second"}],
            "nextForwardToken": "f/2", "nextBackwardToken": "b/1"});
        let page: LogPage = filters::extract(&filters::LOG_EVENTS, &answer, &[]).unwrap();
        assert_eq!(page.messages, ["first\n", "second"]);
        assert_eq!(page.next.as_deref(), Some("f/2"));
        let empty: LogPage = filters::extract(&filters::LOG_EVENTS, &json!({}), &[]).unwrap();
        assert_eq!((empty.messages.len(), empty.next), (0, None));
    }

    /// Answers in order, and the position of every call.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<VecDeque<Result<LogPage, CallError>>>,
        asked: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<LogPage, CallError>>) -> Scripted {
            Scripted {
                answers: Mutex::new(answers.into()),
                ..Scripted::default()
            }
        }
    }

    impl LogSource for Scripted {
        fn events(
            &self,
            target: &LogTarget,
            position: Position<'_>,
            _deadline: Instant,
        ) -> Result<LogPage, CallError> {
            self.asked
                .lock()
                .unwrap()
                .push(format!("{} {position:?}", target.container));
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("no answer left")
        }
    }

    fn page(messages: &[&str], next: &str) -> Result<LogPage, CallError> {
        Ok(LogPage {
            messages: messages.iter().map(ToString::to_string).collect(),
            next: Some(next.into()),
        })
    }

    fn error(exception: &str, kind: Failure) -> Result<LogPage, CallError> {
        let message =
            format!("An error occurred ({exception}) when calling the GetLogEvents operation: x");
        Err(CallError::new("logs get-log-events", 254, message, kind))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn last_lines_reads_the_newest_events() {
        let source = Scripted::new(vec![page(&["a\r\n", "b\n", "c"], "f/9")]);
        assert_eq!(
            last_lines(&source, &web(), 3, soon()).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(*source.asked.lock().unwrap(), ["web Newest(3)"]);
        assert_eq!(last_lines(&source, &web(), 0, soon()), Ok(vec![]));
        assert_eq!(
            source.asked.lock().unwrap().len(),
            1,
            "no call for no lines"
        );
    }

    #[test]
    fn last_lines_notes_why_there_are_none() {
        let source = Scripted::new(vec![
            error("ResourceNotFoundException", Failure::Fatal),
            error("AccessDeniedException", Failure::Fatal),
            error("ThrottlingException", Failure::Transient),
        ]);
        let missing = last_lines(&source, &web(), 5, soon()).unwrap_err();
        assert_eq!(missing, Note::MissingStream { target: web() });
        assert!(
            missing.to_string().contains("ecs/web/0f3c1e2d"),
            "{missing}"
        );
        let denied = last_lines(&source, &web(), 5, soon()).unwrap_err();
        assert!(matches!(denied, Note::AccessDenied { .. }), "{denied:?}");
        let throttled = last_lines(&source, &web(), 5, soon()).unwrap_err();
        assert!(
            matches!(throttled, Note::Unreadable { .. }),
            "{throttled:?}"
        );
    }

    #[test]
    fn the_follower_reads_forward_from_the_first_line() {
        let source = Scripted::new(vec![
            // Not started yet: silent.
            error("ResourceNotFoundException", Failure::Fatal),
            // Two pages, then the end (the same token back).
            page(&["one\n", "two\n"], "f/2"),
            page(&["three\n"], "f/3"),
            page(&[], "f/3"),
            // Next poll: nothing new.
            page(&[], "f/3"),
            // A passing failure: silent, and the token is kept.
            error("ThrottlingException", Failure::Transient),
            page(&["four"], "f/4"),
            page(&[], "f/4"),
        ]);
        let mut follower = Follower::new(vec![web()]);
        let lines = |polled: Polled| {
            assert_eq!(polled.notes, []);
            polled.lines.into_iter().map(|l| l.text).collect::<Vec<_>>()
        };
        assert_eq!(lines(follower.poll(&source, soon())), Vec::<String>::new());
        assert_eq!(
            follower.never_found(),
            [Note::MissingStream { target: web() }]
        );
        assert_eq!(
            lines(follower.poll(&source, soon())),
            ["one", "two", "three"]
        );
        assert_eq!(follower.never_found(), []);
        assert_eq!(lines(follower.poll(&source, soon())), Vec::<String>::new());
        assert_eq!(lines(follower.poll(&source, soon())), Vec::<String>::new());
        assert_eq!(lines(follower.poll(&source, soon())), ["four"]);
        assert_eq!(
            *source.asked.lock().unwrap(),
            [
                "web Forward(None)",
                "web Forward(None)",
                "web Forward(Some(\"f/2\"))",
                "web Forward(Some(\"f/3\"))",
                "web Forward(Some(\"f/3\"))",
                "web Forward(Some(\"f/3\"))",
                "web Forward(Some(\"f/3\"))",
                "web Forward(Some(\"f/4\"))",
            ]
        );
    }

    #[test]
    fn a_denied_container_is_noted_once_and_no_longer_read() {
        let api = LogTarget {
            container: "api".into(),
            stream: "ecs/api/0f3c1e2d".into(),
            ..web()
        };
        let source = Scripted::new(vec![
            error("AccessDeniedException", Failure::Fatal),
            page(&["api up"], "f/1"),
            page(&[], "f/1"),
            page(&["api still up"], "f/2"),
            page(&[], "f/2"),
        ]);
        let mut follower = Follower::new(vec![web(), api]);
        let first = follower.poll(&source, soon());
        assert_eq!(first.notes.len(), 1);
        assert!(
            matches!(&first.notes[0], Note::AccessDenied { container, .. } if container == "web")
        );
        assert_eq!(
            first.lines,
            [Line {
                container: "api".into(),
                text: "api up".into()
            }]
        );
        let second = follower.poll(&source, soon());
        assert_eq!(second.notes, []);
        assert_eq!(second.lines.len(), 1);
        assert!(
            source.asked.lock().unwrap()[3..]
                .iter()
                .all(|a| a.starts_with("api")),
            "{:?}",
            source.asked.lock().unwrap()
        );
        assert_eq!(follower.never_found(), []);
    }

    #[test]
    fn a_past_deadline_reads_nothing() {
        let source = Scripted::new(vec![]);
        let mut follower = Follower::new(vec![web()]);
        assert_eq!(follower.poll(&source, Instant::now()), Polled::default());
    }
}
