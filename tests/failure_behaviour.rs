//! How the binary behaves when what surrounds the deploy goes wrong: an `aws` that hangs,
//! crashes, prints garbage or echoes secrets; signals at each step; closed pipes; text from
//! ECS that looks like a GitHub workflow command. Every run is bounded by a guard, so a
//! regression fails the test instead of hanging it.

mod common;

use std::process::{Child, Stdio};
use std::sync::Once;
use std::time::Duration;

use common::{
    Cli, FakeAws, NEW_IMAGE, OUR_DEPLOYMENT, SERVICE_ARGS, WEB_1, WEB_2, alive, answer,
    assert_no_error_details, crashed_task, file, finish, fixture, from_steady, from_steady_and,
    interrupt, scenario, wait_for_call,
};
use serde_json::{Value, json};

/// The longest any run here may take before the test calls it hung.
const GUARD: Duration = Duration::from_secs(40);
const FAST: &[&str] = &["--poll-interval", "0.05"];

fn deploy(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    adopt_orphans();
    fake.cmd()
        .args(SERVICE_ARGS)
        .args(FAST)
        .args(extra)
        .timeout(GUARD)
        .assert()
}

fn spawn(fake: &FakeAws, args: &[&str]) -> Child {
    adopt_orphans();
    fake.command()
        .args(args)
        .args(FAST)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy")
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    common::stdout_of(assert)
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    common::stderr_of(assert)
}

/// Make this test process the one that inherits the orphans of what it starts: an aws
/// child that ecs-deploy did not reap before it exited then stays here as a zombie, where
/// `assert_nothing_left` sees it. Once set, it holds for the whole process.
fn adopt_orphans() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER sets a flag of this process only.
        let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(set, 0, "cannot adopt orphans");
    });
}

/// Whether `pid` is a zombie that this test process inherited, and reap it if so.
fn inherited_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, rest)| rest.split(' ').collect());
    let ours = std::process::id().to_string();
    if fields.get(..2) != Some(&["Z", ours.as_str()]) {
        return false;
    }
    // SAFETY: waitpid(2) on a zombie child of this process, with no status wanted.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    true
}

/// Whether `pid` is gone, allowing the moment a SIGKILL takes to be delivered.
fn gone(pid: i32) -> bool {
    let since = std::time::Instant::now();
    while alive(pid) {
        if since.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Nothing the fake started is left running, every aws child was reaped by ecs-deploy
/// before it exited, and no input file is left on disk.
fn assert_nothing_left(fake: &FakeAws) {
    for call in fake.calls() {
        let pid = call["pid"].as_i64().expect("logged pid") as i32;
        assert!(gone(pid), "aws child {pid} outlived the run");
        assert!(
            !inherited_zombie(pid),
            "aws child {pid} was not reaped before ecs-deploy exited"
        );
    }
    for pid in fake.grandchildren() {
        assert!(
            gone(pid),
            "a process started by aws ({pid}) outlived the run"
        );
        // Its parent was killed too: it was ours to reap.
        inherited_zombie(pid);
    }
    for path in fake.input_files() {
        assert!(!path.exists(), "{} was left behind", path.display());
    }
    // Nor an aws started ahead and never given its input (it logged no call).
    for pid in started_by(fake) {
        assert!(gone(pid), "an aws started ahead ({pid}) outlived the run");
        inherited_zombie(pid);
    }
}

/// The processes running now with this fake's state directory in their environment.
fn started_by(fake: &FakeAws) -> Vec<i32> {
    let mut needle = b"FAKE_AWS_STATE=".to_vec();
    needle.extend(fake.state_dir().as_os_str().as_encoded_bytes());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|var| var == needle.as_slice())
        })
        .collect()
}

/// web-rolling with our deployment not running any task yet.
fn starting() -> Value {
    let mut value = fixture("describe-services/web-rolling.json");
    let ours = &mut value["services"][0]["deployments"][0];
    ours["runningCount"] = json!(0);
    ours["pendingCount"] = json!(2);
    value
}

const HANG: fn() -> Value = || json!({"hang": true, "grandchild": true});

// ------------------------------------------------------------------ bounded calls

#[test]
fn a_hung_poll_ends_at_the_phase_deadline() {
    let fake = from_steady(&[HANG()]);
    let assert = deploy(&fake, &["-t", "1"]).code(1);
    assert!(
        stdout(&assert).contains("ERROR: New task definition not running within 1 seconds"),
        "{}",
        stdout(&assert)
    );
    assert_nothing_left(&fake);
}

#[test]
fn a_hung_call_outside_a_wait_is_stopped_by_the_call_timeout() {
    let fake = from_steady_and(&[], json!({"register-task-definition": [HANG()]}));
    let assert = deploy(&fake, &["--call-timeout", "1"]).code(255);
    let err = stderr(&assert);
    assert!(
        err.contains("register-task-definition failed: aws gave no answer within 1 seconds"),
        "{err}"
    );
    assert!(fake.calls_of("update-service").is_empty());
    assert_nothing_left(&fake);
}

#[test]
fn a_describe_task_definition_started_ahead_that_hangs_is_stopped_by_the_call_timeout() {
    // Its CLI was started while the service was read; hung once given the name, it is
    // stopped at --call-timeout like any call, and nothing is registered or updated.
    let fake = from_steady_and(&[], json!({"describe-task-definition": [HANG()]}));
    let assert = deploy(&fake, &["--call-timeout", "1"]).code(255);
    let err = stderr(&assert);
    assert!(
        err.contains("describe-task-definition failed: aws gave no answer within 1 seconds"),
        "{err}"
    );
    assert_eq!(fake.calls_of("describe-task-definition").len(), 1);
    assert!(fake.calls_of("register-task-definition").is_empty());
    assert!(fake.calls_of("update-service").is_empty());
    assert_nothing_left(&fake);
}

#[test]
fn a_describe_task_definition_started_ahead_that_answers_garbage_changes_nothing() {
    let fake = from_steady_and(
        &[],
        json!({"describe-task-definition": [{"stdout_raw": "<html>not json"}]}),
    );
    let assert = deploy(&fake, &[]).code(255);
    let err = stderr(&assert);
    assert!(err.contains("describe-task-definition failed"), "{err}");
    assert_eq!(fake.calls_of("describe-task-definition").len(), 1);
    assert!(fake.calls_of("register-task-definition").is_empty());
    assert!(fake.calls_of("update-service").is_empty());
    assert_nothing_left(&fake);
}

#[test]
fn a_call_timeout_that_is_not_a_number_is_a_usage_error() {
    let fake = FakeAws::empty();
    deploy(&fake, &["--call-timeout", "soon"]).code(3);
    deploy(&fake, &["--call-timeout", "0"]).code(3);
    assert!(fake.calls().is_empty());
}

// ----------------------------------------------------------------------- signals

#[test]
fn sigterm_during_register_changes_nothing_and_leaves_nothing() {
    let fake = from_steady_and(&[], json!({"register-task-definition": [HANG()]}));
    let mut child = spawn(&fake, SERVICE_ARGS);
    wait_for_call(&fake, &mut child, "register-task-definition");
    interrupt(&child, "-TERM");
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted during register-task-definition"),
        "{err}"
    );
    assert!(fake.calls_of("update-service").is_empty());
    assert_nothing_left(&fake);
}

#[test]
fn sigterm_during_register_starts_no_one_off_task() {
    let fake = scenario(json!({
        "describe-task-definition": [file("describe-task-definition/migrate-1.json")],
        "register-task-definition": [HANG()],
    }));
    let args = [
        "-c",
        "prod",
        "-d",
        "migrate",
        "-i",
        NEW_IMAGE,
        "--run-task",
        "--wait-for-success",
    ];
    let mut child = spawn(&fake, &args);
    wait_for_call(&fake, &mut child, "register-task-definition");
    interrupt(&child, "-TERM");
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(fake.calls_of("run-task").is_empty(), "{err}");
    assert_nothing_left(&fake);
}

#[test]
fn sigint_during_the_first_describe_registers_nothing() {
    let fake = scenario(json!({"describe-services": [HANG()]}));
    let mut child = spawn(&fake, SERVICE_ARGS);
    wait_for_call(&fake, &mut child, "describe-services");
    interrupt(&child, "-INT");
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted during describe-services"),
        "{err}"
    );
    assert_eq!(fake.ops(), ["describe-services"]);
    assert_nothing_left(&fake);
}

#[test]
fn a_second_signal_stops_at_once_and_says_what_was_changed() {
    let hung_update = json!({"builtin": true, "hang": true, "grandchild": true});
    let fake = from_steady_and(&[], json!({"update-service": [hung_update]}));
    let mut child = spawn(&fake, SERVICE_ARGS);
    wait_for_call(&fake, &mut child, "update-service");
    // update-service decides what the service runs: the first signal lets it finish.
    interrupt(&child, "-TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped on the first signal"
    );
    interrupt(&child, "-TERM");
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    // Whether ECS applied the update is not known: the last line says so, and how to look.
    assert_eq!(
        err.lines().last(),
        Some(
            format!(
                "ecs-deploy: interrupted again; update-service of web to {WEB_2} was sent and may \
                 have been applied; check with: aws ecs describe-services --cluster prod --services web"
            )
            .as_str()
        ),
        "{err}"
    );
    assert_nothing_left(&fake);
}

#[test]
fn a_second_signal_still_renders_the_result_for_json_and_github_actions() {
    // What a cancelled GitHub Actions job does: SIGINT, then SIGTERM while the update the
    // first one let finish is still out.
    let hung_update = json!({"builtin": true, "hang": true});
    let fake = from_steady_and(&[], json!({"update-service": [hung_update]}));
    let outputs = fake.dir().join("github-output");
    let mut child = fake
        .command()
        .args(SERVICE_ARGS)
        .args(FAST)
        .args(["--output", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy");
    wait_for_call(&fake, &mut child, "update-service");
    interrupt(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child, "-TERM");
    let (status, out, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    let result: Value = serde_json::from_str(&out).expect("one JSON object on stdout");
    assert_eq!(result["status"], "interrupted");
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(result["new_task_definition"], WEB_2);
    let reason = result["failure_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("interrupted again; update-service of web to"),
        "{reason}"
    );
    let written = std::fs::read_to_string(&outputs).expect("GITHUB_OUTPUT written");
    assert!(
        written.contains(&format!(
            "task-definition-arn={WEB_2}\nstatus=interrupted\n"
        )),
        "{written}"
    );
    let annotation = err
        .lines()
        .find(|line| line.starts_with("::error title=ecs-deploy interrupted::"))
        .unwrap_or_else(|| panic!("no annotation:\n{err}"));
    assert!(annotation.contains("interrupted again"), "{annotation}");
}

#[test]
fn a_first_signal_ends_with_an_interrupted_result() {
    let fake = from_steady(&[answer(starting())]);
    let mut child = spawn(
        &fake,
        &[SERVICE_ARGS, &["--output", "json", "-t", "60"]].concat(),
    );
    wait_for_call(&fake, &mut child, "update-service");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child, "-INT");
    let (status, out, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    let result: Value = serde_json::from_str(&out).expect("one JSON object on stdout");
    assert_eq!(result["status"], "interrupted");
}

#[test]
fn a_signal_while_waiting_kills_the_poll_started_ahead_and_its_fifo() {
    // Between two polls the CLI of the next one waits for its input: a signal ends the
    // wait, and that process goes with it, unused.
    let fake = from_steady(&[answer(starting())]);
    let mut child = spawn(&fake, &[SERVICE_ARGS, &["-t", "60"]].concat());
    wait_for_call(&fake, &mut child, "update-service");
    // The first poll comes 1 s after update-service; the next one's CLI starts then.
    while fake.calls_of("describe-services").len() < 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // It is the one whose input is a file:// path (the poll just made may still be
    // exiting).
    let fifo_of = |pid: i32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        cmdline
            .split(|b| *b == 0)
            .filter_map(|arg| std::str::from_utf8(arg).ok()?.strip_prefix("file://"))
            .map(std::path::PathBuf::from)
            .next()
    };
    let since = std::time::Instant::now();
    let ahead = loop {
        let ahead: Vec<(i32, std::path::PathBuf)> = started_by(&fake)
            .into_iter()
            .filter_map(|pid| Some((pid, fifo_of(pid)?)))
            .collect();
        if !ahead.is_empty() || since.elapsed() > Duration::from_secs(10) {
            break ahead;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(ahead.len(), 1, "one aws waits for the next poll: {ahead:?}");
    let fifo = &ahead[0].1;
    assert!(fifo.exists(), "{}", fifo.display());
    interrupt(&child, "-TERM");
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(fake.calls_of("describe-services").len(), 2, "{err}");
    assert_nothing_left(&fake);
    assert!(!fifo.exists(), "{} was left behind", fifo.display());
}

// -------------------------------------------------------------------- closed pipes

#[test]
fn a_closed_stderr_does_not_stop_the_deploy() {
    let fake = from_steady(&[answer(starting()), file("describe-services/web-done.json")]);
    let mut child = spawn(&fake, SERVICE_ARGS);
    drop(child.stderr.take());
    let (status, out, _) = finish(child);
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.ends_with("Service deployment successful.\n"), "{out}");
    let ops = fake.ops();
    let updated_at = ops.iter().position(|op| op == "update-service").unwrap();
    assert!(ops[updated_at..].contains(&"describe-services".to_string()));
}

#[test]
fn a_closed_stdout_is_no_crash() {
    let fake = from_steady(&[file("describe-services/web-done.json")]);
    let mut child = spawn(&fake, SERVICE_ARGS);
    drop(child.stdout.take());
    let (status, _, err) = finish(child);
    assert_eq!(status.code(), Some(0), "{err}");

    let mut no_arguments = fake
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy");
    drop(no_arguments.stdout.take());
    let (status, _, err) = finish(no_arguments);
    assert_eq!(status.code(), Some(3), "{err}");
}

// ------------------------------------------------------------- what is printed

#[test]
fn workflow_commands_from_aws_are_inert_under_github_actions() {
    let mut failed = fixture("describe-services/web-failed.json");
    let service = &mut failed["services"][0];
    service["deployments"][0]["rolloutStateReason"] = json!("bad\n::add-mask::x");
    service["events"] = json!([{"id": "e-new", "message": "started\n::warning::pwned\r\u{1b}[2J",
        "createdAt": "2026-11-01T10:00:00Z"}]);
    let fake = from_steady(&[answer(failed)]);
    let assert = fake
        .cmd()
        .args(SERVICE_ARGS)
        .args(FAST)
        .env("GITHUB_ACTIONS", "true")
        .timeout(GUARD)
        .assert()
        .code(1);
    let (out, err) = (stdout(&assert), stderr(&assert));
    for line in out.lines().chain(err.lines()) {
        assert!(
            !line.starts_with("::warning") && !line.starts_with("::add-mask"),
            "live workflow command: {line}\n{err}"
        );
    }
    assert!(
        err.contains("event: started\\n::warning::pwned\\r\\u{1b}[2J"),
        "{err}"
    );
    let first = err.lines().next().unwrap();
    let token = first
        .strip_prefix("::stop-commands::")
        .unwrap_or_else(|| panic!("no stop-commands window: {err}"));
    let resume = format!("::{token}::");
    let resumed_at = err.find(&resume).expect("window closed");
    let annotation_at = err.find("::error title=").expect("annotation");
    assert!(resumed_at < annotation_at, "{err}");
}

#[test]
fn hostile_text_from_aws_is_shown_escaped_in_the_annotation() {
    let failing = json!({"exit": 254, "stderr": "\nAn error occurred (ClientException) when \
        calling the RegisterTaskDefinition operation: bad \u{1b}[2Jimage\u{2028}::warning::x \
        \u{202e}gpj.exe 100%"});
    let fake = from_steady_and(&[], json!({"register-task-definition": [failing]}));
    let assert = fake
        .cmd()
        .args(SERVICE_ARGS)
        .args(FAST)
        .env("GITHUB_ACTIONS", "true")
        .timeout(GUARD)
        .assert()
        .code(254);
    let err = stderr(&assert);
    let annotation = err
        .lines()
        .find(|l| l.starts_with("::error title="))
        .unwrap_or_else(|| panic!("no annotation:\n{err}"));
    assert!(
        annotation.ends_with("bad \\u{1b}[2Jimage\\u{2028}::warning::x \\u{202e}gpj.exe 100%25"),
        "{annotation}"
    );
    for raw in ['\u{1b}', '\u{2028}', '\u{202e}'] {
        assert!(!err.contains(raw), "{raw:?} printed raw:\n{err}");
    }
}

#[test]
fn secrets_echoed_by_aws_are_redacted_everywhere() {
    // A validation error, whose last line is the reason printed: the echo.
    let failing = json!({"exit": 252, "stderr": "\nParameter validation failed:\nInvalid type \
        for parameter containerDefinitions[0].environment", "echo_secrets": true});
    let fake = from_steady_and(&[], json!({"register-task-definition": [failing]}));
    let secret = "wJalrXUtnFEMI-secret-key";
    let assert = deploy(
        &fake,
        &["-k", "AKIAFAKEKEY123", "-s", secret, "--output", "json"],
    )
    .code(252);
    let printed = format!("{}{}", stdout(&assert), stderr(&assert));
    for leaked in [secret, "s3cr3t-db-pass", "tok-should-never-leak"] {
        assert!(!printed.contains(leaked), "{leaked} printed:\n{printed}");
    }
    assert!(printed.contains("echo of"), "{printed}");
}

// ------------------------------------------------------------- unreadable answers

#[test]
fn garbage_poll_answers_are_failed_polls() {
    let fake = from_steady(&[
        json!({"stdout_raw": "<html>502 Bad Gateway</html>"}),
        json!({"stdout_raw": ""}),
        json!({"signal": 9}),
        answer(json!({"services": [], "failures": []})),
        file("describe-services/web-done.json"),
    ]);
    let assert = deploy(&fake, &["-t", "20"]).success();
    let err = stderr(&assert);
    assert_eq!(
        err.matches("describe-services failed (transient), will retry")
            .count(),
        4,
        "{err}"
    );
    assert!(err.contains("aws was killed by signal 9"), "{err}");
}

#[test]
fn an_unreadable_update_answer_still_counts_as_an_update() {
    let fake = from_steady_and(
        &[file("describe-services/web-done.json")],
        json!({"update-service": [{"stdout_raw": "<html>oops"}]}),
    );
    let assert = deploy(&fake, &[]).success();
    let err = stderr(&assert);
    assert!(
        err.contains("note: ECS accepted update-service, but its answer could not be read"),
        "{err}"
    );
    assert!(stdout(&assert).contains("Service deployment successful."));
}

#[test]
fn a_missing_desired_count_does_not_skip_the_running_check() {
    let mut service = fixture("describe-services/web-rolling.json")["services"][0].take();
    service.as_object_mut().unwrap().remove("desiredCount");
    let fake = from_steady_and(
        &[file("describe-services/web-done.json")],
        json!({"update-service": [answer(json!({"service": service}))]}),
    );
    let assert = deploy(&fake, &[]).success();
    let out = stdout(&assert);
    assert!(!out.contains("Skipping check"), "{out}");
    assert!(out.contains("Service updated successfully, new task definition running."));
}

// ------------------------------------------------------------------ saying why

#[test]
fn a_timeout_lists_the_stopped_tasks_ecs_did_not_count() {
    let fake = from_steady_and(
        &[answer(starting())],
        json!({
            "list-tasks": [file("list-tasks/new-one.json")],
            "describe-tasks": [file("describe-tasks/new-pull-failed.json")],
        }),
    );
    let assert = deploy(&fake, &["-t", "1"]).code(1);
    let err = stderr(&assert);
    assert!(
        err.contains("task 7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f stopped: CannotPullContainerError"),
        "{err}"
    );
    let listed = fake.calls_of("list-tasks");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        common::arg_value(&listed[0], "--desired-status").as_deref(),
        Some("STOPPED")
    );
}

#[test]
fn an_aws_killed_by_a_signal_is_named() {
    let fake = scenario(json!({"describe-services": [{"signal": 9}]}));
    let assert = deploy(&fake, &[]).code(255);
    assert!(
        stderr(&assert).contains("describe-services failed: aws was killed by signal 9"),
        "{}",
        stderr(&assert)
    );
}

#[test]
fn an_empty_task_definition_answer_is_an_aws_failure_not_a_usage_error() {
    let fake = scenario(json!({"describe-task-definition": [{"stdout_raw": ""}]}));
    let assert = fake
        .cmd()
        .args(["-d", "web", "-i", NEW_IMAGE])
        .timeout(GUARD)
        .assert()
        .code(255);
    assert!(
        stderr(&assert)
            .contains("describe-task-definition failed: the answer holds no taskDefinition"),
        "{}",
        stderr(&assert)
    );
}

#[test]
fn a_throttled_update_says_the_new_revision_is_unused() {
    for cli in Cli::BOTH {
        let throttled = json!({"exit": 254, "stderr": "An error occurred (ThrottlingException) when \
            calling the UpdateService operation (reached max retries: 2): Rate exceeded"});
        let fake = from_steady_and(&[], json!({"update-service": [throttled]})).with_cli(cli);
        let assert = deploy(&fake, &[]).code(254);
        let err = stderr(&assert);
        assert_eq!(fake.calls_of("update-service").len(), 4, "{cli:?}: {err}");
        assert_eq!(
            err.matches("aws ecs update-service was throttled; retrying")
                .count(),
            3,
            "{cli:?}: {err}"
        );
        assert_eq!(
            err.lines().last(),
            Some(
                format!(
                    "ecs-deploy: {WEB_2} is registered but unused; the service still runs {WEB_1}"
                )
                .as_str()
            ),
            "{cli:?}: {err}"
        );
        assert!(!err.contains(OUR_DEPLOYMENT));
        assert_no_error_details(&err);
    }
}

#[test]
fn a_signal_while_crash_logs_explain_a_failure_stops_their_reads_and_leaves_nothing() {
    // The rollout failed at the first poll; two crashed tasks are explained, and their log
    // reads (side by side) never answer. A signal ends them at once, not at their budget.
    let (arns, tasks): (Vec<String>, Vec<Value>) = (1..=2).map(crashed_task).unzip();
    let fake = from_steady_and(
        &[file("describe-services/web-failed.json")],
        json!({
            "describe-task-definition": [file("describe-task-definition/web-1-awslogs.json")],
            "list-tasks": [answer(json!({"taskArns": arns}))],
            "describe-tasks": [answer(json!({"tasks": tasks, "failures": []}))],
            "logs get-log-events": [HANG()],
        }),
    );
    let mut child = spawn(&fake, SERVICE_ARGS);
    wait_for_call(&fake, &mut child, "logs get-log-events");
    let signalled = std::time::Instant::now();
    interrupt(&child, "-TERM");
    let (status, _, err) = finish(child);
    assert!(signalled.elapsed() < Duration::from_secs(8), "{err}");
    assert_ne!(status.code(), Some(0), "{err}");
    let told = err.lines().filter(|l| l.contains(" stopped: ")).count();
    assert_eq!(told, 2, "{err}");
    assert_nothing_left(&fake);
}
