//! Secrets are masked as values, against the fake `aws`: with an ordinary task definition
//! (`AWS_REGION=us-east-1`, `APP_ENV=production`, `DD_SERVICE=worker`,
//! `LAST_STATE=succeeded`, and a `DB_PASSWORD` holding `"` and `\`), our own lines and every
//! JSON field stay intact, and the password is masked wherever text from outside carries it
//! (a log line, a stopped reason, an event, aws's error text), on every path.

mod common;

use std::time::Duration;

use common::{
    FakeAws, NEW_IMAGE, SERVICE_ARGS, TASK_B, WEB_1, WEB_2, answer, file, fixture, from_steady_and,
    lines, scenario, stderr_of as stderr, stdout_of as stdout,
};
use serde_json::{Value, json};

const PASSWORD: &str = r#"pa"ss\word-s3cr3t"#;
const ORDINARY: &str = "describe-task-definition/web-1-ordinary.json";
const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";

/// A log line of the crashed app that carries the password next to ordinary values.
fn leaky_line() -> String {
    format!("login failed with {PASSWORD} for worker in us-east-1 (production)")
}

/// Task B stopped, its reason carrying the password; its app logged [`leaky_line`].
fn task_b_leaks() -> Value {
    let mut stopped = fixture("describe-tasks/new-stopped.json");
    stopped["tasks"][0]["stoppedReason"] = json!(format!("Essential container exited: {PASSWORD}"));
    json!({
        "describe-task-definition": [file(ORDINARY)],
        "list-tasks": [answer(json!({"taskArns": [TASK_B]}))],
        "describe-tasks": [answer(stopped)],
        "logs get-log-events": [answer(json!({
            "events": [{"timestamp": 1, "message": format!("{}\n", leaky_line()), "ingestionTime": 2}],
            "nextForwardToken": "f/1", "nextBackwardToken": "b/1"
        }))],
    })
}

fn run(fake: &FakeAws, args: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(args)
        .args(["--poll-interval", "0.1", "-t", "20"])
        .timeout(Duration::from_secs(60))
        .assert()
}

/// Nothing printed shows the password, raw or JSON-escaped.
fn assert_never_printed(assert: &assert_cmd::assert::Assert) {
    let printed = format!("{}{}", stdout(assert), stderr(assert));
    let escaped = serde_json::to_string(PASSWORD).unwrap();
    assert!(!printed.contains(PASSWORD), "{printed}");
    assert!(
        !printed.contains(escaped.trim_matches('"')),
        "JSON-escaped:\n{printed}"
    );
}

/// The crashed app's log line, as printed under its stopped-task line.
fn masked_log_line() -> String {
    format!("    app | {}", leaky_line().replace(PASSWORD, "****"))
}

#[test]
fn a_failed_deploy_keeps_its_own_values_and_masks_the_password() {
    let fake = from_steady_and(&[file("describe-services/web-failed.json")], task_b_leaks());
    let assert = run(&fake, SERVICE_ARGS).code(1);
    assert_never_printed(&assert);
    let out = stdout(&assert);
    assert!(
        lines(&out).contains(&format!("Current task definition: {WEB_1}").as_str()),
        "{out}"
    );
    assert!(lines(&out).contains(&format!("New task definition: {WEB_2}").as_str()));
    let err = stderr(&assert);
    assert!(lines(&err).contains(&masked_log_line().as_str()), "{err}");
    assert!(
        err.contains("stopped: Essential container exited: ****"),
        "{err}"
    );
    assert!(
        err.contains("https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/"),
        "{err}"
    );
}

#[test]
fn every_json_field_of_ours_is_intact() {
    let fake = from_steady_and(&[file("describe-services/web-failed.json")], task_b_leaks());
    let assert = run(&fake, &[SERVICE_ARGS, &["--output", "json"]].concat()).code(1);
    assert_never_printed(&assert);
    let result: Value = serde_json::from_str(&stdout(&assert)).expect("one JSON object");
    assert_eq!(result["status"], "failed");
    assert_eq!(result["cluster"], "prod");
    assert_eq!(result["service"], "web");
    assert_eq!(result["service_arn"], SERVICE_ARN);
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(result["new_task_definition"], WEB_2);
    assert_eq!(result["stopped_tasks"][0]["task_arn"], TASK_B);
    assert_eq!(
        result["stopped_tasks"][0]["stopped_reason"],
        "Essential container exited: ****"
    );
    assert!(
        result["console_url"]
            .as_str()
            .is_some_and(|url| url.contains("region=us-east-1")),
        "{result}"
    );
}

#[test]
fn a_successful_deploy_says_succeeded_whatever_the_environment_holds() {
    let fake = from_steady_and(
        &[file("describe-services/web-done.json")],
        json!({"describe-task-definition": [file(ORDINARY)]}),
    );
    let assert = run(&fake, &[SERVICE_ARGS, &["--output", "json"]].concat()).success();
    let result: Value = serde_json::from_str(&stdout(&assert)).expect("one JSON object");
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["service_arn"], SERVICE_ARN);
    assert!(!stdout(&assert).contains("****"), "{}", stdout(&assert));
    assert!(!stderr(&assert).contains("****"), "{}", stderr(&assert));
}

#[test]
fn wait_only_masks_what_the_running_definition_holds() {
    // --wait-only registers nothing: the secrets come from the definition the service runs.
    let fake = scenario(json!({
        "describe-services": [
            file("describe-services/web-rolling.json"),
            file("describe-services/web-failed.json"),
        ],
        "describe-task-definition": [file(ORDINARY)],
        "list-tasks": task_b_leaks()["list-tasks"].clone(),
        "describe-tasks": task_b_leaks()["describe-tasks"].clone(),
        "logs get-log-events": task_b_leaks()["logs get-log-events"].clone(),
    }));
    let assert = run(&fake, &["-c", "prod", "-n", "web", "--wait-only"]).code(1);
    assert_never_printed(&assert);
    assert!(
        lines(&stderr(&assert)).contains(&masked_log_line().as_str()),
        "{}",
        stderr(&assert)
    );
}

#[test]
fn a_one_off_task_masks_its_streamed_log() {
    let mut migrate = fixture("describe-task-definition/migrate-1.json");
    migrate["taskDefinition"]["containerDefinitions"][0]["environment"] = json!([
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "DB_PASSWORD", "value": PASSWORD},
    ]);
    let fake = scenario(json!({
        "describe-task-definition": [answer(migrate)],
        "run-task": [file("run-task/migrate-started.json")],
        "describe-tasks": [
            file("describe-tasks/migrate-running.json"),
            file("describe-tasks/migrate-stopped-ok.json"),
        ],
        "logs get-log-events": [answer(json!({
            "events": [{"timestamp": 1, "message": format!("{}\n", leaky_line()), "ingestionTime": 2}],
            "nextForwardToken": "f/1", "nextBackwardToken": "b/1"
        }))],
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
    let assert = run(&fake, &args).success();
    assert_never_printed(&assert);
    let err = stderr(&assert);
    let masked = leaky_line().replace(PASSWORD, "****");
    assert!(
        lines(&err)
            .iter()
            .any(|line| line.ends_with(&format!("| {masked}"))),
        "{err}"
    );
}

#[test]
fn aws_error_text_is_masked_on_the_task_definition_path() {
    // A careless plugin echoes the definition's environment in its error text.
    let failing = json!({"exit": 252, "stderr": "\nParameter validation failed:\nInvalid type \
        for parameter containerDefinitions[0].environment", "echo_secrets": true});
    let fake = scenario(json!({
        "describe-task-definition": [file(ORDINARY)],
        "register-task-definition": [failing],
    }));
    let assert = run(&fake, &["-d", "web", "-i", NEW_IMAGE]).code(252);
    assert_never_printed(&assert);
    let err = stderr(&assert);
    // Plain configuration is not a secret: it is shown as it is.
    assert!(err.contains("us-east-1"), "{err}");
}

#[test]
fn events_of_a_rollback_are_masked_too() {
    let mut failed = fixture("describe-services/web-failed.json");
    failed["services"][0]["events"]
        .as_array_mut()
        .unwrap()
        .insert(
            0,
            json!({"id": "leak-1", "createdAt": "2026-01-01T00:00:00Z",
                   "message": format!("(service web) task failed: {PASSWORD}")}),
        );
    let mut rollback = fixture("describe-services/web-steady.json");
    let service = rollback["services"][0].take();
    let back =
        json!({"fixture": "describe-services/web-steady.json", "after": {"update-service": 2}});
    let mut ops = task_b_leaks();
    ops["update-service"] = json!([{"builtin": true}, answer(json!({"service": service}))]);
    let fake = from_steady_and(&[answer(failed), back], ops);
    let assert = run(&fake, &[SERVICE_ARGS, &["--enable-rollback"]].concat()).code(1);
    assert_never_printed(&assert);
    let err = stderr(&assert);
    assert!(
        err.contains("event: (service web) task failed: ****"),
        "{err}"
    );
    assert!(
        stdout(&assert).ends_with(&format!("Rolling back to {WEB_1}\n")),
        "{}",
        stdout(&assert)
    );
}
