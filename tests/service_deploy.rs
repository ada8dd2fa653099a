//! The service flow (`-c CLUSTER -n SERVICE -i IMAGE`) and its watch, against the fake
//! `aws` with scenarios whose answers change from call to call; and SIGINT/SIGTERM while
//! the rollout is being watched: roll back when asked, otherwise leave the deployment to
//! ECS and say so.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::{
    Cli, FakeAws, NEW_IMAGE, OUR_DEPLOYMENT, ROLLOUT_OPS, SERVICE_ARGS, WEB_1, WEB_2, answer,
    arg_value, argv_of, assert_no_error_details, file, finish, fixture, from_steady,
    from_steady_and, interrupt, lines, scenario, stderr_of, stdout_of, wait_for_call,
};
use predicates::prelude::*;
use serde_json::{Value, json};

const ROLLBACK: &str = "ecs-svc/3333333333333333333";
const TASK_B: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/prod/7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f";
const TASK_C: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/prod/c0ffee00c0ffee00c0ffee00c0ffee00";
const ACCESS_DENIED: &str = "\nAn error occurred (AccessDeniedException) when calling the \
                             DescribeServices operation: User is not authorized";
const THROTTLED: &str = "\nAn error occurred (ThrottlingException) when calling the DescribeServices \
                         operation (reached max retries: 2): Rate exceeded";

/// A describe-services fixture with its first service edited by `edit`.
fn services(path: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = fixture(path);
    edit(&mut value["services"][0]);
    value
}

/// web-rolling with our deployment not running any task yet.
fn starting() -> Value {
    services("describe-services/web-rolling.json", |service| {
        let ours = &mut service["deployments"][0];
        ours["runningCount"] = json!(0);
        ours["pendingCount"] = json!(2);
    })
}

/// web-rolling (our deployment runs a task, the old one is still there) with failedTasks.
fn rolling_with_failures(failed: i64) -> Value {
    services("describe-services/web-rolling.json", |service| {
        service["deployments"][0]["failedTasks"] = json!(failed);
    })
}

/// The update-service answer of a rollback: a new PRIMARY on web:1, ours ACTIVE.
fn rollback_answer() -> Value {
    let mut value = fixture("describe-services/web-rolling.json");
    let mut service = value["services"][0].take();
    service["taskDefinition"] = json!(WEB_1);
    let deployments = service["deployments"].as_array_mut().unwrap();
    deployments[1]["id"] = json!(ROLLBACK);
    deployments[1]["status"] = json!("PRIMARY");
    deployments[1]["rolloutState"] = json!("IN_PROGRESS");
    deployments[0]["status"] = json!("ACTIVE");
    deployments.swap(0, 1);
    json!({ "service": service })
}

/// The service settled back on web:1 through the rollback deployment.
fn rolled_back() -> Value {
    services("describe-services/web-steady.json", |service| {
        service["deployments"][0]["id"] = json!(ROLLBACK);
    })
}

/// Task ARNs `task/prod/<prefix>NNN...` for list-tasks answers.
fn task_arns(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{prefix}{i:029}"))
        .collect()
}

/// A describe-tasks answer: these tasks of web:2, RUNNING with this health.
fn running_tasks(arns: &[String], health: &str) -> Value {
    let tasks: Vec<Value> = arns
        .iter()
        .map(|arn| {
            json!({
                "taskArn": arn,
                "taskDefinitionArn": WEB_2,
                "lastStatus": "RUNNING",
                "desiredStatus": "RUNNING",
                "healthStatus": health,
                "containers": [{"name": "app", "lastStatus": "RUNNING", "healthStatus": health}]
            })
        })
        .collect();
    json!({ "tasks": tasks, "failures": [] })
}

/// Ops answering that task B of our deployment stopped (its container exited 1).
fn task_b_stopped() -> Value {
    json!({
        "list-tasks": [answer(json!({"taskArns": [TASK_B]}))],
        "describe-tasks": [file("describe-tasks/new-stopped.json")],
    })
}

/// The first poll after the update answers `trouble`; once a second update-service (the
/// rollback) has been answered, the service is back on web:1. `more` as in
/// [`from_steady_and`].
fn rolling_back_after(trouble: Value, more: Value) -> FakeAws {
    let mut more = more;
    more["update-service"] = json!([{"builtin": true}, answer(rollback_answer())]);
    let rolled_back = json!({"json": rolled_back(), "after": {"update-service": 2}});
    from_steady_and(&[trouble, rolled_back], more)
}

/// `ecs-deploy -c prod -n web -i NEW_IMAGE` with fast polls and `-t timeout`, plus `extra`,
/// not yet run (a test may still set its environment).
fn deploy_cmd(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = fake.cmd();
    cmd.args(SERVICE_ARGS)
        .args(["--poll-interval", "0.05", "-t", timeout])
        .args(extra)
        .timeout(Duration::from_secs(60));
    cmd
}

/// Run [`deploy_cmd`] with a `timeout`-second limit per phase.
fn deploy_within(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    deploy_cmd(fake, timeout, extra).assert()
}

/// Run [`deploy_cmd`] with a short (5 s) timeout.
fn deploy(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    deploy_within(fake, "5", extra)
}

/// The arguments following `--tasks` in a describe-tasks call.
fn tasks_arg(call: &Value) -> Vec<String> {
    let argv = argv_of(call);
    let at = argv.iter().position(|a| *a == "--tasks").unwrap();
    argv[at + 1..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .map(|a| a.to_string())
        .collect()
}

/// The tasks named by each describe-tasks call, in order.
fn described_tasks(fake: &FakeAws) -> Vec<Vec<String>> {
    fake.calls_of("describe-tasks")
        .iter()
        .map(tasks_arg)
        .collect()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn happy_path_takes_five_calls_and_prints_the_script_lines() {
    let fake = from_steady(&[file("describe-services/web-done.json")]);
    let assert = deploy(&fake, &[]).success();
    assert_eq!(
        lines(&stdout_of(&assert)),
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("Current task definition: {WEB_1}"),
            &format!("New task definition: {WEB_2}"),
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    assert_eq!(fake.ops(), ROLLOUT_OPS);
    let calls = fake.calls();
    assert_eq!(arg_value(&calls[0], "--cluster").as_deref(), Some("prod"));
    assert_eq!(arg_value(&calls[0], "--services").as_deref(), Some("web"));
    assert_eq!(
        arg_value(&calls[1], "--task-definition").as_deref(),
        Some(WEB_1)
    );
    let update = &calls[3];
    assert_eq!(arg_value(update, "--service").as_deref(), Some("web"));
    assert_eq!(
        arg_value(update, "--task-definition").as_deref(),
        Some(WEB_2)
    );
    assert_eq!(arg_value(update, "--desired-count"), None);
    assert_eq!(arg_value(update, "--deployment-configuration"), None);
    let registered = fake.registered();
    assert_eq!(registered[0]["containerDefinitions"][0]["image"], NEW_IMAGE);

    let stderr = stderr_of(&assert);
    // Events the service showed before the update are not news.
    assert!(!stderr.contains("has started 2 tasks"), "{stderr}");
    assert_eq!(count(&stderr, "deployment completed"), 1, "{stderr}");
    assert!(
        stderr.contains("deployment ecs-svc/1111111111111111111: 2 desired, 0 pending, 2 running")
    );
}

#[test]
fn health_check_waits_for_healthy_in_at_most_seven_calls() {
    let fake = scenario(json!({
        "describe-services": [file("describe-services/web-steady.json"), file("describe-services/web-done.json")],
        "describe-task-definition": [file("describe-task-definition/web-1-healthcheck.json")],
        "list-tasks": [file("list-tasks/new-one.json")],
        "describe-tasks": [file("describe-tasks/new-healthy.json")],
    }));
    deploy(&fake, &[])
        .success()
        .stdout(predicate::str::contains("Service deployment successful."));
    assert_eq!(
        fake.ops(),
        [ROLLOUT_OPS, &["list-tasks", "describe-tasks"]].concat()
    );
    // Only our deployment's tasks are listed (ECS starts them with its id as startedBy),
    // a page at a time; startedBy allows no other filter.
    let list = &fake.calls_of("list-tasks")[0];
    assert_eq!(
        arg_value(list, "--started-by").as_deref(),
        Some(OUR_DEPLOYMENT)
    );
    assert_eq!(arg_value(list, "--max-items").as_deref(), Some("100"));
    assert_eq!(arg_value(list, "--service-name"), None);
    assert_eq!(arg_value(list, "--desired-status"), None);
}

#[test]
fn health_check_keeps_polling_while_the_task_is_not_healthy_yet() {
    let fake = scenario(json!({
        "describe-services": [file("describe-services/web-steady.json"), file("describe-services/web-done.json")],
        "describe-task-definition": [file("describe-task-definition/web-1-healthcheck.json")],
        "list-tasks": [file("list-tasks/new-one.json")],
        "describe-tasks": [
            {"fixture": "describe-tasks/new-running.json", "times": 2},
            file("describe-tasks/new-unhealthy.json"),
            file("describe-tasks/new-healthy.json"),
        ],
    }));
    deploy(&fake, &[])
        .success()
        .stdout(predicate::str::contains("Service deployment successful."));
    assert_eq!(fake.calls_of("describe-tasks").len(), 4);
    assert_eq!(fake.calls_of("describe-services").len(), 5);
}

#[test]
fn desired_count_zero_skips_the_running_check() {
    let fake = scenario(json!({
        "describe-services": [
            file("describe-services/web-desired-zero.json"),
            file("describe-services/web-done-zero.json"),
        ],
        "describe-task-definition": [file("describe-task-definition/web-1.json")],
    }));
    let assert = deploy(&fake, &["-D", "0"]).success();
    let stdout = stdout_of(&assert);
    assert_eq!(
        lines(&stdout)[3..],
        [
            "Skipping check for running task definition, as desired-count <= 0",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    let update = &fake.calls_of("update-service")[0];
    assert_eq!(arg_value(update, "--desired-count").as_deref(), Some("0"));
}

#[test]
fn slow_start_within_the_timeout() {
    let fake = from_steady(&[
        json!({"json": starting(), "times": 3}),
        json!({"fixture": "describe-services/web-rolling.json", "times": 2}),
        file("describe-services/web-done.json"),
    ]);
    let assert = deploy(&fake, &[]).success();
    assert_eq!(lines(&stdout_of(&assert)).len(), 6);
    assert_eq!(fake.calls_of("describe-services").len(), 1 + 3 + 2 + 1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("2 desired, 2 pending, 0 running"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 desired, 1 pending, 1 running"),
        "{stderr}"
    );
    // A line per change of the counts, not per poll.
    assert_eq!(count(&stderr, "2 desired, 2 pending, 0 running"), 1);
    assert_eq!(count(&stderr, "has started 1 tasks: (task 5b1e0c2f"), 1);
}

#[test]
fn timeout_without_rollback_fails_with_the_script_line() {
    let fake = from_steady(&[answer(starting())]);
    let assert = deploy_within(&fake, "1", &[]).code(1);
    let stdout = stdout_of(&assert);
    assert!(
        stdout.ends_with("ERROR: New task definition not running within 1 seconds\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("Rolling back"));
    assert_eq!(fake.calls_of("update-service").len(), 1);
}

#[test]
fn timeout_with_rollback_points_the_service_back() {
    let fake = rolling_back_after(answer(starting()), json!({}));
    let assert = deploy_within(&fake, "1", &["--enable-rollback"]).code(1);
    let stdout = stdout_of(&assert);
    assert_eq!(
        lines(&stdout)[3..],
        [
            "ERROR: New task definition not running within 1 seconds",
            &format!("Rolling back to {WEB_1}"),
        ]
    );
    fake.assert_last_task_definition("update-service", 2, WEB_1);
    assert!(
        stderr_of(&assert).contains("rollback complete"),
        "{}",
        stderr_of(&assert)
    );
    // The rollback was waited for: a poll after the second update-service.
    assert_eq!(
        fake.ops().last().map(String::as_str),
        Some("describe-services")
    );
}

#[test]
fn a_rollback_that_fails_says_so_instead_of_not_settled() {
    // After the second update-service, the rollback's own deployment fails.
    let mut rollback_failed = rollback_answer();
    let back = &mut rollback_failed["service"]["deployments"][0];
    back["rolloutState"] = json!("FAILED");
    back["rolloutStateReason"] = json!("tasks failed to start");
    let failing_back = json!({"json": {"services": [rollback_failed["service"].clone()]},
        "after": {"update-service": 2}});
    let fake = from_steady_and(
        &[answer(starting()), failing_back],
        json!({"update-service": [{"builtin": true}, answer(rollback_answer())]}),
    );
    let assert = deploy_within(&fake, "1", &["--enable-rollback"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "the rollback to {WEB_1} did not complete: deployment {ROLLBACK} failed: tasks failed to start"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("had not settled"), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some(format!("ecs-deploy: the service was pointed back at {WEB_1}").as_str())
    );
}

#[test]
fn failed_rollout_fails_fast_with_its_reason_and_rolls_back() {
    let fake = rolling_back_after(file("describe-services/web-failed.json"), task_b_stopped());
    // A long timeout: failing fast must not wait it out.
    let assert = deploy_within(&fake, "600", &["--enable-rollback"]).code(1);
    let stdout = stdout_of(&assert);
    assert!(
        stdout.ends_with(&format!("Rolling back to {WEB_1}\n")),
        "{stdout}"
    );
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("ECS deployment circuit breaker: tasks failed to start."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Essential container in task exited"),
        "{stderr}"
    );
    fake.assert_last_task_definition("update-service", 2, WEB_1);
    // Only one poll before the failure was seen.
    let ops = fake.ops();
    let first_update = ops.iter().position(|o| o == "update-service").unwrap();
    assert_eq!(ops[first_update + 1], "describe-services");
    assert_eq!(ops[first_update + 2], "list-tasks");
    assert_eq!(ops[first_update + 4], "update-service");
}

#[test]
fn circuit_breaker_rollback_is_not_done_twice() {
    let fake = from_steady_and(
        &[file("describe-services/web-failed-rolled-back.json")],
        task_b_stopped(),
    );
    let assert = deploy(&fake, &["--enable-rollback"]).code(1);
    assert!(!stdout_of(&assert).contains("Rolling back"));
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("already"), "{stderr}");
    assert!(stderr.contains("rolling back to deploymentId"), "{stderr}");
    assert_eq!(fake.calls_of("update-service").len(), 1);
}

/// The JSON result of a deploy that ends with exit 1, without its duration.
fn failed_result(fake: &FakeAws, extra: &[&str]) -> Value {
    let args = [extra, &["--output", "json"][..]].concat();
    let assert = deploy(fake, &args).code(1);
    let mut result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    result.as_object_mut().unwrap().remove("duration_seconds");
    result
}

#[test]
fn the_circuit_breakers_rollback_is_in_the_json_with_or_without_enable_rollback() {
    let restoring = fixture("describe-services/web-failed-rolled-back.json");
    // ECS's deployment of web:1 is the only one left: the rollback is done.
    let restored = services("describe-services/web-failed-rolled-back.json", |service| {
        service["deployments"].as_array_mut().unwrap().truncate(1);
    });
    for (poll, status, outcome) in [
        (restoring, "failed", "in_progress"),
        (restored, "rolled_back", "succeeded"),
    ] {
        let results: Vec<Value> = [&[][..], &["--enable-rollback"]]
            .into_iter()
            .map(|extra| {
                let fake = from_steady_and(&[answer(poll.clone())], task_b_stopped());
                let result = failed_result(&fake, extra);
                assert_eq!(fake.calls_of("update-service").len(), 1, "{extra:?}");
                result
            })
            .collect();
        assert_eq!(
            results[0]["rollback"],
            json!({"by": "ecs", "outcome": outcome}),
            "{}",
            results[0]
        );
        assert_eq!(results[0]["status"], status);
        assert_eq!(results[0], results[1]);
    }
}

#[test]
fn our_own_rollback_is_in_the_json_as_ours() {
    let fake = rolling_back_after(file("describe-services/web-failed.json"), task_b_stopped());
    let result = failed_result(&fake, &["--enable-rollback"]);
    fake.assert_last_task_definition("update-service", 2, WEB_1);
    assert_eq!(
        result["rollback"],
        json!({"by": "ecs_deploy", "outcome": "succeeded"})
    );
    assert_eq!(result["status"], "rolled_back");
}

#[test]
fn our_rollback_that_does_not_settle_leaves_the_run_timed_out() {
    // Rolling back, the service keeps both deployments past -t.
    let back = json!({"services": [rollback_answer()["service"]]});
    let fake = from_steady_and(
        &[
            answer(starting()),
            json!({"json": back, "after": {"update-service": 2}}),
        ],
        json!({
            "update-service": [{"builtin": true}, answer(rollback_answer())],
            "list-tasks": [file("list-tasks/empty.json")],
        }),
    );
    let args = ["--enable-rollback", "--output", "json"];
    let assert = deploy_within(&fake, "1", &args).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("had not settled within 1 seconds"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("(still rolling back to {WEB_1})")),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(
        result["rollback"],
        json!({"by": "ecs_deploy", "outcome": "in_progress"})
    );
    assert_eq!(result["status"], "timed_out");
}

#[test]
fn stopped_tasks_are_reported_once_each_with_reason_and_exit_codes() {
    let mut pull_failed = fixture("describe-tasks/new-pull-failed.json");
    pull_failed["tasks"][0]["taskArn"] = json!(TASK_C);
    let fake = from_steady_and(
        &[
            json!({"json": rolling_with_failures(1), "times": 2}),
            json!({"json": rolling_with_failures(2), "times": 2}),
            file("describe-services/web-done.json"),
        ],
        json!({
            "list-tasks": [
                answer(json!({"taskArns": [TASK_B]})),
                answer(json!({"taskArns": [TASK_C, TASK_B]})),
            ],
            "describe-tasks": [
                {"fixture": "describe-tasks/new-stopped.json", "when": {"--tasks": TASK_B}},
                {"json": pull_failed, "when": {"--tasks": TASK_C}},
            ],
        }),
    );
    let assert = deploy(&fake, &[]).success();
    let stderr = stderr_of(&assert);
    assert_eq!(
        count(
            &stderr,
            "task 7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f stopped: Essential container in task exited \
             [app: exit code 1; log-router: exit code 0]"
        ),
        1,
        "{stderr}"
    );
    assert_eq!(
        count(
            &stderr,
            "task c0ffee00c0ffee00c0ffee00c0ffee00 stopped: CannotPullContainerError"
        ),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("app: no exit code (CannotPullContainerError"),
        "{stderr}"
    );
    let lists = fake.calls_of("list-tasks");
    assert_eq!(lists.len(), 2);
    assert!(
        lists
            .iter()
            .all(|c| arg_value(c, "--desired-status").as_deref() == Some("STOPPED"))
    );
    // The task already reported is not described again.
    let described = described_tasks(&fake);
    assert_eq!(
        described,
        [vec![TASK_B.to_string()], vec![TASK_C.to_string()]]
    );
}

#[test]
fn throttled_polls_are_reported_and_survived() {
    for cli in Cli::BOTH {
        throttled_polls_are_reported_and_survived_with(cli);
    }
}

fn throttled_polls_are_reported_and_survived_with(cli: Cli) {
    let fake = scenario(json!({
        "describe-services": [
            file("describe-services/web-steady.json"),
            {"exit": 254, "stderr": THROTTLED, "times": 2},
            file("describe-services/web-rolling.json"),
            {"exit": 255, "stderr": "\nCould not connect to the endpoint URL: \"https://ecs.us-east-1.amazonaws.com/\""},
            file("describe-services/web-done.json"),
        ],
        "describe-task-definition": [file("describe-task-definition/web-1-healthcheck.json")],
        "list-tasks": [
            {"exit": 254, "stderr": THROTTLED.replace("DescribeServices", "ListTasks")},
            file("list-tasks/new-one.json"),
        ],
        "describe-tasks": [file("describe-tasks/new-healthy.json")],
    }))
    .with_cli(cli);
    let assert = deploy(&fake, &[]).success();
    let stderr = stderr_of(&assert);
    assert_eq!(
        count(&stderr, "describe-services failed (transient), will retry"),
        3,
        "{cli:?}: {stderr}"
    );
    assert!(
        stderr.contains("could not check task health, will retry"),
        "{cli:?}: {stderr}"
    );
    assert!(stderr.contains("Rate exceeded"), "{cli:?}: {stderr}");
    assert_no_error_details(&stderr);
    assert_eq!(fake.calls_of("update-service").len(), 1);
}

#[test]
fn more_than_a_hundred_tasks_are_paged_and_described_in_chunks() {
    let arns = task_arns("f", 0..150);
    let fake = scenario(json!({
        "describe-services": [file("describe-services/web-steady.json"), file("describe-services/web-done.json")],
        "describe-task-definition": [file("describe-task-definition/web-1-healthcheck.json")],
        "list-tasks": [
            {"json": {"taskArns": arns[..100], "nextToken": "page-2"}, "when": {"--starting-token": null}},
            {"json": {"taskArns": arns[100..]}, "when": {"--starting-token": "page-2"}},
        ],
        "describe-tasks": [
            answer(running_tasks(&arns[..100], "UNKNOWN")),
            answer(running_tasks(&arns[100..], "HEALTHY")),
        ],
    }));
    deploy(&fake, &[]).success();
    assert_eq!(fake.calls_of("list-tasks").len(), 2);
    let described = described_tasks(&fake);
    assert_eq!(described.len(), 2);
    assert_eq!(described[0], arns[..100]);
    assert_eq!(described[1], arns[100..]);
}

#[test]
fn missing_service_is_named_and_nothing_is_registered() {
    let fake = scenario(json!({
        "describe-services": [file("describe-services/missing.json")],
    }));
    let assert = deploy(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("service 'web' was not found in cluster 'prod'"),
        "{stderr}"
    );
    assert!(stderr.contains("MISSING"), "{stderr}");
    assert_eq!(fake.ops(), ["describe-services"]);
}

#[test]
fn missing_cluster_is_named() {
    for cli in Cli::BOTH {
        let fake = scenario(json!({
            "describe-services": [{"exit": 254, "stderr": "\nAn error occurred (ClusterNotFoundException) when calling the DescribeServices operation: Cluster not found."}],
        }))
        .with_cli(cli);
        let assert = deploy(&fake, &[]).code(254);
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains(
                "describe-services failed: cluster 'prod' was not found; check -c (and the region): \
                 An error occurred (ClusterNotFoundException)"
            ),
            "{cli:?}: {stderr}"
        );
        assert_no_error_details(&stderr);
        assert_eq!(fake.ops(), ["describe-services"]);
    }
}

#[test]
fn a_service_deleted_before_its_update_fails_that_step() {
    let not_found = json!({"exit": 255, "stderr": "\nAn error occurred (ServiceNotFoundException) \
        when calling the UpdateService operation: Service not found."});
    for cli in Cli::BOTH {
        let fake = from_steady_and(&[], json!({"update-service": [not_found]})).with_cli(cli);
        let assert = deploy(&fake, &[]).code(cli.service_error_code(255));
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains(
                "update-service failed: An error occurred (ServiceNotFoundException) when \
                 calling the UpdateService operation: Service not found."
            ),
            "{cli:?}: {stderr}"
        );
        assert_no_error_details(&stderr);
        assert_eq!(
            fake.calls_of("update-service").len(),
            1,
            "{cli:?}: {stderr}"
        );
    }
}

#[test]
fn assumed_role_credentials_reach_later_calls_and_the_profile_is_dropped() {
    let fake = from_steady(&[file("describe-services/web-done.json")]);
    let role = "arn:aws:iam::123456789012:role/deployer";
    let credentials = ["-k", "AKIAORIGINALKEY00001", "-s", "originalSecret"];
    let extra = [
        ["-a", role, "-p", "ci", "-r", "eu-west-1"].as_slice(),
        &credentials,
    ]
    .concat();
    deploy_cmd(&fake, "5", &extra)
        .env("AWS_PROFILE", "from-env")
        .assert()
        .success();
    let calls = fake.calls();
    assert_eq!(fake.ops()[0], "sts assume-role");
    assert_eq!(fake.ops().len(), 6);
    let sts = &calls[0];
    assert_eq!(arg_value(sts, "--role-arn").as_deref(), Some(role));
    assert_eq!(arg_value(sts, "--profile").as_deref(), Some("ci"));
    assert_eq!(arg_value(sts, "--region").as_deref(), Some("eu-west-1"));
    assert_eq!(sts["env"]["AWS_ACCESS_KEY_ID"], "AKIAORIGINALKEY00001");
    for call in &calls[1..] {
        let argv = argv_of(call);
        assert!(!argv.contains(&"--profile"), "{argv:?}");
        assert_eq!(arg_value(call, "--region").as_deref(), Some("eu-west-1"));
        let env = &call["env"];
        assert_eq!(env["AWS_ACCESS_KEY_ID"], "ASIAFAKEASSUMEDKEY01");
        assert_eq!(
            env["AWS_SECRET_ACCESS_KEY"],
            "fakeAssumedSecretKey/0123456789"
        );
        assert_eq!(env["AWS_SESSION_TOKEN"], "FakeSessionToken//abcdef");
        assert!(env.get("AWS_PROFILE").is_none(), "{env}");
        assert_eq!(env["AWS_PAGER"], "");
        assert_eq!(env["AWS_CLI_AUTO_PROMPT"], "off");
    }
}

fn revisions(range: std::ops::RangeInclusive<u32>) -> Value {
    let arns: Vec<String> = range
        .map(|r| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{r}"))
        .collect();
    json!({ "taskDefinitionArns": arns })
}

/// A rollout that goes well, in which our new revision is web:6 and list-task-definitions
/// answers `listed`.
fn pruning(listed: Value) -> FakeAws {
    FakeAws::new(json!({
        "next_revision": 6,
        "ops": {
            "describe-services": [file("describe-services/web-steady.json"), file("describe-services/web-done.json")],
            "describe-task-definition": [file("describe-task-definition/web-1.json")],
            "list-task-definitions": [answer(listed)],
        }
    }))
}

/// The revisions (`web:N`) that were deregistered, in order.
fn deregistered_revisions(fake: &FakeAws) -> Vec<String> {
    fake.deregistered()
        .iter()
        .map(|arn| arn.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn max_definitions_deregisters_exactly_the_oldest_beyond_n() {
    let fake = pruning(revisions(1..=6));
    // web-done shows web:2; phase 2 only needs our deployment to be the only one.
    let assert = deploy(&fake, &["--max-definitions", "2"]).success();
    assert_eq!(
        deregistered_revisions(&fake),
        ["web:1", "web:2", "web:3", "web:4"]
    );
    let list = &fake.calls_of("list-task-definitions")[0];
    assert_eq!(arg_value(list, "--family-prefix").as_deref(), Some("web"));
    assert_eq!(arg_value(list, "--status").as_deref(), Some("ACTIVE"));
    assert_eq!(arg_value(list, "--sort").as_deref(), Some("ASC"));
    let stdout = stdout_of(&assert);
    assert!(stdout.contains(
        "Deregistering outdated task revision: arn:aws:ecs:us-east-1:123456789012:task-definition/web:4\n"
    ));
    // Only after success: the last status line comes before the deregistrations.
    let success = stdout.find("Service deployment successful.").unwrap();
    assert!(success < stdout.find("Deregistering").unwrap());
}

#[test]
fn max_definitions_never_deregisters_the_running_revision() {
    // Two revisions were registered by someone else after ours (web:6).
    let fake = pruning(revisions(1..=8));
    deploy(&fake, &["--max-definitions", "2"]).success();
    assert_eq!(
        deregistered_revisions(&fake),
        ["web:1", "web:2", "web:3", "web:4", "web:5"]
    );
}

#[test]
fn max_definitions_does_nothing_after_a_failure() {
    let fake = from_steady_and(
        &[file("describe-services/web-failed.json")],
        json!({
            "list-tasks": [file("list-tasks/empty.json")],
            "describe-tasks": [file("describe-tasks/missing.json")],
            "list-task-definitions": [answer(revisions(1..=6))],
        }),
    );
    deploy(&fake, &["--max-definitions", "1"]).code(1);
    assert!(fake.calls_of("list-task-definitions").is_empty());
    assert!(deregistered_revisions(&fake).is_empty());
}

#[test]
fn force_new_deployment_registers_nothing_and_ignores_the_image() {
    let forced = services("describe-services/web-steady.json", |service| {
        service["deployments"][0]["id"] = json!(OUR_DEPLOYMENT);
    });
    let fake = scenario(json!({
        "describe-services": [file("describe-services/web-steady.json"), answer(forced)],
    }));
    let assert = deploy(&fake, &["--force-new-deployment"]).success();
    assert_eq!(
        lines(&stdout_of(&assert)),
        [
            "Force a new deployment of the service",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("ignoring -i"), "{stderr}");
    assert!(stderr.contains(NEW_IMAGE), "{stderr}");
    assert_eq!(
        fake.ops(),
        ["describe-services", "update-service", "describe-services"]
    );
    let update = &fake.calls_of("update-service")[0];
    assert!(argv_of(update).contains(&"--force-new-deployment"));
    assert_eq!(arg_value(update, "--task-definition"), None);
}

#[test]
fn use_latest_task_def_bases_the_revision_on_the_newest_one() {
    let fake = FakeAws::new(json!({
        "next_revision": 3,
        "ops": {
            "describe-services": [file("describe-services/web-steady.json"), answer(services("describe-services/web-done.json", |s| {
                s["deployments"][0]["taskDefinition"] = json!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3");
            }))],
            "describe-task-definition": [file("describe-task-definition/web-2.json")],
        }
    }));
    let assert = deploy(&fake, &["--use-latest-task-def"]).success();
    let describe = &fake.calls_of("describe-task-definition")[0];
    assert_eq!(
        arg_value(describe, "--task-definition").as_deref(),
        Some("web")
    );
    let stdout = stdout_of(&assert);
    assert!(
        stdout.contains(&format!("Current task definition: {WEB_2}\n")),
        "{stdout}"
    );
    assert!(stdout.contains(
        "New task definition: arn:aws:ecs:us-east-1:123456789012:task-definition/web:3\n"
    ));
}

#[test]
fn desired_count_and_percentages_reach_update_service() {
    let fake = from_steady(&[file("describe-services/web-done.json")]);
    deploy(&fake, &["-D", "3", "-m", "50", "-M", "200"]).success();
    let update = &fake.calls_of("update-service")[0];
    assert_eq!(arg_value(update, "--desired-count").as_deref(), Some("3"));
    assert_eq!(
        arg_value(update, "--deployment-configuration").as_deref(),
        Some("maximumPercent=200,minimumHealthyPercent=50")
    );
}

#[test]
fn skip_deployments_check_stops_after_the_running_check() {
    let fake = from_steady(&[file("describe-services/web-rolling.json")]);
    let assert = deploy(&fake, &["--skip-deployments-check"]).success();
    assert_eq!(
        lines(&stdout_of(&assert)).last().copied(),
        Some("Service updated successfully, new task definition running.")
    );
    assert_eq!(fake.ops().len(), 5);
}

#[test]
fn an_aws_error_while_watching_rolls_back() {
    let fake = rolling_back_after(json!({"exit": 254, "stderr": ACCESS_DENIED}), json!({}));
    let assert = deploy(&fake, &["--enable-rollback"]).code(1);
    assert!(stdout_of(&assert).contains(&format!("Rolling back to {WEB_1}\n")));
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    assert_eq!(fake.calls_of("update-service").len(), 2);
}

#[test]
fn a_second_deployment_that_never_drains_times_out() {
    let fake = from_steady(&[file("describe-services/web-rolling.json")]);
    let assert = deploy_within(&fake, "1", &[]).code(1);
    assert!(
        stdout_of(&assert).ends_with("Waiting for service deployment to complete...\n"),
        "{}",
        stdout_of(&assert)
    );
    assert!(stderr_of(&assert).contains("more than one deployment after 1 seconds"));
}

#[test]
fn an_aws_error_while_watching_without_rollback_exits_with_the_cli_code() {
    for cli in Cli::BOTH {
        let fake = from_steady(&[json!({"exit": 254, "stderr": ACCESS_DENIED})]).with_cli(cli);
        let assert = deploy(&fake, &[]).code(254);
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains("describe-services failed: An error occurred (AccessDeniedException)"),
            "{cli:?}: {stderr}"
        );
        assert_no_error_details(&stderr);
        assert_eq!(fake.calls_of("update-service").len(), 1);
    }
}

// ---------------------------------------------------------- signals while watching

/// A deploy whose new task never starts; once a second update-service (the rollback) has
/// been answered, the service is back on web:1.
fn never_starting() -> FakeAws {
    rolling_back_after(answer(starting()), json!({}))
}

/// `ecs-deploy -c prod -n web -i NEW_IMAGE` with `-t 60`, plus `extra`, started in the
/// background with its output captured.
fn start(fake: &FakeAws, extra: &[&str]) -> Child {
    fake.command()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.1", "-t", "60"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy")
}

#[test]
fn sigint_with_rollback_enabled_rolls_back_and_exits_1() {
    interrupted_with_rollback("-INT");
}

#[test]
fn sigterm_with_rollback_enabled_rolls_back_and_exits_1() {
    interrupted_with_rollback("-TERM");
}

fn interrupted_with_rollback(signal: &str) {
    let fake = never_starting();
    let mut child = start(&fake, &["--enable-rollback"]);
    wait_for_call(&fake, &mut child, "update-service");
    interrupt(&child, signal);
    let (status, stdout, stderr) = finish(child);
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("Rolling back to {WEB_1}\n")),
        "{stdout}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    fake.assert_last_task_definition("update-service", 2, WEB_1);
}

#[test]
fn sigint_without_rollback_leaves_the_deployment_to_ecs_and_exits_130() {
    let fake = never_starting();
    let mut child = start(&fake, &[]);
    wait_for_call(&fake, &mut child, "update-service");
    interrupt(&child, "-INT");
    let (status, stdout, stderr) = finish(child);
    assert_eq!(status.code(), Some(130), "{stdout}{stderr}");
    assert!(!stdout.contains("Rolling back"), "{stdout}");
    assert!(stderr.contains("the deployment goes on in ECS"), "{stderr}");
    assert!(
        stderr.contains("aws ecs describe-services --cluster prod --services web"),
        "{stderr}"
    );
    assert_eq!(fake.calls_of("update-service").len(), 1);
}

// ----------------------------------------------------------------------- --wait-only

/// `ecs-deploy -c prod -n web --wait-only` against a deployment started elsewhere, whose
/// polls answer `polls` (the first describe-services is the look before following).
fn wait_only(polls: &[Value]) -> (FakeAws, assert_cmd::assert::Assert) {
    let mut answers = vec![file("describe-services/web-rolling.json")];
    answers.extend_from_slice(polls);
    let fake = scenario(json!({
        "describe-services": answers,
        "describe-task-definition": [file("describe-task-definition/web-2.json")],
    }));
    let assert = fake
        .cmd()
        .args([
            "-c",
            "prod",
            "-n",
            "web",
            "--wait-only",
            "--poll-interval",
            "0.05",
            "-t",
            "5",
        ])
        .timeout(Duration::from_secs(60))
        .assert();
    (fake, assert)
}

#[test]
fn wait_only_follows_a_deployment_started_elsewhere_and_changes_nothing() {
    let (fake, assert) = wait_only(&[
        file("describe-services/web-rolling.json"),
        file("describe-services/web-done.json"),
    ]);
    let assert = assert.success();
    assert_eq!(
        lines(&stdout_of(&assert)),
        [
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    assert_eq!(
        fake.ops(),
        [
            "describe-services",
            "describe-task-definition",
            "describe-services",
            "describe-services"
        ]
    );
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "following deployment {OUR_DEPLOYMENT} of web ({WEB_2}); nothing will be changed"
        )),
        "{stderr}"
    );
    // The events the service already showed are not news; later ones are.
    assert!(
        !stderr.contains("(task 5b1e0c2f9d8a4e7b8c3d2a1f0e9d8c7b)"),
        "{stderr}"
    );
    assert!(stderr.contains("has reached a steady state"), "{stderr}");
}

#[test]
fn wait_only_fails_with_the_deployments_reason_and_rolls_nothing_back() {
    let (fake, assert) = wait_only(&[file("describe-services/web-failed.json")]);
    let stderr = stderr_of(&assert.code(1));
    assert!(
        stderr.contains("ECS deployment circuit breaker: tasks failed to start."),
        "{stderr}"
    );
    for op in ["register-task-definition", "update-service"] {
        assert!(fake.calls_of(op).is_empty(), "{op} called");
    }
}

#[test]
fn wait_only_does_not_go_with_a_change() {
    let fake = FakeAws::empty();
    for extra in [&["--enable-rollback"][..], &["-i", NEW_IMAGE]] {
        fake.cmd()
            .args(["-c", "prod", "-n", "web", "--wait-only"])
            .args(extra)
            .assert()
            .code(3)
            .stderr(predicate::str::contains("--wait-only changes nothing"));
    }
    assert!(fake.calls().is_empty());
}
