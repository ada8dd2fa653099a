//! The only place that runs the AWS CLI: argv, environment, temp files for JSON input,
//! retries of throttled calls, and the `--verbose` trace. What the calls mean is the ECS
//! layer's business (`ecs.rs`); this module only knows how to run one.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::filters;
use crate::signals;

/// Attempts for a call that AWS throttles, with exponential backoff between them.
const THROTTLE_ATTEMPTS: u32 = 4;
const THROTTLE_FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// How the AWS CLI is to be reached: the user's credentials, region and profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub assume_role: Option<String>,
}

/// What kind of failure a call ended in, which decides what a waiting loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: throttling, a network error, an answer that could not be read.
    Transient,
    /// The call was given up because SIGINT/SIGTERM arrived.
    Interrupted,
    /// Asking again will not help.
    Fatal,
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

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        Error::Aws {
            step: e.step,
            code: e.code,
            message: e.message,
        }
    }
}

/// Whether the waiting loop may give up the call when SIGINT/SIGTERM arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Abandon,
    Finish,
}

#[derive(Debug)]
pub struct Aws {
    program: PathBuf,
    region: Option<String>,
    profile: Option<String>,
    env: Vec<(&'static str, String)>,
    env_remove: Vec<&'static str>,
    secrets: Vec<String>,
    verbose: bool,
    calls: std::cell::Cell<u32>,
}

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

/// The last meaningful line of the CLI's stderr: that is where it states the error.
fn reason(stderr: &str, code: i32) -> String {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map_or_else(
            || format!("aws exited with status {code} and printed no reason"),
            str::to_string,
        )
}

/// The `aws` program on PATH (exit 4 when there is none).
pub fn find_program() -> Result<PathBuf> {
    which::which("aws").map_err(|_| Error::AwsNotFound)
}

impl Aws {
    /// Remember how every call must be made: which program, global options, environment.
    pub fn new(program: PathBuf, credentials: &Credentials, verbose: bool) -> Aws {
        let mut env = vec![("AWS_PAGER", String::new())];
        let mut secrets = Vec::new();
        if let Some(key) = &credentials.access_key {
            env.push(("AWS_ACCESS_KEY_ID", key.clone()));
            secrets.push(key.clone());
        }
        if let Some(secret) = &credentials.secret_key {
            env.push(("AWS_SECRET_ACCESS_KEY", secret.clone()));
            secrets.push(secret.clone());
        }
        Aws {
            program,
            region: credentials.region.clone(),
            profile: credentials.profile.clone(),
            env,
            env_remove: Vec::new(),
            secrets,
            verbose,
            calls: std::cell::Cell::new(0),
        }
    }

    /// How many times `aws` has been run so far.
    pub fn call_count(&self) -> u32 {
        self.calls.get()
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
        let answer = self.call(
            "sts",
            "assume-role",
            &args,
            None,
            Interrupt::Finish,
            THROTTLE_ATTEMPTS,
        )?;
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
        self.env
            .retain(|(name, _)| *name != "AWS_ACCESS_KEY_ID" && *name != "AWS_SECRET_ACCESS_KEY");
        self.env.push(("AWS_ACCESS_KEY_ID", key.clone()));
        self.env.push(("AWS_SECRET_ACCESS_KEY", secret.clone()));
        self.env.push(("AWS_SESSION_TOKEN", token.clone()));
        self.env_remove.push("AWS_PROFILE");
        self.env_remove.push("AWS_DEFAULT_PROFILE");
        self.profile = None;
        self.secrets.extend([key, secret, token]);
        Ok(())
    }

    /// `aws ecs OP ARGS...`; throttling is retried, any other failure is final.
    pub fn ecs(&self, op: &str, args: &[String]) -> std::result::Result<Value, CallError> {
        self.call("ecs", op, args, None, Interrupt::Finish, THROTTLE_ATTEMPTS)
    }

    /// `aws ecs OP --cli-input-json file://TEMP ARGS...`: the JSON goes through a 0600 temp
    /// file, never argv, because task definitions hold environment values.
    pub fn ecs_with_input(
        &self,
        op: &str,
        input: &Value,
        args: &[String],
    ) -> std::result::Result<Value, CallError> {
        self.call(
            "ecs",
            op,
            args,
            Some(input),
            Interrupt::Finish,
            THROTTLE_ATTEMPTS,
        )
    }

    /// One attempt, for polling loops that handle failures (and their own deadline) themselves.
    pub fn poll(&self, op: &str, args: &[String]) -> std::result::Result<Value, CallError> {
        self.call("ecs", op, args, None, Interrupt::Abandon, 1)
    }

    fn call(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        input: Option<&Value>,
        interrupt: Interrupt,
        attempts: u32,
    ) -> std::result::Result<Value, CallError> {
        let mut backoff = THROTTLE_FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let result = self.call_once(service, op, args, input, interrupt);
            match result {
                Err(e) if attempt < attempts && is_throttling(&e.message) => {
                    eprintln!(
                        "aws {service} {op} was throttled; retrying in {:.1} s",
                        backoff.as_secs_f64()
                    );
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn argv(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        input_path: Option<&str>,
    ) -> Vec<String> {
        let mut argv = vec!["--output".to_string(), "json".to_string()];
        if let Some(region) = &self.region {
            argv.extend(["--region".to_string(), region.clone()]);
        }
        if let Some(profile) = &self.profile {
            argv.extend(["--profile".to_string(), profile.clone()]);
        }
        argv.extend([service.to_string(), op.to_string()]);
        if let Some(path) = input_path {
            argv.extend(["--cli-input-json".to_string(), format!("file://{path}")]);
        }
        argv.extend(args.iter().cloned());
        argv
    }

    fn write_input(input: &Value) -> std::result::Result<tempfile::NamedTempFile, CallError> {
        let io_error = |e: std::io::Error| {
            CallError::new(
                "writing the JSON input",
                255,
                format!("cannot write the JSON input to a temp file: {e}"),
                Failure::Fatal,
            )
        };
        // NamedTempFile creates the file with mode 0600.
        let mut file = tempfile::Builder::new()
            .prefix("ecs-deploy-")
            .suffix(".json")
            .tempfile()
            .map_err(io_error)?;
        serde_json::to_writer(&mut file, input).map_err(|e| io_error(e.into()))?;
        file.flush().map_err(io_error)?;
        Ok(file)
    }

    fn call_once(
        &self,
        service: &str,
        op: &str,
        args: &[String],
        input: Option<&Value>,
        interrupt: Interrupt,
    ) -> std::result::Result<Value, CallError> {
        let step = if service == "ecs" {
            op.to_string()
        } else {
            format!("{service} {op}")
        };
        let input_file = input.map(Self::write_input).transpose()?;
        let input_path = input_file
            .as_ref()
            .map(|f| f.path().to_string_lossy().into_owned());
        let argv = self.argv(service, op, args, input_path.as_deref());
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
        // Own process group: a Ctrl-C in the terminal reaches us, not the aws child, so a
        // rollback call can still be made after it.
        expression = expression.before_spawn(|command| {
            command.process_group(0);
            Ok(())
        });

        self.calls.set(self.calls.get() + 1);
        let started = Instant::now();
        let outcome = self.wait(&step, expression, interrupt);
        let elapsed = started.elapsed();
        let result = outcome.and_then(|output| Self::interpret(&step, &output));
        if self.verbose {
            let status = match &result {
                Ok(_) => "exit 0".to_string(),
                Err(e) if e.kind == Failure::Interrupted => "abandoned (interrupted)".to_string(),
                Err(e) => format!("exit {}", e.code),
            };
            eprintln!(
                "[aws {:.2}s {status}] aws {}",
                elapsed.as_secs_f64(),
                self.redact(&argv).join(" ")
            );
        }
        result
    }

    fn wait(
        &self,
        step: &str,
        expression: duct::Expression,
        interrupt: Interrupt,
    ) -> std::result::Result<std::process::Output, CallError> {
        let spawn_error = |e: std::io::Error| {
            CallError::new(
                step,
                255,
                format!("cannot run {}: {e}", self.program.display()),
                Failure::Fatal,
            )
        };
        let handle = expression.start().map_err(spawn_error)?;
        loop {
            if let Some(output) = handle
                .wait_timeout(Duration::from_millis(50))
                .map_err(spawn_error)?
            {
                return Ok(output.clone());
            }
            if interrupt == Interrupt::Abandon && signals::interrupted() {
                let _ = handle.kill();
                return Err(CallError::new(
                    step,
                    130,
                    "interrupted",
                    Failure::Interrupted,
                ));
            }
        }
    }

    fn interpret(
        step: &str,
        output: &std::process::Output,
    ) -> std::result::Result<Value, CallError> {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().unwrap_or(255);
        if code != 0 {
            let kind = if is_transient(&stderr) {
                Failure::Transient
            } else {
                Failure::Fatal
            };
            return Err(CallError::new(step, code, reason(&stderr, code), kind));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&stdout).map_err(|e| {
            CallError::new(
                step,
                255,
                format!("the AWS CLI printed something that is not JSON ({e})"),
                Failure::Fatal,
            )
        })
    }

    fn redact(&self, argv: &[String]) -> Vec<String> {
        argv.iter()
            .map(|arg| {
                let mut arg = arg.clone();
                for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
                    arg = arg.replace(secret.as_str(), "****");
                }
                arg
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_last_line() {
        assert_eq!(
            reason(
                "\nAn error occurred (ClientException) when calling X: bad\n\n",
                255
            ),
            "An error occurred (ClientException) when calling X: bad"
        );
        assert_eq!(
            reason("", 254),
            "aws exited with status 254 and printed no reason"
        );
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
    }
}
