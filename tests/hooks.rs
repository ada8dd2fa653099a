//! Lifecycle hooks and pauses of ECS's own blue/green deployments, against the fake `aws`:
//! a line per hook change, failed and timed-out hooks named, a pause announced once with
//! its commands, `--wait-until`, `--continue-deployment`, a pause until `-t` with and
//! without `--enable-rollback`, and `hooks` in the JSON result.

mod common;

use common::{
    FakeAws, SERVICE_ARGS, answer, arg_value, file, fixture, from_steady_and, scenario, stderr_of,
    stdout_of,
};
use serde_json::{Value, json};

const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Kx9qW2mR7tYbN4pZ";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test";

fn deploy(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.05", "-t", timeout])
        .args(extra)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
}

fn hook(id: &str, kind: &str, status: &str) -> Value {
    let mut hook = json!({"hookId": id, "targetType": kind, "status": status});
    if kind == "AWS_LAMBDA" {
        hook["targetArn"] = json!(LAMBDA);
    }
    if status == "AWAITING_ACTION" {
        hook["expiresAt"] = json!("2026-12-04T12:00:00+00:00");
        hook["timeoutAction"] = json!("ROLLBACK");
    }
    hook
}

/// A describe-service-deployments answer: our service deployment in `status` at `stage`
/// with these hooks.
fn sd(status: &str, stage: &str, hooks: &[Value]) -> Value {
    let mut value = fixture("describe-service-deployments/web-blue-green.json");
    let one = &mut value["serviceDeployments"][0];
    one["status"] = json!(status);
    one["lifecycleStage"] = json!(stage);
    one["lifecycleHookDetails"] = json!(hooks);
    answer(value)
}

/// A blue/green deploy whose service deployment answers `stages`; the old deployment
/// stays listed (bake time), so only the service deployment ends the wait.
fn blue_green(stages: Vec<Value>, more: Value) -> FakeAws {
    let mut steady = fixture("describe-services/web-steady.json");
    steady["services"][0]["deploymentConfiguration"]["strategy"] = json!("BLUE_GREEN");
    let mut ops = json!({
        "describe-services": [answer(steady), file("describe-services/web-rolling.json")],
        "describe-task-definition": [file("describe-task-definition/web-1.json")],
        "update-service": [answer(fixture("update-service/web-blue-green.json"))],
        "describe-service-deployments": stages,
    });
    for (op, answers) in more.as_object().expect("ops by name") {
        ops[op] = answers.clone();
    }
    scenario(ops)
}

fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_lambda_hook_is_one_line_per_status_change_and_in_the_json() {
    let stages = vec![
        sd(
            "IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            &[hook("h-1", "AWS_LAMBDA", "IN_PROGRESS")],
        ),
        sd(
            "IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            &[hook("h-1", "AWS_LAMBDA", "IN_PROGRESS")],
        ),
        sd(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            &[hook("h-1", "AWS_LAMBDA", "SUCCEEDED")],
        ),
        sd(
            "SUCCESSFUL",
            "CLEAN_UP",
            &[hook("h-1", "AWS_LAMBDA", "SUCCEEDED")],
        ),
    ];
    let fake = blue_green(stages, json!({}));
    let assert = deploy(&fake, "10", &["--output", "json"]).success();
    let stderr = stderr_of(&assert);
    assert_eq!(
        lines_starting(&stderr, "hook "),
        [
            "hook h-1 (AWS_LAMBDA smoke-test) at POST_TEST_TRAFFIC_SHIFT: IN_PROGRESS",
            "hook h-1 (AWS_LAMBDA smoke-test) at PRODUCTION_TRAFFIC_SHIFT: SUCCEEDED",
        ],
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(
        result["hooks"],
        json!([{"id": "h-1", "type": "AWS_LAMBDA", "target": LAMBDA,
                "stage": "PRODUCTION_TRAFFIC_SHIFT", "status": "SUCCEEDED",
                "expires_at": null, "timeout_action": null}])
    );
}

#[test]
fn a_failed_hook_is_named_in_the_reason_with_ecss_rollback() {
    for status in ["FAILED", "TIMED_OUT"] {
        let mut failed = sd(
            "ROLLBACK_IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            &[hook("h-1", "AWS_LAMBDA", status)],
        );
        failed["json"]["serviceDeployments"][0]["statusReason"] =
            json!("Service deployment rolled back because a lifecycle hook failed.");
        let stages = vec![
            sd(
                "IN_PROGRESS",
                "POST_TEST_TRAFFIC_SHIFT",
                &[hook("h-1", "AWS_LAMBDA", "IN_PROGRESS")],
            ),
            failed,
        ];
        let fake = blue_green(
            stages,
            json!({"list-tasks": [answer(json!({"taskArns": []}))]}),
        );
        let assert = deploy(&fake, "10", &[]).code(1);
        let stderr = stderr_of(&assert);
        let expected = format!(
            "ERROR: service deployment Kx9qW2mR7tYbN4pZ is ROLLBACK_IN_PROGRESS: Service deployment rolled back because a lifecycle hook failed. \
             (hook h-1 (AWS_LAMBDA smoke-test) {status}); ECS is rolling the service back"
        );
        assert!(stderr.lines().any(|l| l == expected), "{status}: {stderr}");
    }
}

#[test]
fn a_pause_is_announced_once_with_the_commands_to_continue_and_roll_back() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let stages = vec![
        paused.clone(),
        paused,
        sd(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
        sd(
            "SUCCESSFUL",
            "CLEAN_UP",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
    ];
    let fake = blue_green(stages, json!({}));
    let assert = deploy(&fake, "10", &[]).success();
    let stderr = stderr_of(&assert);
    let announced: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("is paused at"))
        .collect();
    assert_eq!(
        announced,
        [
            "the deployment is paused at POST_TEST_TRAFFIC_SHIFT by hook p-1 until 2026-12-04T12:00:00+00:00, then ROLLBACK"
        ],
        "{stderr}"
    );
    for action in ["CONTINUE", "ROLLBACK"] {
        let command = format!(
            "aws ecs continue-service-deployment --service-deployment-arn {SD} --hook-id p-1 --action {action}"
        );
        assert_eq!(stderr.matches(&command).count(), 1, "{stderr}");
    }
}

#[test]
fn a_pause_is_a_github_notice() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let fake = blue_green(vec![paused], json!({}));
    let assert = fake
        .cmd()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.05", "--wait-until", "paused"])
        .env("GITHUB_ACTIONS", "true")
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.lines().any(|l| l.starts_with("::notice title=ecs-deploy%3A deployment paused::the deployment is paused at POST_TEST_TRAFFIC_SHIFT")),
        "{stderr}"
    );
}

#[test]
fn wait_until_paused_ends_at_the_pause_with_exit_0() {
    let stages = vec![
        sd("IN_PROGRESS", "TEST_TRAFFIC_SHIFT", &[]),
        sd(
            "IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
        ),
    ];
    let fake = blue_green(stages, json!({}));
    let assert = deploy(&fake, "10", &["--wait-until", "paused"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("stopped waiting at a pause (--wait-until)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ecs-deploy -c prod -n web --wait-only"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--hook-id p-1 --action CONTINUE"),
        "{stderr}"
    );
    assert_eq!(fake.calls_of("describe-service-deployments").len(), 2);
}

#[test]
fn wait_until_a_stage_ends_there_with_exit_0() {
    let stages = vec![
        sd("IN_PROGRESS", "TEST_TRAFFIC_SHIFT", &[]),
        sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", &[]),
        sd("IN_PROGRESS", "BAKE_TIME", &[]),
        sd("SUCCESSFUL", "CLEAN_UP", &[]),
    ];
    let fake = blue_green(stages, json!({}));
    let assert = deploy(&fake, "10", &["--wait-until", "bake_time"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("stopped waiting at stage BAKE_TIME (--wait-until)"),
        "{stderr}"
    );
    assert_eq!(
        fake.calls_of("describe-service-deployments").len(),
        3,
        "{stderr}"
    );
}

#[test]
fn wait_until_is_refused_for_a_rolling_service_before_any_change() {
    let fake = from_steady_and(&[], json!({}));
    let assert = deploy(&fake, "10", &["--wait-until", "BAKE_TIME"]).code(3);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("ROLLING strategy"), "{stderr}");
    assert!(fake.calls_of("register-task-definition").is_empty());
    let assert = deploy(&FakeAws::empty(), "10", &["--wait-until", "SOMEWHERE"]).code(3);
    assert!(stderr_of(&assert).contains("--wait-until takes paused"));
}

/// A blue/green service whose current service deployment is SD, on web:2 (the deployment
/// a pause holds), with `stages` as describe-service-deployments' answers.
fn paused_service(stages: Vec<Value>) -> FakeAws {
    scenario(paused_ops(stages))
}

fn paused_ops(stages: Vec<Value>) -> Value {
    let mut service = fixture("describe-services/web-rolling.json");
    service["services"][0]["currentServiceDeployment"] = json!(SD);
    service["services"][0]["deploymentConfiguration"]["strategy"] = json!("BLUE_GREEN");
    json!({
        "describe-services": [answer(service)],
        "describe-task-definition": [file("describe-task-definition/web-2.json")],
        "describe-service-deployments": stages,
    })
}

fn continue_cmd(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args([
            "-c",
            "prod",
            "-n",
            "web",
            "--continue-deployment",
            "--poll-interval",
            "0.05",
            "-t",
            "10",
        ])
        .args(extra)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
}

#[test]
fn continue_deployment_releases_the_pause_and_follows_to_success() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let fake = paused_service(vec![
        paused,
        sd(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
        sd(
            "SUCCESSFUL",
            "CLEAN_UP",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
    ]);
    let assert = continue_cmd(&fake, &[]).success();
    let stderr = stderr_of(&assert);
    let call = &fake.calls_of("continue-service-deployment")[0];
    assert_eq!(
        arg_value(call, "--service-deployment-arn").as_deref(),
        Some(SD)
    );
    assert_eq!(arg_value(call, "--hook-id").as_deref(), Some("p-1"));
    assert_eq!(arg_value(call, "--action").as_deref(), Some("CONTINUE"));
    assert!(
        stderr.contains("released hook p-1 of web with CONTINUE"),
        "{stderr}"
    );
    assert!(
        stdout_of(&assert).contains("Service deployment successful."),
        "{stderr}"
    );
    assert!(fake.calls_of("update-service").is_empty());
}

#[test]
fn continue_deployment_with_rollback_follows_ecs_rollback_to_its_end() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let fake = paused_service(vec![
        paused,
        sd(
            "ROLLBACK_IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
        sd(
            "ROLLBACK_SUCCESSFUL",
            "CLEAN_UP",
            &[hook("p-1", "PAUSE", "SUCCEEDED")],
        ),
    ]);
    let assert = continue_cmd(&fake, &["--action", "rollback", "--output", "json"]).success();
    let stderr = stderr_of(&assert);
    let call = &fake.calls_of("continue-service-deployment")[0];
    assert_eq!(arg_value(call, "--action").as_deref(), Some("ROLLBACK"));
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "rolled_back", "{stderr}");
    assert_eq!(result["rollback"]["outcome"], "succeeded", "{stderr}");
}

#[test]
fn continue_deployment_without_a_pause_is_exit_1_naming_what_it_found() {
    let fake = paused_service(vec![sd(
        "IN_PROGRESS",
        "BAKE_TIME",
        &[hook("h-1", "AWS_LAMBDA", "SUCCEEDED")],
    )]);
    let assert = continue_cmd(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("no paused deployment to continue"),
        "{stderr}"
    );
    assert!(stderr.contains("IN_PROGRESS at BAKE_TIME"), "{stderr}");
    assert!(
        stderr.contains("h-1 (AWS_LAMBDA smoke-test) SUCCEEDED"),
        "{stderr}"
    );
    assert!(fake.calls_of("continue-service-deployment").is_empty());
}

#[test]
fn a_pause_until_the_timeout_says_so_with_the_commands() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let fake = blue_green(
        vec![paused],
        json!({"list-tasks": [answer(json!({"taskArns": []}))]}),
    );
    let assert = deploy(&fake, "1", &["--output", "json"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("ERROR: paused at POST_TEST_TRAFFIC_SHIFT by hook p-1 since "),
        "{stderr}"
    );
    assert!(stderr.contains("; nothing was changed"), "{stderr}");
    assert!(
        stderr.contains("--hook-id p-1 --action ROLLBACK"),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "timed_out");
    assert!(fake.calls_of("continue-service-deployment").is_empty());
}

#[test]
fn enable_rollback_rolls_a_paused_deployment_back_through_its_pause() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let fake = blue_green(
        vec![
            json!({"json": paused["json"], "times": 1000}),
            json!({"json": sd("ROLLBACK_SUCCESSFUL", "CLEAN_UP", &[hook("p-1", "PAUSE", "SUCCEEDED")])["json"],
                   "after": {"continue-service-deployment": 1}}),
        ],
        json!({"list-tasks": [answer(json!({"taskArns": []}))]}),
    );
    let assert = deploy(&fake, "1", &["--enable-rollback", "--output", "json"]).code(1);
    let stderr = stderr_of(&assert);
    let call = &fake.calls_of("continue-service-deployment")[0];
    assert_eq!(arg_value(call, "--hook-id").as_deref(), Some("p-1"));
    assert_eq!(arg_value(call, "--action").as_deref(), Some("ROLLBACK"));
    assert!(
        fake.calls_of("stop-service-deployment").is_empty(),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "rolled_back", "{stderr}");
}

#[test]
fn a_lost_continue_answer_is_read_back_from_the_pause() {
    let paused = sd(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        &[hook("p-1", "PAUSE", "AWAITING_ACTION")],
    );
    let released = sd(
        "SUCCESSFUL",
        "CLEAN_UP",
        &[hook("p-1", "PAUSE", "SUCCEEDED")],
    );
    let mut ops = paused_ops(vec![
        json!({"json": paused["json"]}),
        json!({"json": released["json"], "after": {"continue-service-deployment": 1}}),
    ]);
    ops["continue-service-deployment"] = json!([{"hang": true}]);
    let fake = scenario(ops.clone());
    let assert = continue_cmd(&fake, &["--call-timeout", "1"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("released hook p-1 of web with CONTINUE"),
        "{stderr}"
    );

    // Still paused when read back: unknown, and how to check.
    ops["describe-service-deployments"] = json!([paused]);
    let fake = scenario(ops);
    let assert = continue_cmd(&fake, &["--call-timeout", "1"]).failure();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("whether hook p-1 was released is unknown"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "aws ecs describe-service-deployments --service-deployment-arns {SD}"
        )),
        "{stderr}"
    );
}
