//! Several services in one release (`-n` repeated): one describe-services for all, one
//! new revision per base definition, every service updated, then all watched together
//! by one describe-services per poll; `[SERVICE] ` before each service's lines; failure
//! of one named with its reason, and with `--enable-rollback` every service put back.
//! Also `--wait-only` with several services and SIGINT while they are watched.
//!
//! The fixtures describe one service, `web`; the other services here are copies of it
//! under another name, with deployment ids of their own.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{
    FakeAws, NEW_IMAGE, OUR_DEPLOYMENT, WEB_1, WEB_2, answer, arg_value, argv_of, file, finish,
    fixture, interrupt, lines, scenario, stderr_of, stdout_of,
};
use predicates::prelude::*;
use serde_json::{Value, json};

/// The definition `worker` runs in the tests where it does not share `web`'s.
const WORKER_1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/worker:1";

/// What the fake's register hands out second (its revision counter is shared by families).
const WORKER_3: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/worker:3";

/// The old deployment of `web` in the fixtures.
const WEB_OLD_DEPLOYMENT: &str = "ecs-svc/0000000000000000000";

/// A stopped task of `worker`'s new deployment.
const TASK_B: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/prod/7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f";

/// The reason ECS gives in `web-failed.json`.
const CIRCUIT_BREAKER: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// Why `worker` failed when its deployment is in the state of `web-failed.json`.
fn worker_failed() -> String {
    format!("deployment {} failed: {CIRCUIT_BREAKER}", WORKER.ours())
}

// ------------------------------------------------------------------ the services

/// One service of a release: its name, the definition it runs, the one it is deployed to.
struct Svc {
    name: &'static str,
    old: &'static str,
    new: &'static str,
}

impl Svc {
    const fn new(name: &'static str, old: &'static str, new: &'static str) -> Svc {
        Svc { name, old, new }
    }

    /// The deployment our update-service starts, the one it replaces, and the rollback's.
    fn deployments(&self) -> [&'static str; 3] {
        match self.name {
            "web" => [
                OUR_DEPLOYMENT,
                WEB_OLD_DEPLOYMENT,
                "ecs-svc/3333333333333333333",
            ],
            "worker" => [
                "ecs-svc/4444444444444444444",
                "ecs-svc/5555555555555555555",
                "ecs-svc/6666666666666666666",
            ],
            _ => [
                "ecs-svc/7777777777777777777",
                "ecs-svc/8888888888888888888",
                "ecs-svc/9999999999999999999",
            ],
        }
    }

    fn ours(&self) -> &'static str {
        self.deployments()[0]
    }

    fn arn(&self) -> String {
        format!(
            "arn:aws:ecs:us-east-1:123456789012:service/prod/{}",
            self.name
        )
    }

    /// The service in `describe-services/<path>` (a state of `web`, which runs web:1 and
    /// is deployed to web:2) as this service in the same state.
    fn in_state(&self, path: &str) -> Value {
        self.renamed(fixture(&format!("describe-services/{path}"))["services"][0].clone())
    }

    /// `service` (of `web`) as this service: name, ARN, definitions, deployment ids.
    fn renamed(&self, service: Value) -> Value {
        let [ours, old, _] = self.deployments();
        let text = service
            .to_string()
            .replace(WEB_1, self.old)
            .replace(WEB_2, self.new)
            .replace(OUR_DEPLOYMENT, ours)
            .replace(WEB_OLD_DEPLOYMENT, old)
            .replace("service/prod/web", &format!("service/prod/{}", self.name))
            .replace("(service web)", &format!("(service {})", self.name))
            .replace(
                r#""serviceName":"web""#,
                &format!(r#""serviceName":"{}""#, self.name),
            );
        serde_json::from_str(&text).unwrap()
    }

    /// web-rolling with our deployment not running any task yet.
    fn starting(&self) -> Value {
        let mut service = self.in_state("web-rolling.json");
        let ours = &mut service["deployments"][0];
        ours["runningCount"] = json!(0);
        ours["pendingCount"] = json!(2);
        service
    }

    /// The answer of our update-service: our deployment started, the old one still there.
    fn updated(&self) -> Value {
        json!({ "service": self.in_state("web-rolling.json") })
    }

    /// The answer of the rollback's update-service: a new PRIMARY on the old definition.
    fn rolling_back(&self) -> Value {
        let [_, _, back] = self.deployments();
        let mut service = self.in_state("web-rolling.json");
        service["taskDefinition"] = json!(self.old);
        let deployments = service["deployments"].as_array_mut().unwrap();
        deployments[1]["id"] = json!(back);
        deployments[1]["status"] = json!("PRIMARY");
        deployments[1]["rolloutState"] = json!("IN_PROGRESS");
        deployments[0]["status"] = json!("ACTIVE");
        deployments.swap(0, 1);
        json!({ "service": service })
    }

    /// Back on the old definition through the rollback's deployment, settled.
    fn rolled_back(&self) -> Value {
        let [_, _, back] = self.deployments();
        let mut service = self.in_state("web-steady.json");
        service["deployments"][0]["id"] = json!(back);
        service
    }
}

const WEB: Svc = Svc::new("web", WEB_1, WEB_2);
const WORKER: Svc = Svc::new("worker", WEB_1, WEB_2);
const API: Svc = Svc::new("api", WEB_1, WEB_2);
/// `worker` on a definition of its own.
const WORKER_OWN: Svc = Svc::new("worker", WORKER_1, WORKER_3);

/// A describe-services answer holding these services.
fn described(services: Vec<Value>) -> Value {
    json!({ "services": services, "failures": [] })
}

/// A describe-services step for calls naming exactly `svcs`, answering each in the state
/// `state` gives it.
fn poll(svcs: &[&Svc], state: impl Fn(&Svc) -> Value) -> Value {
    json!({
        "json": described(svcs.iter().map(|s| state(s)).collect()),
        "when": { "--services": names(svcs) },
    })
}

/// [`poll`] for the calls made once `op` was called `count` times.
fn poll_after(svcs: &[&Svc], state: impl Fn(&Svc) -> Value, op: &str, count: usize) -> Value {
    let mut step = poll(svcs, state);
    step["after"] = json!({ op: count });
    step
}

fn names(svcs: &[&Svc]) -> String {
    svcs.iter().map(|s| s.name).collect::<Vec<_>>().join(" ")
}

fn steady(svc: &Svc) -> Value {
    svc.in_state("web-steady.json")
}

fn done(svc: &Svc) -> Value {
    svc.in_state("web-done.json")
}

fn rolling(svc: &Svc) -> Value {
    svc.in_state("web-rolling.json")
}

fn failed(svc: &Svc) -> Value {
    svc.in_state("web-failed.json")
}

fn rolled_back(svc: &Svc) -> Value {
    svc.rolled_back()
}

/// update-service steps: each service's own answer to being pointed at its new
/// definition, and (for a rollback) back at its old one.
fn updates(svcs: &[&Svc]) -> Value {
    let mut steps = Vec::new();
    for svc in svcs {
        steps.push(json!({
            "json": svc.updated(),
            "when": { "--service": svc.name, "--task-definition": svc.new },
        }));
        steps.push(json!({
            "json": svc.rolling_back(),
            "when": { "--service": svc.name, "--task-definition": svc.old },
        }));
    }
    Value::Array(steps)
}

/// describe-task-definition: web:1 from the fixture, worker:1 as a copy of it.
fn definitions() -> Value {
    let mut worker = fixture("describe-task-definition/web-1.json");
    worker["taskDefinition"]["family"] = json!("worker");
    worker["taskDefinition"]["taskDefinitionArn"] = json!(WORKER_1);
    json!([
        { "fixture": "describe-task-definition/web-1.json", "when": { "--task-definition": WEB_1 } },
        { "json": worker, "when": { "--task-definition": WORKER_1 } },
        { "fixture": "describe-task-definition/web-2.json", "when": { "--task-definition": WEB_2 } },
    ])
}

/// At the first poll of web and worker: web still rolls out, worker's rollout FAILED.
fn web_rolls_worker_fails(s: &Svc) -> Value {
    if s.name == "web" {
        rolling(s)
    } else {
        failed(s)
    }
}

/// web and worker released; worker fails at the first poll, web is done at the next.
fn worker_fails_then_web_is_done() -> FakeAws {
    let both = [&WEB, &WORKER];
    release(
        &both,
        &[poll(&both, web_rolls_worker_fails), poll(&[&WEB], done)],
        task_b_stopped(&WORKER),
    )
}

/// A release of `svcs`, which all start steady; `polls` answer the describe-services
/// calls after the first; `more` adds the answers of other ops.
fn release(svcs: &[&Svc], polls: &[Value], more: Value) -> FakeAws {
    let mut describe = vec![json!({
        "json": described(svcs.iter().map(|s| steady(s)).collect()),
        "when": { "--services": names(svcs) },
        "times": 1,
    })];
    describe.extend_from_slice(polls);
    let mut ops = json!({
        "describe-services": describe,
        "describe-task-definition": definitions(),
        "update-service": updates(svcs),
    });
    for (op, answers) in more.as_object().expect("ops by name") {
        ops[op] = answers.clone();
    }
    scenario(ops)
}

/// list-tasks and describe-tasks for the stopped task B of `svc`'s new deployment.
fn task_b_stopped(svc: &Svc) -> Value {
    let mut tasks = fixture("describe-tasks/new-stopped.json");
    tasks["tasks"][0]["taskDefinitionArn"] = json!(svc.new);
    json!({
        "list-tasks": [{
            "json": { "taskArns": [TASK_B] },
            "when": { "--service-name": svc.name, "--desired-status": "STOPPED" },
        }],
        "describe-tasks": [answer(tasks)],
    })
}

// ------------------------------------------------------------------ running it

/// `-c prod -n A -n B ...` for `svcs`.
fn service_args(svcs: &[&Svc]) -> Vec<String> {
    let mut args = vec!["-c".to_string(), "prod".to_string()];
    for svc in svcs {
        args.push("-n".into());
        args.push(svc.name.into());
    }
    args
}

/// Deploy NEW_IMAGE to `svcs` with fast polls, `-t 10`, plus `extra`.
fn deploy(fake: &FakeAws, svcs: &[&Svc], extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(service_args(svcs))
        .args(["-i", NEW_IMAGE, "--poll-interval", "0.1", "-t", "10"])
        .args(extra)
        .timeout(Duration::from_secs(120))
        .assert()
}

/// The ops called, ECR's image look-ups left out (they are not what these tests pin).
fn ecs_ops(fake: &FakeAws) -> Vec<String> {
    fake.ops()
        .into_iter()
        .filter(|op| !op.starts_with("ecr "))
        .collect()
}

/// The names following `--services` in a describe-services call.
fn services_arg(call: &Value) -> String {
    let argv = argv_of(call);
    let at = argv.iter().position(|a| *a == "--services").unwrap();
    argv[at + 1..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `--services` of every describe-services call, in order.
fn described_services(fake: &FakeAws) -> Vec<String> {
    fake.calls_of("describe-services")
        .iter()
        .map(services_arg)
        .collect()
}

/// `(--service, --task-definition)` of every update-service call, in order.
fn service_updates(fake: &FakeAws) -> Vec<(String, String)> {
    fake.calls_of("update-service")
        .iter()
        .map(|call| {
            (
                arg_value(call, "--service").unwrap(),
                arg_value(call, "--task-definition").unwrap(),
            )
        })
        .collect()
}

fn updated(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(s, td)| (s.to_string(), td.to_string()))
        .collect()
}

/// The lines a successful watch of `svc` prints on stdout.
fn watched_to_success(svc: &Svc) -> [String; 3] {
    let name = svc.name;
    [
        format!("[{name}] Service updated successfully, new task definition running."),
        format!("[{name}] Waiting for service deployment to complete..."),
        format!("[{name}] Service deployment successful."),
    ]
}

/// The error the run ended with: the first line of ecs-deploy's own on stderr (a line
/// saying where things stand may follow it).
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|line| line.starts_with("ecs-deploy: "))
        .unwrap_or_default()
}

/// The last line on stderr.
fn last_line(stderr: &str) -> &str {
    stderr.lines().last().unwrap_or_default()
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{stdout}"))
}

// ------------------------------------------------------------------ deploys

#[test]
fn three_services_on_one_definition_share_one_revision_and_one_poll() {
    let all = [&WEB, &WORKER, &API];
    let fake = release(&all, &[poll(&all, done)], json!({}));
    let assert = deploy(&fake, &all, &[]).success();

    assert_eq!(
        ecs_ops(&fake),
        [
            "describe-services",
            "describe-task-definition",
            "register-task-definition",
            "update-service",
            "update-service",
            "update-service",
            "describe-services",
        ]
    );
    assert_eq!(
        described_services(&fake),
        ["web worker api", "web worker api"]
    );
    let described = &fake.calls_of("describe-task-definition")[0];
    assert_eq!(
        arg_value(described, "--task-definition").as_deref(),
        Some(WEB_1)
    );
    assert_eq!(
        fake.registered()[0]["containerDefinitions"][0]["image"],
        NEW_IMAGE
    );
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2), ("api", WEB_2)])
    );
    // Each update's CLI was started ahead (the first while the definition was read, each
    // next one while the one before ran) and read the new revision from its FIFO.
    for call in fake.calls_of("update-service") {
        assert_eq!(call["input"], json!({"taskDefinition": WEB_2}), "{call}");
        assert_eq!(call["input_mode"], "600", "{call}");
    }

    let mut expected = vec![format!("Using image name: {NEW_IMAGE}")];
    for svc in all {
        expected.push(format!("[{}] Current task definition: {WEB_1}", svc.name));
    }
    for svc in all {
        expected.push(format!("[{}] New task definition: {WEB_2}", svc.name));
    }
    for svc in all {
        expected.extend(watched_to_success(svc));
    }
    assert_eq!(lines(&stdout_of(&assert)), expected);

    let stderr = stderr_of(&assert);
    // The image change is shown once, for the one new revision, without a prefix.
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("  app: ") && l.contains(" -> "))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "[worker] deployment {}: 2 desired, 0 pending, 2 running",
            WORKER.ours()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("[api] event: (service api) has reached a steady state."),
        "{stderr}"
    );
}

#[test]
fn two_services_on_different_definitions_get_a_revision_each() {
    let both = [&WEB, &WORKER_OWN];
    let fake = release(&both, &[poll(&both, done)], json!({}));
    let assert = deploy(&fake, &both, &[]).success();

    assert_eq!(
        ecs_ops(&fake),
        [
            "describe-services",
            "describe-task-definition",
            "describe-task-definition",
            "register-task-definition",
            "register-task-definition",
            "update-service",
            "update-service",
            "describe-services",
        ]
    );
    let described: Vec<String> = fake
        .calls_of("describe-task-definition")
        .iter()
        .map(|call| arg_value(call, "--task-definition").unwrap())
        .collect();
    assert_eq!(described, [WEB_1, WORKER_1]);
    let families: Vec<Value> = fake
        .registered()
        .iter()
        .map(|input| input["family"].clone())
        .collect();
    assert_eq!(families, [json!("web"), json!("worker")]);
    for input in fake.registered() {
        assert_eq!(input["containerDefinitions"][0]["image"], NEW_IMAGE);
    }
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WORKER_3)])
    );
    let stdout = stdout_of(&assert);
    assert_eq!(
        lines(&stdout)[..5],
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("[web] Current task definition: {WEB_1}"),
            &format!("[worker] Current task definition: {WORKER_1}"),
            &format!("[web] New task definition: {WEB_2}"),
            &format!("[worker] New task definition: {WORKER_3}"),
        ]
    );
    assert_eq!(described_services(&fake), ["web worker", "web worker"]);
}

#[test]
fn one_failing_without_rollback_the_other_is_watched_to_its_end() {
    let both = [&WEB, &WORKER];
    // worker fails at the first poll; web still rolls, then is done.
    let fake = worker_fails_then_web_is_done();
    let assert = deploy(&fake, &both, &[]).code(1);

    assert_eq!(
        described_services(&fake),
        ["web worker", "web worker", "web"]
    );
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2)]),
        "nothing is rolled back"
    );
    let stdout = stdout_of(&assert);
    for line in watched_to_success(&WEB) {
        assert!(stdout.contains(&format!("{line}\n")), "{stdout}");
    }
    assert!(!stdout.contains("[worker] Service deployment successful."));
    assert!(!stdout.contains("Rolling back"), "{stdout}");

    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("[worker] ERROR: {}", worker_failed())),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "[worker] task 7c2f1d3e0a9b4c8d9e4f3b2a1c0d9e8f stopped: Essential container in task exited"
        ),
        "{stderr}"
    );
    assert_eq!(
        error_line(&stderr),
        format!(
            "ecs-deploy: 1 of 2 services failed (worker: {})",
            worker_failed()
        )
    );
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: every service was updated: web, worker"
    );
}

#[test]
fn one_failing_with_rollback_rolls_every_service_back() {
    let both = [&WEB, &WORKER];
    let fake = release(
        &both,
        &[
            poll(&both, web_rolls_worker_fails),
            // Once both rollbacks were asked for, both services settle on web:1 again.
            poll_after(&both, rolled_back, "update-service", 4),
        ],
        task_b_stopped(&WORKER),
    );
    let assert = deploy(&fake, &both, &["--enable-rollback"]).code(1);

    assert_eq!(
        service_updates(&fake),
        updated(&[
            ("web", WEB_2),
            ("worker", WEB_2),
            ("web", WEB_1),
            ("worker", WEB_1),
        ])
    );
    // Both rollbacks were started before either was waited for.
    let ops = ecs_ops(&fake);
    let last_update = ops.iter().rposition(|op| op == "update-service").unwrap();
    let first_rollback = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| *op == "update-service")
        .nth(2)
        .unwrap()
        .0;
    assert!(
        ops[first_rollback..=last_update]
            .iter()
            .all(|op| op == "update-service"),
        "{ops:?}"
    );
    // Only one poll before the failure (fail fast: web is not watched to its end), then
    // the two rollbacks are watched together, one poll for both.
    assert_eq!(
        described_services(&fake),
        ["web worker", "web worker", "web worker"]
    );

    let stdout = stdout_of(&assert);
    assert!(
        stdout.ends_with(&format!(
            "[web] Rolling back to {WEB_1}\n[worker] Rolling back to {WEB_1}\n"
        )),
        "{stdout}"
    );
    let stderr = stderr_of(&assert);
    for svc in both {
        assert!(
            stderr.contains(&format!(
                "[{}] rollback complete: the service runs {WEB_1} again",
                svc.name
            )),
            "{stderr}"
        );
    }
    assert_eq!(
        error_line(&stderr),
        format!(
            "ecs-deploy: 1 of 2 services failed (worker: {}); 2 of 2 services rolled back",
            worker_failed()
        )
    );
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: web: rolled back, worker: rolled back"
    );
}

/// `web`'s service deployment (blue/green) in the fixtures.
const WEB_SD: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Kx9qW2mR7tYbN4pZ";

/// A describe-service-deployments step: web's service deployment in `status` at `stage`.
fn web_service_deployment(status: &str, stage: &str) -> Value {
    let mut value = fixture("describe-service-deployments/web-blue-green.json");
    let sd = &mut value["serviceDeployments"][0];
    sd["status"] = json!(status);
    sd["lifecycleStage"] = json!(stage);
    answer(value)
}

#[test]
fn an_unfinished_service_deployment_is_rolled_back_by_ecs_with_the_release() {
    let both = [&WEB, &WORKER];
    let mut rollback_done = web_service_deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP");
    rollback_done["after"] = json!({ "stop-service-deployment": 1 });
    let fake = release(
        &both,
        &[
            // web (blue/green) has no new task yet when worker fails.
            poll(&both, |s| {
                if s.name == "web" {
                    s.starting()
                } else {
                    failed(s)
                }
            }),
            poll_after(&[&WORKER], rolled_back, "update-service", 3),
        ],
        json!({
            "update-service": [
                {
                    "fixture": "update-service/web-blue-green.json",
                    "when": { "--service": "web", "--task-definition": WEB_2 },
                },
                { "json": WORKER.updated(), "when": { "--service": "worker", "--task-definition": WEB_2 } },
                { "json": WORKER.rolling_back(), "when": { "--service": "worker", "--task-definition": WEB_1 } },
            ],
            "describe-service-deployments": [
                web_service_deployment("IN_PROGRESS", "SCALE_UP"),
                rollback_done,
            ],
            "stop-service-deployment": [answer(json!({ "serviceDeploymentArn": WEB_SD }))],
            "list-tasks": task_b_stopped(&WORKER)["list-tasks"],
            "describe-tasks": task_b_stopped(&WORKER)["describe-tasks"],
        }),
    );
    let assert = deploy(&fake, &both, &["--enable-rollback", "--output", "json"]).code(1);

    // ECS rolls web's service deployment back; worker is pointed back at web:1.
    let stops = fake.calls_of("stop-service-deployment");
    assert_eq!(stops.len(), 1);
    assert_eq!(
        arg_value(&stops[0], "--service-deployment-arn").as_deref(),
        Some(WEB_SD)
    );
    assert_eq!(
        arg_value(&stops[0], "--stop-type").as_deref(),
        Some("ROLLBACK")
    );
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2), ("worker", WEB_1)])
    );
    let result = json_of(&stdout_of(&assert));
    assert_eq!(result["status"], "rolled_back");
    let services = result["services"].as_array().expect("services");
    assert_eq!(services[0]["service_deployment_arn"], WEB_SD);
    for service in services {
        assert_eq!(service["status"], "rolled_back", "{service}");
        assert_eq!(
            service["rollback"],
            json!({"by": "ecs_deploy", "outcome": "succeeded"}),
            "{service}"
        );
    }
    let stderr = stderr_of(&assert);
    assert!(
        error_line(&stderr).ends_with("; 2 of 2 services rolled back"),
        "{stderr}"
    );
}

// ------------------------------------------------------------------ ECS's rollbacks

/// `svc`'s service deployment (blue/green), a copy of web's in the fixtures.
fn service_deployment_of(svc: &Svc) -> String {
    WEB_SD.replace("/prod/web/", &format!("/prod/{}/", svc.name))
}

/// update-service steps: each service's blue/green answer, naming its service deployment.
fn blue_green_updates(svcs: &[&Svc]) -> Value {
    let steps = svcs
        .iter()
        .map(|svc| {
            let mut service =
                svc.renamed(fixture("update-service/web-blue-green.json")["service"].clone());
            service["currentServiceDeployment"] = json!(service_deployment_of(svc));
            json!({
                "json": { "service": service },
                "when": { "--service": svc.name, "--task-definition": svc.new },
            })
        })
        .collect();
    Value::Array(steps)
}

/// A describe-service-deployments step for calls naming exactly the service deployments
/// of `svcs`, answering each in the status `status` gives it.
fn service_deployments(svcs: &[&Svc], status: impl Fn(&Svc) -> &'static str) -> Value {
    let one = fixture("describe-service-deployments/web-blue-green.json")["serviceDeployments"][0]
        .clone();
    let read: Vec<Value> = svcs
        .iter()
        .map(|svc| {
            let mut sd = one.clone();
            sd["serviceDeploymentArn"] = json!(service_deployment_of(svc));
            sd["serviceArn"] = json!(svc.arn());
            sd["status"] = json!(status(svc));
            sd["lifecycleStage"] = json!("RECONCILE_SERVICE");
            sd
        })
        .collect();
    let arns: Vec<String> = svcs.iter().map(|s| service_deployment_of(s)).collect();
    json!({
        "json": { "serviceDeployments": read, "failures": [] },
        "when": { "--service-deployment-arns": arns.join(" ") },
    })
}

/// The `--service-deployment-arns` of every describe-service-deployments call from the
/// first stop-service-deployment on, each as the names of their services.
fn rollback_reads(fake: &FakeAws) -> Vec<String> {
    let calls = fake.calls();
    let first_stop = calls
        .iter()
        .position(|call| call["op"] == "stop-service-deployment")
        .expect("a stop-service-deployment");
    calls[first_stop..]
        .iter()
        .filter(|call| call["op"] == "describe-service-deployments")
        .map(|call| {
            let argv = argv_of(call);
            let at = argv
                .iter()
                .position(|a| *a == "--service-deployment-arns")
                .unwrap();
            argv[at + 1..]
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .map(|arn| arn.split('/').nth(2).unwrap_or(arn))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The ops called from the first stop-service-deployment on, each run of the same op once.
fn ops_from_the_first_stop(fake: &FakeAws) -> Vec<String> {
    let mut ops = ecs_ops(fake);
    let first = ops
        .iter()
        .position(|op| op == "stop-service-deployment")
        .expect("a stop-service-deployment");
    ops.drain(..first);
    ops.dedup();
    ops
}

/// Seconds from the first stop-service-deployment to the last call, by the fake's clock.
fn rollback_wait(fake: &FakeAws) -> f64 {
    let calls = fake.calls();
    let at = |call: &Value| call["t"].as_f64().expect("the clock runs");
    let first_stop = calls
        .iter()
        .find(|call| call["op"] == "stop-service-deployment")
        .expect("a stop-service-deployment");
    at(calls.last().unwrap()) - at(first_stop)
}

/// Deploy to `svcs` with `--enable-rollback` and `-t SECONDS`; how long it took.
fn deploy_rolling_back(
    fake: &FakeAws,
    svcs: &[&Svc],
    seconds: u64,
) -> (assert_cmd::assert::Assert, Duration) {
    let started = Instant::now();
    let assert = fake
        .cmd()
        .args(service_args(svcs))
        .args([
            "-i",
            NEW_IMAGE,
            "--poll-interval",
            "0.1",
            "--enable-rollback",
        ])
        .args(["-t", &seconds.to_string()])
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1);
    (assert, started.elapsed())
}

#[test]
fn ecs_own_rollback_is_in_its_services_entry_without_enable_rollback() {
    let both = [&WEB, &WORKER];
    let fake = release(
        &both,
        &[poll(&both, done), poll(&[&WORKER], done)],
        json!({
            "update-service": blue_green_updates(&both),
            "describe-service-deployments": [
                // An alarm: ECS rolled web back on its own; worker's went well.
                service_deployments(&[&WEB], |_| "ROLLBACK_SUCCESSFUL"),
                service_deployments(&[&WORKER], |_| "SUCCESSFUL"),
            ],
            "list-tasks": [file("list-tasks/empty.json")],
        }),
    );
    let assert = deploy(&fake, &both, &["--output", "json"]).code(1);
    assert_eq!(fake.calls_of("update-service").len(), 2);
    let result = json_of(&stdout_of(&assert));
    let services = result["services"].as_array().expect("services");
    assert_eq!(
        services[0]["rollback"],
        json!({"by": "ecs", "outcome": "succeeded"}),
        "{result}"
    );
    assert_eq!(services[0]["status"], "rolled_back");
    assert_eq!(services[1]["status"], "succeeded", "{result}");
    assert!(services[1].get("rollback").is_none(), "{result}");
    assert_eq!(result["status"], "rolled_back");
}

#[test]
fn three_rollbacks_by_ecs_are_waited_for_together_within_one_timeout() {
    let three = [&WEB, &WORKER, &API];
    let t = 4;
    let fake = release(
        &three,
        // worker's rollout fails at the first poll; web and api have no new task yet.
        &[poll(&three, |s| {
            if s.name == "worker" {
                failed(s)
            } else {
                s.starting()
            }
        })],
        json!({
            "update-service": blue_green_updates(&three),
            "describe-service-deployments": [
                service_deployments(&[&WEB], |_| "IN_PROGRESS"),
                service_deployments(&[&WORKER], |_| "IN_PROGRESS"),
                service_deployments(&[&API], |_| "IN_PROGRESS"),
                // ECS is asked to roll all three back; none is done within -t.
                service_deployments(&three, |_| "ROLLBACK_IN_PROGRESS"),
            ],
            "stop-service-deployment": [answer(json!({}))],
            "list-tasks": [file("list-tasks/empty.json")],
        }),
    );
    let (assert, took) = deploy_rolling_back(&fake, &three, t);

    let stops: Vec<String> = fake
        .calls_of("stop-service-deployment")
        .iter()
        .map(|call| arg_value(call, "--service-deployment-arn").unwrap())
        .collect();
    assert_eq!(stops, three.map(service_deployment_of));
    // All three are started, then read together at each poll, until the one deadline.
    assert_eq!(
        ops_from_the_first_stop(&fake),
        ["stop-service-deployment", "describe-service-deployments"]
    );
    let reads = rollback_reads(&fake);
    assert!(reads.len() > 1, "{reads:?}");
    assert!(reads.iter().all(|r| r == "web worker api"), "{reads:?}");
    let waited = rollback_wait(&fake);
    assert!(waited < t as f64 * 1.5, "waited {waited} s with -t {t}");
    assert!(
        took < Duration::from_secs(t) * 5 / 2,
        "took {took:?} with -t {t}"
    );

    let stderr = stderr_of(&assert);
    for svc in three {
        let line = format!(
            "[{}] the rollback to {WEB_1} had not settled within {t} seconds; ECS goes on with it",
            svc.name
        );
        assert!(stderr.contains(&line), "{line} missing:\n{stderr}");
    }
    assert_eq!(
        error_line(&stderr),
        format!(
            "ecs-deploy: 1 of 3 services failed (worker: {}); 0 of 3 services rolled back",
            worker_failed()
        )
    );
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: web: rolling back, worker: rolling back, api: rolling back"
    );
}

#[test]
fn only_the_rollbacks_that_finished_count_as_rolled_back() {
    let three = [&WEB, &WORKER, &API];
    let t = 2;
    let mut alarmed = service_deployments(&[&WEB], |_| "ROLLBACK_IN_PROGRESS");
    let sd = &mut alarmed["json"]["serviceDeployments"][0];
    sd["statusReason"] = json!("Service deployment rolled back because of an alarm.");
    sd["alarms"]["triggeredAlarmNames"] = json!(["web-5xx-rate"]);
    let mut web_done = service_deployments(&three, |s| {
        if s.name == "web" {
            "ROLLBACK_SUCCESSFUL"
        } else {
            "ROLLBACK_IN_PROGRESS"
        }
    });
    web_done["times"] = json!(1);
    let fake = release(
        &three,
        &[poll(&three, |s| s.starting())],
        json!({
            "update-service": blue_green_updates(&three),
            "describe-service-deployments": [
                // An alarm: ECS rolls web back on its own; worker and api go on.
                alarmed,
                service_deployments(&[&WORKER], |_| "IN_PROGRESS"),
                service_deployments(&[&API], |_| "IN_PROGRESS"),
                // web's rollback is done at the first read; worker's and api's never.
                web_done,
                service_deployments(&[&WORKER, &API], |_| "ROLLBACK_IN_PROGRESS"),
            ],
            "stop-service-deployment": [answer(json!({}))],
            "list-tasks": [file("list-tasks/empty.json")],
        }),
    );
    let (assert, _) = deploy_rolling_back(&fake, &three, t);

    // web is not rolled back twice; ECS is asked to roll back the two others.
    let stops: Vec<String> = fake
        .calls_of("stop-service-deployment")
        .iter()
        .map(|call| arg_value(call, "--service-deployment-arn").unwrap())
        .collect();
    assert_eq!(stops, [&WORKER, &API].map(service_deployment_of));
    let reads = rollback_reads(&fake);
    assert_eq!(reads[0], "web worker api", "{reads:?}");
    assert!(reads.len() > 1, "{reads:?}");
    assert!(reads[1..].iter().all(|r| r == "worker api"), "{reads:?}");

    let stderr = stderr_of(&assert);
    for line in [
        "[web] ECS is already rolling the service deployment back; not rolling back twice".into(),
        format!("[web] rollback complete: the service runs {WEB_1} again"),
        format!(
            "[api] the rollback to {WEB_1} had not settled within {t} seconds; ECS goes on with it"
        ),
    ] {
        assert!(stderr.contains(&line), "{line} missing:\n{stderr}");
    }
    assert!(
        error_line(&stderr).ends_with("; 1 of 3 services rolled back"),
        "{stderr}"
    );
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: web: rolled back, worker: rolling back, api: rolling back"
    );
}

#[test]
fn json_result_of_a_rollback_even_of_the_service_that_succeeded() {
    let both = [&WEB, &WORKER];
    let fake = release(
        &both,
        &[
            // web is done at the same poll at which worker fails: all or nothing, it is
            // pointed back at web:1 too.
            poll(&both, |s| if s.name == "web" { done(s) } else { failed(s) }),
            poll_after(&both, rolled_back, "update-service", 4),
        ],
        task_b_stopped(&WORKER),
    );
    let assert = deploy(&fake, &both, &["--enable-rollback", "--output", "json"]).code(1);
    assert_eq!(
        service_updates(&fake),
        updated(&[
            ("web", WEB_2),
            ("worker", WEB_2),
            ("web", WEB_1),
            ("worker", WEB_1),
        ])
    );
    let stderr = stderr_of(&assert);
    for line in [
        "[web] Service deployment successful.".to_string(),
        format!("[web] Rolling back to {WEB_1}"),
        format!("[worker] Rolling back to {WEB_1}"),
    ] {
        assert!(stderr.contains(&line), "{line} missing:\n{stderr}");
    }
    let result = json_of(&stdout_of(&assert));
    assert_eq!(result["status"], "rolled_back");
    let services = result["services"].as_array().expect("services");
    assert_eq!(services.len(), 2);
    for (service, svc) in services.iter().zip(both) {
        assert_eq!(service["service"], svc.name);
        assert_eq!(service["status"], "rolled_back", "{service}");
        assert_eq!(service["previous_task_definition"], WEB_1);
        assert_eq!(service["new_task_definition"], WEB_2);
        assert_eq!(service["deployment_id"], svc.ours());
        assert_eq!(
            service["rollback"],
            json!({"by": "ecs_deploy", "outcome": "succeeded"}),
            "{service}"
        );
    }
    let web_reason = services[0]["failure_reason"].as_str().unwrap();
    assert!(
        web_reason.contains("rolled back with the release"),
        "{web_reason}"
    );
    assert_eq!(services[1]["failure_reason"], worker_failed());
}

#[test]
fn json_result_lists_each_service_and_the_worst_status() {
    let both = [&WEB, &WORKER];
    let fake = worker_fails_then_web_is_done();
    let assert = deploy(&fake, &both, &["--output", "json"]).code(1);
    let stdout = stdout_of(&assert);
    let result = json_of(&stdout);

    assert_eq!(result["status"], "failed");
    assert_eq!(result["cluster"], "prod");
    assert_eq!(result["service"], Value::Null);
    assert_eq!(result["images"], json!([NEW_IMAGE]));
    let reason = result["failure_reason"].as_str().expect("a reason");
    assert!(
        reason.contains(&format!("worker: {}", worker_failed())),
        "{reason}"
    );

    let services = result["services"].as_array().expect("services");
    assert_eq!(services.len(), 2, "{result}");
    let web = &services[0];
    assert_eq!(web["service"], "web");
    assert_eq!(web["service_arn"], WEB.arn());
    assert_eq!(web["status"], "succeeded");
    assert_eq!(web["previous_task_definition"], WEB_1);
    assert_eq!(web["new_task_definition"], WEB_2);
    assert_eq!(web["deployment_id"], WEB.ours());
    assert_eq!(web["failure_reason"], Value::Null);
    assert_eq!(web["stopped_tasks"], json!([]));

    let worker = &services[1];
    assert_eq!(worker["service"], "worker");
    assert_eq!(worker["service_arn"], WORKER.arn());
    assert_eq!(worker["status"], "failed");
    assert_eq!(worker["previous_task_definition"], WEB_1);
    assert_eq!(worker["new_task_definition"], WEB_2);
    assert_eq!(worker["deployment_id"], WORKER.ours());
    assert_eq!(worker["failure_reason"], worker_failed());
    let stopped = worker["stopped_tasks"].as_array().expect("stopped tasks");
    assert_eq!(stopped.len(), 1, "{worker}");
    assert_eq!(
        stopped[0]["stopped_reason"],
        "Essential container in task exited"
    );
    // The status lines went to stderr, prefixed; stdout is the one JSON object.
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("[web] Service deployment successful."),
        "{stderr}"
    );
    assert!(!stdout.contains("[web]"), "{stdout}");
}

#[test]
fn json_result_of_a_success_has_no_single_service() {
    let both = [&WEB, &WORKER];
    let fake = release(&both, &[poll(&both, done)], json!({}));
    let assert = deploy(&fake, &both, &["--output", "json"]).success();
    let result = json_of(&stdout_of(&assert));
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["service"], Value::Null);
    assert_eq!(result["failure_reason"], Value::Null);
    // The release's revisions on top, as for one service (and so in GITHUB_OUTPUT).
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(result["new_task_definition"], WEB_2);
    let statuses: Vec<&Value> = result["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["status"])
        .collect();
    assert_eq!(statuses, [&json!("succeeded"), &json!("succeeded")]);
}

#[test]
fn one_service_keeps_the_output_of_one() {
    let fake = release(&[&WEB], &[poll(&[&WEB], done)], json!({}));
    let text = deploy(&fake, &[&WEB], &[]).success();
    assert!(!stdout_of(&text).contains("[web]"));
    assert!(!stderr_of(&text).contains("[web]"));

    let fake = release(&[&WEB], &[poll(&[&WEB], done)], json!({}));
    let assert = deploy(&fake, &[&WEB], &["--output", "json"]).success();
    let result = json_of(&stdout_of(&assert));
    assert_eq!(result["service"], "web");
    assert!(result.get("services").is_none(), "{result}");
}

// ------------------------------------------------------------------ refused before a change

#[test]
fn a_missing_service_among_several_is_named_and_nothing_is_changed() {
    let fake = scenario(json!({
        "describe-services": [answer(json!({
            "services": [steady(&WEB), steady(&API)],
            "failures": [{ "arn": WORKER.arn(), "reason": "MISSING" }],
        }))],
        "describe-task-definition": definitions(),
    }));
    let assert = deploy(&fake, &[&WEB, &WORKER, &API], &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("service 'worker' was not found in cluster 'prod' (MISSING)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("'web'") && !stderr.contains("'api'"),
        "{stderr}"
    );
    assert_eq!(ecs_ops(&fake), ["describe-services"]);
    assert!(!stdout_of(&assert).contains("New task definition"));
}

#[test]
fn every_undeployable_service_is_named_before_any_change() {
    let mut inactive = steady(&WORKER);
    inactive["status"] = json!("INACTIVE");
    let mut external = steady(&API);
    external["deploymentController"] = json!({ "type": "EXTERNAL" });
    let fake = scenario(json!({
        "describe-services": [answer(described(vec![steady(&WEB), inactive, external]))],
        "describe-task-definition": definitions(),
    }));
    let assert = deploy(&fake, &[&WEB, &WORKER, &API], &[]).code(1);
    let stderr = stderr_of(&assert);
    let last = error_line(&stderr);
    assert!(
        last.contains("service 'worker' in cluster 'prod' is INACTIVE, not ACTIVE"),
        "{stderr}"
    );
    assert!(
        last.contains("service 'api' uses the EXTERNAL deployment controller"),
        "{stderr}"
    );
    assert!(last.contains("nothing was changed"), "{stderr}");
    assert_eq!(ecs_ops(&fake), ["describe-services"]);
}

// ------------------------------------------------------------------ --wait-only

/// `--wait-only` for web and worker, both rolling on web:2 (a deployment started
/// elsewhere); `polls` answer after the first look.
fn wait_only(polls: &[Value]) -> (FakeAws, assert_cmd::assert::Assert) {
    let both = [&WEB, &WORKER];
    let mut describe = vec![json!({
        "json": described(both.iter().map(|s| rolling(s)).collect()),
        "when": { "--services": "web worker" },
        "times": 1,
    })];
    describe.extend_from_slice(polls);
    let mut ops = task_b_stopped(&WORKER);
    ops["describe-services"] = json!(describe);
    ops["describe-task-definition"] = definitions();
    let fake = scenario(ops);
    let assert = fake
        .cmd()
        .args(service_args(&both))
        .args(["--wait-only", "--poll-interval", "0.1", "-t", "10"])
        .timeout(Duration::from_secs(120))
        .assert();
    (fake, assert)
}

#[test]
fn wait_only_follows_several_services_and_changes_nothing() {
    let both = [&WEB, &WORKER];
    let (fake, assert) = wait_only(&[poll(&both, done)]);
    let assert = assert.success();
    assert_eq!(
        ecs_ops(&fake),
        [
            "describe-services",
            "describe-task-definition",
            "describe-services",
        ]
    );
    assert_eq!(
        arg_value(
            &fake.calls_of("describe-task-definition")[0],
            "--task-definition"
        )
        .as_deref(),
        Some(WEB_2),
        "one look at the one definition both run"
    );
    assert_eq!(described_services(&fake), ["web worker", "web worker"]);
    let expected: Vec<String> = both.iter().flat_map(|s| watched_to_success(s)).collect();
    assert_eq!(lines(&stdout_of(&assert)), expected);
    let stderr = stderr_of(&assert);
    for svc in both {
        assert!(
            stderr.contains(&format!(
                "[{0}] following deployment {1} of {0} ({WEB_2}); nothing will be changed",
                svc.name,
                svc.ours()
            )),
            "{stderr}"
        );
    }
}

#[test]
fn wait_only_with_one_failing_exits_1_and_rolls_nothing_back() {
    let both = [&WEB, &WORKER];
    let (fake, assert) = wait_only(&[
        poll(&both, |s| {
            if s.name == "web" {
                rolling(s)
            } else {
                failed(s)
            }
        }),
        poll(&[&WEB], done),
    ]);
    let assert = assert.code(1);
    let stderr = stderr_of(&assert);
    assert_eq!(
        error_line(&stderr),
        format!(
            "ecs-deploy: 1 of 2 services failed (worker: {})",
            worker_failed()
        )
    );
    let stdout = stdout_of(&assert);
    assert!(
        stdout.ends_with("[web] Service deployment successful.\n"),
        "{stdout}"
    );
    for op in ["register-task-definition", "update-service"] {
        assert!(fake.calls_of(op).is_empty(), "{op} called");
    }
    assert_eq!(
        described_services(&fake),
        ["web worker", "web worker", "web"]
    );
}

// ------------------------------------------------------------------ SIGINT

/// Wait (bounded) until `fake` has answered `count` calls of `op`.
fn wait_for_calls(fake: &FakeAws, child: &mut Child, op: &str, count: usize) {
    let since = Instant::now();
    while fake.calls_of(op).len() < count {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ecs-deploy ended ({status}) before {count} calls of {op}");
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "not {count} {op}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_while_watching_several_leaves_them_to_ecs_and_exits_130() {
    let both = [&WEB, &WORKER];
    // Neither new deployment ever starts a task.
    let fake = release(&both, &[poll(&both, |s| s.starting())], json!({}));
    let mut child = fake
        .command()
        .args(service_args(&both))
        .args(["-i", NEW_IMAGE, "--poll-interval", "0.1", "-t", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy");
    // The look before the change, then a poll of the watch.
    wait_for_calls(&fake, &mut child, "describe-services", 2);
    interrupt(&child, "-INT");
    let (status, stdout, stderr) = finish(child);
    assert_eq!(status.code(), Some(130), "{stdout}{stderr}");
    assert!(!stdout.contains("Rolling back"), "{stdout}");
    assert!(
        stderr.contains(
            "stopped waiting; the deployments go on in ECS. Follow them with: \
             aws ecs describe-services --cluster prod --services web worker"
        ),
        "{stderr}"
    );
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2)]),
        "no change after the signal"
    );
    let ops = ecs_ops(&fake);
    assert!(
        !ops.iter()
            .any(|op| op.contains("deregister") || op.contains("stop")),
        "{ops:?}"
    );
}

// ------------------------------------------------------------------ usage

#[test]
fn eleven_services_are_a_usage_error() {
    let fake = FakeAws::empty();
    let mut args = vec!["-c", "prod", "-i", NEW_IMAGE];
    let names = [
        "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
    ];
    for name in &names {
        args.extend(["-n", name]);
    }
    fake.cmd()
        .args(&args)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("-n was given 11 times"));
    assert!(fake.calls().is_empty());

    // Ten are fine: one describe-services asks for all of them (the fake has no answer).
    let ten = &args[..args.len() - 2];
    fake.cmd().args(ten).assert().failure();
    let calls = fake.calls_of("describe-services");
    assert_eq!(calls.len(), 1);
    assert_eq!(services_arg(&calls[0]), names[..10].join(" "));
}

#[test]
fn a_service_named_twice_is_a_usage_error() {
    let fake = FakeAws::empty();
    fake.cmd()
        .args([
            "-c", "prod", "-n", "web", "-n", "worker", "-n", "web", "-i", NEW_IMAGE,
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("-n web is given twice"));
    assert!(fake.calls().is_empty());
}

#[test]
fn a_service_named_by_name_and_by_arn_is_a_usage_error_before_any_call() {
    let arn = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
    let fake = FakeAws::empty();
    fake.cmd()
        .args(["-c", "prod", "-n", "web", "-n", arn, "-i", NEW_IMAGE])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "-n web and -n {arn} are the same service"
        )));
    assert!(fake.all_calls().is_empty(), "{:?}", fake.all_calls());

    // An ARN of another cluster than -c: a release is one cluster.
    let staging = "arn:aws:ecs:us-east-1:123456789012:service/staging/worker";
    fake.cmd()
        .args(["-c", "prod", "-n", "web", "-n", staging, "-i", NEW_IMAGE])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "is a service of cluster 'staging', not of -c prod",
        ));
    assert!(fake.all_calls().is_empty(), "{:?}", fake.all_calls());
}

/// update-service answers where web's are as usual and worker's is refused.
fn worker_update_refused() -> Value {
    let mut steps = updates(&[&WEB]);
    steps.as_array_mut().unwrap().push(json!({
        "exit": 254,
        "stderr": "\nAn error occurred (AccessDeniedException) when calling the UpdateService \
                   operation: not allowed to update worker",
        "when": { "--service": "worker" },
    }));
    json!({ "update-service": steps })
}

#[test]
fn an_update_refused_midway_says_which_services_were_updated() {
    let both = [&WEB, &WORKER];
    let fake = release(&both, &[], worker_update_refused());
    let assert = deploy(&fake, &both, &[]).code(254);
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2)])
    );
    // Nothing is watched, and nothing is rolled back without --enable-rollback.
    assert_eq!(described_services(&fake), ["web worker"]);
    let stderr = stderr_of(&assert);
    assert!(
        error_line(&stderr).contains("AccessDeniedException"),
        "{stderr}"
    );
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: updated: web; not updated: worker"
    );
}

#[test]
fn an_update_refused_midway_rolls_back_those_updated_with_enable_rollback() {
    let both = [&WEB, &WORKER];
    let fake = release(
        &both,
        &[poll_after(&[&WEB], rolled_back, "update-service", 3)],
        worker_update_refused(),
    );
    let assert = deploy(&fake, &both, &["--enable-rollback", "--output", "json"]).code(1);
    assert_eq!(
        service_updates(&fake),
        updated(&[("web", WEB_2), ("worker", WEB_2), ("web", WEB_1)])
    );
    assert_eq!(described_services(&fake), ["web worker", "web"]);
    let result = json_of(&stdout_of(&assert));
    let services = result["services"].as_array().expect("services");
    assert_eq!(services[0]["status"], "rolled_back", "{result}");
    assert_eq!(services[1]["status"], "failed", "{result}");
    let stderr = stderr_of(&assert);
    assert!(
        error_line(&stderr).ends_with("; 1 of 2 services rolled back"),
        "{stderr}"
    );
}

// ------------------------------------------------------------------ lost answers

/// web and worker released; worker's update-service never answers although ECS applied it.
fn worker_update_lost(read_back: Value) -> FakeAws {
    let both = [&WEB, &WORKER];
    let fake = release(&both, &[read_back, poll(&both, done)], json!({}));
    let mut scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(fake.scenario_path()).unwrap()).unwrap();
    let steps = scenario["ops"]["update-service"].as_array_mut().unwrap();
    for step in steps.iter_mut() {
        if step["when"]["--service"] == "worker" {
            step["hang"] = json!(true);
        }
    }
    fake.set_scenario(scenario);
    fake
}

#[test]
fn an_update_whose_answer_was_lost_is_read_back_and_watched_with_the_others() {
    let fake = worker_update_lost(poll(&[&WORKER], rolling));
    let assert = deploy(&fake, &[&WEB, &WORKER], &["--call-timeout", "1"]).success();
    let err = stderr_of(&assert);
    assert!(
        err.contains(&format!(
            "[worker] note: update-service's answer was lost (aws gave no answer within 1 seconds \
             (--call-timeout); it was stopped); read back, worker runs {WEB_2}: following it as updated"
        )),
        "{err}"
    );
    assert_eq!(
        described_services(&fake),
        ["web worker", "worker", "web worker"]
    );
    let out = stdout_of(&assert);
    for line in watched_to_success(&WORKER) {
        assert!(out.contains(&line), "{out}");
    }
}

#[test]
fn an_update_lost_and_not_applied_names_what_was_updated() {
    let fake = worker_update_lost(poll(&[&WORKER], steady));
    let assert = deploy(&fake, &[&WEB, &WORKER], &["--call-timeout", "1"]).code(255);
    let err = stderr_of(&assert);
    assert!(
        error_line(&err).contains(&format!("read back, worker does not run {WEB_2}")),
        "{err}"
    );
    assert_eq!(
        last_line(&err),
        "ecs-deploy: updated: web; not updated: worker",
        "{err}"
    );
}

#[test]
fn a_second_signal_during_the_rollbacks_says_where_each_service_stands() {
    let both = [&WEB, &WORKER];
    let fake = release(
        &both,
        &[poll(&both, web_rolls_worker_fails)],
        task_b_stopped(&WORKER),
    );
    // web's rollback (update-service back to web:1) never answers.
    let mut scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(fake.scenario_path()).unwrap()).unwrap();
    for step in scenario["ops"]["update-service"].as_array_mut().unwrap() {
        if step["when"]["--service"] == "web" && step["when"]["--task-definition"] == WEB_1 {
            step["hang"] = json!(true);
        }
    }
    fake.set_scenario(scenario);
    let mut child = fake
        .command()
        .args(service_args(&both))
        .args(["-i", NEW_IMAGE, "--poll-interval", "0.1", "-t", "60"])
        .args(["--enable-rollback", "--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-deploy");
    wait_for_calls(&fake, &mut child, "update-service", 3);
    interrupt(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child, "-TERM");
    let (status, stdout, stderr) = finish(child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(
        last_line(&stderr),
        "ecs-deploy: interrupted again; web: its rollback is being asked for, worker: not rolled back",
        "{stderr}"
    );
    let result = json_of(&stdout);
    assert_eq!(result["status"], "interrupted");
    let services: Vec<&str> = result["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["service"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(services, ["web", "worker"]);
}

#[test]
fn an_ordinary_environment_leaves_every_prefix_and_name_intact() {
    // DD_SERVICE=worker, AWS_REGION=us-east-1, LAST_STATE=succeeded: plain configuration,
    // never mistaken for secrets in the [worker] prefixes or the JSON.
    let both = [&WEB, &WORKER];
    let fake = release(&both, &[poll(&both, worker_fails_web_done)], json!({}));
    let mut scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(fake.scenario_path()).unwrap()).unwrap();
    scenario["ops"]["describe-task-definition"] = json!([
        { "fixture": "describe-task-definition/web-1-ordinary.json" },
    ]);
    scenario["ops"]["list-tasks"] = json!([answer(json!({"taskArns": []}))]);
    fake.set_scenario(scenario);
    let assert = deploy(&fake, &both, &["--output", "json"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(!stderr.contains("****"), "{stderr}");
    assert!(
        stderr.contains("[web] Service deployment successful."),
        "{stderr}"
    );
    assert!(stderr.contains("[worker] ERROR: deployment"), "{stderr}");
    let result = json_of(&stdout_of(&assert));
    let services: Vec<&str> = result["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["service"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(services, ["web", "worker"]);
    assert_eq!(result["services"][0]["status"], "succeeded");
    assert!(
        text_of(&result["services"][1]["service_arn"]).contains(":us-east-1:"),
        "{result}"
    );
    assert!(!stdout_of(&assert).contains("****"));
}

fn worker_fails_web_done(s: &Svc) -> Value {
    if s.name == "web" { done(s) } else { failed(s) }
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
