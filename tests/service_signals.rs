//! SIGINT while the rollout is being watched: roll back when asked, otherwise leave the
//! deployment to ECS and say so.

mod common;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{FakeAws, fixture};
use serde_json::json;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:2.0.0";
const WEB_1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const ROLLBACK: &str = "ecs-svc/3333333333333333333";
/// Generous bounds: they only stop a broken test from hanging.
const PATIENCE: Duration = Duration::from_secs(30);

/// A deploy whose new task never starts; after a second update-service the service is
/// back on web:1.
fn never_starting() -> FakeAws {
    let mut starting = fixture("describe-services/web-rolling.json");
    let ours = &mut starting["services"][0]["deployments"][0];
    ours["runningCount"] = json!(0);
    ours["pendingCount"] = json!(2);

    let mut rollback = fixture("describe-services/web-rolling.json")["services"][0].take();
    rollback["taskDefinition"] = json!(WEB_1);
    let deployments = rollback["deployments"].as_array_mut().unwrap();
    deployments[1]["id"] = json!(ROLLBACK);
    deployments[1]["status"] = json!("PRIMARY");
    deployments[0]["status"] = json!("ACTIVE");
    deployments.swap(0, 1);

    let mut rolled_back = fixture("describe-services/web-steady.json");
    rolled_back["services"][0]["deployments"][0]["id"] = json!(ROLLBACK);

    FakeAws::new(json!({"ops": {
        "describe-services": [
            {"fixture": "describe-services/web-steady.json"},
            {"json": starting},
            {"json": rolled_back, "after": {"update-service": 2}},
        ],
        "describe-task-definition": [{"fixture": "describe-task-definition/web-1.json"}],
        "update-service": [{"builtin": true}, {"json": {"service": rollback}}],
    }}))
}

fn start(fake: &FakeAws, extra: &[&str]) -> Child {
    fake.command()
        .args(["-c", "prod", "-n", "web", "-i", IMAGE])
        .args(["--poll-interval", "0.1", "-t", "60"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy")
}

fn wait_for_update_service(fake: &FakeAws, child: &mut Child) {
    let since = Instant::now();
    while fake.calls_of("update-service").is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ecs-deploy ended ({status}) before update-service");
        }
        assert!(since.elapsed() < PATIENCE, "no update-service call");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
}

/// Wait for the child (bounded), then return its status, stdout and stderr.
fn finish(mut child: Child) -> (ExitStatus, String, String) {
    let since = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if since.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("ecs-deploy did not stop after SIGINT");
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
    wait_for_update_service(&fake, &mut child);
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
    wait_for_update_service(&fake, &mut child);
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
