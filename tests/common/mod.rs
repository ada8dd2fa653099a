//! Shared helpers for the integration tests: a sandbox around the fake `aws` CLI
//! (`tests/fake-aws/aws`) and access to the canned JSON in `fixtures/`.
//!
//! Each `FakeAws` owns a temporary directory holding the scenario file and the fake's
//! state (call counters, clock, `calls.jsonl`), so tests can run in parallel.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

/// Environment variables that must not leak from the developer's shell into a test.
const SCRUBBED_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_PAGER",
    "FAKE_AWS_LATENCY",
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

/// A scenario for the fake CLI plus its private state directory.
pub struct FakeAws {
    dir: TempDir,
    scenario: PathBuf,
    state: PathBuf,
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
        }
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
        vec![
            ("PATH", self.path_env()),
            ("FAKE_AWS_SCENARIO", self.scenario.clone().into_os_string()),
            ("FAKE_AWS_STATE", self.state.clone().into_os_string()),
        ]
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
        // Keep the CLI from reading the developer's ~/.aws if anything ever looks.
        cmd.env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"));
        cmd.env(
            "AWS_SHARED_CREDENTIALS_FILE",
            self.dir.path().join("no-aws-credentials"),
        );
        cmd
    }

    /// Every logged call, in order (empty if the fake was never run).
    pub fn calls(&self) -> Vec<Value> {
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

/// Standard output of a finished run, as text.
pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Standard error of a finished run, as text.
pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The keys of the RegisterTaskDefinition input (tags aside: they need their own flag),
/// as the RegisterTaskDefinition API lists them. Written out here on purpose, not taken from `src/`: the tests
/// are the oracle.
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
    let at = argv.iter().position(|a| a.as_str() == Some(name))?;
    argv.get(at + 1)?.as_str().map(String::from)
}

fn op_name(call: &Value) -> String {
    let op = call["op"].as_str().unwrap_or_default();
    match call["service"].as_str() {
        Some("ecs") | None => op.to_string(),
        Some(service) => format!("{service} {op}"),
    }
}
