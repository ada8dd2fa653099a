//! End-to-end tests: the built `ecs-deploy` drives the real `aws` CLI, which talks to the
//! local ECS emulator (`scripts/ecs_emulator.py`, moto underneath) on 127.0.0.1.
//!
//! Every test starts its own emulator on a free port and stops it when the test ends,
//! panicking or not, so the tests run in parallel. Nothing but 127.0.0.1 is contacted:
//! AWS_ENDPOINT_URL points at the emulator, the credentials are dummies, and the AWS CLI
//! reads an empty config file instead of the user's.
//!
//! Without python3 + moto or the `aws` CLI, the tests skip with a loud message, except in
//! CI (`CI=true`), where that is a failure. `E2E_VERBOSE=1` prints every ecs-deploy run
//! (arguments, exit code, stdout, stderr, emulator log).

mod common;

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::{REGISTRABLE, repo_root};
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ecs-deploy");
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Short delays, so that a rollout takes a few seconds.
const FAST: &[&str] = &[
    "--task-start-delay",
    "1",
    "--healthy-delay",
    "1",
    "--drain-delay",
    "1",
    "--run-task-duration",
    "1",
];

/// Variables of the developer's (or CI's) shell that could send the AWS CLI elsewhere,
/// change what it prints, or make ecs-deploy write step outputs.
const SCRUBBED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CA_BUNDLE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "GITHUB_OUTPUT",
    "GITHUB_ACTIONS",
];

// -----------------------------------------------------------------------------------------
// Prerequisites
// -----------------------------------------------------------------------------------------

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The Python interpreter itself (not a pyenv shim: killing the child must kill the
/// emulator), once moto's server imports; or why the emulator cannot run here.
fn python() -> &'static Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let aws = Command::new("aws").arg("--version").output();
        if !aws.as_ref().is_ok_and(|o| o.status.success()) {
            return Err("the aws CLI is not on PATH (pip install awscli)".into());
        }
        let probe = Command::new("python3")
            .args(["-c", "import sys, moto.server; print(sys.executable)"])
            .stderr(Stdio::null())
            .output();
        match probe {
            Ok(out) if out.status.success() => {
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if path.is_empty() {
                    Err("python3 did not name its executable".into())
                } else {
                    Ok(PathBuf::from(path))
                }
            }
            Ok(_) => Err(
                "moto is not installed (scripts/ensure-moto installs the pinned version)".into(),
            ),
            Err(e) => Err(format!("python3 cannot be run ({e})")),
        }
    })
}

/// Say loudly that a test is skipped, straight to the process's stderr: libtest captures
/// `eprintln!` of passing tests, and a skip must not look like a pass.
fn skip(why: &str) {
    static BANNER: Once = Once::new();
    let mut stderr = std::io::stderr().lock();
    BANNER.call_once(|| {
        let bar = "=".repeat(78);
        let _ = writeln!(
            stderr,
            "\n{bar}\nSKIPPED: {why}\n  the end-to-end tests need python3 with moto and the aws CLI;\n  \
             with CI=true they fail instead of skipping\n{bar}"
        );
    });
    let name = thread::current().name().unwrap_or("e2e test").to_string();
    let _ = writeln!(stderr, "SKIPPED: {name}: {why}");
}

// -----------------------------------------------------------------------------------------
// The emulator
// -----------------------------------------------------------------------------------------

struct Emulator {
    child: Child,
    port: u16,
    dir: TempDir,
    empty_config: PathBuf,
}

impl Emulator {
    /// Start an emulator with `FAST` delays and `flags`; `None` when the test must skip.
    fn start(flags: &[&str]) -> Option<Emulator> {
        let python = match python() {
            Ok(path) => path,
            Err(why) if in_ci() => {
                panic!("e2e: the ECS emulator cannot start: {why}. CI=true, so this is a failure")
            }
            Err(why) => {
                skip(why);
                return None;
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("ecs-deploy-e2e.")
            .tempdir()
            .expect("temp dir");
        let port_file = dir.path().join("port");
        let log = File::create(dir.path().join("emulator.log")).expect("emulator log");
        let empty_config = dir.path().join("aws-config");
        File::create(&empty_config).expect("empty aws config");
        let child = Command::new(python)
            .arg(repo_root().join("scripts").join("ecs_emulator.py"))
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .args(FAST)
            .args(flags)
            .arg("--verbose")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn the emulator");
        // From here on, Drop stops the process whatever happens.
        let mut emulator = Emulator {
            child,
            port: 0,
            dir,
            empty_config,
        };
        let started = Instant::now();
        loop {
            if let Ok(text) = fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse::<u16>()
            {
                emulator.port = port;
                return Some(emulator);
            }
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!(
                    "the emulator exited during start-up ({status}):\n{}",
                    emulator.log()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "the emulator was not ready within {START_TIMEOUT:?}:\n{}",
                    emulator.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("emulator.log")).unwrap_or_default()
    }

    /// The environment of every child: the emulator, dummy credentials, no user config.
    fn environ(&self, command: &mut Command) {
        for name in SCRUBBED {
            command.env_remove(name);
        }
        command
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", &self.empty_config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.empty_config)
            .env("AWS_PAGER", "")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
    }

    /// `aws --output json ecs ARGS...`, which must succeed; its JSON answer.
    fn aws(&self, args: &[&str]) -> Value {
        self.cli("ecs", args)
    }

    /// `aws deploy ARGS...` (CodeDeploy) against the emulator; its JSON answer.
    fn deploy(&self, args: &[&str]) -> Value {
        self.cli("deploy", args)
    }

    /// `aws SERVICE ARGS...` against the emulator; its JSON answer (null when it printed
    /// nothing). A failure fails the test, with the emulator's log.
    fn cli(&self, service: &str, args: &[&str]) -> Value {
        let mut command = Command::new("aws");
        command.args(["--output", "json", service]).args(args);
        self.environ(&mut command);
        let out = command.output().expect("run aws");
        assert!(
            out.status.success(),
            "aws {service} {} failed ({}):\n{}\nemulator log:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).expect("aws printed JSON")
    }

    /// Write `value` to a file of the test's temp dir; its `file://` URL.
    fn json_file(&self, name: &str, value: &Value) -> String {
        let path = self.dir.path().join(name);
        fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).expect("write JSON");
        format!("file://{}", path.display())
    }

    fn create_cluster(&self, name: &str) {
        self.aws(&["create-cluster", "--cluster-name", name]);
    }

    /// Register a task definition (the RegisterTaskDefinition input); its ARN.
    fn register(&self, definition: &Value) -> String {
        let url = self.json_file("register.json", definition);
        let answer = self.aws(&["register-task-definition", "--cli-input-json", &url]);
        text(&answer["taskDefinition"]["taskDefinitionArn"])
    }

    /// A service of `count` tasks with the circuit breaker set as given.
    fn create_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        count: u32,
        breaker: Breaker,
    ) {
        let (enable, rollback) = match breaker {
            Breaker::Off => (false, false),
            Breaker::On => (true, false),
            Breaker::WithRollback => (true, true),
        };
        let input = json!({
            "cluster": cluster,
            "serviceName": name,
            "taskDefinition": task_definition,
            "desiredCount": count,
            "deploymentConfiguration": {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": enable, "rollback": rollback},
            },
        });
        let url = self.json_file("service.json", &input);
        self.aws(&["create-service", "--cli-input-json", &url]);
    }

    fn service(&self, cluster: &str, name: &str) -> Value {
        let answer = self.aws(&[
            "describe-services",
            "--cluster",
            cluster,
            "--services",
            name,
        ]);
        answer["services"][0].clone()
    }

    fn task_definition(&self, task_definition: &str) -> Value {
        self.aws(&[
            "describe-task-definition",
            "--task-definition",
            task_definition,
            "--include",
            "TAGS",
        ])
    }

    fn active_revisions(&self, family: &str) -> Vec<String> {
        let answer = self.aws(&[
            "list-task-definitions",
            "--family-prefix",
            family,
            "--status",
            "ACTIVE",
        ]);
        strings(&answer["taskDefinitionArns"])
    }

    /// The running tasks of a service, described.
    fn running_tasks(&self, cluster: &str, service: &str) -> Vec<Value> {
        let listed = self.aws(&[
            "list-tasks",
            "--cluster",
            cluster,
            "--service-name",
            service,
        ]);
        let arns = strings(&listed["taskArns"]);
        if arns.is_empty() {
            return Vec::new();
        }
        let mut args = vec!["describe-tasks", "--cluster", cluster, "--tasks"];
        args.extend(arns.iter().map(String::as_str));
        self.aws(&args)["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Poll (bounded) until the service has a single COMPLETED deployment; that service.
    fn settled_service(&self, cluster: &str, name: &str) -> Value {
        let started = Instant::now();
        loop {
            let service = self.service(cluster, name);
            let deployments = service["deployments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if deployments.len() == 1 && deployments[0]["rolloutState"] == "COMPLETED" {
                return service;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "service {name} did not settle: {service:#}"
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Run ecs-deploy against this emulator: fast polling, 30 s per phase, then `args`.
    fn ecs_deploy(&self, args: &[&str]) -> Run {
        self.ecs_deploy_with(args, |_| {})
    }

    /// [`Emulator::ecs_deploy`] with its environment changed by `edit`.
    fn ecs_deploy_with(&self, args: &[&str], edit: impl FnOnce(&mut Command)) -> Run {
        let mut command = Command::new(BIN);
        command
            .args(["--poll-interval", "0.5", "-t", "30"])
            .args(args);
        self.environ(&mut command);
        edit(&mut command);
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().expect("run ecs-deploy");
        let run = Run {
            args: args.iter().map(ToString::to_string).collect(),
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            emulator_log: self.log(),
        };
        if std::env::var_os("E2E_VERBOSE").is_some() {
            eprintln!("{run}");
        }
        run
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- emulator log (port {}) ---\n{}", self.port, self.log());
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let asked = Instant::now();
            while asked.elapsed() < STOP_TIMEOUT {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Breaker {
    Off,
    On,
    WithRollback,
}

/// One finished ecs-deploy run.
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    emulator_log: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ecs-deploy {}\nexit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--- emulator log ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr,
            self.emulator_log
        )
    }
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
    }

    fn assert_stdout(&self, expected: &[String]) {
        assert_eq!(
            self.lines(),
            expected,
            "stdout is not the script's lines\n{self}"
        );
    }
}

// -----------------------------------------------------------------------------------------
// Small helpers
// -----------------------------------------------------------------------------------------

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default()
}

/// `...:task-definition/FAMILY:REV` with the revision replaced.
fn revision(arn: &str, revision: u32) -> String {
    let (base, _) = arn.rsplit_once(':').expect("revision in ARN");
    format!("{base}:{revision}")
}

fn images(described: &Value) -> Vec<String> {
    described["taskDefinition"]["containerDefinitions"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| text(&c["image"]))
        .collect()
}

fn web_definition(image: &str, health_check: bool) -> Value {
    let mut container = json!({
        "name": "web",
        "image": image,
        "memory": 128,
        "essential": true,
        "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
        "environment": [{"name": "GREETING", "value": "hello"}],
    });
    if health_check {
        container["healthCheck"] = json!({
            "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
            "interval": 5,
            "timeout": 2,
            "retries": 3,
        });
    }
    json!({"family": "web", "containerDefinitions": [container]})
}

/// Cluster `demo` with service `web` (2 tasks of nginx:1.26); the service's ARN of web:1.
fn demo_service(emulator: &Emulator, health_check: bool, breaker: Breaker) -> String {
    emulator.create_cluster("demo");
    let arn = emulator.register(&web_definition("nginx:1.26", health_check));
    emulator.create_service("demo", "web", &arn, 2, breaker);
    arn
}

/// `ecs-deploy -c demo -n web -i IMAGE EXTRA...` against this emulator.
fn deploy_web(emulator: &Emulator, image: &str, extra: &[&str]) -> Run {
    let args = [&["-c", "demo", "-n", "web", "-i", image][..], extra].concat();
    emulator.ecs_deploy(&args)
}

/// The script's first stdout lines: `image` registered as `new`, based on `old`.
fn registered_lines(image: &str, old: &str, new: &str) -> Vec<String> {
    vec![
        format!("Using image name: {image}"),
        format!("Current task definition: {old}"),
        format!("New task definition: {new}"),
    ]
}

/// The script's stdout for a service deploy of `image` from `old` to `new` that succeeds.
fn service_lines(image: &str, old: &str, new: &str) -> Vec<String> {
    let mut lines = registered_lines(image, old, new);
    lines.extend([
        "Service updated successfully, new task definition running.".into(),
        "Waiting for service deployment to complete...".into(),
        "Service deployment successful.".into(),
    ]);
    lines
}

/// An emulator whose `broken` image fails, the demo service with `breaker`, and a deploy
/// of `nginx:broken` with `--enable-rollback`: the emulator, the old and the new revision
/// and the run; `None` when the test must skip.
fn broken_rollout(breaker: Breaker) -> Option<(Emulator, String, String, Run)> {
    let emu = Emulator::start(&["--fail-image", "broken"])?;
    let old = demo_service(&emu, false, breaker);
    let new = revision(&old, 2);
    let run = deploy_web(&emu, "nginx:broken", &["--enable-rollback"]);
    Some((emu, old, new, run))
}

// -----------------------------------------------------------------------------------------
// Tests
// -----------------------------------------------------------------------------------------

#[test]
fn service_deploy_succeeds_and_runs_the_new_image() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let old = demo_service(&emu, true, Breaker::WithRollback);
    let new = revision(&old, 2);

    let run = deploy_web(&emu, "nginx:1.27", &[]);

    run.assert_code(0);
    run.assert_stdout(&service_lines("nginx:1.27", &old, &new));
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], new.as_str(), "{run}");
    assert_eq!(service["runningCount"], 2, "{service:#}");
    assert_eq!(images(&emu.task_definition(&new)), ["nginx:1.27"]);
    let tasks = emu.running_tasks("demo", "web");
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    for task in &tasks {
        assert_eq!(task["taskDefinitionArn"], new.as_str(), "{task:#}");
        assert_eq!(task["healthStatus"], "HEALTHY", "{task:#}");
    }
}

#[test]
fn failed_rollout_is_rolled_back_by_ecs_deploy() {
    // The service's breaker stops the rollout but does not roll back: ecs-deploy does.
    let Some((emu, old, new, run)) = broken_rollout(Breaker::On) else {
        return;
    };

    run.assert_code(1);
    let mut expected = registered_lines("nginx:broken", &old, &new);
    expected.push(format!("Rolling back to {old}"));
    run.assert_stdout(&expected);
    assert!(
        run.stderr.contains("circuit breaker"),
        "the breaker's reason is not reported\n{run}"
    );
    assert!(
        run.stderr.contains("Essential container in task exited"),
        "the stopped tasks are not reported\n{run}"
    );
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], old.as_str(), "{service:#}");
    for task in emu.running_tasks("demo", "web") {
        assert_eq!(task["taskDefinitionArn"], old.as_str(), "{task:#}");
    }
}

#[test]
fn failed_rollout_already_rolled_back_by_ecs_is_not_rolled_back_twice() {
    let Some((emu, old, new, run)) = broken_rollout(Breaker::WithRollback) else {
        return;
    };

    run.assert_code(1);
    // No "Rolling back to" line: ECS's breaker already restored the old revision.
    run.assert_stdout(&registered_lines("nginx:broken", &old, &new));
    assert!(run.stderr.contains("circuit breaker"), "{run}");
    assert!(run.stderr.contains("not rolling back twice"), "{run}");
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], old.as_str(), "{service:#}");
    // One update (ecs-deploy's) and one rollback (the breaker's), nothing more.
    let rollbacks = service["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["message"].as_str().unwrap_or("").contains("rolling back"))
        .count();
    assert_eq!(rollbacks, 1, "{service:#}");
}

#[test]
fn task_definition_mode_registers_a_new_revision() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let old = emu.register(&web_definition("nginx:1.26", false));
    let new = revision(&old, 2);

    let run = emu.ecs_deploy(&["-d", "web", "-i", "nginx:1.27"]);

    run.assert_code(0);
    let mut expected = registered_lines("nginx:1.27", &old, &new);
    expected.push("Task definition updated successfully".into());
    run.assert_stdout(&expected);
    assert_eq!(images(&emu.task_definition(&new)), ["nginx:1.27"]);
    assert_eq!(images(&emu.task_definition(&old)), ["nginx:1.26"]);
    assert_eq!(emu.active_revisions("web"), [old, new]);
}

/// A one-off job: a non-essential sidecar first (always exits 0), then the essential
/// container, which exits with `exit_code`.
fn job_definition(exit_code: i32) -> Value {
    json!({
        "family": "job",
        "containerDefinitions": [
            {"name": "sidecar", "image": "busybox:1.36", "memory": 32, "essential": false},
            {
                "name": "job",
                "image": "example/job:1",
                "memory": 64,
                "essential": true,
                "environment": [{"name": "EMULATOR_EXIT_CODE", "value": exit_code.to_string()}],
            },
        ],
    })
}

fn run_task_lines(image: &str, old: &str, new: &str, run: &Run) -> Vec<String> {
    let task = run
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("Executed task: "))
        .unwrap_or_else(|| panic!("no 'Executed task' line\n{run}"))
        .to_string();
    assert!(task.contains(":task/"), "not a task ARN: {task}");
    let mut lines = registered_lines(image, old, new);
    lines.extend([
        format!("Run task: {new}"),
        format!("Executed task: {task}"),
        "Task finished with status: STOPPED".into(),
        format!("Task {task} executed successfully!"),
    ]);
    lines
}

/// An emulator with cluster `jobs` and [`job_definition`]`(exit_code)` registered, then
/// `ecs-deploy -c jobs -d job -i example/job:2 --run-task --wait-for-success`: the
/// emulator, the old and the new revision and the run; `None` when the test must skip.
fn run_job(exit_code: i32) -> Option<(Emulator, String, String, Run)> {
    let emu = Emulator::start(&[])?;
    emu.create_cluster("jobs");
    let old = emu.register(&job_definition(exit_code));
    let new = revision(&old, 2);
    let run = emu.ecs_deploy(&[
        "-c",
        "jobs",
        "-d",
        "job",
        "-i",
        "example/job:2",
        "--run-task",
        "--wait-for-success",
    ]);
    Some((emu, old, new, run))
}

#[test]
fn run_task_waits_for_success() {
    let Some((emu, old, new, run)) = run_job(0) else {
        return;
    };

    run.assert_code(0);
    run.assert_stdout(&run_task_lines("example/job:2", &old, &new, &run));
    assert_eq!(
        images(&emu.task_definition(&new)),
        ["busybox:1.36", "example/job:2"]
    );
}

#[test]
fn run_task_reports_the_essential_containers_exit_code() {
    let Some((_emu, old, new, run)) = run_job(3) else {
        return;
    };

    run.assert_code(1);
    let mut expected = run_task_lines("example/job:2", &old, &new, &run);
    *expected.last_mut().unwrap() = "Task execution failed with exit code: 3".into();
    run.assert_stdout(&expected);
    assert!(run.stderr.contains("job (essential): exit code 3"), "{run}");
}

#[test]
fn max_definitions_deregisters_the_oldest_revisions() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    emu.create_cluster("demo");
    let first = emu.register(&web_definition("nginx:1.24", false));
    emu.register(&web_definition("nginx:1.25", false));
    let third = emu.register(&web_definition("nginx:1.26", false));
    emu.create_service("demo", "web", &third, 2, Breaker::Off);
    let fourth = revision(&first, 4);

    let run = deploy_web(&emu, "nginx:1.27", &["--max-definitions", "2"]);

    run.assert_code(0);
    let mut expected = service_lines("nginx:1.27", &third, &fourth);
    expected.extend([
        format!("Deregistering outdated task revision: {first}"),
        format!(
            "Deregistering outdated task revision: {}",
            revision(&first, 2)
        ),
    ]);
    run.assert_stdout(&expected);
    assert_eq!(emu.active_revisions("web"), [third, fourth.clone()]);
    assert_eq!(
        emu.service("demo", "web")["taskDefinition"],
        fourth.as_str()
    );
}

#[test]
fn copy_task_definition_tags_tags_the_new_revision() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let mut definition = web_definition("nginx:1.26", false);
    definition["tags"] = json!([
        {"key": "team", "value": "blue"},
        {"key": "cost-center", "value": "42"},
    ]);
    let old = emu.register(&definition);
    let new = revision(&old, 2);

    let run = emu.ecs_deploy(&[
        "-d",
        "web",
        "-i",
        "nginx:1.27",
        "--copy-task-definition-tags",
    ]);

    run.assert_code(0);
    let tags = |arn: &str| -> BTreeSet<(String, String)> {
        let described = emu.task_definition(arn);
        described["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| (text(&t["key"]), text(&t["value"])))
            .collect()
    };
    let expected: BTreeSet<(String, String)> = [("cost-center", "42"), ("team", "blue")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(tags(&old), expected);
    assert_eq!(tags(&new), expected, "{run}");
}

#[test]
fn force_new_deployment_replaces_the_tasks_on_the_same_revision() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let current = demo_service(&emu, false, Breaker::WithRollback);
    let before = emu.service("demo", "web");
    let old_tasks: BTreeSet<String> = emu
        .running_tasks("demo", "web")
        .iter()
        .map(|t| text(&t["taskArn"]))
        .collect();
    assert_eq!(old_tasks.len(), 2);

    let run = emu.ecs_deploy(&["-c", "demo", "-n", "web", "--force-new-deployment"]);

    run.assert_code(0);
    run.assert_stdout(&[
        "Force a new deployment of the service".into(),
        "Waiting for service deployment to complete...".into(),
        "Service deployment successful.".into(),
    ]);
    assert_eq!(emu.active_revisions("web"), vec![current.clone()]);
    let after = emu.settled_service("demo", "web");
    assert_eq!(after["taskDefinition"], current.as_str());
    assert_ne!(
        after["deployments"][0]["id"], before["deployments"][0]["id"],
        "no new deployment\n{run}"
    );
    let tasks = emu.running_tasks("demo", "web");
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    for task in &tasks {
        assert!(!old_tasks.contains(&text(&task["taskArn"])), "{task:#}");
        assert_eq!(task["taskDefinitionArn"], current.as_str());
    }
}

/// The registrable part of a described definition, with every image blanked out.
fn registrable_without_images(described: &Value) -> Value {
    let definition = &described["taskDefinition"];
    let mut kept = serde_json::Map::new();
    for key in REGISTRABLE {
        if let Some(value) = definition.get(*key).filter(|v| !v.is_null()) {
            kept.insert((*key).to_string(), value.clone());
        }
    }
    if let Some(containers) = kept
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for container in containers {
            container["image"] = json!("<image>");
        }
    }
    Value::Object(kept)
}

#[test]
fn task_definition_fields_survive_the_round_trip() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let definition = json!({
        "family": "fields",
        "taskRoleArn": "arn:aws:iam::123456789012:role/app",
        "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        "networkMode": "host",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "registry.example.com:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "cpu": 256,
                "memory": 512,
                "essential": true,
                "command": ["serve", "--port", "8080"],
                "environment": [{"name": "MODE", "value": "production"}],
                "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": false}],
                "healthCheck": {"command": ["CMD", "true"], "interval": 10, "timeout": 3, "retries": 2},
                "ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "app"}},
                "dependsOn": [{"containerName": "log-router", "condition": "START"}],
                "linuxParameters": {"initProcessEnabled": true},
            },
            {
                "name": "log-router",
                "image": "fluent/fluent-bit:3.0",
                "memory": 64,
                "essential": false,
            },
        ],
        "volumes": [{"name": "data", "host": {"sourcePath": "/srv/data"}}],
        "placementConstraints": [
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"},
        ],
        "requiresCompatibilities": ["EC2"],
        "cpu": "512",
        "memory": "1024",
        "pidMode": "host",
        "ipcMode": "host",
        "ephemeralStorage": {"sizeInGiB": 40},
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "enableFaultInjection": true,
    });
    let old = emu.register(&definition);
    let new = revision(&old, 2);
    let before = emu.task_definition(&old);

    let run = emu.ecs_deploy(&[
        "-d",
        "fields",
        "-i",
        "registry.example.com:5000/team/app:2.0",
    ]);

    run.assert_code(0);
    let after = emu.task_definition(&new);
    assert_eq!(
        images(&after),
        [
            "registry.example.com:5000/team/app:2.0",
            "fluent/fluent-bit:3.0"
        ],
        "{run}"
    );
    let before_fields = registrable_without_images(&before);
    // Otherwise the comparison below would prove nothing about that key.
    for key in definition.as_object().unwrap().keys() {
        assert!(
            before_fields.get(key).is_some(),
            "the emulator dropped {key} on register: {before:#}"
        );
    }
    assert_eq!(
        registrable_without_images(&after),
        before_fields,
        "the new revision differs from the old one beyond the image\n{run}"
    );
}

/// Sanity check of the harness itself: the emulator really stops when dropped.
#[test]
fn emulator_stops_when_dropped() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let pid = emu.child.id();
    let port = emu.port;
    drop(emu);
    let alive = Path::new(&format!("/proc/{pid}")).exists()
        && fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
    assert!(!alive, "emulator {pid} still runs");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still answers"
    );
}

// Arguments whose syntax only the real CLI can judge.

#[test]
fn run_task_on_fargate_takes_a_json_network_configuration() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    emu.create_cluster("jobs");
    let old = emu.register(&json!({
        "family": "fargate-job",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "job", "image": "example/job:1", "essential": true}],
    }));
    let new = revision(&old, 2);

    let run = emu.ecs_deploy(&[
        "-c",
        "jobs",
        "-d",
        "fargate-job",
        "-i",
        "example/job:2",
        "--run-task",
        "--launch-type",
        "FARGATE",
        "--platform-version",
        "1.4.0",
        "--network-configuration",
        r#"{"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0a1b2c3d"], "assignPublicIp": "DISABLED"}}"#,
        "--wait-for-success",
    ]);

    run.assert_code(0);
    run.assert_stdout(&run_task_lines("example/job:2", &old, &new, &run));
    let task_arn = run
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("Executed task: "))
        .unwrap()
        .to_string();
    let task = &emu.aws(&["describe-tasks", "--cluster", "jobs", "--tasks", &task_arn])["tasks"][0];
    assert_eq!(task["launchType"], "FARGATE", "{task:#}");
    assert_eq!(task["platformVersion"], "1.4.0", "{task:#}");
    let details = task["attachments"][0]["details"].to_string();
    assert!(details.contains("subnet-0a1b2c3d"), "{task:#}");
}

#[test]
fn tag_only_desired_count_and_percentages_reach_the_service() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    emu.create_cluster("demo");
    let mut definition = web_definition("nginx:1.26", false);
    definition["containerDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "name": "sidecar",
            "image": "registry.example.com:5000/tools/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "memory": 32,
            "essential": false,
        }));
    let old = emu.register(&definition);
    emu.create_service("demo", "web", &old, 2, Breaker::Off);
    let new = revision(&old, 2);

    let run = emu.ecs_deploy(&[
        "-c", "demo", "-n", "web", "-to", "1.27", "-i", "ignored", "-D", "3", "-m", "50", "-M",
        "150",
    ]);

    run.assert_code(0);
    run.assert_stdout(&service_lines("1.27", &old, &new));
    assert_eq!(
        images(&emu.task_definition(&new)),
        ["nginx:1.27", "registry.example.com:5000/tools/agent:1.27"]
    );
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], new.as_str());
    assert_eq!(service["desiredCount"], 3, "{service:#}");
    assert_eq!(service["runningCount"], 3, "{service:#}");
    let config = &service["deploymentConfiguration"];
    assert_eq!(config["minimumHealthyPercent"], 50, "{service:#}");
    assert_eq!(config["maximumPercent"], 150, "{service:#}");
}

/// Cluster `demo` with service `web` (2 tasks of nginx:1.26) deployed BLUE_GREEN, bake time
/// one emulated minute, alarm `web-5xx` with rollback; the ARN of web:1.
fn blue_green_service(emulator: &Emulator) -> String {
    emulator.create_cluster("demo");
    let arn = emulator.register(&web_definition("nginx:1.26", false));
    let input = json!({
        "cluster": "demo",
        "serviceName": "web",
        "taskDefinition": arn,
        "desiredCount": 2,
        "deploymentConfiguration": {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "strategy": "BLUE_GREEN",
            "bakeTimeInMinutes": 1,
            "alarms": {"alarmNames": ["web-5xx"], "enable": true, "rollback": true},
        },
    });
    let url = emulator.json_file("service.json", &input);
    emulator.aws(&["create-service", "--cli-input-json", &url]);
    arn
}

/// Lines of stderr that announce a lifecycle stage.
fn stages(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|line| line.starts_with("stage: "))
        .collect()
}

#[test]
fn blue_green_deploy_waits_for_its_service_deployment_through_bake_time() {
    let Some(emu) = Emulator::start(&["--stage-seconds", "0.3", "--seconds-per-minute", "2"])
    else {
        return;
    };
    let old = blue_green_service(&emu);
    let new = revision(&old, 2);

    let run = deploy_web(&emu, "nginx:1.27", &["--output", "json"]);

    run.assert_code(0);
    // Bake time lasts 2 s and is seen; CLEAN_UP lasts 0.3 s, less than a poll on a busy
    // machine, so the SUCCESSFUL service deployment below is what shows it was waited for.
    let seen = stages(&run);
    assert!(
        seen.contains(&"stage: BAKE_TIME"),
        "BAKE_TIME not shown\n{run}"
    );
    let result: Value = serde_json::from_str(&run.stdout).expect("JSON result");
    assert_eq!(result["status"], "succeeded", "{run}");
    assert_eq!(result["strategy"], "BLUE_GREEN", "{run}");
    let arn = text(&result["service_deployment_arn"]);
    let described = emu.aws(&[
        "describe-service-deployments",
        "--service-deployment-arns",
        &arn,
    ]);
    assert_eq!(
        described["serviceDeployments"][0]["status"], "SUCCESSFUL",
        "{described:#}"
    );
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], new.as_str(), "{service:#}");
}

#[test]
fn an_alarm_in_bake_time_is_rolled_back_by_ecs_and_not_twice() {
    let Some(emu) = Emulator::start(&[
        "--stage-seconds",
        "0.3",
        "--seconds-per-minute",
        "3",
        "--trigger-alarm",
        "web-5xx",
    ]) else {
        return;
    };
    let old = blue_green_service(&emu);
    let new = revision(&old, 2);

    let run = deploy_web(&emu, "nginx:1.27", &["--enable-rollback"]);

    run.assert_code(1);
    // No "Rolling back to" line: ECS rolls the service deployment back itself. On a busy
    // machine the first poll may already see the rollback, before any task of phase 1
    // was seen running: then the phase lines are missing, which is right too.
    let registered = registered_lines("nginx:1.27", &old, &new);
    let mut through_phase_one = registered.clone();
    through_phase_one.extend([
        "Service updated successfully, new task definition running.".to_string(),
        "Waiting for service deployment to complete...".to_string(),
    ]);
    let lines = run.lines();
    assert!(
        lines == registered || lines == through_phase_one,
        "stdout is not the script's lines\n{run}"
    );
    assert!(
        run.stderr.contains("web-5xx"),
        "the alarm is not named\n{run}"
    );
    assert!(run.stderr.contains("not rolling back twice"), "{run}");
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], old.as_str(), "{service:#}");
}

#[test]
fn wait_only_follows_a_deployment_started_with_the_aws_cli() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let old = demo_service(&emu, true, Breaker::WithRollback);
    let new = emu.register(&web_definition("nginx:1.27", true));
    emu.aws(&[
        "update-service",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--task-definition",
        &new,
    ]);

    let run = emu.ecs_deploy(&["-c", "demo", "-n", "web", "--wait-only"]);

    run.assert_code(0);
    run.assert_stdout(&[
        "Service updated successfully, new task definition running.".to_string(),
        "Waiting for service deployment to complete...".to_string(),
        "Service deployment successful.".to_string(),
    ]);
    assert!(run.stderr.contains("nothing will be changed"), "{run}");
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], new.as_str(), "{service:#}");
    // Nothing was registered: web:1 and the revision registered above, no more.
    assert_eq!(emu.active_revisions("web"), [old, new], "{run}");
}

// -----------------------------------------------------------------------------------------
// Several services in one release
// -----------------------------------------------------------------------------------------

/// How many RegisterTaskDefinition requests the emulator has answered so far.
fn registers(emulator: &Emulator) -> usize {
    emulator
        .log()
        .lines()
        .filter(|line| line.ends_with("request RegisterTaskDefinition"))
        .count()
}

/// The stdout lines of one service of a release (those prefixed `[NAME] `), unprefixed.
fn lines_of<'r>(run: &'r Run, name: &str) -> Vec<&'r str> {
    let prefix = format!("[{name}] ");
    run.lines()
        .into_iter()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect()
}

/// The stdout lines that belong to no service (no `[...] ` prefix).
fn unprefixed_lines(run: &Run) -> Vec<&str> {
    run.lines()
        .into_iter()
        .filter(|line| !line.starts_with('['))
        .collect()
}

#[test]
fn two_services_sharing_a_definition_are_deployed_as_one_release() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    // web (2 tasks) and worker (1 task) both run web:1.
    let old = demo_service(&emu, true, Breaker::WithRollback);
    emu.create_service("demo", "worker", &old, 1, Breaker::WithRollback);
    let new = revision(&old, 2);
    let registered_before = registers(&emu);

    let run = emu.ecs_deploy(&[
        "-c",
        "demo",
        "-n",
        "web",
        "-n",
        "worker",
        "-i",
        "nginx:1.27",
    ]);

    run.assert_code(0);
    // One register call for both, and the family gained exactly one revision.
    assert_eq!(registers(&emu) - registered_before, 1, "{run}");
    assert_eq!(
        emu.active_revisions("web"),
        [old.as_str(), new.as_str()],
        "{run}"
    );
    assert_eq!(images(&emu.task_definition(&new)), ["nginx:1.27"]);
    // Each service's lines are the script's, prefixed with its name; the image line is
    // the release's.
    assert_eq!(
        unprefixed_lines(&run),
        ["Using image name: nginx:1.27"],
        "{run}"
    );
    let expected = service_lines("nginx:1.27", &old, &new);
    for name in ["web", "worker"] {
        assert_eq!(lines_of(&run, name), expected[1..], "[{name}] lines\n{run}");
        let service = emu.settled_service("demo", name);
        assert_eq!(service["taskDefinition"], new.as_str(), "{service:#}");
        for task in emu.running_tasks("demo", name) {
            assert_eq!(task["taskDefinitionArn"], new.as_str(), "{task:#}");
        }
    }
    assert_eq!(emu.running_tasks("demo", "web").len(), 2);
    assert_eq!(emu.running_tasks("demo", "worker").len(), 1);
}

#[test]
fn one_failing_service_rolls_the_whole_release_back() {
    // worker's new image crashes; web's comes up. Neither breaker rolls back on its own.
    let Some(emu) = Emulator::start(&["--fail-image", "busybox:1.37"]) else {
        return;
    };
    let web_old = demo_service(&emu, false, Breaker::On);
    let worker_definition = json!({
        "family": "worker",
        "containerDefinitions": [{
            "name": "worker",
            "image": "busybox:1.36",
            "memory": 64,
            "essential": true,
        }],
    });
    let worker_old = emu.register(&worker_definition);
    emu.create_service("demo", "worker", &worker_old, 1, Breaker::On);

    // -to (with the script's `-i ignore`): every container keeps its repository, so web
    // gets nginx:1.37 and worker busybox:1.37; two families, so two new revisions.
    let run = emu.ecs_deploy(&[
        "-c",
        "demo",
        "-n",
        "web",
        "-n",
        "worker",
        "-to",
        "1.37",
        "-i",
        "ignore",
        "--enable-rollback",
    ]);

    run.assert_code(1);
    assert!(
        run.stderr.contains("1 of 2 services failed (worker: "),
        "the failed service is not named\n{run}"
    );
    assert!(
        lines_of(&run, "worker").contains(&format!("Rolling back to {worker_old}").as_str()),
        "{run}"
    );
    assert!(
        lines_of(&run, "web").contains(&format!("Rolling back to {web_old}").as_str()),
        "the service that came up is not rolled back with the release\n{run}"
    );
    for (name, old) in [("web", &web_old), ("worker", &worker_old)] {
        let service = emu.settled_service("demo", name);
        assert_eq!(
            service["taskDefinition"],
            old.as_str(),
            "{service:#}\n{run}"
        );
        for task in emu.running_tasks("demo", name) {
            assert_eq!(task["taskDefinitionArn"], old.as_str(), "{task:#}");
        }
    }
}

// -----------------------------------------------------------------------------------------
// Seeing why it failed: ECR pre-flight, container logs, console links
// -----------------------------------------------------------------------------------------

/// The ECR repository of the `api` service, in the emulator's account.
const API_REPOSITORY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api";

/// An awslogs configuration: group `group`, stream prefix `ecs`, region us-east-1.
fn awslogs(group: &str) -> Value {
    json!({
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": group,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs",
        },
    })
}

/// How many requests for `operation` the emulator has answered so far.
fn requests(emulator: &Emulator, operation: &str) -> usize {
    let suffix = format!("request {operation}");
    emulator
        .log()
        .lines()
        .filter(|line| line.ends_with(&suffix))
        .count()
}

/// The stderr lines from the first one equal to `marker` (excluded) to the first after it
/// that does not start with `prefix`.
fn lines_under<'r>(run: &'r Run, marker: &str, prefix: &str) -> Vec<&'r str> {
    run.stderr
        .lines()
        .skip_while(|line| *line != marker)
        .skip(1)
        .take_while(|line| line.starts_with(prefix))
        .collect()
}

#[test]
fn a_missing_ecr_image_is_refused_before_anything_is_registered() {
    let known_old = format!("{API_REPOSITORY}:1.4.1");
    let known_new = format!("{API_REPOSITORY}:1.5.0");
    let Some(emu) = Emulator::start(&["--ecr-image", &known_old, "--ecr-image", &known_new]) else {
        return;
    };
    emu.create_cluster("demo");
    let definition = json!({
        "family": "api",
        "containerDefinitions": [{
            "name": "api",
            "image": known_old,
            "memory": 128,
            "essential": true,
        }],
    });
    let old = emu.register(&definition);
    emu.create_service("demo", "api", &old, 1, Breaker::Off);
    let before = emu.settled_service("demo", "api");
    let registered_before = registers(&emu);

    // A typo in the tag: refused before a revision is registered or the service touched.
    let typo = format!("{API_REPOSITORY}:1.4.3");
    let run = emu.ecs_deploy(&["-c", "demo", "-n", "api", "-i", &typo]);

    run.assert_code(15);
    assert!(
        run.stderr.contains(&format!("image {typo} is not in ECR")),
        "the missing image is not named\n{run}"
    );
    assert!(
        run.stderr.contains("(closest tags: 1.4.1, 1.5.0)"),
        "the repository's tags are not offered\n{run}"
    );
    // The script's lines stop before "New task definition".
    run.assert_stdout(&registered_lines(&typo, &old, &revision(&old, 2))[..2]);
    assert_eq!(registers(&emu), registered_before, "{run}");
    assert_eq!(emu.active_revisions("api"), [old.as_str()], "{run}");
    let after = emu.settled_service("demo", "api");
    assert_eq!(after["taskDefinition"], old.as_str(), "{after:#}");
    assert_eq!(
        after["deployments"][0]["id"], before["deployments"][0]["id"],
        "the service got a new deployment\n{run}"
    );

    // A tag the repository has: the real CLI took the same call, and found the image.
    let checked_before = requests(&emu, "DescribeImages");
    let run = emu.ecs_deploy(&["-c", "demo", "-n", "api", "-i", &known_new]);

    run.assert_code(0);
    let new = revision(&old, 2);
    run.assert_stdout(&service_lines(&known_new, &old, &new));
    assert_eq!(
        requests(&emu, "DescribeImages") - checked_before,
        1,
        "the image was not looked up in ECR\n{run}"
    );
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("note:")),
        "the check did not go through\n{run}"
    );
    let service = emu.settled_service("demo", "api");
    assert_eq!(service["taskDefinition"], new.as_str(), "{service:#}");
    assert_eq!(images(&emu.task_definition(&new)), [known_new.as_str()]);
}

#[test]
fn a_crashed_service_task_shows_its_last_log_lines() {
    let logged = [
        "nginx 1.27 starting",
        "nginx: [emerg] unknown directive \"gzip_statik\" in /etc/nginx/conf.d/app.conf:12",
        "nginx: configuration file /etc/nginx/nginx.conf test failed",
    ];
    let log_lines = format!("web={}", logged.join("|"));
    let Some(emu) = Emulator::start(&["--fail-image", "nginx:1.27", "--log-lines", &log_lines])
    else {
        return;
    };
    emu.create_cluster("demo");
    let mut definition = web_definition("nginx:1.26", false);
    definition["containerDefinitions"][0]["logConfiguration"] = awslogs("/ecs/web");
    let old = emu.register(&definition);
    emu.create_service("demo", "web", &old, 2, Breaker::WithRollback);

    let run = deploy_web(&emu, "nginx:1.27", &[]);

    run.assert_code(1);
    let stopped: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("task ") && line.contains(" stopped: "))
        .collect();
    assert!(!stopped.is_empty(), "no stopped task is reported\n{run}");
    let expected: Vec<String> = logged.iter().map(|l| format!("    web | {l}")).collect();
    for line in &stopped {
        assert!(
            line.ends_with("stopped: Essential container in task exited [web: exit code 1]"),
            "{line}\n{run}"
        );
        assert_eq!(
            lines_under(&run, line, "    "),
            expected,
            "the crashed container's lines are not under {line:?}\n{run}"
        );
    }
    assert!(
        run.stderr.lines().any(|line| line
            == "console: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/demo/services/web/deployments?region=us-east-1"),
        "no console link\n{run}"
    );
    let service = emu.settled_service("demo", "web");
    assert_eq!(service["taskDefinition"], old.as_str(), "{service:#}");
}

#[test]
fn an_ordinary_environment_is_shown_as_it_is_and_only_the_password_is_masked() {
    let password = "hunter2-Pa55word";
    let logged = [
        "starting web in us-east-1 as worker",
        "FATAL: password authentication failed for user app (password hunter2-Pa55word)",
    ];
    let log_lines = format!("web={}", logged.join("|"));
    let Some(emu) = Emulator::start(&["--fail-image", "nginx:1.27", "--log-lines", &log_lines])
    else {
        return;
    };
    emu.create_cluster("demo");
    let mut definition = web_definition("nginx:1.26", false);
    let web = &mut definition["containerDefinitions"][0];
    web["logConfiguration"] = awslogs("/ecs/web");
    web["environment"] = json!([
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "APP_ENV", "value": "production"},
        {"name": "DD_SERVICE", "value": "worker"},
        {"name": "LAST_STATE", "value": "succeeded"},
        {"name": "DB_PASSWORD", "value": password},
    ]);
    let old = emu.register(&definition);
    emu.create_service("demo", "web", &old, 2, Breaker::WithRollback);

    let run = deploy_web(&emu, "nginx:1.27", &["--output", "json"]);

    run.assert_code(1);
    assert!(!run.stdout.contains(password), "{run}");
    assert!(!run.stderr.contains(password), "{run}");
    let result: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    let arn = text(&result["service_arn"]);
    assert!(arn.starts_with("arn:aws:ecs:us-east-1:"), "{run}");
    assert_eq!(result["new_task_definition"], revision(&old, 2).as_str());
    // The circuit breaker rolls back: on a loaded machine its rollback may already be over
    // when the failure is seen.
    let status = text(&result["status"]);
    assert!(status == "failed" || status == "rolled_back", "{run}");
    assert!(
        run.stderr
            .lines()
            .any(|line| line == "    web | starting web in us-east-1 as worker"),
        "{run}"
    );
    assert!(
        run.stderr.lines().any(|line| line
            == "    web | FATAL: password authentication failed for user app (password ****)"),
        "{run}"
    );
}

#[test]
fn a_failing_one_off_task_streams_its_log() {
    let logged = [
        "Connecting to db.internal:5432",
        "Applying 0041_add_email_index ... ok",
        "Applying 0042_orders_currency ... FAILED",
        "ERROR: column \"currency\" of relation \"orders\" already exists",
    ];
    let log_lines = format!("migrate={}", logged.join("|"));
    let Some(emu) = Emulator::start(&["--log-lines", &log_lines]) else {
        return;
    };
    emu.create_cluster("jobs");
    let old = emu.register(&json!({
        "family": "migrate",
        "containerDefinitions": [{
            "name": "migrate",
            "image": "example/migrate:1",
            "memory": 64,
            "essential": true,
            "environment": [{"name": "EMULATOR_EXIT_CODE", "value": "1"}],
            "logConfiguration": awslogs("/ecs/migrate"),
        }],
    }));
    let new = revision(&old, 2);

    let run = emu.ecs_deploy(&[
        "-c",
        "jobs",
        "-d",
        "migrate",
        "-i",
        "example/migrate:2",
        "--run-task",
        "--wait-for-success",
    ]);

    run.assert_code(1);
    let mut expected = run_task_lines("example/migrate:2", &old, &new, &run);
    *expected.last_mut().unwrap() = "Task execution failed with exit code: 1".into();
    run.assert_stdout(&expected);
    // Every line once, in the order logged, all of them before the failure is explained.
    let streamed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("migrate | "))
        .collect();
    let wanted: Vec<String> = logged.iter().map(|l| format!("migrate | {l}")).collect();
    assert_eq!(streamed, wanted, "the task's log is not streamed\n{run}");
    let position = |wanted: &str| {
        run.stderr
            .lines()
            .position(|line| line == wanted)
            .unwrap_or_else(|| panic!("no line {wanted:?}\n{run}"))
    };
    assert!(
        position(&wanted[wanted.len() - 1])
            < position("  container migrate (essential): exit code 1"),
        "the log comes after the failure\n{run}"
    );
    let task = run
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("Executed task: "))
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let console = format!(
        "console: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/jobs/tasks/{task}/configuration?region=us-east-1"
    );
    assert!(
        run.stderr.lines().any(|line| line == console),
        "no console link to the task\n{run}"
    );
}

/// Service web of cluster prod on the CODE_DEPLOY controller (container app:8080), and the
/// CodeDeploy application web-app with group web-dg deploying it, auto rollback on
/// failure; the ARN of web:1.
fn codedeploy_service(emu: &Emulator) -> String {
    emu.create_cluster("prod");
    let mut definition = web_definition("nginx:1.26", false);
    definition["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 8080}]);
    let old = emu.register(&definition);
    let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-web-blue/6d0ecf831eec9f09";
    let container = text(&definition["containerDefinitions"][0]["name"]);
    emu.aws(&[
        "create-service",
        "--cluster",
        "prod",
        "--service-name",
        "web",
        "--task-definition",
        &old,
        "--desired-count",
        "2",
        "--deployment-controller",
        "type=CODE_DEPLOY",
        "--load-balancers",
        &format!("targetGroupArn={tg},containerName={container},containerPort=8080"),
    ]);
    emu.deploy(&[
        "create-application",
        "--application-name",
        "web-app",
        "--compute-platform",
        "ECS",
    ]);
    let lb = json!({"targetGroupPairInfoList": [{"targetGroups": [{"name": "tg-web-blue"}, {"name": "tg-web-green"}],
        "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/5f2e1d0c9b8a7f6e/1a2b3c4d5e6f7a8b"]}}]});
    let bg = json!({"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}});
    emu.deploy(&[
        "create-deployment-group",
        "--application-name",
        "web-app",
        "--deployment-group-name",
        "web-dg",
        "--service-role-arn",
        "arn:aws:iam::123456789012:role/ecsCodeDeployRole",
        "--ecs-services",
        "serviceName=web,clusterName=prod",
        "--deployment-style",
        "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
        "--blue-green-deployment-configuration",
        &bg.to_string(),
        "--auto-rollback-configuration",
        "enabled=true,events=DEPLOYMENT_FAILURE",
        "--load-balancer-info",
        &lb.to_string(),
    ]);
    old
}

#[test]
fn a_codedeploy_blue_green_deploy_succeeds_through_the_real_cli() {
    let Some(emu) = Emulator::start(&["--stage-seconds", "0.3"]) else {
        return;
    };
    let old = codedeploy_service(&emu);
    let run = emu.ecs_deploy(&[
        "-c",
        "prod",
        "-n",
        "web",
        "-i",
        "nginx:1.27",
        "--output",
        "json",
    ]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("CodeDeploy deployment group of web: web-app/web-dg"),
        "{run}"
    );
    assert!(
        run.stderr.contains("Service deployment successful."),
        "{run}"
    );
    let result: Value = serde_json::from_str(&run.stdout).expect("JSON result");
    assert_eq!(result["controller"], "CODE_DEPLOY", "{run}");
    assert_eq!(result["codedeploy"]["status"], "Succeeded", "{run}");
    let service = emu.service("prod", "web");
    assert_eq!(
        service["taskDefinition"],
        revision(&old, 2).as_str(),
        "{service:#}"
    );
}

#[test]
fn a_codedeploy_deploy_with_a_failed_hook_is_rolled_back_by_codedeploy_through_the_real_cli() {
    let Some(emu) = Emulator::start(&[
        "--stage-seconds",
        "0.3",
        "--codedeploy-fail-hook",
        "AfterInstall",
    ]) else {
        return;
    };
    let old = codedeploy_service(&emu);
    let appspec = emu.dir.path().join("appspec.yaml");
    fs::write(
        &appspec,
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\nHooks:\n  - AfterInstall: CodeDeployHook_web_smoke\n",
    )
    .expect("write the AppSpec");
    let path = appspec.display().to_string();
    let run = emu.ecs_deploy(&[
        "-c",
        "prod",
        "-n",
        "web",
        "-i",
        "nginx:1.27",
        "--codedeploy-appspec",
        &path,
        "--enable-rollback",
        "--output",
        "json",
    ]);
    run.assert_code(1);
    assert!(run.stderr.contains("HOOK_EXECUTION_FAILURE"), "{run}");
    assert!(run.stderr.contains("not rolling back twice"), "{run}");
    let result: Value = serde_json::from_str(&run.stdout).expect("JSON result");
    assert_eq!(result["rollback"]["by"], "codedeploy", "{run}");
    // CodeDeploy's rollback puts traffic back on the original task set, which runs web:1.
    let service = emu.service("prod", "web");
    let primary: Vec<&Value> = service["taskSets"]
        .as_array()
        .map(|sets| {
            sets.iter()
                .filter(|set| set["status"] == "PRIMARY")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(primary.len(), 1, "{service:#}");
    assert_eq!(primary[0]["taskDefinition"], old.as_str(), "{service:#}");
}

#[test]
fn a_deploy_to_a_pause_then_continued_through_the_real_cli() {
    let Some(emu) = Emulator::start(&["--stage-seconds", "0.3", "--seconds-per-minute", "1"])
    else {
        return;
    };
    emu.create_cluster("demo");
    let old = emu.register(&web_definition("nginx:1.26", false));
    let input = json!({
        "cluster": "demo", "serviceName": "web", "taskDefinition": old, "desiredCount": 2,
        "deploymentConfiguration": {
            "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                                "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}],
        },
    });
    let url = emu.json_file("service.json", &input);
    emu.aws(&["create-service", "--cli-input-json", &url]);

    let run = deploy_web(&emu, "nginx:1.27", &["--wait-until", "paused"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("the deployment is paused at POST_TEST_TRAFFIC_SHIFT by hook"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("stopped waiting at a pause (--wait-until)"),
        "{run}"
    );

    let run = emu.ecs_deploy(&["-c", "demo", "-n", "web", "--continue-deployment"]);
    run.assert_code(0);
    assert!(run.stderr.contains("released hook"), "{run}");
    let service = emu.settled_service("demo", "web");
    assert_eq!(
        service["taskDefinition"],
        revision(&old, 2).as_str(),
        "{service:#}"
    );
}

#[test]
fn a_credential_process_profile_deploys_through_the_real_cli() {
    let Some(emu) = Emulator::start(&[]) else {
        return;
    };
    let Ok(python) = python() else {
        return;
    };
    let old = demo_service(&emu, false, Breaker::WithRollback);
    let new = revision(&old, 2);
    // The process prints the emulator's dummy credentials and counts its runs.
    let runs = emu.dir.path().join("process-runs");
    let process = emu.dir.path().join("credential-process.py");
    fs::write(
        &process,
        format!(
            "import json\nopen({runs:?}, 'a').write('run\\n')\n\
             print(json.dumps({{'Version': 1, 'AccessKeyId': 'testing', 'SecretAccessKey': 'testing'}}))\n"
        ),
    )
    .expect("write the credential process");
    let config = emu.dir.path().join("aws-config-ci");
    fs::write(
        &config,
        format!(
            "[profile ci]\nregion = us-east-1\ncredential_process = {} {}\n",
            python.display(),
            process.display()
        ),
    )
    .expect("write the AWS config");

    let args = [
        "-c",
        "demo",
        "-n",
        "web",
        "-i",
        "nginx:1.27",
        "-p",
        "ci",
        "-v",
    ];
    let run = emu.ecs_deploy_with(&args, |command| {
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_DEFAULT_REGION")
            .env("AWS_CONFIG_FILE", &config);
    });

    run.assert_code(0);
    run.assert_stdout(&service_lines("nginx:1.27", &old, &new));
    let traced: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("[aws ") && line.contains("] aws "))
        .collect();
    assert!(
        traced[0].ends_with(
            "aws --output json --profile ci configure export-credentials --format process"
        ),
        "{run}"
    );
    let process_runs = fs::read_to_string(&runs)
        .unwrap_or_default()
        .lines()
        .count();
    if traced[0].contains(" exit 0]") {
        // AWS CLI v2: the process ran once, for the export; no later call names the profile.
        assert!(
            traced[1..].iter().all(|line| !line.contains("--profile")),
            "{run}"
        );
        assert_eq!(process_runs, 1, "{run}");
    } else {
        // AWS CLI v1 has no export: every call resolves the profile itself, as before.
        assert!(
            run.stderr.contains("[aws] no credentials exported"),
            "{run}"
        );
        assert!(
            traced[1..].iter().all(|line| line.contains("--profile ci")),
            "{run}"
        );
        assert_eq!(process_runs, traced.len() - 1, "{run}");
    }
}
