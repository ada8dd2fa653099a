//! Services whose deployment controller is CODE_DEPLOY, against the fake `aws`: the
//! deployment group found or named, the AppSpec sent, the lifecycle lines while waiting,
//! failed hooks, CodeDeploy's own rollback and ours, Ready, signals, `--wait-only`, JSON,
//! and a release of an ECS and a CODE_DEPLOY service.

mod common;

use common::{
    FakeAws, NEW_IMAGE, WEB_1, WEB_2, answer, arg_value, file, finish, fixture, interrupt,
    scenario, stderr_of, stdout_of, wait_for_call,
};
use serde_json::{Value, json};

const APP: &str = "web-app";
const GROUP: &str = "web-dg";
const ID: &str = "d-FAKE00001";

fn args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-c",
        "prod",
        "-n",
        "web",
        "-i",
        NEW_IMAGE,
        "--poll-interval",
        "0.05",
        "-t",
        "10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn deploy(fake: &FakeAws, extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(args(extra))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
}

/// A deployment group of `application` deploying `services` (cluster prod).
fn group(application: &str, name: &str, services: &[&str], auto_rollback: bool) -> Value {
    json!({
        "applicationName": application,
        "deploymentGroupId": format!("{name}-id"),
        "deploymentGroupName": name,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
        "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
        "computePlatform": "ECS",
        "autoRollbackConfiguration": {"enabled": auto_rollback, "events": ["DEPLOYMENT_FAILURE"]},
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
        },
        "ecsServices": services.iter().map(|s| json!({"serviceName": s, "clusterName": "prod"})).collect::<Vec<_>>(),
    })
}

fn deployment(id: &str, status: &str) -> Value {
    json!({
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentId": id,
        "status": status,
        "computePlatform": "ECS",
        "creator": "user",
        "createTime": "2026-12-04T10:00:00+00:00"
    })
}

fn deployments(list: &[Value]) -> Value {
    answer(json!({"deploymentsInfo": list}))
}

fn event(name: &str, status: &str) -> Value {
    json!({"lifecycleEventName": name, "status": status})
}

/// The ECS target of the deployment with these lifecycle events and the replacement's
/// running count.
fn target(events: &[Value], running: i64) -> Value {
    answer(json!({"deploymentTarget": {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "deploymentId": ID,
            "targetId": "prod:web",
            "targetArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            "status": "InProgress",
            "lifecycleEvents": events,
            "taskSetsInfo": [
                {"identifer": "ecs-svc/3333333333333333333", "desiredCount": 2, "runningCount": 2,
                 "status": "PRIMARY", "trafficWeight": 100.0, "taskSetLabel": "Blue"},
                {"identifer": "ecs-svc/4444444444444444444", "desiredCount": 2, "runningCount": running,
                 "status": "ACTIVE", "trafficWeight": 0.0, "taskSetLabel": "Green"}
            ]
        }
    }}))
}

const ALL: [&str; 8] = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// Lifecycle events: the first `done` Succeeded, the next InProgress, the rest Pending.
fn progress(done: usize) -> Vec<Value> {
    ALL.iter()
        .enumerate()
        .map(|(i, name)| {
            let status = match i {
                i if i < done => "Succeeded",
                i if i == done => "InProgress",
                _ => "Pending",
            };
            event(name, status)
        })
        .collect()
}

/// The describe-services answer of the CODE_DEPLOY service web on web:1.
fn code_deploy_service() -> Value {
    file("describe-services/web-code-deploy.json")
}

/// A fake where web is a CODE_DEPLOY service found through one application with one
/// group, and `more` adds the deploy answers.
fn codedeploy(more: Value) -> FakeAws {
    let mut ops = json!({
        "describe-services": [code_deploy_service()],
        "describe-task-definition": [file("describe-task-definition/web-1.json")],
        "deploy list-applications": [answer(json!({"applications": [APP]}))],
        "deploy list-deployment-groups": [answer(json!({"applicationName": APP, "deploymentGroups": [GROUP]}))],
        "deploy batch-get-deployment-groups": [answer(json!({"deploymentGroupsInfo": [group(APP, GROUP, &["web"], false)]}))],
    });
    for (op, answers) in more.as_object().expect("ops by name") {
        ops[op] = answers.clone();
    }
    scenario(ops)
}

/// A deployment that walks its lifecycle to Succeeded.
fn succeeding() -> Value {
    json!({
        "deploy batch-get-deployments": [
            deployments(&[deployment(ID, "InProgress")]),
            deployments(&[deployment(ID, "InProgress")]),
            deployments(&[deployment(ID, "InProgress")]),
            deployments(&[deployment(ID, "Succeeded")]),
        ],
        "deploy get-deployment-target": [
            target(&progress(1), 0),
            target(&progress(3), 2),
            target(&progress(7), 2),
        ],
    })
}

fn deploy_ops(fake: &FakeAws) -> Vec<String> {
    fake.ops()
}

fn sent_appspec(fake: &FakeAws) -> Value {
    let calls = fake.calls_of("deploy create-deployment");
    let input = &calls.last().expect("a create-deployment")["input"];
    assert_eq!(input["revision"]["revisionType"], "AppSpecContent");
    let content = input["revision"]["appSpecContent"]["content"]
        .as_str()
        .expect("content");
    serde_json::from_str(content).expect("the AppSpec sent is JSON")
}

#[test]
fn a_codedeploy_service_is_deployed_through_the_group_found_with_a_line_per_lifecycle_change() {
    let fake = codedeploy(succeeding());
    let assert = deploy(&fake, &["--output", "json"]).success();
    let stderr = stderr_of(&assert);
    let ops = deploy_ops(&fake);
    assert_eq!(ops[0], "describe-services", "{stderr}");
    // The group is found while the base definition is read: their calls interleave.
    let (found, rest) = ops[1..].split_at(4);
    let discovery: Vec<&str> = found
        .iter()
        .map(String::as_str)
        .filter(|op| *op != "describe-task-definition")
        .collect();
    assert_eq!(
        discovery,
        [
            "deploy list-applications",
            "deploy list-deployment-groups",
            "deploy batch-get-deployment-groups",
        ],
        "{stderr}"
    );
    assert_eq!(
        rest,
        [
            "register-task-definition",
            "deploy create-deployment",
            "deploy batch-get-deployments",
            "deploy get-deployment-target",
            "deploy batch-get-deployments",
            "deploy get-deployment-target",
            "deploy batch-get-deployments",
            "deploy get-deployment-target",
            "deploy batch-get-deployments",
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "CodeDeploy deployment group of web: {APP}/{GROUP}"
        )),
        "{stderr}"
    );
    let lifecycle: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("lifecycle: "))
        .collect();
    assert_eq!(
        lifecycle,
        [
            "lifecycle: BeforeInstall Succeeded",
            "lifecycle: Install InProgress",
            "lifecycle: Install Succeeded",
            "lifecycle: AfterInstall Succeeded",
            "lifecycle: AllowTestTraffic InProgress",
            "lifecycle: AllowTestTraffic Succeeded",
            "lifecycle: AfterAllowTestTraffic Succeeded",
            "lifecycle: BeforeAllowTraffic Succeeded",
            "lifecycle: AllowTraffic Succeeded",
            "lifecycle: AfterAllowTraffic InProgress",
        ],
        "{stderr}"
    );
    for line in [
        "Service updated successfully, new task definition running.",
        "Service deployment successful.",
    ] {
        assert!(stderr.contains(line), "{line}: {stderr}");
    }
    let appspec = sent_appspec(&fake);
    let properties = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(properties["TaskDefinition"], WEB_2);
    assert_eq!(properties["LoadBalancerInfo"]["ContainerName"], "app");
    assert_eq!(properties["LoadBalancerInfo"]["ContainerPort"], 8080);
    let create = &fake.calls_of("deploy create-deployment")[0]["input"];
    assert_eq!(create["applicationName"], APP);
    assert_eq!(create["deploymentGroupName"], GROUP);
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["controller"], "CODE_DEPLOY");
    assert_eq!(result["deployment_id"], ID);
    assert_eq!(result["new_task_definition"], WEB_2);
    assert_eq!(result["codedeploy"]["application"], APP);
    assert_eq!(result["codedeploy"]["deployment_group"], GROUP);
    assert_eq!(result["codedeploy"]["deployment_id"], ID);
    assert_eq!(result["codedeploy"]["status"], "Succeeded");
    assert_eq!(
        result["codedeploy"]["lifecycle_events"][6],
        json!({"name": "AllowTraffic", "status": "Succeeded"})
    );
}

#[test]
fn named_application_and_group_are_read_without_searching() {
    let fake = codedeploy(succeeding());
    deploy(
        &fake,
        &[
            "--codedeploy-application",
            APP,
            "--codedeploy-deployment-group",
            GROUP,
        ],
    )
    .success();
    let ops = deploy_ops(&fake);
    assert!(
        !ops.contains(&"deploy list-applications".to_string()),
        "{ops:?}"
    );
    let read = &fake.calls_of("deploy batch-get-deployment-groups")[0];
    assert_eq!(arg_value(read, "--application-name").as_deref(), Some(APP));
}

#[test]
fn no_group_for_the_service_is_an_error_before_anything_is_registered() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployment-groups": [answer(json!({"deploymentGroupsInfo": [group(APP, GROUP, &["api"], false)]}))],
    }));
    let assert = deploy(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("no CodeDeploy deployment group"),
        "{stderr}"
    );
    assert!(fake.calls_of("register-task-definition").is_empty());
    assert!(fake.calls_of("deploy create-deployment").is_empty());
}

/// list-applications refused: the discovery fails whatever the base definition's read does.
fn discovery_denied(more: Value) -> FakeAws {
    let mut ops = json!({
        "deploy list-applications": [{"exit": 254, "stderr": "\nAn error occurred (AccessDeniedException) when calling the ListApplications operation: User is not authorized to perform: codedeploy:ListApplications"}],
    });
    for (op, answers) in more.as_object().expect("ops by name") {
        ops[op] = answers.clone();
    }
    codedeploy(ops)
}

#[test]
fn a_failed_discovery_ends_the_run_with_its_error_and_nothing_registered() {
    let fake = discovery_denied(json!({}));
    let assert = deploy(&fake, &["--output", "json"]).code(254);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    assert!(stderr.contains("ListApplications"), "{stderr}");
    assert!(!stderr.contains("Current task definition"), "{stderr}");
    let ops = deploy_ops(&fake);
    assert!(
        ops.iter().all(|op| [
            "describe-services",
            "describe-task-definition",
            "deploy list-applications"
        ]
        .contains(&op.as_str())),
        "{ops:?}"
    );
    assert_eq!(fake.calls_of("deploy list-applications").len(), 1);
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "failed");
    assert!(result["new_task_definition"].is_null(), "{result}");
}

#[test]
fn when_the_base_definition_cannot_be_read_either_the_discoverys_error_is_the_one_shown() {
    let unreadable = json!({"exit": 254, "stderr": "\nAn error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition."});
    let fake = discovery_denied(json!({"describe-task-definition": [unreadable]}));
    let assert = deploy(&fake, &[]).code(254);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    assert!(!stderr.contains("Unable to describe"), "{stderr}");
    assert!(fake.calls_of("register-task-definition").is_empty());
}

#[test]
fn a_base_definition_that_cannot_be_read_is_the_error_once_the_group_is_found() {
    let unreadable = json!({"exit": 254, "stderr": "\nAn error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition."});
    let fake = codedeploy(json!({"describe-task-definition": [unreadable]}));
    let assert = deploy(&fake, &[]).failure();
    let stderr = stderr_of(&assert);
    let shown = stderr
        .find(&format!(
            "CodeDeploy deployment group of web: {APP}/{GROUP}"
        ))
        .expect("the group found is shown");
    let error = stderr.find("Unable to describe").expect("the read's error");
    assert!(shown < error, "{stderr}");
    assert!(fake.calls_of("register-task-definition").is_empty());
    assert_eq!(fake.calls_of("deploy batch-get-deployment-groups").len(), 1);
}

#[test]
fn several_groups_for_the_service_are_listed_and_nothing_is_registered() {
    let fake = codedeploy(json!({
        "deploy list-deployment-groups": [answer(json!({"applicationName": APP, "deploymentGroups": [GROUP, "web-dg-2"]}))],
        "deploy batch-get-deployment-groups": [answer(json!({"deploymentGroupsInfo": [
            group(APP, GROUP, &["web"], false),
            group(APP, "web-dg-2", &["web"], false),
        ]}))],
    }));
    let assert = deploy(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains(&format!("{APP}/{GROUP}")), "{stderr}");
    assert!(stderr.contains(&format!("{APP}/web-dg-2")), "{stderr}");
    assert!(fake.calls_of("register-task-definition").is_empty());
}

#[test]
fn a_users_appspec_keeps_its_hooks_and_gets_the_new_revision() {
    let fake = codedeploy(succeeding());
    let appspec = common::fixture_path("appspec/with-hooks.yaml");
    deploy(
        &fake,
        &[
            "--codedeploy-appspec",
            appspec.to_str().unwrap(),
            "--codedeploy-description",
            "release 2.0.0",
        ],
    )
    .success();
    let sent = sent_appspec(&fake);
    let properties = &sent["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(properties["TaskDefinition"], WEB_2);
    assert!(
        sent["Hooks"]
            .as_array()
            .is_some_and(|hooks| !hooks.is_empty()),
        "{sent}"
    );
    let create = &fake.calls_of("deploy create-deployment")[0]["input"];
    assert_eq!(create["description"], "release 2.0.0");
    let content = create["revision"]["appSpecContent"]["content"]
        .as_str()
        .unwrap();
    let sha = create["revision"]["appSpecContent"]["sha256"]
        .as_str()
        .unwrap();
    assert_eq!(sha, sha256_hex(content));
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn failed_hook(rolled_back_by: Option<&str>) -> Value {
    let mut failed = deployment(ID, "Failed");
    failed["errorInformation"] = json!({
        "code": "HOOK_EXECUTION_FAILURE",
        "message": "The deployment failed because one or more of the lifecycle event validations failed."
    });
    if let Some(rollback) = rolled_back_by {
        failed["rollbackInfo"] = json!({
            "rollbackDeploymentId": rollback,
            "rollbackMessage": format!("Deployment {ID} was rolled back by deployment {rollback}")
        });
    }
    failed
}

fn hook_failed_target() -> Value {
    let mut events = progress(4);
    events[4] = json!({
        "lifecycleEventName": "AfterAllowTestTraffic",
        "status": "Failed",
        "diagnostics": {
            "errorCode": "ScriptFailed",
            "scriptName": "smoke-test",
            "message": "smoke test got HTTP 500 from /health",
            "logTail": "GET /health -> 500\nassertion failed: status == 200"
        }
    });
    target(&events, 2)
}

#[test]
fn a_failed_hook_ends_the_wait_with_its_diagnostics() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            deployments(&[deployment(ID, "InProgress")]),
            deployments(&[failed_hook(None)]),
        ],
        "deploy get-deployment-target": [target(&progress(3), 2), hook_failed_target()],
        "list-tasks": [answer(json!({"taskArns": []}))],
    }));
    let assert = deploy(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("HOOK_EXECUTION_FAILURE"), "{stderr}");
    assert!(
        stderr.contains("lifecycle event AfterAllowTestTraffic failed (ScriptFailed: smoke-test: smoke test got HTTP 500 from /health)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    AfterAllowTestTraffic | assertion failed: status == 200"),
        "{stderr}"
    );
    assert!(fake.calls_of("deploy stop-deployment").is_empty());
}

#[test]
fn codedeploys_own_rollback_is_waited_for_and_not_done_twice() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            {"json": {"deploymentsInfo": [deployment(ID, "InProgress")]}, "when": {"--deployment-ids": ID}},
            {"json": {"deploymentsInfo": [failed_hook(Some("d-ROLLBACK1"))]}, "when": {"--deployment-ids": ID}},
            {"json": {"deploymentsInfo": [deployment("d-ROLLBACK1", "InProgress")]}, "when": {"--deployment-ids": "d-ROLLBACK1"}},
            {"json": {"deploymentsInfo": [deployment("d-ROLLBACK1", "Succeeded")]}, "when": {"--deployment-ids": "d-ROLLBACK1"}},
        ],
        "deploy get-deployment-target": [target(&progress(3), 2), hook_failed_target()],
        "list-tasks": [answer(json!({"taskArns": []}))],
    }));
    let assert = deploy(&fake, &["--enable-rollback", "--output", "json"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("not rolling back twice"), "{stderr}");
    assert!(
        fake.calls_of("deploy stop-deployment").is_empty(),
        "{stderr}"
    );
    assert_eq!(fake.calls_of("deploy create-deployment").len(), 1);
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "rolled_back", "{stderr}");
    assert_eq!(
        result["rollback"],
        json!({"by": "codedeploy", "outcome": "succeeded"})
    );
}

#[test]
fn enable_rollback_stops_the_deployment_with_codedeploys_rollback() {
    let mut stopped = deployment(ID, "Stopped");
    stopped["rollbackInfo"] = json!({"rollbackDeploymentId": "d-ROLLBACK1"});
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            {"json": {"deploymentsInfo": [deployment(ID, "InProgress")]}, "when": {"--deployment-ids": ID}},
            {"json": {"deploymentsInfo": [stopped]}, "when": {"--deployment-ids": ID}, "after": {"deploy stop-deployment": 1}},
            {"json": {"deploymentsInfo": [deployment("d-ROLLBACK1", "Succeeded")]}, "when": {"--deployment-ids": "d-ROLLBACK1"}},
        ],
        "deploy get-deployment-target": [target(&progress(1), 0)],
        "list-tasks": [answer(json!({"taskArns": []}))],
    }));
    let assert = fake
        .cmd()
        .args([
            "-c",
            "prod",
            "-n",
            "web",
            "-i",
            NEW_IMAGE,
            "--poll-interval",
            "0.05",
            "-t",
            "1",
            "--enable-rollback",
            "--output",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    let stop = &fake.calls_of("deploy stop-deployment")[0];
    assert_eq!(arg_value(stop, "--deployment-id").as_deref(), Some(ID));
    assert!(
        common::argv_of(stop).contains(&"--auto-rollback-enabled"),
        "{stop}"
    );
    assert!(
        stderr.contains(&format!("Rolling back to {WEB_1}")),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "rolled_back", "{stderr}");
    assert_eq!(
        result["rollback"],
        json!({"by": "ecs_deploy", "outcome": "succeeded"})
    );
}

#[test]
fn ready_shows_the_continue_command_once() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            {"json": {"deploymentsInfo": [deployment(ID, "Ready")]}, "times": 3},
            deployments(&[deployment(ID, "Succeeded")]),
        ],
        "deploy get-deployment-target": [target(&progress(6), 2)],
    }));
    let assert = deploy(&fake, &[]).success();
    let stderr = stderr_of(&assert);
    let command = format!(
        "aws deploy continue-deployment --deployment-id {ID} --deployment-wait-type READY_WAIT"
    );
    assert_eq!(stderr.matches(&command).count(), 1, "{stderr}");
}

#[test]
fn a_signal_while_waiting_names_the_deployment_and_how_to_follow_it() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [deployments(&[deployment(ID, "InProgress")])],
        "deploy get-deployment-target": [target(&progress(1), 0)],
    }));
    let mut child = fake
        .command()
        .args(args(&[]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_call(&fake, &mut child, "deploy batch-get-deployments");
    interrupt(&child, "-INT");
    let (status, _, stderr) = finish(child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(ID)
            && last.contains(&format!("aws deploy get-deployment --deployment-id {ID}")),
        "{stderr}"
    );
    assert!(fake.calls_of("deploy stop-deployment").is_empty());
}

#[test]
fn wait_only_follows_the_groups_deployment_in_progress() {
    let fake = codedeploy(json!({
        "deploy list-deployments": [answer(json!({"deployments": [ID]}))],
        "deploy batch-get-deployments": [deployments(&[deployment(ID, "Succeeded")])],
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
            "10",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("following CodeDeploy deployment {ID}")),
        "{stderr}"
    );
    let ops = fake.ops();
    assert!(
        !ops.iter()
            .any(|op| op == "register-task-definition" || op == "deploy create-deployment"),
        "{ops:?}"
    );
    let listed = &fake.calls_of("deploy list-deployments")[0];
    assert!(common::argv_of(listed).contains(&"InProgress"), "{listed}");
}

#[test]
fn dry_run_shows_the_appspec_and_creates_nothing() {
    let fake = codedeploy(json!({}));
    let assert = deploy(&fake, &["--dry-run"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "would create a CodeDeploy deployment in {APP}/{GROUP}"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("AWS::ECS::Service"), "{stderr}");
    assert!(fake.calls_of("deploy create-deployment").is_empty());
}

#[test]
fn a_lost_create_deployment_answer_is_read_back_from_the_groups_deployments() {
    let fake = codedeploy(json!({
        "deploy create-deployment": [{"hang": true}],
        "deploy list-deployments": [answer(json!({"deployments": [ID]}))],
        "deploy batch-get-deployments": [deployments(&[deployment(ID, "Succeeded")])],
    }));
    let assert = deploy(&fake, &["--call-timeout", "1"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("create-deployment's answer was lost"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("runs deployment {ID}: following it")),
        "{stderr}"
    );
}

#[test]
fn an_external_controller_is_refused_before_any_change() {
    let mut service = fixture("describe-services/web-code-deploy.json");
    service["services"][0]["deploymentController"]["type"] = json!("EXTERNAL");
    let fake = scenario(json!({"describe-services": [answer(service)]}));
    let assert = deploy(&fake, &[]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("EXTERNAL"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(fake.ops(), ["describe-services"]);
}

#[test]
fn a_release_of_an_ecs_and_a_codedeploy_service_watches_both_in_one_loop() {
    let mut both = fixture("describe-services/web-steady.json");
    let mut cd = fixture("describe-services/web-code-deploy.json")["services"][0].clone();
    cd["serviceName"] = json!("api");
    cd["serviceArn"] = json!("arn:aws:ecs:us-east-1:123456789012:service/prod/api");
    both["services"].as_array_mut().unwrap().push(cd);
    let mut done = fixture("describe-services/web-done.json");
    done["services"][0]["deployments"][0]["id"] = json!("ecs-svc/1111111111111111111");
    let fake = codedeploy(json!({
        "describe-services": [answer(both), file("describe-services/web-done.json")],
        "deploy batch-get-deployment-groups": [answer(json!({"deploymentGroupsInfo": [group(APP, GROUP, &["api"], false)]}))],
        "deploy batch-get-deployments": [deployments(&[deployment(ID, "Succeeded")])],
    }));
    let assert = fake
        .cmd()
        .args([
            "-c",
            "prod",
            "-n",
            "web",
            "-n",
            "api",
            "-i",
            NEW_IMAGE,
            "--poll-interval",
            "0.05",
            "-t",
            "10",
            "--output",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let result: Value = serde_json::from_str(&String::from_utf8_lossy(&assert.get_output().stdout))
        .unwrap_or_default();
    assert_eq!(result["status"], "succeeded", "{stderr}");
    let services = result["services"].as_array().expect("services");
    assert_eq!(services[0]["controller"], "ECS");
    assert_eq!(services[1]["controller"], "CODE_DEPLOY");
    assert_eq!(fake.calls_of("update-service").len(), 1);
    assert_eq!(fake.calls_of("deploy create-deployment").len(), 1);
    assert_eq!(
        fake.calls_of("register-task-definition").len(),
        1,
        "one revision for both"
    );
}

#[test]
fn a_hung_target_read_and_a_garbage_deployment_answer_are_retried_and_the_deploy_succeeds() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            deployments(&[deployment(ID, "InProgress")]),
            {"stdout_raw": "{\"deploymentsInfo\": [{\"deploymentId\": 7"},
            deployments(&[deployment(ID, "InProgress")]),
            deployments(&[deployment(ID, "Succeeded")]),
        ],
        "deploy get-deployment-target": [{"hang": true}, target(&progress(7), 2)],
    }));
    let assert = deploy(&fake, &["--call-timeout", "1"]).success();
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("will retry"), "{stderr}");
    assert!(
        stdout_of(&assert).contains("Service deployment successful."),
        "{stderr}"
    );
}

#[test]
fn a_target_that_cannot_be_read_leaves_the_status_to_decide_with_one_note() {
    let denied = json!({"exit": 254, "stderr": "An error occurred (AccessDeniedException) when calling the GetDeploymentTarget operation: not authorized to perform codedeploy:GetDeploymentTarget"});
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [
            {"json": {"deploymentsInfo": [deployment(ID, "InProgress")]}, "times": 2},
            deployments(&[deployment(ID, "Succeeded")]),
        ],
        "deploy get-deployment-target": [denied],
    }));
    let assert = deploy(&fake, &[]).success();
    let stderr = stderr_of(&assert);
    assert_eq!(
        stderr
            .matches("note: cannot read the deployment's ECS target")
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        fake.calls_of("deploy get-deployment-target").len(),
        1,
        "{stderr}"
    );
    assert!(
        stdout_of(&assert).contains("Service deployment successful."),
        "{stderr}"
    );
}

#[test]
fn wait_until_a_lifecycle_event_ends_the_wait_there() {
    let fake = codedeploy(json!({
        "deploy batch-get-deployments": [deployments(&[deployment(ID, "InProgress")])],
        "deploy get-deployment-target": [target(&progress(2), 2), target(&progress(4), 2)],
    }));
    let assert = deploy(&fake, &["--wait-until", "AfterAllowTestTraffic"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("stopped waiting at lifecycle event AfterAllowTestTraffic (--wait-until)"),
        "{stderr}"
    );
    assert_eq!(
        fake.calls_of("deploy get-deployment-target").len(),
        2,
        "{stderr}"
    );
    let refused = deploy(&codedeploy(json!({})), &["--wait-until", "paused"]).code(3);
    assert!(stderr_of(&refused).contains("no pause hooks"));
}

#[test]
fn a_lost_stop_deployment_answer_is_read_back() {
    let mut stopped = deployment(ID, "Stopped");
    stopped["rollbackInfo"] = json!({"rollbackDeploymentId": "d-ROLLBACK1"});
    let fake = codedeploy(json!({
        "deploy stop-deployment": [{"hang": true}],
        "deploy batch-get-deployments": [
            {"json": {"deploymentsInfo": [deployment(ID, "InProgress")]}, "when": {"--deployment-ids": ID}},
            {"json": {"deploymentsInfo": [stopped]}, "when": {"--deployment-ids": ID}, "after": {"deploy stop-deployment": 1}},
            {"json": {"deploymentsInfo": [deployment("d-ROLLBACK1", "Succeeded")]}, "when": {"--deployment-ids": "d-ROLLBACK1"}},
        ],
        "deploy get-deployment-target": [target(&progress(1), 0)],
        "list-tasks": [answer(json!({"taskArns": []}))],
    }));
    let assert = fake
        .cmd()
        .args([
            "-c",
            "prod",
            "-n",
            "web",
            "-i",
            NEW_IMAGE,
            "--poll-interval",
            "0.05",
            "-t",
            "2",
            "--call-timeout",
            "1",
            "--enable-rollback",
            "--output",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "rolled_back", "{stderr}");
    assert!(
        fake.calls_of("deploy create-deployment").len() == 1,
        "no second deployment: {stderr}"
    );
}
