//! The only place that runs the AWS CLI: argv, environment, temp files for JSON input,
//! limits on how long a call may take, retries of throttled calls, and the `--verbose`
//! trace. What the calls mean is the business of the layers above (`ecs.rs` for `aws ecs`,
//! `codedeploy.rs` for `aws deploy`, `ecr.rs`, `logs.rs`); this module only knows how to
//! run one, and how it can fail.

use std::cell::RefCell;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filters;
use crate::output;
use crate::profile::{self, Exported, Plan};
use crate::secrets;
use crate::signals;

mod spare;

use spare::Spare;

/// Attempts for a call that AWS throttles, with exponential backoff between them.
const THROTTLE_ATTEMPTS: u32 = 4;
const THROTTLE_FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How often a running call looks at its limit and at the signal flag.
const CHECK_EVERY: Duration = Duration::from_millis(50);
/// How long a killed child is waited for. Its process group is killed with it, so only a
/// process that left the group and holds the child's output could make this wait.
const REAP_WITHIN: Duration = Duration::from_secs(1);
/// After a refresh of exported credentials that failed while they are still valid, how
/// long until the next try.
const REFRESH_RETRY: Duration = Duration::from_secs(30);

thread_local! {
    /// Set on a thread that does side work: once the flag is up, its call is killed.
    static ABANDON: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// From now on, the calls this thread makes are killed as soon as `flag` is set (side work
/// that is no longer wanted must not hold up the end of a wait).
pub fn abandon_calls_when(flag: Arc<AtomicBool>) {
    ABANDON.with(|cell| *cell.borrow_mut() = Some(flag));
}

/// Whether the side work of this thread is no longer wanted.
pub fn abandoned() -> bool {
    ABANDON.with(|cell| {
        cell.borrow()
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    })
}

/// How the AWS CLI is to be reached: the user's credentials, region and profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub assume_role: Option<String>,
}

impl Credentials {
    /// What these say to the choice of exporting the profile's credentials.
    pub fn given(&self) -> profile::Given<'_> {
        profile::Given {
            keys: self.access_key.is_some() || self.secret_key.is_some(),
            assume_role: self.assume_role.is_some(),
            profile: self.profile.as_deref(),
            region: self.region.is_some(),
        }
    }
}

/// The CLI's command for ECS: its steps are named by the operation alone.
pub const ECS: &str = "ecs";
/// The CLI's command for CodeDeploy (`aws deploy ...`).
const DEPLOY: &str = "deploy";

/// What kind of failure a call ended in, which decides what a waiting loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: throttling, a network error, an answer that could not be read.
    Transient,
    /// The call was given up because SIGINT/SIGTERM arrived.
    Interrupted,
    /// A poll was stopped at its wait's deadline.
    Deadline,
    /// aws succeeded, but what it printed is no JSON answer (nothing, or something else).
    Unreadable,
    /// Asking again will not help.
    Fatal,
    /// The call was stopped, or aws died, before it answered: whether AWS carried it out
    /// is not known (only a read can tell).
    Lost,
}

/// Why one call failed.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The step that failed, e.g. `describe-services` or `sts assume-role`.
    pub step: String,
    pub code: i32,
    pub message: String,
    pub kind: Failure,
}

impl CallError {
    pub fn new(step: &str, code: i32, message: impl Into<String>, kind: Failure) -> CallError {
        CallError {
            step: step.to_string(),
            code,
            message: message.into(),
            kind,
        }
    }
}

impl CallError {
    /// Whether AWS may have carried the call out although it failed: no answer came (the
    /// call was stopped, aws died, the connection broke after the request was sent).
    /// Throttling and a connection never made mean it was not.
    pub fn outcome_unknown(&self) -> bool {
        match self.kind {
            Failure::Lost => true,
            Failure::Transient => {
                !is_throttling(&self.message) && !self.message.contains("Could not connect")
            }
            _ => false,
        }
    }
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        match e.kind {
            Failure::Interrupted => Error::Interrupted(format!("interrupted during {}", e.step)),
            _ => Error::Aws {
                step: e.step,
                code: e.code,
                message: e.message,
            },
        }
    }
}

/// What a SIGINT/SIGTERM does to a call in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// Kill it: a read, or a change whose loss is harmless (an unused revision). A call of
    /// this kind does not even start once a signal has arrived.
    Abandon,
    /// Let it finish within its limit, so that what the service runs is known.
    Finish,
}

/// How one call is made.
#[derive(Debug, Clone, Copy)]
struct Limits {
    interrupt: Interrupt,
    attempts: u32,
    /// A poll's wait ends here: the call is killed then, and the wait has timed out.
    deadline: Option<Instant>,
    /// Made the way every call was before any export: with the profile, resolving
    /// credentials itself (the export call itself).
    own_credentials: bool,
}

impl Limits {
    /// One attempt, stopped at `deadline`.
    fn once(interrupt: Interrupt, deadline: Instant) -> Limits {
        Limits {
            interrupt,
            attempts: 1,
            deadline: Some(deadline),
            own_credentials: false,
        }
    }

    /// A call outside a wait: throttling retried, bounded by the call timeout alone.
    fn step(interrupt: Interrupt) -> Limits {
        Limits {
            interrupt,
            attempts: THROTTLE_ATTEMPTS,
            deadline: None,
            own_credentials: false,
        }
    }

    /// Whether a retry after `pause` would still start before the deadline.
    fn leaves_time_for(&self, pause: Duration) -> bool {
        self.deadline.is_none_or(|d| Instant::now() + pause < d)
    }
}

fn abandoned_error(step: &str) -> CallError {
    CallError::new(step, 255, "abandoned: no longer needed", Failure::Deadline)
}

#[derive(Debug)]
pub struct Aws {
    program: PathBuf,
    region: Option<String>,
    profile: Option<String>,
    env: Vec<(&'static str, String)>,
    env_remove: Vec<&'static str>,
    /// The longest any one call may run.
    call_timeout: Duration,
    calls: AtomicU32,
    /// Credentials exported once from the profile, given to every child in its place;
    /// `None` when every call resolves them itself.
    exported: Mutex<Option<Export>>,
    /// Whether a call is refreshing the exported credentials; the others go on with the
    /// current ones meanwhile, which are still valid within the refresh margin.
    refreshing: AtomicBool,
    /// Calls started before they are made (see [`Aws::prepare_ecs_input`]); any left
    /// unused are killed when this is dropped.
    spares: Mutex<Vec<Spare>>,
}

/// Credentials exported from the profile, and what the children need besides them.
#[derive(Debug, Clone)]
struct Export {
    credentials: Exported,
    fetched: Timestamp,
    /// The profile's region, for children that would have taken it from the profile.
    default_region: Option<String>,
    /// After a refresh cut short, when to try again (the current ones are still valid).
    retry_after: Option<Instant>,
}

// A read may run on another thread while the main flow calls ECS through the same `Aws`.
const _: () = {
    const fn shared_across_threads<T: Send + Sync>() {}
    shared_across_threads::<Aws>();
};

fn is_throttling(stderr: &str) -> bool {
    [
        "Throttl",
        "Rate exceeded",
        "RequestLimitExceeded",
        "TooManyRequests",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

fn is_transient(stderr: &str) -> bool {
    is_throttling(stderr)
        || [
            "ServiceUnavailable",
            "InternalError",
            "InternalFailure",
            "ServerException",
            "Could not connect",
            "Connection was closed",
            "Read timeout",
            "timed out",
            "EndpointConnectionError",
        ]
        .iter()
        .any(|s| stderr.contains(s))
}

/// How a service's error starts, in every format of the CLI.
const SERVICE_ERROR: &str = "An error occurred";
/// What AWS CLI v2 puts before an error, since early 2026.
const V2_ERROR_PREFIX: &str = "aws: [ERROR]:";
/// AWS CLI v2 may follow the error with this heading and lines that only qualify it.
const V2_DETAILS: &str = "Additional error details:";

/// Where the CLI's stderr states the error: the service's `An error occurred (Code) ...`
/// line; without one, the last meaningful line before any `Additional error details:`.
/// v2's `aws: [ERROR]:` prefix is left out.
fn reason(stderr: &str, code: i32) -> String {
    let lines = stderr
        .lines()
        .map(str::trim)
        .take_while(|line| *line != V2_DETAILS);
    let service_error = lines
        .clone()
        .find_map(|line| line.find(SERVICE_ERROR).map(|at| &line[at..]));
    let stated = service_error.or_else(|| {
        lines
            .map(|line| {
                line.strip_prefix(V2_ERROR_PREFIX)
                    .map_or(line, str::trim_start)
            })
            .filter(|line| !line.is_empty())
            .last()
    });
    stated.map_or_else(
        || format!("aws exited with status {code} and printed no reason"),
        str::to_string,
    )
}

/// The `aws` program on PATH (exit 4 when there is none).
pub fn find_program() -> Result<PathBuf> {
    which::which("aws").map_err(|_| Error::AwsNotFound)
}

impl Aws {
    /// Remember how every call must be made: which program, global options, environment,
    /// and how long a call may take.
    pub fn new(program: PathBuf, credentials: &Credentials, call_timeout: Duration) -> Aws {
        // The user's CLI configuration must not change what we read: no pager, no prompt.
        let mut env = vec![
            ("AWS_PAGER", String::new()),
            ("AWS_CLI_AUTO_PROMPT", "off".to_string()),
        ];
        if let Some(key) = &credentials.access_key {
            env.push(("AWS_ACCESS_KEY_ID", key.clone()));
            secrets::add(key);
        }
        if let Some(secret) = &credentials.secret_key {
            env.push(("AWS_SECRET_ACCESS_KEY", secret.clone()));
            secrets::add(secret);
        }
        Aws {
            program,
            region: credentials.region.clone(),
            profile: credentials.profile.clone(),
            env,
            env_remove: Vec::new(),
            call_timeout,
            calls: AtomicU32::new(0),
            exported: Mutex::new(None),
            refreshing: AtomicBool::new(false),
            spares: Mutex::new(Vec::new()),
        }
    }

    /// `aws configure export-credentials` once, as `plan` allows: from now on every call
    /// gets the profile's credentials through its environment instead of resolving them
    /// itself. When the CLI has no such command (v1), fails, or answers something else,
    /// every call goes on resolving them, and no export is tried again.
    pub fn export_credentials(&self, plan: Plan) {
        let limits = Limits::step(Interrupt::Abandon);
        let export = self.export(plan.default_region, limits);
        if output::tracing() {
            output::trace(&match &export {
                Some(export) => format!(
                    "[aws] credentials exported from the profile once, handed to every call{}",
                    export
                        .credentials
                        .expires
                        .map_or(String::new(), |at| format!(" (they expire at {at})"))
                ),
                None => "[aws] no credentials exported: every call resolves the profile itself"
                    .to_string(),
            });
        }
        *self.exported.lock().unwrap_or_else(PoisonError::into_inner) = export;
    }

    /// One `aws configure export-credentials --format process`, made like any call of
    /// today (with the profile) and bounded like the call that needs it.
    fn export(&self, default_region: Option<String>, limits: Limits) -> Option<Export> {
        let limits = Limits {
            attempts: 1,
            own_credentials: true,
            ..limits
        };
        let fetched = Timestamp::now();
        let args = ["--format", "process"].map(String::from);
        let answer = self
            .call("configure", "export-credentials", &args, None, None, limits)
            .ok()?;
        let credentials = profile::parse_export(&answer)?;
        secrets::add(&credentials.access_key);
        secrets::add(&credentials.secret_key);
        if let Some(token) = &credentials.session_token {
            secrets::add(token);
        }
        Some(Export {
            credentials,
            fetched,
            default_region,
            retry_after: None,
        })
    }

    /// The exported credentials for the next call, refreshed first when they are close to
    /// expiry; `None` when the call resolves them itself. One call refreshes them, within
    /// its own limits, while the others go on with the current ones. A refresh that brings
    /// credentials due again at once, or fails once the current ones have expired, ends the
    /// export for the rest of the run; one that fails before tries again 30 s later.
    fn exported_credentials(&self, limits: Limits) -> Option<Export> {
        let export = self
            .exported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        let now = Timestamp::now();
        let due = |export: &Export| {
            profile::refresh_due(Timestamp::now(), export.fetched, export.credentials.expires)
        };
        let expired = |export: &Export| export.credentials.expires.is_some_and(|at| at <= now);
        let later = export.retry_after.is_some_and(|at| Instant::now() < at);
        if !due(&export) || later || self.refreshing.swap(true, Ordering::SeqCst) {
            return Some(export).filter(|export| !expired(export));
        }
        let fresh = self.export(export.default_region.clone(), limits);
        self.refreshing.store(false, Ordering::SeqCst);
        let kept = match fresh {
            Some(fresh) if !due(&fresh) => Some(fresh),
            None if !expired(&export) => Some(Export {
                retry_after: Some(Instant::now() + REFRESH_RETRY),
                ..export
            }),
            _ => None,
        };
        if kept.is_none() {
            output::trace(
                "[aws] the exported credentials could not be refreshed: every call \
                 resolves the profile itself from now on",
            );
        }
        self.exported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone_from(&kept);
        kept
    }

    /// How many times `aws` has been run so far.
    /// The longest any one call may take (`--call-timeout`).
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    pub fn call_count(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// `aws sts assume-role`, then make every later call with the temporary credentials and
    /// without a profile (a profile would override them).
    pub fn assume_role(&mut self, role_arn: &str) -> Result<()> {
        let session = format!(
            "ecs-deploy-{}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        );
        let args = ["--role-arn", role_arn, "--role-session-name", &session].map(String::from);
        let limits = Limits::step(Interrupt::Abandon);
        let answer = self.call("sts", "assume-role", &args, None, None, limits)?;
        let credentials = filters::run(&filters::ASSUMED_CREDENTIALS, &answer)?;
        let [Some(key), Some(secret), Some(token)] = [0, 1, 2].map(|i| {
            credentials
                .get(i)
                .and_then(Value::as_str)
                .map(str::to_string)
        }) else {
            return Err(Error::Aws {
                step: "sts assume-role".into(),
                code: 255,
                message: "the answer holds no credentials".into(),
            });
        };
        for value in [&key, &secret, &token] {
            secrets::add(value);
        }
        self.env
            .retain(|(name, _)| *name != "AWS_ACCESS_KEY_ID" && *name != "AWS_SECRET_ACCESS_KEY");
        self.env.push(("AWS_ACCESS_KEY_ID", key));
        self.env.push(("AWS_SECRET_ACCESS_KEY", secret));
        self.env.push(("AWS_SESSION_TOKEN", token));
        self.env_remove.push("AWS_PROFILE");
        self.env_remove.push("AWS_DEFAULT_PROFILE");
        self.profile = None;
        Ok(())
    }

    /// `aws ecs OP ARGS...`; throttling is retried, any other failure is final.
    pub fn ecs(
        &self,
        op: &str,
        args: &[String],
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        self.step(ECS, op, args, None, interrupt)
    }

    /// `aws ecs OP --cli-input-json file://TEMP ARGS...`: the JSON goes through a 0600 temp
    /// file, never argv, because task definitions hold environment values.
    pub fn ecs_with_input(
        &self,
        op: &str,
        input: &Value,
        args: &[String],
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        self.step(ECS, op, args, Some(input), interrupt)
    }

    /// One attempt, for polling loops that handle failures themselves: killed at the
    /// wait's `deadline` or on a signal; an answer that is empty or not JSON, or an aws
    /// killed by a signal, is a transient failure.
    pub fn poll(
        &self,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        self.poll_once(ECS, op, args, deadline)
    }

    /// One attempt at a read whose answer decides what the program may claim (whether a
    /// change went through): it runs even after SIGINT/SIGTERM, and is killed at `deadline`.
    pub fn ecs_settling_read(
        &self,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        self.settling_read(ECS, op, args, deadline)
    }

    /// `aws deploy OP ARGS...` (CodeDeploy), a step like [`Aws::ecs`]: throttling is
    /// retried, any other failure is final; `interrupt` says what a signal does to it.
    pub fn deploy(
        &self,
        op: &str,
        args: &[String],
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        self.step(DEPLOY, op, args, None, interrupt)
    }

    /// `aws deploy OP --cli-input-json file://TEMP ARGS...`, like [`Aws::ecs_with_input`]:
    /// the JSON goes through a 0600 temp file, never argv.
    pub fn deploy_with_input(
        &self,
        op: &str,
        input: &Value,
        args: &[String],
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        self.step(DEPLOY, op, args, Some(input), interrupt)
    }

    /// `aws deploy OP ARGS...` as one attempt while waiting, like [`Aws::poll`]: killed at
    /// `deadline` or on a signal.
    pub fn deploy_poll(
        &self,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        self.poll_once(DEPLOY, op, args, deadline)
    }

    /// `aws deploy OP ARGS...` as a settling read, like [`Aws::ecs_settling_read`]: one
    /// attempt that runs even after SIGINT/SIGTERM, killed at `deadline`.
    pub fn deploy_settling_read(
        &self,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        self.settling_read(DEPLOY, op, args, deadline)
    }

    /// `aws ecr OP ARGS...`, side work: killed at `deadline`, when its thread's work is
    /// abandoned, or on a signal; throttling is retried while the deadline leaves time.
    /// `region` replaces `--region` for this call alone (an image's registry has its own
    /// region).
    pub fn ecr(
        &self,
        op: &str,
        args: &[String],
        region: Option<&str>,
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        let limits = Limits {
            interrupt: Interrupt::Abandon,
            attempts: THROTTLE_ATTEMPTS,
            deadline: Some(deadline),
            own_credentials: false,
        };
        self.call("ecr", op, args, region, None, limits)
    }

    /// `aws logs OP ARGS...` as one attempt, like [`Aws::poll`]: killed at `deadline` or
    /// on a signal. `region` replaces `--region` for this call alone (a log group's
    /// region is part of the container's log configuration).
    pub fn logs_poll(
        &self,
        op: &str,
        args: &[String],
        region: Option<&str>,
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        let limits = Limits::once(Interrupt::Abandon, deadline);
        self.call("logs", op, args, region, None, limits)
    }

    /// A step of `service`: throttling retried, bounded by the call timeout alone.
    fn step(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        input: Option<&Value>,
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        self.call(service, op, args, None, input, Limits::step(interrupt))
    }

    /// One attempt of a poll of `service`, given up at `deadline` or on a signal.
    fn poll_once(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        let limits = Limits::once(Interrupt::Abandon, deadline);
        self.call(service, op, args, None, None, limits)
    }

    /// One attempt of a settling read of `service`: made even after a signal, given up at
    /// `deadline`.
    fn settling_read(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        deadline: Instant,
    ) -> std::result::Result<Value, CallError> {
        let limits = Limits::once(Interrupt::Finish, deadline);
        self.call(service, op, args, None, None, limits)
    }

    fn call(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        region: Option<&str>,
        input: Option<&Value>,
        limits: Limits,
    ) -> std::result::Result<Value, CallError> {
        let mut backoff = THROTTLE_FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let result = self.call_once(service, op, args, region, input, limits);
            match result {
                Err(e)
                    if attempt < limits.attempts
                        && is_throttling(&e.message)
                        && limits.leaves_time_for(backoff) =>
                {
                    output::stderr(&format!(
                        "aws {service} {op} was throttled; retrying in {:.1} s",
                        backoff.as_secs_f64()
                    ));
                    match limits.interrupt {
                        Interrupt::Finish => std::thread::sleep(backoff),
                        Interrupt::Abandon => {
                            // In steps, so that abandoned work stops waiting too.
                            let until = Instant::now() + backoff;
                            while Instant::now() < until && !abandoned() {
                                let step_end = (Instant::now() + CHECK_EVERY).min(until);
                                if signals::sleep_until(step_end).is_err() {
                                    let message = "interrupted while waiting to retry";
                                    return Err(CallError {
                                        message: message.into(),
                                        code: 130,
                                        kind: Failure::Interrupted,
                                        ..e
                                    });
                                }
                            }
                        }
                    }
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The child's argv; `with_profile` false leaves `--profile` out (a profile named on
    /// the command line would win over credentials given through the environment).
    fn argv(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        region: Option<&str>,
        input_path: Option<&str>,
        with_profile: bool,
    ) -> Vec<String> {
        let mut argv = vec!["--output".to_string(), "json".to_string()];
        if let Some(region) = region.or(self.region.as_deref()) {
            argv.extend(["--region".to_string(), region.to_string()]);
        }
        if let Some(profile) = self.profile.as_ref().filter(|_| with_profile) {
            argv.extend(["--profile".to_string(), profile.clone()]);
        }
        argv.extend([service.to_string(), op.to_string()]);
        if let Some(path) = input_path {
            argv.extend(["--cli-input-json".to_string(), format!("file://{path}")]);
        }
        argv.extend(args.iter().cloned());
        argv
    }

    fn write_input(
        step: &str,
        input: &Value,
    ) -> std::result::Result<tempfile::NamedTempFile, CallError> {
        let io_error = |e: std::io::Error| {
            CallError::new(
                step,
                255,
                format!("cannot write the JSON input to a temp file: {e}"),
                Failure::Fatal,
            )
        };
        // NamedTempFile creates the file with mode 0600, and removes it when dropped.
        let mut file = tempfile::Builder::new()
            .prefix("ecs-deploy-")
            .suffix(".json")
            .tempfile()
            .map_err(io_error)?;
        signals::track_temp_file(file.path());
        serde_json::to_writer(&mut file, input).map_err(|e| io_error(e.into()))?;
        file.flush().map_err(io_error)?;
        Ok(file)
    }

    fn call_once(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        region: Option<&str>,
        input: Option<&Value>,
        limits: Limits,
    ) -> std::result::Result<Value, CallError> {
        let step = if service == ECS {
            op.to_string()
        } else {
            format!("{service} {op}")
        };
        if limits.interrupt == Interrupt::Abandon && signals::interrupted() {
            return Err(CallError::new(
                &step,
                130,
                "interrupted before it started",
                Failure::Interrupted,
            ));
        }
        if abandoned() {
            return Err(abandoned_error(&step));
        }
        if region.is_none()
            && let Some(spare) = self.take_spare(service, op, args)
            && let Some(result) = self.call_spare(&step, spare, input, limits)
        {
            return result;
        }
        let input_file = input.map(|i| Self::write_input(&step, i)).transpose()?;
        let input_path = input_file
            .as_ref()
            .map(|f| f.path().to_string_lossy().into_owned());
        let (expression, argv) =
            self.command(service, op, args, region, input_path.as_deref(), limits);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = self
            .start(&step, expression)
            .and_then(|(handle, group)| self.wait(&step, &handle, group, limits));
        let elapsed = started.elapsed();
        if let Some(file) = &input_file {
            signals::untrack_temp_file(file.path());
        }
        drop(input_file);
        self.conclude(&step, &argv, elapsed, outcome, limits)
    }

    /// The answer of a finished call, traced with `--verbose`.
    fn conclude(
        &self,
        step: &str,
        argv: &[String],
        elapsed: Duration,
        outcome: std::result::Result<std::process::Output, CallError>,
        limits: Limits,
    ) -> std::result::Result<Value, CallError> {
        let result = outcome.and_then(|output| Self::interpret(step, &output, limits));
        if output::tracing() {
            let status = match &result {
                Ok(_) => "exit 0".to_string(),
                Err(e) if e.kind == Failure::Interrupted => "abandoned (interrupted)".to_string(),
                Err(e) if e.kind == Failure::Deadline => "killed at the deadline".to_string(),
                Err(e) => format!("exit {}", e.code),
            };
            output::trace(&format!(
                "[aws {:.2}s {status}] aws {}",
                elapsed.as_secs_f64(),
                argv.join(" ")
            ));
        }
        result
    }

    /// The command of one call: argv, and the environment that carries the credentials.
    fn command(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        region: Option<&str>,
        input_path: Option<&str>,
        limits: Limits,
    ) -> (duct::Expression, Vec<String>) {
        let exported = if limits.own_credentials {
            None
        } else {
            self.exported_credentials(limits)
        };
        let argv = self.argv(service, op, args, region, input_path, exported.is_none());
        let mut expression = duct::cmd(&self.program, &argv)
            .stdout_capture()
            .stderr_capture()
            .stdin_null()
            .unchecked();
        for (name, value) in &self.env {
            expression = expression.env(name, value);
        }
        for name in &self.env_remove {
            expression = expression.env_remove(name);
        }
        if let Some(export) = exported {
            let credentials = export.credentials;
            expression = expression
                .env("AWS_ACCESS_KEY_ID", credentials.access_key)
                .env("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_DEFAULT_PROFILE");
            expression = match credentials.session_token {
                Some(token) => expression.env("AWS_SESSION_TOKEN", token),
                None => expression.env_remove("AWS_SESSION_TOKEN"),
            };
            if let Some(region) = export.default_region {
                expression = expression.env("AWS_DEFAULT_REGION", region);
            }
        }
        // Own process group: a Ctrl-C in the terminal reaches us, not the aws child, so a
        // rollback call can still be made after it; and the group can be killed whole.
        expression = expression.before_spawn(|command| {
            command.process_group(0);
            Ok(())
        });
        (expression, argv)
    }

    /// Start `aws SERVICE OP ARGS... --cli-input-json file://FIFO` now, so that the next
    /// call of `service`, `op` and `args` finds the CLI started (see `aws/spare.rs`), and
    /// gives it its JSON input (none: `{}`) through the FIFO. When it cannot start, or
    /// one is waiting already, nothing happens: that call is made as always.
    pub fn prepare(&self, service: &str, op: &str, args: &[String]) {
        if signals::interrupted() || abandoned() {
            return;
        }
        {
            let mut spares = self.spares.lock().unwrap_or_else(PoisonError::into_inner);
            // One that ended (it could not start, say) is of no use: dropping it reaps it.
            spares.retain(|s| matches!(s.handle.try_wait(), Ok(None)));
            if spares.iter().any(|s| s.is_for(service, op, args)) {
                return;
            }
        }
        // Not under the lock: the credentials may be exported again first, by a call.
        let Ok(fifo) = spare::fifo() else {
            return;
        };
        let path = fifo.to_string_lossy().into_owned();
        let limits = Limits::step(Interrupt::Abandon);
        let (expression, argv) = self.command(service, op, args, None, Some(&path), limits);
        let Ok((handle, group)) = self.start(op, expression) else {
            return;
        };
        let spare = Spare {
            service: service.to_string(),
            op: op.to_string(),
            args: args.to_vec(),
            argv,
            handle,
            group,
            fifo,
            used: false,
        };
        self.spares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(spare);
    }

    /// The spare started for this call, if one is still waiting for its input.
    fn take_spare(&self, service: &str, op: &str, args: &[String]) -> Option<Spare> {
        let mut spares = self.spares.lock().unwrap_or_else(PoisonError::into_inner);
        let at = spares.iter().position(|s| s.is_for(service, op, args))?;
        let spare = spares.remove(at);
        // One that ended (it could not start, say) is of no use: dropping it reaps it.
        match spare.handle.try_wait() {
            Ok(None) => Some(spare),
            _ => None,
        }
    }

    /// The call made by `spare`, given `input` now; `None` when it ended without taking
    /// its input (it died first, or could not read it), so that nothing was sent and the
    /// call is to be made the ordinary way.
    fn call_spare(
        &self,
        step: &str,
        mut spare: Spare,
        input: Option<&Value>,
        limits: Limits,
    ) -> Option<std::result::Result<Value, CallError>> {
        let bytes = match input {
            Some(input) => serde_json::to_vec(input).ok()?,
            None => b"{}".to_vec(),
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let done = AtomicBool::new(false);
        let (outcome, read) = std::thread::scope(|scope| {
            let offering = scope.spawn(|| spare::offer(&spare.fifo, &bytes, &done));
            let outcome = self.wait(step, &spare.handle, spare.group, limits);
            done.store(true, Ordering::SeqCst);
            (outcome, offering.join().unwrap_or(true))
        });
        spare.used = true;
        let refused = |output: &std::process::Output| {
            output.status.code() != Some(0)
                && String::from_utf8_lossy(&output.stderr).contains("cli-input-json")
        };
        // Only a child that ended on its own without sending anything leaves the call to
        // an ordinary one; one stopped by the call's limits (its deadline, a signal, the
        // call timeout) ends the call, as an ordinary child would.
        if matches!(&outcome, Ok(output) if !read || refused(output)) {
            self.calls.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(self.conclude(step, &spare.argv, started.elapsed(), outcome, limits))
    }

    /// Start the child of `expression` and track its process group.
    fn start(
        &self,
        step: &str,
        expression: duct::Expression,
    ) -> std::result::Result<(duct::Handle, Option<u32>), CallError> {
        let _starting = signals::starting_child();
        let handle = expression.start().map_err(|e| {
            CallError::new(
                step,
                255,
                format!("cannot run {}: {e}", self.program.display()),
                Failure::Fatal,
            )
        })?;
        let group = handle.pids().first().copied();
        if let Some(group) = group {
            signals::track_child(group);
        }
        Ok((handle, group))
    }

    /// Wait for the child within its limits, killing its process group (and reaping the
    /// child) when it must stop.
    fn wait(
        &self,
        step: &str,
        handle: &duct::Handle,
        group: Option<u32>,
        limits: Limits,
    ) -> std::result::Result<std::process::Output, CallError> {
        let wait_error = |e: std::io::Error| {
            CallError::new(
                step,
                255,
                format!("cannot run {}: {e}", self.program.display()),
                Failure::Fatal,
            )
        };
        let call_limit = Instant::now() + self.call_timeout;
        let limit = limits.deadline.map_or(call_limit, |d| d.min(call_limit));
        let stop = |e: CallError| {
            signals::halt_if_ending();
            if let Some(group) = group {
                signals::kill_child(group);
            }
            // Killing does not wait: without this the child stays a zombie until exit.
            if handle.kill().is_ok() {
                let _ = handle.wait_timeout(REAP_WITHIN);
            }
            Err(e)
        };
        loop {
            let waited = handle.wait_timeout(CHECK_EVERY);
            // The second signal kills and reaps this child on its own: what the wait says
            // then is no news to act on.
            signals::halt_if_ending();
            match waited {
                Ok(Some(output)) => {
                    if let Some(group) = group {
                        signals::untrack_child(group);
                    }
                    return Ok(output.clone());
                }
                Ok(None) => {}
                Err(e) => return stop(wait_error(e)),
            }
            if limits.interrupt == Interrupt::Abandon && signals::interrupted() {
                return stop(CallError::new(
                    step,
                    130,
                    "interrupted",
                    Failure::Interrupted,
                ));
            }
            if abandoned() {
                return stop(abandoned_error(step));
            }
            if Instant::now() >= limit {
                let at_deadline = limits.deadline.is_some_and(|d| d <= call_limit);
                let e = if at_deadline {
                    CallError::new(step, 255, "stopped at the deadline", Failure::Deadline)
                } else {
                    let seconds = self.call_timeout.as_secs_f64();
                    let kind = if limits.deadline.is_some() {
                        Failure::Transient
                    } else {
                        Failure::Lost
                    };
                    let message = format!(
                        "aws gave no answer within {seconds} seconds (--call-timeout); it was stopped"
                    );
                    CallError::new(step, 255, message, kind)
                };
                return stop(e);
            }
        }
    }

    /// The answer, or why there is none. For a poll, an aws killed by a signal is one
    /// failed poll.
    fn interpret(
        step: &str,
        output: &std::process::Output,
        limits: Limits,
    ) -> std::result::Result<Value, CallError> {
        let polling = limits.deadline.is_some();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(signal) = output.status.signal() {
            let message = format!("aws was killed by signal {signal}");
            let kind = if polling {
                Failure::Transient
            } else {
                Failure::Lost
            };
            return Err(CallError::new(step, 255, message, kind));
        }
        let code = output.status.code().unwrap_or(255);
        if code != 0 {
            let kind = if is_transient(&stderr) {
                Failure::Transient
            } else {
                Failure::Fatal
            };
            let reason = secrets::mask(&reason(&stderr, code));
            return Err(CallError::new(step, code, reason, kind));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.trim().is_empty() {
            if polling {
                let message = "aws printed no answer";
                return Err(CallError::new(step, 255, message, Failure::Unreadable));
            }
            return Ok(Value::Null);
        }
        serde_json::from_str(&stdout).map_err(|e| {
            CallError::new(
                step,
                255,
                format!("the AWS CLI printed something that is not JSON ({e})"),
                Failure::Unreadable,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENIED: &str = "An error occurred (AccessDeniedException) when calling the \
                          UpdateService operation: User is not authorized";

    #[test]
    fn the_reason_is_the_service_error_line_of_the_classic_format() {
        assert_eq!(reason(&format!("\n{DENIED}\n\n"), 254), DENIED);
        assert_eq!(
            reason("", 254),
            "aws exited with status 254 and printed no reason"
        );
    }

    #[test]
    fn the_reason_is_the_service_error_line_of_the_v2_format_not_its_details() {
        let v2 = format!(
            "aws: [ERROR]: {DENIED}\n\nAdditional error details:\nType: Sender\nCode: AccessDeniedException\n"
        );
        assert_eq!(reason(&v2, 254), DENIED);
        assert!(is_throttling(&reason(
            "aws: [ERROR]: An error occurred (ThrottlingException) when calling the \
             ListTasks operation: Rate exceeded\n\nAdditional error details:\nType: Sender",
            254
        )));
    }

    #[test]
    fn without_a_service_error_the_reason_is_the_last_meaningful_line() {
        assert_eq!(
            reason(
                "\nParameter validation failed:\nInvalid length for parameter family\n",
                252
            ),
            "Invalid length for parameter family"
        );
        assert_eq!(
            reason(
                "aws: [ERROR]: Unable to locate credentials.\n\nAdditional error details:\nType: Sender\n",
                253
            ),
            "Unable to locate credentials."
        );
        assert_eq!(
            reason("\nAdditional error details:\nType: Sender\n", 254),
            "aws exited with status 254 and printed no reason"
        );
    }

    #[test]
    fn one_call_may_name_its_own_region() {
        let credentials = Credentials {
            region: Some("eu-west-1".into()),
            ..Credentials::default()
        };
        let aws = Aws::new("aws".into(), &credentials, Duration::from_secs(1));
        let args = ["--repository-name".to_string(), "web".to_string()];
        assert_eq!(
            aws.argv(
                "ecr",
                "describe-images",
                &args,
                Some("us-east-1"),
                None,
                true
            ),
            [
                "--output",
                "json",
                "--region",
                "us-east-1",
                "ecr",
                "describe-images",
                "--repository-name",
                "web"
            ]
        );
        assert_eq!(
            aws.argv("ecs", "list-tasks", &[], None, None, true)[2..4],
            ["--region", "eu-west-1"]
        );
        let without = Aws::new("aws".into(), &Credentials::default(), Duration::ZERO);
        assert_eq!(
            without.argv(
                "logs",
                "get-log-events",
                &[],
                Some("ap-south-1"),
                None,
                true
            )[2..4],
            ["--region", "ap-south-1"]
        );
        assert!(
            !without
                .argv("ecs", "x", &[], None, None, true)
                .contains(&"--region".to_string())
        );
    }

    /// A fake `aws` in a temp dir, running `script` (sh).
    fn scripted_aws(script: &str) -> (tempfile::TempDir, Aws) {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("aws");
        std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(
            &program,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let aws = Aws::new(program, &Credentials::default(), Duration::from_secs(30));
        (dir, aws)
    }

    #[test]
    fn codedeploy_calls_are_aws_deploy_with_their_input_in_a_private_file() {
        // Prints its argv and the mode and content of the --cli-input-json file.
        let (_dir, aws) = scripted_aws(
            r#"for a; do case "$a" in file://*) f="${a#file://}";; esac; done
printf '{"argv": "%s", "mode": "%s", "input": %s}' "$*" "$(stat -c %a "$f")" "$(cat "$f")""#,
        );
        let input = serde_json::json!({"applicationName": "app"});
        let answer = aws
            .deploy_with_input("create-deployment", &input, &[], Interrupt::Finish)
            .unwrap();
        let argv = answer["argv"].as_str().unwrap();
        assert!(
            argv.starts_with("--output json deploy create-deployment --cli-input-json file://"),
            "{argv}"
        );
        assert_eq!(answer["mode"], "600");
        assert_eq!(answer["input"], input);
    }

    #[test]
    fn a_codedeploy_step_names_its_service_and_a_poll_reads_no_answer_as_unreadable() {
        let (_dir, aws) = scripted_aws(
            "echo 'An error occurred (DeploymentLimitExceededException) when calling the \
             CreateDeployment operation: busy' >&2; exit 254",
        );
        let e = aws
            .deploy("create-deployment", &[], Interrupt::Finish)
            .unwrap_err();
        assert_eq!(e.step, "deploy create-deployment");
        assert_eq!((e.code, e.kind), (254, Failure::Fatal));
        assert!(!e.outcome_unknown());
        let (_dir, quiet) = scripted_aws("exit 0");
        let deadline = Instant::now() + Duration::from_secs(30);
        let polled = quiet.deploy_poll("batch-get-deployments", &[], deadline);
        assert_eq!(polled.unwrap_err().kind, Failure::Unreadable);
        let settled = quiet.deploy_settling_read("list-deployments", &[], deadline);
        assert_eq!(settled.unwrap_err().kind, Failure::Unreadable);
        assert_eq!(
            quiet
                .deploy("stop-deployment", &[], Interrupt::Finish)
                .unwrap(),
            Value::Null
        );
    }

    #[test]
    fn a_codedeploy_poll_is_stopped_at_its_deadline() {
        let (_dir, aws) = scripted_aws("exec sleep 30");
        let deadline = Instant::now() + Duration::from_millis(200);
        let e = aws
            .deploy_poll("get-deployment-target", &[], deadline)
            .unwrap_err();
        assert_eq!(e.kind, Failure::Deadline);
        assert_eq!(e.step, "deploy get-deployment-target");
        let deadline = Instant::now() + Duration::from_millis(200);
        let e = aws
            .deploy_settling_read("list-deployments", &[], deadline)
            .unwrap_err();
        assert_eq!(e.kind, Failure::Deadline);
    }

    #[test]
    fn calls_from_two_threads_are_all_counted() {
        // `true` answers nothing: no answer to read, but a call all the same.
        let program = which::which("true").expect("true is on PATH");
        let aws = Aws::new(program, &Credentials::default(), Duration::from_secs(30));
        let deadline = Instant::now() + Duration::from_secs(30);
        std::thread::scope(|scope| {
            for region in ["eu-west-1", "us-east-1"] {
                let aws = &aws;
                scope.spawn(move || {
                    for _ in 0..3 {
                        let answer = aws.ecr("describe-images", &[], Some(region), deadline);
                        assert_eq!(answer.unwrap_err().kind, Failure::Unreadable);
                    }
                });
            }
        });
        assert_eq!(aws.call_count(), 6);
    }

    /// An aws that notes each start in `started` (a line with its pid), then answers its
    /// argv and the JSON input it read, if any.
    fn noting_aws(started: &std::path::Path) -> (tempfile::TempDir, Aws) {
        scripted_aws(&format!(
            r#"echo $$ >> {}
f=""; for a; do case "$a" in file://*) f="${{a#file://}}";; esac; done
if [ -n "$f" ]; then i=$(cat "$f"); else i=null; fi
printf '{{"argv": "%s", "input": %s}}' "$*" "$i""#,
            started.display()
        ))
    }

    fn lines(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn alive(pid: &str) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[test]
    fn a_prepared_call_is_the_next_call_of_its_op_and_args_and_gets_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let (_bin, aws) = noting_aws(&started);
        let args = vec!["--cluster".to_string(), "prod".to_string()];
        aws.prepare(ECS, "describe-services", &args);
        aws.prepare(ECS, "describe-services", &args);
        aws.prepare(ECS, "register-task-definition", &[]);
        // One per op and args; each waits for its input, having sent nothing.
        while lines(&started).len() < 2 {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(aws.call_count(), 0);
        let input = serde_json::json!({"family": "web"});
        let registered = aws
            .ecs_with_input("register-task-definition", &input, &[], Interrupt::Abandon)
            .unwrap();
        assert_eq!(registered["input"], input);
        let polled = aws
            .poll(
                "describe-services",
                &args,
                Instant::now() + Duration::from_secs(30),
            )
            .unwrap();
        let argv = polled["argv"].as_str().unwrap();
        assert!(
            argv.starts_with("--output json ecs describe-services --cli-input-json file://")
                && argv.ends_with(" --cluster prod"),
            "{argv}"
        );
        assert_eq!(polled["input"], serde_json::json!({}));
        // The spares were used: no new process was started for either call.
        assert_eq!(lines(&started).len(), 2);
        assert_eq!(aws.call_count(), 2);
        // Another call of the same op starts its own.
        aws.poll(
            "describe-services",
            &args,
            Instant::now() + Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(lines(&started).len(), 3);
    }

    #[test]
    fn an_unused_spare_is_killed_with_its_fifo_gone_and_no_call_made() {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let (_bin, aws) = noting_aws(&started);
        aws.prepare(ECS, "register-task-definition", &[]);
        while lines(&started).is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = lines(&started)[0].clone();
        let fifo = {
            let spares = aws.spares.lock().unwrap();
            spares[0].fifo.to_path_buf()
        };
        assert!(alive(&pid));
        drop(aws);
        assert!(!alive(&pid), "the spare {pid} outlived its Aws");
        assert!(!fifo.exists());
    }

    #[test]
    fn a_spare_that_cannot_take_its_input_leaves_the_call_to_an_ordinary_one() {
        // The first process dies without reading its input; later ones answer.
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let (_bin, aws) = scripted_aws(&format!(
            r#"echo $$ >> {0}
[ "$(wc -l < {0})" -eq 1 ] && {{ echo "Error parsing parameter 'cli-input-json'" >&2; exit 255; }}
echo '{{"ok": true}}'"#,
            started.display()
        ));
        aws.prepare(ECS, "register-task-definition", &[]);
        let answer = aws
            .ecs_with_input(
                "register-task-definition",
                &serde_json::json!({}),
                &[],
                Interrupt::Abandon,
            )
            .unwrap();
        assert_eq!(answer["ok"], true);
        assert_eq!(lines(&started).len(), 2);
        assert_eq!(aws.call_count(), 1);
    }

    /// A describe-services poll made by its spare, a CLI that notes its pid, then runs
    /// `script`; the poll is given `within` to end. Its outcome, the pids of every aws
    /// started, and the calls counted.
    fn poll_by_spare(
        script: &str,
        within: Duration,
    ) -> (std::result::Result<Value, CallError>, Vec<String>, u32) {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let (_bin, aws) = scripted_aws(&format!("echo $$ >> {}\n{script}", started.display()));
        let args = vec!["--cluster".to_string(), "prod".to_string()];
        aws.prepare(ECS, "describe-services", &args);
        let outcome = aws.poll("describe-services", &args, Instant::now() + within);
        (outcome, lines(&started), aws.call_count())
    }

    #[test]
    fn a_spare_that_hangs_is_stopped_at_the_deadline_and_no_other_call_is_made() {
        // It never reads its input: the poll's deadline ends the call, not a second aws.
        let (outcome, started, _) = poll_by_spare("exec sleep 30", Duration::from_millis(500));
        let e = outcome.unwrap_err();
        assert_eq!(e.kind, Failure::Deadline, "{}", e.message);
        assert_eq!(started.len(), 1);
        assert!(!alive(&started[0]));
    }

    #[test]
    fn a_spare_that_answers_garbage_is_an_unreadable_poll() {
        // It reads its input (it is the spare: no second aws starts), then prints garbage.
        let (outcome, started, calls) = poll_by_spare(
            r#"for a; do case "$a" in file://*) cat "${a#file://}" > /dev/null;; esac; done
echo 'not json'"#,
            Duration::from_secs(30),
        );
        let e = outcome.unwrap_err();
        assert_eq!(e.kind, Failure::Unreadable, "{}", e.message);
        assert_eq!(calls, 1);
        assert_eq!(started.len(), 1);
    }

    #[test]
    fn abandoned_side_work_is_killed_and_starts_no_new_call() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("aws");
        std::fs::write(&program, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(
            &program,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let aws = Aws::new(program, &Credentials::default(), Duration::from_secs(60));
        let flag = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(60);
        std::thread::scope(|scope| {
            let (aws, worker_flag) = (&aws, Arc::clone(&flag));
            let work = scope.spawn(move || {
                abandon_calls_when(worker_flag);
                let first = aws.ecr("describe-images", &[], None, deadline);
                let second = aws.ecr("list-images", &[], None, deadline);
                (first, second)
            });
            while aws.call_count() == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
            flag.store(true, Ordering::SeqCst);
            let (first, second) = work.join().unwrap();
            for result in [first, second] {
                let e = result.unwrap_err();
                assert_eq!(e.kind, Failure::Deadline);
                assert!(e.message.contains("abandoned"), "{}", e.message);
            }
        });
        // The second call never started.
        assert_eq!(aws.call_count(), 1);
    }

    #[test]
    fn throttling_is_transient() {
        assert!(is_transient(
            "An error occurred (ThrottlingException) when calling the ListTasks operation: Rate exceeded"
        ));
        assert!(is_transient("Could not connect to the endpoint URL"));
        assert!(!is_transient(
            "An error occurred (ClusterNotFoundException)"
        ));
        assert!(is_transient(
            "aws: [ERROR]: An error occurred (ServiceUnavailableException) when calling the \
             DescribeServices operation: try again\n\nAdditional error details:\nType: Receiver"
        ));
        assert!(!is_transient(
            "aws: [ERROR]: An error occurred (ServiceNotFoundException) when calling the \
             UpdateService operation: Service not found.\n\nAdditional error details:\nType: Sender"
        ));
    }
}
