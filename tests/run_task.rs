//! `--run-task`: one-off tasks run through the fake `aws`, with and without
//! `--wait-for-success`.

mod common;

use common::{
    CHECK_STREAM, FakeAws, MIGRATE_2, MIGRATE_STREAM, MIGRATE_TASK, NEW_IMAGE, arg_value, argv_of,
    file, finish, fixture, interrupt, scenario, stderr_of as stderr, stdout_of as stdout,
    wait_for_call,
};
use serde_json::{Value, json};

const OLD_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:1";
/// `-c prod -d migrate -i NEW_IMAGE`: the target of every run here.
const MIGRATE: &[&str] = &["-c", "prod", "-d", "migrate", "-i", NEW_IMAGE];

/// The `-d migrate` definitions: the current one (migrate:1) and, once registered, migrate:2.
fn definitions() -> Value {
    json!([
        {"when": {"--task-definition": "migrate"}, "fixture": "describe-task-definition/migrate-1.json"}
    ])
}

/// The same definition, with `check-schema` marked non-essential.
fn definitions_with_optional_check() -> Value {
    let optional = |path: &str| {
        let mut described = fixture(path);
        let containers = described["taskDefinition"]["containerDefinitions"]
            .as_array_mut()
            .expect("containerDefinitions");
        for container in containers {
            if container["name"] == "check-schema" {
                container["essential"] = json!(false);
            }
        }
        described
    };
    json!([
        {"when": {"--task-definition": "migrate"}, "json": optional("describe-task-definition/migrate-1.json")}
    ])
}

/// A get-log-events answer for a forward read of `stream` after `token`.
fn log_page(stream: &str, token: Option<&str>, messages: &[&str], next: &str) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"timestamp": i, "message": m, "ingestionTime": i}))
        .collect();
    json!({
        "when": {"--log-stream-name": stream, "--next-token": token},
        "json": {"events": events, "nextForwardToken": next, "nextBackwardToken": "b/0"}
    })
}

/// A fake answering describe-task-definition with `definitions`, run-task with `run_task`
/// and describe-tasks with `describe_tasks`; the migrate family lists migrate:1 and :2.
fn migrate_scenario(definitions: Value, run_task: Value, describe_tasks: Vec<Value>) -> FakeAws {
    scenario(json!({
        "describe-task-definition": definitions,
        "run-task": [run_task],
        "describe-tasks": describe_tasks,
        "list-task-definitions": [file("list-task-definitions/migrate-active.json")],
        "logs get-log-events": [
            log_page(MIGRATE_STREAM, None, &["Applying migration 0042\n", "Migrations done"], "f/2"),
            log_page(MIGRATE_STREAM, Some("f/2"), &[], "f/2"),
            log_page(CHECK_STREAM, None, &["schema ok"], "f/1"),
            log_page(CHECK_STREAM, Some("f/1"), &[], "f/1"),
        ],
    }))
}

/// The usual scenario: the `-d migrate` definitions, a run-task that starts the task, and
/// these describe-tasks answers.
fn started(describe_tasks: Vec<Value>) -> FakeAws {
    migrate_scenario(
        definitions(),
        file("run-task/migrate-started.json"),
        describe_tasks,
    )
}

/// `ecs-deploy -c prod -d migrate -i NEW_IMAGE --run-task` with quick polling and `-t timeout`,
/// plus `extra`.
fn run_within(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = fake.cmd();
    cmd.args(MIGRATE)
        .arg("--run-task")
        .args(["--poll-interval", "0.1", "-t", timeout])
        .args(extra);
    cmd.assert()
}

/// [`run_within`] with a 20 s timeout.
fn run(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    run_within(fake, "20", extra)
}

/// These lines, each ended by a newline.
fn text_of_lines(text: &[&str]) -> String {
    text.iter().map(|line| format!("{line}\n")).collect()
}

#[test]
fn waits_for_success_with_the_exact_calls_and_lines() {
    let fake = started(vec![
        file("describe-tasks/migrate-pending.json"),
        file("describe-tasks/migrate-running.json"),
        file("describe-tasks/migrate-stopped-ok.json"),
    ]);
    let assert = run(&fake, &["--wait-for-success"]).success();
    assert_eq!(
        stdout(&assert),
        text_of_lines(&[
            &format!("Using image name: {NEW_IMAGE}"),
            &format!("Current task definition: {OLD_ARN}"),
            &format!("New task definition: {MIGRATE_2}"),
            &format!("Run task: {MIGRATE_2}"),
            &format!("Executed task: {MIGRATE_TASK}"),
            "Task finished with status: STOPPED",
            &format!("Task {MIGRATE_TASK} executed successfully!"),
        ])
    );
    // Each essential container's log is followed once the task runs (to the end of its
    // stream), and read a last time once the task stopped.
    let read_to_the_end = ["logs get-log-events"; 4];
    let last_read = ["logs get-log-events"; 2];
    let expected = [
        &[
            "describe-task-definition",
            "register-task-definition",
            "run-task",
            "describe-tasks",
            "describe-tasks",
        ][..],
        &read_to_the_end,
        &["describe-tasks"],
        &last_read,
    ]
    .concat();
    assert_eq!(fake.ops(), expected);
    let reads = fake.calls_of("logs get-log-events");
    let streams: Vec<Option<String>> = reads
        .iter()
        .map(|read| arg_value(read, "--log-stream-name"))
        .collect();
    let (migrate, check) = (
        Some(MIGRATE_STREAM.to_string()),
        Some(CHECK_STREAM.to_string()),
    );
    assert_eq!(
        streams,
        [&migrate, &migrate, &check, &check, &migrate, &check].map(Clone::clone)
    );
    for read in &reads {
        assert_eq!(
            arg_value(read, "--log-group-name").as_deref(),
            Some("/ecs/migrate")
        );
        assert_eq!(arg_value(read, "--region").as_deref(), Some("us-east-1"));
    }
    let err = stderr(&assert);
    assert!(
        err.contains(
            "migrate | Applying migration 0042\nmigrate | Migrations done\ncheck-schema | schema ok\n"
        ),
        "{err}"
    );
    let run_task = &fake.calls_of("run-task")[0];
    assert_eq!(
        argv_of(run_task),
        [
            "--output",
            "json",
            "ecs",
            "run-task",
            "--cluster",
            "prod",
            "--task-definition",
            MIGRATE_2,
        ]
    );
    for poll in fake.calls_of("describe-tasks") {
        assert_eq!(arg_value(&poll, "--cluster").as_deref(), Some("prod"));
        assert_eq!(arg_value(&poll, "--tasks").as_deref(), Some(MIGRATE_TASK));
    }
    let err = stderr(&assert);
    let changes = [
        "Task status: PROVISIONING\n",
        "Task status: PROVISIONING -> PENDING\n",
        "Task status: PENDING -> RUNNING\n",
        "Task status: RUNNING -> STOPPED\n",
    ];
    let mut from = 0;
    for change in changes {
        let at = err[from..]
            .find(change)
            .unwrap_or_else(|| panic!("{change:?} missing (in order) from stderr:\n{err}"));
        from += at + change.len();
    }
}

#[test]
fn without_waiting_the_task_is_started_and_reported() {
    let fake = started(vec![file("describe-tasks/migrate-running.json")]);
    let assert = run(
        &fake,
        &["--launch-type", "FARGATE", "--platform-version", "1.4.0"],
    )
    .success();
    assert!(stdout(&assert).ends_with(&text_of_lines(&[
        &format!("Run task: {MIGRATE_2}"),
        &format!("Executed task: {MIGRATE_TASK}"),
        &format!("Task {MIGRATE_TASK} executed successfully!"),
    ])));
    assert_eq!(
        fake.ops(),
        [
            "describe-task-definition",
            "register-task-definition",
            "run-task"
        ]
    );
    let call = &fake.calls_of("run-task")[0];
    assert_eq!(arg_value(call, "--launch-type").as_deref(), Some("FARGATE"));
    assert_eq!(
        arg_value(call, "--platform-version").as_deref(),
        Some("1.4.0")
    );
    assert_eq!(arg_value(call, "--network-configuration"), None);
}

#[test]
fn a_failing_essential_container_after_the_first_fails_the_run() {
    let fake = started(vec![
        file("describe-tasks/migrate-running.json"),
        file("describe-tasks/migrate-stopped-fail.json"),
    ]);
    let assert = run(&fake, &["--wait-for-success", "--max-definitions", "1"]).code(1);
    let out = stdout(&assert);
    assert!(
        out.ends_with(&text_of_lines(&[
            &format!("Executed task: {MIGRATE_TASK}"),
            "Task finished with status: STOPPED",
            "Task execution failed with exit code: 3",
        ])),
        "stdout:\n{out}"
    );
    assert!(!out.contains("executed successfully"));
    let err = stderr(&assert);
    assert!(err.contains("migrate (essential): exit code 0"), "{err}");
    assert!(
        err.contains("check-schema (essential): exit code 3"),
        "{err}"
    );
    assert!(
        err.contains("Essential container in task exited (stopCode EssentialContainerExited)"),
        "{err}"
    );
    // Old revisions are only pruned after success.
    assert!(fake.calls_of("list-task-definitions").is_empty());
    assert!(fake.calls_of("deregister-task-definition").is_empty());
}

#[test]
fn a_failing_non_essential_container_is_not_a_failure() {
    let fake = migrate_scenario(
        definitions_with_optional_check(),
        file("run-task/migrate-started.json"),
        vec![file("describe-tasks/migrate-stopped-fail.json")],
    );
    let assert = run(&fake, &["--wait-for-success"]).success();
    assert!(stdout(&assert).ends_with(&text_of_lines(&[
        "Task finished with status: STOPPED",
        &format!("Task {MIGRATE_TASK} executed successfully!"),
    ])));
    let err = stderr(&assert);
    assert!(
        err.contains("non-essential container check-schema (non-essential): exit code 3"),
        "{err}"
    );
}

#[test]
fn the_stopped_reason_is_reported() {
    let fake = started(vec![file("describe-tasks/migrate-pull-failed.json")]);
    let assert = run(&fake, &["--wait-for-success", "--output", "json"]).code(1);
    let err = stderr(&assert);
    // With --output json the status lines move to stderr.
    assert!(
        err.contains("Task execution failed with exit code: null\n"),
        "{err}"
    );
    assert!(err.contains("migrate (essential): no exit code, reason: CannotPullContainerError"));
    assert!(
        err.contains("task stopped: CannotPullContainerError"),
        "{err}"
    );
    assert!(err.contains("(stopCode TaskFailedToStart)"), "{err}");
    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["status"], "failed");
    assert_eq!(outcome["task_arn"], MIGRATE_TASK);
    let reason = outcome["failure_reason"].as_str().unwrap();
    assert!(reason.contains("CannotPullContainerError"), "{reason}");
    assert_eq!(outcome["stopped_tasks"][0]["task_arn"], MIGRATE_TASK);
}

#[test]
fn run_task_failures_are_an_error_naming_the_reason() {
    let fake = migrate_scenario(
        definitions(),
        file("run-task/failures.json"),
        vec![file("describe-tasks/migrate-running.json")],
    );
    let assert = run(&fake, &["--wait-for-success", "--max-definitions", "1"]).code(1);
    let out = stdout(&assert);
    assert!(
        out.ends_with(&text_of_lines(&[&format!("Run task: {MIGRATE_2}")])),
        "{out}"
    );
    assert!(!out.contains("Executed task"));
    assert!(!out.contains("null"));
    let err = stderr(&assert);
    assert!(err.contains("RESOURCE:MEMORY"), "{err}");
    assert!(fake.calls_of("describe-tasks").is_empty());
    assert!(fake.calls_of("list-task-definitions").is_empty());
}

#[test]
fn the_network_configuration_reaches_aws_as_one_untouched_argument() {
    let fake = started(vec![file("describe-tasks/migrate-running.json")]);
    let marker = fake.dir().join("pwned");
    let marker_text = marker.display().to_string();
    let config = format!(
        r#"{{"awsvpcConfiguration": {{"subnets": ["subnet-0a1b 2c"], "securityGroups": ["sg-'quoted'"], "assignPublicIp": "DISABLED"}}}} $(touch {marker_text}) `touch {marker_text}` ; touch {marker_text} "it's" é"#
    );
    run(&fake, &["--network-configuration", &config]).success();
    let call = &fake.calls_of("run-task")[0];
    let argv = call["argv"].as_array().unwrap();
    let at = argv
        .iter()
        .position(|a| a == "--network-configuration")
        .expect("--network-configuration passed");
    assert_eq!(argv[at + 1].as_str(), Some(config.as_str()));
    assert_eq!(
        argv.len(),
        at + 2,
        "the configuration must be the last, single argument"
    );
    assert!(!marker.exists(), "something ran the network configuration");
}

#[test]
fn the_network_configuration_file_form_is_passed_as_given() {
    let fake = started(vec![file("describe-tasks/migrate-running.json")]);
    run(
        &fake,
        &["--network-configuration", "file:///etc/ecs/net config.json"],
    )
    .success();
    let call = &fake.calls_of("run-task")[0];
    assert_eq!(
        arg_value(call, "--network-configuration").as_deref(),
        Some("file:///etc/ecs/net config.json")
    );
}

#[test]
fn a_task_that_does_not_stop_in_time_times_out() {
    let fake = started(vec![file("describe-tasks/migrate-running.json")]);
    let assert = run_within(&fake, "1", &["--wait-for-success"]).code(1);
    let out = stdout(&assert);
    assert!(
        out.ends_with(&text_of_lines(&[
            &format!("Executed task: {MIGRATE_TASK}"),
            "ERROR: New task run took longer than 1 seconds",
        ])),
        "{out}"
    );
    assert!(stderr(&assert).contains(MIGRATE_TASK));
    assert!(!fake.calls_of("describe-tasks").is_empty());
}

#[test]
fn transient_describe_tasks_failures_are_retried() {
    let fake = started(vec![
        json!({"exit": 254, "stderr": "An error occurred (ThrottlingException) when calling the DescribeTasks operation (reached max retries: 2): Rate exceeded"}),
        file("describe-tasks/migrate-stopped-ok.json"),
    ]);
    let assert = run(&fake, &["--wait-for-success"]).success();
    assert!(stderr(&assert).contains("describe-tasks failed (transient), will retry"));
    assert_eq!(fake.calls_of("describe-tasks").len(), 2);
}

#[test]
fn old_revisions_are_pruned_after_a_successful_run() {
    let fake = started(vec![file("describe-tasks/migrate-stopped-ok.json")]);
    let assert = run(&fake, &["--wait-for-success", "--max-definitions", "1"]).success();
    assert!(stdout(&assert).ends_with(&text_of_lines(&[
        &format!("Task {MIGRATE_TASK} executed successfully!"),
        &format!("Deregistering outdated task revision: {OLD_ARN}"),
    ])));
    fake.assert_last_task_definition("deregister-task-definition", 1, OLD_ARN);
}

#[test]
fn run_task_options_without_run_task_keep_the_script_exit_codes() {
    let cases: [(&[&str], i32); 4] = [
        (&["--launch-type", "FARGATE"], 10),
        (&["--platform-version", "1.4.0"], 12),
        (
            &[
                "--network-configuration",
                "awsvpcConfiguration={subnets=[s]}",
            ],
            11,
        ),
        (&["--wait-for-success"], 11),
    ];
    for (extra, code) in cases {
        let fake = FakeAws::empty();
        let mut cmd = fake.cmd();
        cmd.args(MIGRATE).args(extra);
        cmd.assert().code(code);
        assert!(fake.calls().is_empty(), "{extra:?} called aws");
    }
}

#[test]
fn a_signal_while_waiting_leaves_the_task_running_and_names_it() {
    let fake = started(vec![file("describe-tasks/migrate-running.json")]);
    let mut command = fake.command();
    command
        .args(MIGRATE)
        .arg("--run-task")
        .args(["--wait-for-success", "--poll-interval", "0.1", "-t", "120"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start ecs-deploy");
    // Wait until the tool polls the task; then interrupt.
    wait_for_call(&fake, &mut child, "describe-tasks");
    interrupt(&child, "-INT");
    let (status, out, err) = finish(child);
    assert_eq!(status.code(), Some(130));
    assert!(err.contains("keeps running"), "{err}");
    assert!(err.contains(MIGRATE_TASK), "{err}");
    assert!(!out.contains("executed successfully"));
}
