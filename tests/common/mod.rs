//! Shared helpers for the integration tests: a sandbox around the fake `aws` CLI
//! (`tests/fake-aws/aws`), access to the canned JSON in `fixtures/` and the names it
//! uses, scenario builders, and helpers to signal a running `ecs-deploy`.
//!
//! Each `FakeAws` owns a temporary directory holding the scenario file and the fake's
//! state (call counters, clock, `calls.jsonl`), so tests can run in parallel.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

// ------------------------------------------------------------ names in the fixtures

/// The repository of the `app` container of the `web` task definition.
pub const ECR_APP: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app";

/// The image of `app` in `describe-task-definition/web-1.json` (`ECR_APP:1.0.0`).
pub const OLD_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:1.0.0";

/// The image the tests deploy (`ECR_APP:2.0.0`).
pub const NEW_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:2.0.0";

/// The current task definition of the `web` fixtures.
pub const WEB_1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";

/// The revision the fake's built-in register-task-definition hands out first.
pub const WEB_2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";

/// The deployment our update-service starts (PRIMARY in `web-rolling` and `web-done`).
pub const OUR_DEPLOYMENT: &str = "ecs-svc/1111111111111111111";

/// Task B of web:2, which stops with `app` exit code 1 (`describe-tasks/new-stopped.json`).
pub const TASK_B: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/prod/7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f";

/// The stopped-task line of task B.
pub const TASK_B_STOPPED: &str = "task 7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f stopped: Essential \
                                  container in task exited [app: exit code 1; log-router: exit code 0]";

/// The revision of `migrate` the one-off task tests register (after migrate-1).
pub const MIGRATE_2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:2";

/// The one-off task of migrate:2 (`run-task/migrate-started.json`, `describe-tasks/migrate-*`).
pub const MIGRATE_TASK: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/prod/9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// The log streams of [`MIGRATE_TASK`]'s two essential containers (awslogs,
/// `PREFIX/CONTAINER/TASK_ID`).
pub const MIGRATE_STREAM: &str = "migrate/migrate/9f8e7d6c5b4a39281706f5e4d3c2b1a0";
pub const CHECK_STREAM: &str = "check/check-schema/9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// `-c prod -n web -i NEW_IMAGE`: the service deploy of the tests.
pub const SERVICE_ARGS: &[&str] = &["-c", "prod", "-n", "web", "-i", NEW_IMAGE];

/// The aws calls of a service deploy that goes well at the first poll.
pub const ROLLOUT_OPS: &[&str] = &[
    "describe-services",
    "describe-task-definition",
    "register-task-definition",
    "update-service",
    "describe-services",
];

/// Environment variables that must not leak from the developer's shell into a test.
const SCRUBBED_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_PAGER",
    "AWS_CLI_AUTO_PROMPT",
    "FAKE_AWS_LATENCY",
    "FAKE_AWS_CLI_V2",
    "FAKE_AWS_EXPORT_CREDENTIALS",
    "FAKE_AWS_CREDENTIAL_PROCESS_DELAY",
];

/// The repository root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Directory holding the fake `aws` executable.
pub fn fake_aws_dir() -> PathBuf {
    repo_root().join("tests").join("fake-aws")
}

/// Path of a fixture file, `fixtures/<path>`.
pub fn fixture_path(path: &str) -> PathBuf {
    repo_root().join("fixtures").join(path)
}

/// Parsed contents of `fixtures/<path>`.
pub fn fixture(path: &str) -> Value {
    let full = fixture_path(path);
    let text = fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", full.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", full.display()))
}

/// How the fake prints a service's error (see "CLI v2 errors" in `tests/fake-aws/aws`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    /// `An error occurred (Code) ...` on the last line, with the scenario's exit code.
    Classic,
    /// AWS CLI v2 since early 2026: `aws: [ERROR]: An error occurred (Code) ...`, then
    /// `Additional error details:` lines, and v2's exit codes.
    V2,
}

impl Cli {
    pub const BOTH: [Cli; 2] = [Cli::Classic, Cli::V2];

    /// The exit code of a service's error that the scenario gives as `code`.
    pub fn service_error_code(self, code: i32) -> i32 {
        match self {
            Cli::Classic => code,
            Cli::V2 if (252..=254).contains(&code) => code,
            Cli::V2 => 254,
        }
    }
}

/// Assert that `stderr` states aws's errors without what v2 prints around them.
pub fn assert_no_error_details(stderr: &str) {
    for detail in ["aws: [ERROR]", "Additional error details", "Type: Sender"] {
        assert!(!stderr.contains(detail), "{detail} printed:\n{stderr}");
    }
}

/// A scenario for the fake CLI plus its private state directory.
pub struct FakeAws {
    dir: TempDir,
    scenario: PathBuf,
    state: PathBuf,
    cli: Cli,
}

impl FakeAws {
    /// Write `scenario` (see the header of `tests/fake-aws/aws`) into a fresh temp dir.
    pub fn new(scenario: Value) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fake-aws-")
            .tempdir()
            .expect("create temp dir for the fake aws");
        let scenario_path = dir.path().join("scenario.json");
        let state = dir.path().join("state");
        fs::create_dir_all(&state).expect("create fake aws state dir");
        let text = serde_json::to_string_pretty(&scenario).expect("serialise scenario");
        fs::write(&scenario_path, text).expect("write scenario.json");
        FakeAws {
            dir,
            scenario: scenario_path,
            state,
            cli: Cli::Classic,
        }
    }

    /// This fake, printing errors as `cli` does.
    pub fn with_cli(self, cli: Cli) -> Self {
        FakeAws { cli, ..self }
    }

    /// This fake, printing errors as AWS CLI v2 does since early 2026.
    pub fn cli_v2(self) -> Self {
        self.with_cli(Cli::V2)
    }

    /// A scenario with no canned answers: only the fake's built-in ones.
    pub fn empty() -> Self {
        Self::new(serde_json::json!({ "ops": {} }))
    }

    /// Replace the scenario (the state — counters, clock, log — is kept).
    pub fn set_scenario(&self, scenario: Value) {
        let text = serde_json::to_string_pretty(&scenario).expect("serialise scenario");
        fs::write(&self.scenario, text).expect("write scenario.json");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    pub fn scenario_path(&self) -> &Path {
        &self.scenario
    }

    /// PATH with the fake CLI's directory first.
    pub fn path_env(&self) -> OsString {
        let mut parts = vec![fake_aws_dir()];
        if let Some(existing) = std::env::var_os("PATH") {
            parts.extend(std::env::split_paths(&existing));
        }
        std::env::join_paths(parts).expect("join PATH")
    }

    /// Environment pairs that point a child process at this fake.
    pub fn envs(&self) -> Vec<(&'static str, OsString)> {
        let mut envs = vec![
            ("PATH", self.path_env()),
            ("FAKE_AWS_SCENARIO", self.scenario.clone().into_os_string()),
            ("FAKE_AWS_STATE", self.state.clone().into_os_string()),
        ];
        if self.cli == Cli::V2 {
            envs.push(("FAKE_AWS_CLI_V2", "1".into()));
        }
        envs
    }

    /// `ecs-deploy` wired to this fake, with the caller's AWS settings removed.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command())
    }

    /// Like [`FakeAws::cmd`], as a plain `std::process::Command` (for tests that must
    /// spawn the binary and talk to it while it runs, e.g. send it a signal).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-deploy"));
        for name in SCRUBBED_ENV {
            cmd.env_remove(name);
        }
        for (name, value) in self.envs() {
            cmd.env(name, value);
        }
        // Keep the CLI from reading the developer's ~/.aws: these files exist only when a
        // test writes them (`write_aws_config`, `write_aws_credentials`).
        cmd.env("AWS_CONFIG_FILE", self.aws_config_path());
        cmd.env("AWS_SHARED_CREDENTIALS_FILE", self.aws_credentials_path());
        cmd
    }

    /// Where the run's AWS config file is (absent unless written).
    pub fn aws_config_path(&self) -> PathBuf {
        self.dir.path().join("aws-config")
    }

    /// Where the run's AWS credentials file is (absent unless written).
    pub fn aws_credentials_path(&self) -> PathBuf {
        self.dir.path().join("aws-credentials")
    }

    /// Give the run this AWS config file (`[profile NAME]` sections).
    pub fn write_aws_config(&self, text: &str) {
        fs::write(self.aws_config_path(), text).expect("write the AWS config file");
    }

    /// Give the run this AWS credentials file (`[NAME]` sections).
    pub fn write_aws_credentials(&self, text: &str) {
        fs::write(self.aws_credentials_path(), text).expect("write the AWS credentials file");
    }

    /// Every logged call but the ECR image pre-flight, in order. The pre-flight runs next
    /// to the first ECS call, so its place in the log is not fixed: see `ecr_calls`.
    pub fn calls(&self) -> Vec<Value> {
        self.all_calls()
            .into_iter()
            .filter(|call| call["service"] != "ecr")
            .collect()
    }

    /// The ECR pre-flight's calls (`ecr describe-images`, `ecr list-images`).
    pub fn ecr_calls(&self) -> Vec<Value> {
        self.all_calls()
            .into_iter()
            .filter(|call| call["service"] == "ecr")
            .collect()
    }

    /// Every logged call, in order (empty if the fake was never run).
    pub fn all_calls(&self) -> Vec<Value> {
        let log = self.state.join("calls.jsonl");
        let text = match fs::read_to_string(&log) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("cannot read {}: {e}", log.display()),
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad line in calls.jsonl: {e}: {line}"))
            })
            .collect()
    }

    /// The op of every call: `"describe-services"` for ecs, `"sts assume-role"` for sts.
    pub fn ops(&self) -> Vec<String> {
        self.calls().iter().map(op_name).collect()
    }

    /// The logged calls of one op (same naming as `ops`).
    pub fn calls_of(&self, op: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|call| op_name(call) == op)
            .collect()
    }

    /// The `--cli-input-json` body of every register-task-definition call.
    pub fn registered(&self) -> Vec<Value> {
        self.calls_of("register-task-definition")
            .into_iter()
            .map(|call| call.get("input").cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// The `--task-definition` of every deregister-task-definition call, in order.
    pub fn deregistered(&self) -> Vec<String> {
        self.calls_of("deregister-task-definition")
            .iter()
            .map(|call| arg_value(call, "--task-definition").expect("--task-definition"))
            .collect()
    }

    /// The argv (after `aws`) of every call, as strings.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        self.calls()
            .iter()
            .map(|call| {
                call["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Pids of the `sleep` processes that steps with `"grandchild": true` started.
    pub fn grandchildren(&self) -> Vec<i32> {
        fs::read_to_string(self.state.join("grandchildren"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    /// The temp files named in `--cli-input-json file://...` arguments so far.
    pub fn input_files(&self) -> Vec<PathBuf> {
        self.argvs()
            .iter()
            .flatten()
            .filter_map(|arg| arg.strip_prefix("file://").map(PathBuf::from))
            .collect()
    }

    /// Assert that `op` was called `count` times, the last time with `--task-definition
    /// task_definition` (e.g. the second update-service of a rollback).
    pub fn assert_last_task_definition(&self, op: &str, count: usize, task_definition: &str) {
        let calls = self.calls_of(op);
        assert_eq!(calls.len(), count);
        assert_eq!(
            arg_value(&calls[count - 1], "--task-definition").as_deref(),
            Some(task_definition)
        );
    }
}

// ------------------------------------------------------------------ scenarios

/// A fake with these answers per op (see the header of `tests/fake-aws/aws`).
pub fn scenario(ops: Value) -> FakeAws {
    FakeAws::new(json!({ "ops": ops }))
}

/// A step answering with the contents of `fixtures/<path>`.
pub fn file(path: &str) -> Value {
    json!({ "fixture": path })
}

/// A step answering with `value`.
pub fn answer(value: Value) -> Value {
    json!({ "json": value })
}

/// A fake whose describe-task-definition answers with `describe-task-definition/<name>`.
pub fn describing(name: &str) -> FakeAws {
    scenario(json!({
        "describe-task-definition": [file(&format!("describe-task-definition/{name}"))]
    }))
}

/// A scenario where the service starts on web:1 (web-steady) and answers `later` to the
/// describe-services polls after that; web:1 is `describe-task-definition/web-1.json`, and
/// `more` adds (or replaces) the answers of other ops.
pub fn from_steady_and(later: &[Value], more: Value) -> FakeAws {
    let mut polls = vec![file("describe-services/web-steady.json")];
    polls.extend_from_slice(later);
    let mut ops = json!({
        "describe-services": polls,
        "describe-task-definition": [file("describe-task-definition/web-1.json")],
    });
    for (op, answers) in more.as_object().expect("ops by name") {
        ops[op] = answers.clone();
    }
    scenario(ops)
}

/// [`from_steady_and`] without other ops.
pub fn from_steady(later: &[Value]) -> FakeAws {
    from_steady_and(later, json!({}))
}

/// The ops that tell of task B, crashed: where its logs are (web-1-awslogs), a list of the
/// stopped tasks that names it, its description (`app` exited 1), and `log_events` as the
/// get-log-events answers.
pub fn task_b_crashed(log_events: Vec<Value>) -> Value {
    json!({
        "describe-task-definition": [file("describe-task-definition/web-1-awslogs.json")],
        "list-tasks": [answer(json!({"taskArns": [TASK_B]}))],
        "describe-tasks": [file("describe-tasks/new-stopped.json")],
        "logs get-log-events": log_events,
    })
}

/// Task B (web:2, `app` crashed) as task `n`: its ARN and id end in `n`.
pub fn crashed_task(n: usize) -> (String, Value) {
    let mut task = fixture("describe-tasks/new-stopped.json")["tasks"][0].clone();
    let arn = format!("{}{n}", &TASK_B[..TASK_B.len() - 1]);
    task["taskArn"] = json!(arn);
    (arn, task)
}

// ------------------------------------------------------------------ commands

/// `ecs-deploy -d web -i NEW_IMAGE EXTRA` against `fake`, not yet run.
pub fn web_definition_cmd(fake: &FakeAws, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = fake.cmd();
    cmd.args(["-d", "web", "-i", NEW_IMAGE]).args(extra);
    cmd
}

// ------------------------------------------------------------------ output and log

/// The lines of `text`.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The argv (after `aws`) of one logged call.
pub fn argv_of(call: &Value) -> Vec<&str> {
    call["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Standard output of a finished run, as text.
pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Standard error of a finished run, as text.
pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The keys of the RegisterTaskDefinition input, as the RegisterTaskDefinition API lists
/// them. Written out here on purpose, not taken from `src/`: the tests are the oracle.
/// `tags` is one of them: a definition that carries its own tags keeps them (a described
/// definition never does: describe-task-definition puts tags next to it).
pub const REGISTRABLE: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// Whether a null appears anywhere in `value`.
pub fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().any(contains_null),
        Value::Array(items) => items.iter().any(contains_null),
        _ => false,
    }
}

/// Value following `--name` in a logged call's argv, if any.
pub fn arg_value(call: &Value, name: &str) -> Option<String> {
    let argv = call["argv"].as_array()?;
    match argv.iter().position(|a| a.as_str() == Some(name)) {
        Some(at) => argv.get(at + 1)?.as_str().map(String::from),
        // Given in the --cli-input-json body instead, as the CLI allows.
        None => call["input"][camel_case(name)].as_str().map(String::from),
    }
}

/// `--task-definition` -> `taskDefinition`.
fn camel_case(option: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in option.trim_start_matches("--").chars() {
        match c {
            '-' => upper = true,
            _ if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            _ => out.push(c),
        }
    }
    out
}

fn op_name(call: &Value) -> String {
    let op = call["op"].as_str().unwrap_or_default();
    match call["service"].as_str() {
        Some("ecs") | None => op.to_string(),
        Some(service) => format!("{service} {op}"),
    }
}

// ------------------------------------------------------------------ signals

/// A generous bound: it only stops a broken test from hanging.
const PATIENCE: Duration = Duration::from_secs(60);

/// Wait (bounded) until the running `child` has made a call of `op`.
pub fn wait_for_call(fake: &FakeAws, child: &mut Child, op: &str) {
    let since = Instant::now();
    while fake.calls_of(op).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ecs-deploy ended ({status}) before {op}");
        }
        assert!(since.elapsed() < PATIENCE, "no {op} call");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` still exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

/// Send `signal` (`-INT`, `-TERM`) to `child`.
pub fn interrupt(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
}

/// Wait for the child (bounded), then return its status, stdout and stderr.
pub fn finish(mut child: Child) -> (ExitStatus, String, String) {
    let since = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if since.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("ecs-deploy did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
