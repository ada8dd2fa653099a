//! Seeing why a deploy failed, against the fake `aws`: the log lines of a failed one-off
//! task (streamed while it runs) and of a crashed service task (its last lines, under its
//! stopped-task line), the console link of what failed, and the ECR pre-flight that stops
//! a deploy of an image that does not exist before anything is registered.

mod common;

use common::{
    CHECK_STREAM, FakeAws, MIGRATE_2, MIGRATE_STREAM, MIGRATE_TASK, NEW_IMAGE, SERVICE_ARGS,
    TASK_B, TASK_B_STOPPED, WEB_1, WEB_2, answer, arg_value, argv_of, file, fixture,
    from_steady_and, lines, scenario, stderr_of as stderr, stdout_of as stdout, task_b_crashed,
};
use serde_json::{Value, json};

// ------------------------------------------------------------------ one-off tasks

/// `-c prod -d migrate -i NEW_IMAGE --run-task --wait-for-success`, polling quickly.
const RUN_MIGRATION: &[&str] = &[
    "-c",
    "prod",
    "-d",
    "migrate",
    "-i",
    NEW_IMAGE,
    "--run-task",
    "--wait-for-success",
    "--poll-interval",
    "0.1",
];

/// [`RUN_MIGRATION`] against `fake` with a `timeout`-second wait, not yet run.
fn run_migration(fake: &FakeAws, timeout: &str) -> assert_cmd::Command {
    let mut cmd = fake.cmd();
    cmd.args(RUN_MIGRATION).args(["-t", timeout]);
    cmd
}
/// Where the two essential containers of migrate-1 log: group `/ecs/migrate`, stream
/// `PREFIX/CONTAINER/TASK_ID` ([`MIGRATE_STREAM`], [`CHECK_STREAM`]).
const MIGRATE_GROUP: &str = "/ecs/migrate";
const TASK_CONSOLE: &str = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/\
                            9f8e7d6c5b4a39281706f5e4d3c2b1a0/configuration?region=us-east-1";

/// A get-log-events answer with these messages, for the reads of `stream` that match
/// `when` as well; `next` is the forward token handed back.
fn events(stream: &str, when: Value, messages: &[&str], next: &str) -> Value {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            json!({"timestamp": 1_764_151_000_000_u64 + i as u64, "message": message,
                   "ingestionTime": 1_764_151_000_500_u64 + i as u64})
        })
        .collect();
    let mut when = when;
    when["--log-stream-name"] = json!(stream);
    json!({
        "when": when,
        "json": {"events": events, "nextForwardToken": next, "nextBackwardToken": "b/00000000"}
    })
}

/// A forward read of `stream` after the forward token `token` (`None`: from its start).
fn forward(stream: &str, token: Option<&str>, messages: &[&str], next: &str) -> Value {
    events(stream, json!({"--next-token": token}), messages, next)
}

/// A failed get-log-events call, as the CLI reports `exception`.
fn log_error(exception: &str, message: &str) -> Value {
    json!({
        "exit": 254,
        "stderr": format!(
            "\nAn error occurred ({exception}) when calling the GetLogEvents operation: {message}"
        )
    })
}

/// migrate:2's task stopped because `migrate` exited 1; `check-schema`, which waits for
/// migrate's success, never started (no exit code).
fn migration_failed() -> Value {
    let mut described = fixture("describe-tasks/migrate-stopped-fail.json");
    for container in described["tasks"][0]["containers"]
        .as_array_mut()
        .expect("containers")
    {
        match container["name"].as_str() {
            Some("migrate") => container["exitCode"] = json!(1),
            _ => {
                container.as_object_mut().unwrap().remove("exitCode");
            }
        }
    }
    described
}

/// A migration that runs, logs its lines and fails.
fn failing_migration() -> FakeAws {
    migration(
        vec![
            file("describe-tasks/migrate-running.json"),
            json!({"json": migration_failed()}),
        ],
        failing_migration_logs(),
    )
}

/// The `-d migrate` run: migrate-1 described, the task started, these describe-tasks
/// answers and these get-log-events answers.
fn migration(describe_tasks: Vec<Value>, log_events: Vec<Value>) -> FakeAws {
    scenario(json!({
        "describe-task-definition": [file("describe-task-definition/migrate-1.json")],
        "run-task": [file("run-task/migrate-started.json")],
        "describe-tasks": describe_tasks,
        "logs get-log-events": log_events,
    }))
}

/// Each of `wanted` is a whole line of `text`, in this order (other lines may come between).
fn assert_lines_in_order(text: &str, wanted: &[&str]) {
    let all = lines(text);
    let mut from = 0;
    for line in wanted {
        let at = all[from..]
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} missing (in order) from:\n{text}"));
        from += at + 1;
    }
}

/// The lines of `text` that show a container's log line (`NAME | text`).
fn log_lines(text: &str) -> Vec<&str> {
    lines(text)
        .into_iter()
        .filter(|line| line.contains(" | "))
        .collect()
}

/// The `--next-token` of each get-log-events call, in order.
fn next_tokens(fake: &FakeAws) -> Vec<Option<String>> {
    fake.calls_of("logs get-log-events")
        .iter()
        .map(|call| arg_value(call, "--next-token"))
        .collect()
}

/// The migration's log: two lines, then the end of the stream; check-schema never wrote one.
fn failing_migration_logs() -> Vec<Value> {
    vec![
        forward(
            MIGRATE_STREAM,
            None,
            &[
                "Applying migration 0042_add_email_index\n",
                "ERROR: column \"email\" does not exist\n",
            ],
            "f/2",
        ),
        forward(MIGRATE_STREAM, Some("f/2"), &[], "f/2"),
        json!({
            "when": {"--log-stream-name": CHECK_STREAM},
            "exit": 254,
            "stderr": "\nAn error occurred (ResourceNotFoundException) when calling the \
                       GetLogEvents operation: The specified log stream does not exist."
        }),
    ]
}

#[test]
fn a_failed_one_off_task_shows_its_log_lines_before_the_verdict_and_links_the_task() {
    let fake = failing_migration();
    let assert = run_migration(&fake, "60")
        .args(["--output", "json"])
        .assert()
        .code(1);
    let err = stderr(&assert);
    // With --output json the script's lines share stderr with the log lines: the log
    // comes first, then the verdict, then where to look.
    assert_lines_in_order(
        &err,
        &[
            &format!("Executed task: {MIGRATE_TASK}"),
            "Task status: PROVISIONING -> RUNNING",
            "migrate | Applying migration 0042_add_email_index",
            "migrate | ERROR: column \"email\" does not exist",
            "Task status: RUNNING -> STOPPED",
            "Task finished with status: STOPPED",
            "Task execution failed with exit code: 1",
            &format!("console: {TASK_CONSOLE}"),
        ],
    );
    assert_eq!(
        log_lines(&err),
        [
            "migrate | Applying migration 0042_add_email_index",
            "migrate | ERROR: column \"email\" does not exist",
        ],
        "each line once:\n{err}"
    );
    // The container that never started has no stream: one note once the task stopped.
    let missing = format!(
        "note: container check-schema: no log stream '{CHECK_STREAM}' in log group '{MIGRATE_GROUP}'"
    );
    assert_eq!(err.matches(&missing).count(), 1, "{err}");

    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["status"], "failed");
    assert_eq!(outcome["task_arn"], MIGRATE_TASK);
    assert_eq!(outcome["console_url"], TASK_CONSOLE);

    // The first read: the migrate container's stream, from its start, in the log
    // configuration's region.
    let reads = fake.calls_of("logs get-log-events");
    assert_eq!(
        argv_of(&reads[0]),
        [
            "--output",
            "json",
            "--region",
            "us-east-1",
            "logs",
            "get-log-events",
            "--log-group-name",
            MIGRATE_GROUP,
            "--log-stream-name",
            MIGRATE_STREAM,
            "--start-from-head",
        ]
    );
    for read in &reads {
        assert_eq!(
            arg_value(read, "--log-group-name").as_deref(),
            Some(MIGRATE_GROUP)
        );
        assert_eq!(arg_value(read, "--region").as_deref(), Some("us-east-1"));
    }
}

#[test]
fn a_failed_one_off_task_keeps_the_script_lines_on_stdout_and_links_the_task_on_stderr() {
    let fake = failing_migration();
    let assert = run_migration(&fake, "60").assert().code(1);
    assert!(stdout(&assert).ends_with(&format!(
        "Run task: {MIGRATE_2}\nExecuted task: {MIGRATE_TASK}\nTask finished with status: STOPPED\n\
         Task execution failed with exit code: 1\n"
    )));
    let err = stderr(&assert);
    assert_lines_in_order(
        &err,
        &[
            "migrate | Applying migration 0042_add_email_index",
            "migrate | ERROR: column \"email\" does not exist",
            &format!("console: {TASK_CONSOLE}"),
        ],
    );
    assert!(!stdout(&assert).contains(" | "), "log lines go to stderr");
}

#[test]
fn a_running_one_off_task_is_streamed_poll_after_poll_following_the_forward_token() {
    let fake = migration(
        vec![
            json!({"fixture": "describe-tasks/migrate-pending.json", "times": 2}),
            json!({"fixture": "describe-tasks/migrate-running.json", "times": 2}),
            file("describe-tasks/migrate-stopped-ok.json"),
        ],
        vec![
            forward(MIGRATE_STREAM, None, &["migrating 1/2\n"], "f/1"),
            // Nothing new at the first poll; one more line at the next.
            json!({"times": 1, "when": {"--log-stream-name": MIGRATE_STREAM, "--next-token": "f/1"},
                   "json": {"events": [], "nextForwardToken": "f/1"}}),
            forward(MIGRATE_STREAM, Some("f/1"), &["migrating 2/2\n"], "f/2"),
            forward(MIGRATE_STREAM, Some("f/2"), &[], "f/2"),
            forward(CHECK_STREAM, None, &["schema matches\n"], "c/1"),
            forward(CHECK_STREAM, Some("c/1"), &[], "c/1"),
        ],
    );
    let assert = run_migration(&fake, "60").assert().success();

    let reads = ["logs get-log-events"; 4];
    let expected = [
        &[
            "describe-task-definition",
            "register-task-definition",
            "run-task",
            // PENDING twice: no log is read while the task starts.
            "describe-tasks",
            "describe-tasks",
            // RUNNING: migrate to the end of its stream (two reads), check-schema too.
            "describe-tasks",
        ][..],
        &reads,
        // RUNNING: migrate's next line (then the end), check-schema has nothing new.
        &["describe-tasks"],
        &reads[..3],
        // STOPPED: one last read of each.
        &["describe-tasks"],
        &reads[..2],
    ]
    .concat();
    assert_eq!(fake.ops(), expected);
    let (f1, f2, c1) = (
        Some("f/1".to_string()),
        Some("f/2".to_string()),
        Some("c/1".to_string()),
    );
    assert_eq!(
        next_tokens(&fake),
        [
            None,
            f1.clone(),
            None,
            c1.clone(),
            f1,
            f2.clone(),
            c1.clone(),
            f2,
            c1
        ]
    );
    let streams: Vec<Option<String>> = fake
        .calls_of("logs get-log-events")
        .iter()
        .map(|read| arg_value(read, "--log-stream-name"))
        .collect();
    let (m, c) = (
        Some(MIGRATE_STREAM.to_string()),
        Some(CHECK_STREAM.to_string()),
    );
    assert_eq!(
        streams,
        [&m, &m, &c, &c, &m, &m, &c, &m, &c].map(Clone::clone)
    );
    for read in fake.calls_of("logs get-log-events") {
        assert!(argv_of(&read).contains(&"--start-from-head"), "{read}");
        assert_eq!(arg_value(&read, "--limit"), None);
    }
    let err = stderr(&assert);
    assert_eq!(
        log_lines(&err),
        [
            "migrate | migrating 1/2",
            "check-schema | schema matches",
            "migrate | migrating 2/2",
        ],
        "{err}"
    );
    assert_lines_in_order(
        &err,
        &[
            "Task status: PENDING -> RUNNING",
            "migrate | migrating 1/2",
            "migrate | migrating 2/2",
            "Task status: RUNNING -> STOPPED",
        ],
    );
    assert!(!err.contains("note:"), "{err}");
    assert!(!err.contains("console:"), "no link after a success:\n{err}");
}

#[test]
fn a_one_off_task_that_outlives_the_timeout_is_linked_too() {
    let fake = migration(
        vec![file("describe-tasks/migrate-running.json")],
        vec![
            forward(MIGRATE_STREAM, None, &[], "f/0"),
            forward(CHECK_STREAM, None, &[], "c/0"),
        ],
    );
    let assert = run_migration(&fake, "1")
        .args(["--output", "json"])
        .assert()
        .code(1);
    let err = stderr(&assert);
    assert!(err.contains(&format!("console: {TASK_CONSOLE}\n")), "{err}");
    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["status"], "timed_out");
    assert_eq!(outcome["console_url"], TASK_CONSOLE);
}

#[test]
fn a_one_off_task_with_log_lines_zero_reads_no_log() {
    let fake = failing_migration();
    let assert = run_migration(&fake, "60")
        .args(["--log-lines", "0"])
        .assert()
        .code(1);
    assert!(fake.calls_of("logs get-log-events").is_empty());
    let err = stderr(&assert);
    assert!(log_lines(&err).is_empty(), "{err}");
    assert!(err.contains(&format!("console: {TASK_CONSOLE}\n")), "{err}");
}

/// A log line of 1 MiB, as a program that logs a whole payload on one line writes it.
fn megabyte_line() -> String {
    "x".repeat(1 << 20)
}

/// One printed log line, `PREFIX` then at most 2 KiB of text, cut and saying how long
/// the line was.
fn assert_cut(line: &str, prefix: &str) {
    let text = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} does not start {line:?}"));
    assert!(text.ends_with("x ... (1048576 bytes)"), "{text}");
    assert!(text.len() <= 2048, "{} bytes printed", text.len());
    assert!(text.starts_with("xxxxxxxx"), "{text}");
}

#[test]
fn a_megabyte_log_line_of_a_one_off_task_is_cut_at_2_kib() {
    let big = megabyte_line();
    let mut logs = failing_migration_logs();
    logs[0] = forward(
        MIGRATE_STREAM,
        None,
        &[&big, "ERROR: out of memory\n"],
        "f/2",
    );
    let fake = migration(
        vec![
            file("describe-tasks/migrate-running.json"),
            json!({"json": migration_failed()}),
        ],
        logs,
    );
    let assert = run_migration(&fake, "60").assert().code(1);
    let err = stderr(&assert);
    assert!(err.len() < 16 * 1024, "{} bytes on stderr", err.len());
    let shown = log_lines(&err);
    assert_eq!(shown.len(), 2, "{err}");
    assert_cut(shown[0], "migrate | ");
    assert_eq!(shown[1], "migrate | ERROR: out of memory");
}

// ------------------------------------------------------------------ service tasks

/// Where `app` of web-1-awslogs logs in task B.
const WEB_GROUP: &str = "/ecs/web";
const APP_STREAM_B: &str = "web/app/7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f";
const SERVICE_CONSOLE: &str = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/\
                               services/web/deployments?region=us-east-1";

/// The last lines of task B's `app` before it exited.
const CRASH: &[&str] = &[
    "Starting web-app 2.0.0 on :8080\n",
    "Connecting to postgres at db.internal:5432\n",
    "Error: connect ECONNREFUSED 10.0.3.7:5432\n",
    "    at TCPConnectWrap.afterConnectOk (node:net:1607:16)\n",
];

/// A newest-lines read of `stream` (`--limit`, no token).
fn newest(stream: &str, messages: &[&str]) -> Value {
    events(
        stream,
        json!({"--start-from-head": false}),
        messages,
        "f/00000042",
    )
}

/// web-rolling (our deployment runs a task) with `failed` failed tasks.
fn rolling_with_failures(failed: i64) -> Value {
    let mut value = fixture("describe-services/web-rolling.json");
    value["services"][0]["deployments"][0]["failedTasks"] = json!(failed);
    value
}

/// A rollout that fails: the circuit breaker gave up on web:2 after task B crashed.
fn failed_rollout(log_events: Vec<Value>) -> FakeAws {
    from_steady_and(
        &[file("describe-services/web-failed.json")],
        task_b_crashed(log_events),
    )
}

/// A rollout that succeeds although task B crashed on the way.
fn rollout_with_a_crash(log_events: Vec<Value>) -> FakeAws {
    from_steady_and(
        &[
            json!({"json": rolling_with_failures(1)}),
            file("describe-services/web-done.json"),
        ],
        task_b_crashed(log_events),
    )
}

/// `ecs-deploy -c prod -n web -i NEW_IMAGE`, polling quickly, plus `extra`.
fn deploy(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = fake.cmd();
    cmd.args(SERVICE_ARGS)
        .args(["--poll-interval", "0.1", "-t", "60"])
        .args(extra)
        .assert()
}

/// The stderr lines from `first` on, `count` of them.
fn lines_from<'a>(text: &'a str, first: &str, count: usize) -> Vec<&'a str> {
    let all = lines(text);
    let at = all
        .iter()
        .position(|line| *line == first)
        .unwrap_or_else(|| panic!("{first:?} missing from:\n{text}"));
    all[at..].iter().take(count).copied().collect()
}

#[test]
fn a_crashed_service_task_shows_its_last_lines_under_its_stopped_line() {
    let fake = failed_rollout(vec![newest(APP_STREAM_B, CRASH)]);
    let assert = deploy(&fake, &[]).code(1);
    let err = stderr(&assert);
    assert_eq!(
        lines_from(&err, TASK_B_STOPPED, 5),
        [
            TASK_B_STOPPED,
            "    app | Starting web-app 2.0.0 on :8080",
            "    app | Connecting to postgres at db.internal:5432",
            "    app | Error: connect ECONNREFUSED 10.0.3.7:5432",
            "    app |     at TCPConnectWrap.afterConnectOk (node:net:1607:16)",
        ],
        "{err}"
    );
    assert_eq!(log_lines(&err).len(), 4, "each line once:\n{err}");
    assert!(
        err.contains(&format!("console: {SERVICE_CONSOLE}\n")),
        "{err}"
    );

    assert_eq!(
        fake.ops(),
        [
            "describe-services",
            "describe-task-definition",
            "register-task-definition",
            "update-service",
            "describe-services",
            "list-tasks",
            "describe-tasks",
            "logs get-log-events",
        ]
    );
    // The newest 20 lines of app's stream in task B, in the log configuration's region.
    let read = &fake.calls_of("logs get-log-events")[0];
    assert_eq!(
        argv_of(read),
        [
            "--output",
            "json",
            "--region",
            "us-east-1",
            "logs",
            "get-log-events",
            "--log-group-name",
            WEB_GROUP,
            "--log-stream-name",
            APP_STREAM_B,
            "--limit",
            "20",
        ]
    );
    // The log configuration came with the registered revision.
    assert_eq!(
        fake.registered()[0]["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-stream-prefix"],
        "web"
    );
}

#[test]
fn the_failed_service_is_linked_in_the_json_outcome() {
    let fake = failed_rollout(vec![newest(APP_STREAM_B, CRASH)]);
    let assert = deploy(&fake, &["--output", "json"]).code(1);
    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["status"], "failed");
    assert_eq!(outcome["console_url"], SERVICE_CONSOLE);
    assert_eq!(outcome["stopped_tasks"][0]["task_arn"], TASK_B);
}

#[test]
fn log_lines_are_redacted_and_each_stays_one_line() {
    // web-1's environment holds DB_PASSWORD; a crashing app may well print it. A message
    // holding a line break must not be able to pass for a line of the tool's own.
    let fake = failed_rollout(vec![newest(
        APP_STREAM_B,
        &[
            "login failed for user web with password s3cr3t-db-pass\n",
            "retrying\nService deployment successful.\n",
        ],
    )]);
    let assert = deploy(&fake, &[]).code(1);
    let err = stderr(&assert);
    assert_eq!(
        lines_from(&err, TASK_B_STOPPED, 3)[1..],
        [
            "    app | login failed for user web with password ****",
            "    app | retrying\\nService deployment successful.",
        ]
    );
    assert!(!err.contains("s3cr3t-db-pass"), "{err}");
    assert!(!lines(&err).contains(&"Service deployment successful."));
}

#[test]
fn a_megabyte_log_line_of_a_crashed_task_is_cut_at_2_kib() {
    let big = megabyte_line();
    let fake = failed_rollout(vec![newest(
        APP_STREAM_B,
        &["Starting web-app 2.0.0 on :8080\n", &big, "exiting\n"],
    )]);
    let assert = deploy(&fake, &[]).code(1);
    let err = stderr(&assert);
    assert!(err.len() < 16 * 1024, "{} bytes on stderr", err.len());
    let shown = lines_from(&err, TASK_B_STOPPED, 4);
    assert_eq!(shown[1], "    app | Starting web-app 2.0.0 on :8080");
    assert_cut(shown[2], "    app | ");
    assert_eq!(shown[3], "    app | exiting");
    assert_eq!(log_lines(&err).len(), 3, "each line once:\n{err}");
}

#[test]
fn hostile_text_in_a_log_line_is_printed_escaped() {
    // A terminal escape that clears the screen, a line separator, and a right-to-left
    // override that would show "gpj.exe" as "exe.jpg".
    let fake = failed_rollout(vec![newest(
        APP_STREAM_B,
        &[
            "\u{1b}[2Jcleared\u{2028}Service deployment successful.\u{2029}open \u{202e}gpj.exe\u{2066}\u{9b}\n",
        ],
    )]);
    let assert = deploy(&fake, &[]).code(1);
    let err = stderr(&assert);
    assert_eq!(
        lines_from(&err, TASK_B_STOPPED, 2)[1],
        "    app | \\u{1b}[2Jcleared\\u{2028}Service deployment successful.\\u{2029}open \\u{202e}gpj.exe\\u{2066}\\u{9b}"
    );
    for raw in [
        '\u{1b}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}', '\u{9b}',
    ] {
        assert!(!err.contains(raw), "{raw:?} printed raw:\n{err}");
    }
}

#[test]
fn a_service_that_does_not_start_in_time_is_linked() {
    let mut starting = fixture("describe-services/web-rolling.json");
    let ours = &mut starting["services"][0]["deployments"][0];
    ours["runningCount"] = json!(0);
    ours["pendingCount"] = json!(2);
    let fake = from_steady_and(
        &[json!({"json": starting})],
        json!({
            "describe-task-definition": [file("describe-task-definition/web-1-awslogs.json")],
            "list-tasks": [file("list-tasks/empty.json")],
        }),
    );
    let mut cmd = fake.cmd();
    let assert = cmd
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.1", "-t", "1", "--output", "json"])
        .assert()
        .code(1);
    let err = stderr(&assert);
    assert!(
        err.contains(&format!("console: {SERVICE_CONSOLE}\n")),
        "{err}"
    );
    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["console_url"], SERVICE_CONSOLE);
    // No task stopped: there is no log to read.
    assert!(fake.calls_of("logs get-log-events").is_empty());
}

#[test]
fn log_lines_sets_how_many_lines_are_read() {
    let fake = rollout_with_a_crash(vec![newest(APP_STREAM_B, &CRASH[3..])]);
    let assert = deploy(&fake, &["--log-lines", "5"]).success();
    let reads = fake.calls_of("logs get-log-events");
    assert_eq!(reads.len(), 1);
    assert_eq!(arg_value(&reads[0], "--limit").as_deref(), Some("5"));
    assert_eq!(
        arg_value(&reads[0], "--log-stream-name").as_deref(),
        Some(APP_STREAM_B)
    );
    assert_eq!(
        lines_from(&stderr(&assert), TASK_B_STOPPED, 2),
        [
            TASK_B_STOPPED,
            "    app |     at TCPConnectWrap.afterConnectOk (node:net:1607:16)"
        ]
    );
    // A crash on the way does not make a successful rollout fail, nor link the console.
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    assert!(!stderr(&assert).contains("console:"));
}

#[test]
fn log_lines_zero_reads_no_log_at_all() {
    let fake = failed_rollout(vec![newest(APP_STREAM_B, CRASH)]);
    let assert = deploy(&fake, &["--log-lines", "0"]).code(1);
    assert!(
        fake.calls().iter().all(|call| call["service"] != "logs"),
        "{:?}",
        fake.ops()
    );
    let err = stderr(&assert);
    assert!(log_lines(&err).is_empty(), "{err}");
    assert!(err.contains(&format!("{TASK_B_STOPPED}\n")), "{err}");
    assert!(
        err.contains(&format!("console: {SERVICE_CONSOLE}\n")),
        "{err}"
    );
}

#[test]
fn a_missing_log_stream_is_one_note_and_the_deploy_goes_on() {
    let fake = rollout_with_a_crash(vec![log_error(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )]);
    let assert = deploy(&fake, &[]).success();
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    let err = stderr(&assert);
    assert_eq!(
        lines_from(&err, TASK_B_STOPPED, 2),
        [
            TASK_B_STOPPED,
            &format!(
                "note: container app: no log stream '{APP_STREAM_B}' in log group '{WEB_GROUP}'"
            ),
        ]
    );
    assert_eq!(err.matches("note:").count(), 1, "{err}");
    assert!(log_lines(&err).is_empty(), "{err}");
}

#[test]
fn denied_logs_are_one_note_and_the_deploy_goes_on() {
    let denied = "User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized \
                  to perform: logs:GetLogEvents on resource: arn:aws:logs:us-east-1:123456789012:\
                  log-group:/ecs/web:log-stream:web/app/7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f";
    let fake = rollout_with_a_crash(vec![log_error("AccessDeniedException", denied)]);
    let assert = deploy(&fake, &[]).success();
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    let err = stderr(&assert);
    let notes: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|line| line.starts_with("note:"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(
        notes[0].starts_with("note: container app: not allowed to read its logs ("),
        "{}",
        notes[0]
    );
    assert!(notes[0].contains("AccessDeniedException"), "{}", notes[0]);
    assert_eq!(lines_from(&err, TASK_B_STOPPED, 2)[1], notes[0]);
}

#[test]
fn a_container_without_awslogs_is_one_note_and_no_log_call() {
    // web-1: app logs through FireLens, so there is no CloudWatch stream to read.
    let mut ops = task_b_crashed(vec![newest(APP_STREAM_B, CRASH)]);
    ops["describe-task-definition"] = json!([file("describe-task-definition/web-1.json")]);
    let fake = from_steady_and(&[file("describe-services/web-failed.json")], ops);
    let assert = deploy(&fake, &[]).code(1);
    assert!(fake.calls_of("logs get-log-events").is_empty());
    let err = stderr(&assert);
    assert_eq!(
        lines_from(&err, TASK_B_STOPPED, 2),
        [
            TASK_B_STOPPED,
            "note: container app does not log with the awslogs driver; its log lines cannot be shown",
        ]
    );
    assert_eq!(err.matches("note:").count(), 1, "{err}");
    assert!(
        err.contains(&format!("console: {SERVICE_CONSOLE}\n")),
        "{err}"
    );
}

#[test]
fn a_container_whose_logs_cannot_be_read_is_noted_once_for_all_its_tasks() {
    let task_c = "arn:aws:ecs:us-east-1:123456789012:task/prod/c0ffee00c0ffee00c0ffee00c0ffee00";
    let mut c_stopped = fixture("describe-tasks/new-stopped.json");
    c_stopped["tasks"][0]["taskArn"] = json!(task_c);
    let mut ops = task_b_crashed(vec![log_error(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )]);
    ops["list-tasks"] = json!([
        answer(json!({"taskArns": [TASK_B]})),
        answer(json!({"taskArns": [task_c, TASK_B]})),
    ]);
    ops["describe-tasks"] = json!([
        {"fixture": "describe-tasks/new-stopped.json", "when": {"--tasks": TASK_B}},
        {"json": c_stopped, "when": {"--tasks": task_c}},
    ]);
    let fake = from_steady_and(
        &[
            json!({"json": rolling_with_failures(1)}),
            json!({"json": rolling_with_failures(2)}),
            file("describe-services/web-done.json"),
        ],
        ops,
    );
    let assert = deploy(&fake, &[]).success();
    let err = stderr(&assert);
    assert!(
        err.contains("task c0ffee00c0ffee00c0ffee00c0ffee00 stopped:"),
        "{err}"
    );
    assert_eq!(err.matches("note: container app:").count(), 1, "{err}");
}

#[test]
fn a_successful_deploy_reads_no_log() {
    let fake = from_steady_and(
        &[file("describe-services/web-done.json")],
        json!({"describe-task-definition": [file("describe-task-definition/web-1-awslogs.json")]}),
    );
    let assert = deploy(&fake, &[]).success();
    assert_eq!(
        fake.ops(),
        [
            "describe-services",
            "describe-task-definition",
            "register-task-definition",
            "update-service",
            "describe-services",
        ]
    );
    assert!(
        fake.all_calls()
            .iter()
            .all(|call| call["service"] != "logs")
    );
    let err = stderr(&assert);
    assert!(!err.contains("note:"), "{err}");
    assert!(!err.contains("console:"), "{err}");
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
}

// ------------------------------------------------------------------ ECR pre-flight

/// The ECR repository of NEW_IMAGE and its registry.
const ACCOUNT: &str = "123456789012";
const REPOSITORY: &str = "web-app";

/// A failed describe-images (or list-images) call, as the CLI reports `exception`.
fn ecr_error(operation: &str, exception: &str, message: &str) -> Value {
    json!({
        "exit": 254,
        "stderr": format!(
            "\nAn error occurred ({exception}) when calling the {operation} operation: {message}"
        )
    })
}

fn image_not_found() -> Value {
    ecr_error(
        "DescribeImages",
        "ImageNotFoundException",
        &format!(
            "The image with imageId {{imageDigest:'null', imageTag:'2.0.0'}} does not exist \
             within the repository with name '{REPOSITORY}' in the registry with id '{ACCOUNT}'"
        ),
    )
}

/// The service deploy's usual answers (it would succeed), plus `more` ops.
fn would_succeed(more: Value) -> FakeAws {
    from_steady_and(&[file("describe-services/web-done.json")], more)
}

/// The argv of each ECR call.
fn ecr_argvs(fake: &FakeAws) -> Vec<Vec<String>> {
    fake.ecr_calls()
        .iter()
        .map(|call| argv_of(call).into_iter().map(String::from).collect())
        .collect()
}

/// `describe-images` of NEW_IMAGE, as the pre-flight asks for it.
fn describe_new_image() -> Vec<String> {
    [
        "--output",
        "json",
        "--region",
        "us-east-1",
        "ecr",
        "describe-images",
        "--registry-id",
        ACCOUNT,
        "--repository-name",
        REPOSITORY,
        "--image-ids",
        "imageTag=2.0.0",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn an_existing_ecr_image_is_checked_once_and_the_deploy_goes_on() {
    let fake = would_succeed(json!({}));
    let assert = deploy(&fake, &[]).success();
    assert_eq!(ecr_argvs(&fake), [describe_new_image()]);
    assert!(!stderr(&assert).contains("note:"));
    assert_eq!(fake.registered().len(), 1);
    // The verdict is in before anything is registered.
    let order: Vec<String> = fake
        .all_calls()
        .iter()
        .map(|call| call["op"].as_str().unwrap_or_default().to_string())
        .collect();
    let at = |op: &str| order.iter().position(|o| o == op).unwrap();
    assert!(
        at("describe-images") < at("register-task-definition"),
        "{order:?}"
    );
}

#[test]
fn a_missing_ecr_image_exits_15_before_anything_is_registered() {
    let fake = would_succeed(json!({
        "ecr describe-images": [image_not_found()],
        "ecr list-images": [answer(json!({"imageIds": [
            {"imageDigest": format!("sha256:{}", "1".repeat(64)), "imageTag": "1.0.0"},
            {"imageDigest": format!("sha256:{}", "2".repeat(64)), "imageTag": "2.0.1"},
            {"imageDigest": format!("sha256:{}", "3".repeat(64)), "imageTag": "2.0.0-rc1"},
            {"imageDigest": format!("sha256:{}", "4".repeat(64)), "imageTag": "latest"},
            {"imageDigest": format!("sha256:{}", "5".repeat(64))},
        ]}))],
    }));
    let assert = deploy(&fake, &[]).code(15);
    // Nothing was registered, nothing changed: only the reads before the registration.
    assert_eq!(
        fake.ops(),
        ["describe-services", "describe-task-definition"]
    );
    assert!(fake.registered().is_empty());
    assert_eq!(
        lines(&stdout(&assert)),
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("Current task definition: {WEB_1}"),
        ]
    );
    // The message names the image, and the tags most like the one asked for.
    let err = stderr(&assert);
    assert!(
        lines(&err).contains(
            &format!(
                "ecs-deploy: image {NEW_IMAGE} is not in ECR: repository '{REPOSITORY}' has no \
                 tag '2.0.0' (closest tags: 1.0.0, 2.0.1, 2.0.0-rc1)"
            )
            .as_str()
        ),
        "{err}"
    );
    let ecr = ecr_argvs(&fake);
    assert_eq!(ecr[0], describe_new_image());
    assert_eq!(ecr.len(), 2, "{ecr:?}");
    assert_eq!(ecr[1][4..6], ["ecr", "list-images"]);
    assert_eq!(
        arg_value(&fake.ecr_calls()[1], "--repository-name").as_deref(),
        Some(REPOSITORY)
    );
}

#[test]
fn a_missing_ecr_repository_exits_15_naming_the_image() {
    let fake = would_succeed(json!({
        "ecr describe-images": [ecr_error(
            "DescribeImages",
            "RepositoryNotFoundException",
            &format!("The repository with name '{REPOSITORY}' does not exist in the registry with id '{ACCOUNT}'"),
        )],
    }));
    let assert = deploy(&fake, &["--output", "json"]).code(15);
    assert!(fake.registered().is_empty());
    assert!(fake.calls_of("update-service").is_empty());
    let why = format!(
        "image {NEW_IMAGE} cannot exist: ECR has no repository '{REPOSITORY}' in registry \
         {ACCOUNT} (us-east-1)"
    );
    let err = stderr(&assert);
    assert!(err.contains(&why), "{err}");
    let outcome: Value = serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(outcome["status"], "failed");
    assert_eq!(outcome["failure_reason"], why.as_str());
    assert_eq!(outcome["new_task_definition"], Value::Null);
    // No tags to suggest from a repository that does not exist.
    assert_eq!(ecr_argvs(&fake), [describe_new_image()]);
}

#[test]
fn a_missing_ecr_image_stops_a_task_definition_update_and_a_one_off_task_too() {
    for extra in [&[][..], &["--run-task", "--wait-for-success"][..]] {
        let fake = scenario(json!({
            "describe-task-definition": [file("describe-task-definition/migrate-1.json")],
            "ecr describe-images": [image_not_found()],
        }));
        let mut cmd = fake.cmd();
        cmd.args(["-c", "prod", "-d", "migrate", "-i", NEW_IMAGE])
            .args(extra);
        let assert = cmd.assert().code(15);
        assert_eq!(fake.ops(), ["describe-task-definition"], "{extra:?}");
        assert!(stderr(&assert).contains(NEW_IMAGE));
    }
}

#[test]
fn a_missing_image_given_as_a_tag_only_is_checked_once_the_definition_is_built() {
    let fake = would_succeed(json!({"ecr describe-images": [image_not_found()]}));
    let mut cmd = fake.cmd();
    let assert = cmd
        // As with the script, -i is still required, and -to overrides it.
        .args(["-c", "prod", "-n", "web", "-i", "ignored", "-to", "2.0.0"])
        .args(["--poll-interval", "0.1", "-t", "60"])
        .assert()
        .code(15);
    assert!(fake.registered().is_empty());
    // Only the private ECR image of the two containers is asked for (log-router's image
    // is in the public gallery).
    assert_eq!(
        ecr_argvs(&fake)
            .iter()
            .filter(|argv| argv[5] == "describe-images")
            .cloned()
            .collect::<Vec<_>>(),
        [describe_new_image()]
    );
    assert!(stderr(&assert).contains(NEW_IMAGE));
}

#[test]
fn denied_ecr_access_is_a_note_and_the_deploy_goes_on() {
    let fake = would_succeed(json!({
        "ecr describe-images": [ecr_error(
            "DescribeImages",
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized to \
             perform: ecr:DescribeImages on resource: \
             arn:aws:ecr:us-east-1:123456789012:repository/web-app",
        )],
    }));
    let assert = deploy(&fake, &[]).success();
    assert_eq!(
        lines(&stdout(&assert)),
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("Current task definition: {WEB_1}"),
            &format!("New task definition: {WEB_2}"),
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    let err = stderr(&assert);
    let notes: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|line| line.starts_with("note:"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(
        notes[0].starts_with(&format!(
            "note: could not check that image {NEW_IMAGE} exists in ECR ("
        )),
        "{}",
        notes[0]
    );
    assert!(notes[0].contains("AccessDeniedException"), "{}", notes[0]);
    assert!(notes[0].ends_with("; going on"), "{}", notes[0]);
    assert_eq!(ecr_argvs(&fake), [describe_new_image()]);
}

#[test]
fn images_outside_ecr_are_not_checked() {
    let fake = scenario(json!({
        "describe-task-definition": [file("describe-task-definition/worker-ec2-5.json")],
        // Were ECR asked, the deploy would stop.
        "ecr describe-images": [image_not_found()],
    }));
    let mut cmd = fake.cmd();
    cmd.args([
        "-d",
        "worker",
        "-i",
        "nginx:1.27",
        "-i",
        "registry.example.com:5000/team/tool:3.2",
    ]);
    cmd.assert().success();
    assert!(fake.ecr_calls().is_empty(), "{:?}", ecr_argvs(&fake));
    let registered = fake.registered();
    assert_eq!(registered.len(), 1);
    let images: Vec<&str> = registered[0]["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert!(images.contains(&"nginx:1.27"), "{images:?}");
}

#[test]
fn only_the_ecr_images_among_several_are_checked() {
    let fake = would_succeed(json!({}));
    let mut cmd = fake.cmd();
    cmd.args(["-c", "prod", "-n", "web", "-i", NEW_IMAGE])
        .args([
            "-i",
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.33.0",
        ])
        .args(["--poll-interval", "0.1", "-t", "60"]);
    cmd.assert().success();
    assert_eq!(ecr_argvs(&fake), [describe_new_image()]);
}

#[test]
fn no_verify_image_skips_the_pre_flight() {
    let fake = would_succeed(json!({"ecr describe-images": [image_not_found()]}));
    let assert = deploy(&fake, &["--no-verify-image"]).success();
    assert!(fake.ecr_calls().is_empty(), "{:?}", ecr_argvs(&fake));
    assert_eq!(fake.registered().len(), 1);
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
}

#[test]
fn a_digest_pinned_ecr_image_is_asked_for_by_its_digest() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let image = format!("{}@{digest}", common::ECR_APP);
    let fake = would_succeed(json!({}));
    let mut cmd = fake.cmd();
    cmd.args(["-c", "prod", "-n", "web", "-i", &image]).args([
        "--poll-interval",
        "0.1",
        "-t",
        "60",
    ]);
    cmd.assert().success();
    let ecr = ecr_argvs(&fake);
    assert_eq!(ecr.len(), 1, "{ecr:?}");
    assert_eq!(
        ecr[0][6..],
        [
            "--registry-id",
            ACCOUNT,
            "--repository-name",
            REPOSITORY,
            "--image-ids",
            &format!("imageDigest={digest}"),
        ]
    );
}

#[test]
fn ecr_and_logs_are_asked_in_their_own_region_whatever_the_region_of_the_deploy() {
    let fake = failed_rollout(vec![newest(APP_STREAM_B, CRASH)]);
    deploy(&fake, &["--region", "eu-west-1"]).code(1);
    for call in fake.calls_of("describe-services") {
        assert_eq!(arg_value(&call, "--region").as_deref(), Some("eu-west-1"));
    }
    // The image lives in us-east-1's registry, the log group in the region its log
    // configuration names.
    let ecr = fake.ecr_calls();
    assert_eq!(ecr.len(), 1);
    assert_eq!(arg_value(&ecr[0], "--region").as_deref(), Some("us-east-1"));
    let reads = fake.calls_of("logs get-log-events");
    assert_eq!(reads.len(), 1);
    assert_eq!(
        arg_value(&reads[0], "--region").as_deref(),
        Some("us-east-1")
    );
}

/// web-1 with its log router's image moved to a private ECR repository of its own.
const LOG_ROUTER: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/log-router";

fn web_with_private_log_router() -> Value {
    let mut definition = fixture("describe-task-definition/web-1.json");
    definition["taskDefinition"]["containerDefinitions"][1]["image"] =
        json!(format!("{LOG_ROUTER}:2.32.0"));
    definition
}

/// `-d web` with both containers' new images, against a fake whose ECR knows `known`.
fn register_both_images(known: &[&str]) -> (FakeAws, assert_cmd::assert::Assert) {
    let fake = FakeAws::new(json!({
        "ops": {"describe-task-definition": [answer(web_with_private_log_router())]},
        "ecr_images": known,
    }));
    let mut cmd = fake.cmd();
    cmd.args(["-d", "web", "-i", NEW_IMAGE, "-i"])
        .arg(format!("{LOG_ROUTER}:2.33.0"));
    let assert = cmd.assert();
    (fake, assert)
}

#[test]
fn each_ecr_repository_is_asked_once() {
    let (fake, assert) = register_both_images(&["web-app:2.0.0", "log-router:2.33.0"]);
    assert.success();
    let mut asked: Vec<(String, String)> = fake
        .ecr_calls()
        .iter()
        .map(|call| {
            let argv = argv_of(call);
            let at = argv.iter().position(|a| *a == "--image-ids").unwrap();
            (
                arg_value(call, "--repository-name").unwrap(),
                argv[at + 1..].join(" "),
            )
        })
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            ("log-router".to_string(), "imageTag=2.33.0".to_string()),
            ("web-app".to_string(), "imageTag=2.0.0".to_string()),
        ]
    );
    assert_eq!(fake.registered().len(), 1);
}

#[test]
fn a_missing_image_of_one_repository_among_two_exits_15_naming_it() {
    let (fake, assert) = register_both_images(&["web-app:2.0.0", "log-router:2.32.0"]);
    let assert = assert.code(15);
    let err = stderr(&assert);
    assert!(
        err.contains(&format!(
            "ecs-deploy: image {LOG_ROUTER}:2.33.0 is not in ECR: repository 'log-router' has \
             no tag '2.33.0'"
        )),
        "{err}"
    );
    assert!(!err.contains("web-app:2.0.0 is not"), "{err}");
    assert!(fake.registered().is_empty());
}

/// Whether any aws child that logged a call of `fake` still runs.
fn surviving_children(fake: &FakeAws) -> Vec<i64> {
    fake.all_calls()
        .iter()
        .filter_map(|call| call["pid"].as_i64())
        .filter(|pid| common::alive(i32::try_from(*pid).unwrap()))
        .collect()
}

#[test]
fn a_hanging_ecr_check_is_one_note_and_the_deploy_goes_on() {
    // With default settings: registration waits a few seconds for the check, not its
    // whole budget (10 s), let alone the default --call-timeout (120 s).
    let fake = would_succeed(json!({"ecr describe-images": [{"hang": true}]}));
    let assert = deploy(&fake, &[]).success();
    assert_eq!(
        lines(&stdout(&assert)),
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("Current task definition: {WEB_1}"),
            &format!("New task definition: {WEB_2}"),
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    let err = stderr(&assert);
    let notes: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|line| line.starts_with("note:"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    let seconds: f64 = notes[0]
        .strip_prefix(&format!(
            "note: could not verify {NEW_IMAGE}: no answer within "
        ))
        .and_then(|rest| rest.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(seconds < 10.0, "{err}");
    assert_eq!(ecr_argvs(&fake), [describe_new_image()]);
    assert_eq!(fake.registered().len(), 1);
    assert!(surviving_children(&fake).is_empty());
}

#[test]
fn a_run_that_already_failed_does_not_wait_for_a_hanging_ecr_check() {
    let fake = scenario(json!({
        "describe-services": [file("describe-services/missing.json")],
        "ecr describe-images": [{"hang": true}],
    }));
    // Default -t and --call-timeout: waiting for the check would take 10 s or more.
    let mut child = fake
        .command()
        .args(SERVICE_ARGS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ecs-deploy");
    let bound = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > bound {
            let _ = child.kill();
            panic!("ecs-deploy waited for the ECR check");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("service 'web' was not found"), "{err}");
    assert!(!err.contains("note:"), "{err}");
    assert!(fake.registered().is_empty());
    assert!(surviving_children(&fake).is_empty());
}

#[test]
fn force_new_deployment_checks_no_image() {
    // -i is ignored with --force-new-deployment: nothing is registered, nothing to check.
    let fake = would_succeed(json!({"ecr describe-images": [image_not_found()]}));
    let mut cmd = fake.cmd();
    cmd.args(SERVICE_ARGS).args([
        "--force-new-deployment",
        "--poll-interval",
        "0.1",
        "-t",
        "60",
    ]);
    cmd.assert().success();
    assert!(fake.ecr_calls().is_empty(), "{:?}", ecr_argvs(&fake));
    assert!(fake.registered().is_empty());
}
