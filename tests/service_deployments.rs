//! ECS's own deployment model against the fake `aws`: a service deployment per update,
//! blue/green, linear and canary strategies with their lifecycle stages and bake time,
//! alarms and ECS's own rollback, and the fallbacks when the service deployment cannot be
//! read. Rolling services keep to describe-services.

mod common;

use common::{
    Cli, FakeAws, SERVICE_ARGS, WEB_1, answer, assert_no_error_details, file, fixture,
    from_steady_and, lines, stderr_of, stdout_of,
};
use serde_json::{Value, json};

const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Kx9qW2mR7tYbN4pZ";

fn deploy(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.05", "-t", timeout])
        .args(extra)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
}

/// The update-service answer of a service with this strategy and a service deployment.
fn update_with(strategy: &str) -> Value {
    let mut value = fixture("update-service/web-blue-green.json");
    value["service"]["deploymentConfiguration"]["strategy"] = json!(strategy);
    answer(value)
}

/// A describe-service-deployments answer: our service deployment in `status` at `stage`.
fn service_deployment(status: &str, stage: &str) -> Value {
    let mut value = fixture("describe-service-deployments/web-blue-green.json");
    let sd = &mut value["serviceDeployments"][0];
    sd["status"] = json!(status);
    sd["lifecycleStage"] = json!(stage);
    answer(value)
}

/// A service whose new tasks run while the old deployment is still listed (bake time).
fn baking() -> Value {
    file("describe-services/web-rolling.json")
}

/// A managed deploy: update-service answers with `strategy` and a service deployment,
/// describe-services shows `polls`, describe-service-deployments answers `stages`.
fn managed(strategy: &str, polls: &[Value], stages: Vec<Value>, more: Value) -> FakeAws {
    let mut more = more;
    more["update-service"] = json!([update_with(strategy)]);
    more["describe-service-deployments"] = json!(stages);
    from_steady_and(polls, more)
}

fn stage_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("stage: "))
        .collect()
}

#[test]
fn blue_green_succeeds_only_after_bake_time_and_shows_each_stage() {
    let stages = vec![
        service_deployment("IN_PROGRESS", "SCALE_UP"),
        service_deployment("IN_PROGRESS", "TEST_TRAFFIC_SHIFT"),
        service_deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"),
        json!({"times": 3, "json": service_deployment("IN_PROGRESS", "BAKE_TIME")["json"]}),
        service_deployment("SUCCESSFUL", "CLEAN_UP"),
    ];
    // The old deployment stays listed through bake time: only SUCCESSFUL ends the wait.
    let fake = managed("BLUE_GREEN", &[baking()], stages, json!({}));
    let assert = deploy(&fake, "10", &["--output", "json"]).success();
    let stderr = stderr_of(&assert);
    assert_eq!(
        stage_lines(&stderr),
        [
            "stage: SCALE_UP",
            "stage: TEST_TRAFFIC_SHIFT",
            "stage: PRODUCTION_TRAFFIC_SHIFT",
            "stage: BAKE_TIME",
            "stage: CLEAN_UP",
        ]
    );
    assert_eq!(fake.calls_of("describe-service-deployments").len(), 7);
    let argv = &fake.calls_of("describe-service-deployments")[0];
    assert_eq!(
        common::arg_value(argv, "--service-deployment-arns").as_deref(),
        Some(SD)
    );
    assert!(
        stderr.contains("Service deployment successful."),
        "{stderr}"
    );
    let result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["service_deployment_arn"], SD);
    assert_eq!(result["strategy"], "BLUE_GREEN");
    assert_eq!(result["lifecycle_stage"], "CLEAN_UP");
}

#[test]
fn canary_walks_its_traffic_shifts_the_same_way() {
    let stages = vec![
        service_deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"),
        service_deployment("IN_PROGRESS", "BAKE_TIME"),
        service_deployment("SUCCESSFUL", "CLEAN_UP"),
    ];
    let fake = managed("CANARY", &[baking()], stages, json!({}));
    let assert = deploy(&fake, "10", &[]).success();
    assert_eq!(
        stage_lines(&stderr_of(&assert)),
        [
            "stage: PRODUCTION_TRAFFIC_SHIFT",
            "stage: BAKE_TIME",
            "stage: CLEAN_UP"
        ]
    );
}

/// describe-service-deployments: bake time, then an alarm that makes ECS roll the service
/// deployment back, its rollback in `status`.
fn alarm_in_bake_time(status: &str) -> Vec<Value> {
    let mut alarmed = fixture("describe-service-deployments/web-blue-green.json");
    let sd = &mut alarmed["serviceDeployments"][0];
    sd["status"] = json!(status);
    sd["statusReason"] = json!("Service deployment rolled back because of an alarm.");
    sd["alarms"]["status"] = json!("TRIGGERED");
    sd["alarms"]["triggeredAlarmNames"] = json!(["web-5xx-rate"]);
    sd["rollback"] = json!({"reason": "web-5xx-rate in ALARM", "startedAt": "2026-11-28T10:18:00Z",
        "serviceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/4201956721993561845"});
    vec![
        service_deployment("IN_PROGRESS", "BAKE_TIME"),
        answer(alarmed),
    ]
}

/// The JSON result of a deploy that ends with exit 1, without its duration.
fn failed_result(assert: assert_cmd::assert::Assert) -> Value {
    let mut result: Value = serde_json::from_str(&stdout_of(&assert)).unwrap();
    result.as_object_mut().unwrap().remove("duration_seconds");
    result
}

#[test]
fn an_alarm_during_bake_time_fails_fast_naming_it_without_a_second_rollback() {
    let fake = managed(
        "BLUE_GREEN",
        &[baking()],
        alarm_in_bake_time("ROLLBACK_IN_PROGRESS"),
        json!({}),
    );
    let assert = deploy(&fake, "60", &["--enable-rollback", "--output", "json"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(
            "ERROR: service deployment Kx9qW2mR7tYbN4pZ is ROLLBACK_IN_PROGRESS: Service deployment \
             rolled back because of an alarm. (alarms: web-5xx-rate); ECS is rolling the service back"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("not rolling back twice"), "{stderr}");
    assert_eq!(fake.calls_of("update-service").len(), 1);
    assert!(fake.calls_of("stop-service-deployment").is_empty());
}

#[test]
fn ecs_own_rollback_is_in_the_json_with_or_without_enable_rollback() {
    // Still going: the run failed; done: the service runs its previous revision again.
    for (status, result_status, outcome) in [
        ("ROLLBACK_IN_PROGRESS", "failed", "in_progress"),
        ("ROLLBACK_SUCCESSFUL", "rolled_back", "succeeded"),
    ] {
        let results: Vec<Value> = [
            &["--output", "json"][..],
            &["--output", "json", "--enable-rollback"],
        ]
        .into_iter()
        .map(|extra| {
            let stages = alarm_in_bake_time(status);
            let fake = managed("BLUE_GREEN", &[baking()], stages, json!({}));
            let result = failed_result(deploy(&fake, "60", extra).code(1));
            assert_eq!(fake.calls_of("update-service").len(), 1, "{extra:?}");
            assert!(fake.calls_of("stop-service-deployment").is_empty());
            result
        })
        .collect();
        assert_eq!(
            results[0]["rollback"],
            json!({"by": "ecs", "outcome": outcome}),
            "{}",
            results[0]
        );
        assert_eq!(results[0]["status"], result_status);
        assert_eq!(results[0], results[1]);
    }
}

#[test]
fn a_failed_rollback_of_ecs_is_in_the_json_as_failed() {
    let stages = alarm_in_bake_time("ROLLBACK_FAILED");
    let fake = managed("BLUE_GREEN", &[baking()], stages, json!({}));
    let result = failed_result(deploy(&fake, "60", &["--output", "json"]).code(1));
    assert_eq!(
        result["rollback"],
        json!({"by": "ecs", "outcome": "failed"})
    );
    assert_eq!(result["status"], "failed");
}

#[test]
fn enable_rollback_asks_ecs_to_roll_the_service_deployment_back() {
    let mut starting = fixture("describe-services/web-rolling.json");
    starting["services"][0]["deployments"][0]["runningCount"] = json!(0);
    let stages = vec![
        json!({"json": service_deployment("IN_PROGRESS", "SCALE_UP")["json"]}),
        json!({"json": service_deployment("ROLLBACK_IN_PROGRESS", "SCALE_UP")["json"],
               "after": {"stop-service-deployment": 1}}),
        json!({"json": service_deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP")["json"],
               "after": {"stop-service-deployment": 1}}),
    ];
    let fake = managed(
        "BLUE_GREEN",
        &[answer(starting)],
        stages,
        json!({"stop-service-deployment": [answer(json!({"serviceDeploymentArn": SD}))]}),
    );
    let assert = deploy(&fake, "1", &["--enable-rollback"]).code(1);
    let stdout = stdout_of(&assert);
    assert_eq!(
        lines(&stdout)[3..],
        [
            "ERROR: New task definition not running within 1 seconds",
            &format!("Rolling back to {WEB_1}"),
        ]
    );
    let stop = &fake.calls_of("stop-service-deployment")[0];
    assert_eq!(
        common::arg_value(stop, "--service-deployment-arn").as_deref(),
        Some(SD)
    );
    assert_eq!(
        common::arg_value(stop, "--stop-type").as_deref(),
        Some("ROLLBACK")
    );
    // ECS rolls back: no second update-service.
    assert_eq!(fake.calls_of("update-service").len(), 1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "rollback complete: the service runs {WEB_1} again"
        )),
        "{stderr}"
    );
}

#[test]
fn when_ecs_refuses_to_stop_the_deployment_the_service_is_pointed_back() {
    let mut starting = fixture("describe-services/web-rolling.json");
    starting["services"][0]["deployments"][0]["runningCount"] = json!(0);
    let refused = json!({"exit": 254, "stderr": "An error occurred (InvalidParameterException) \
        when calling the StopServiceDeployment operation: the deployment cannot be stopped"});
    let rolled_back = json!({"json": fixture("describe-services/web-steady.json"),
        "after": {"update-service": 2}});
    let fake = from_steady_and(
        &[answer(starting), rolled_back],
        json!({
            "update-service": [update_with("ROLLING"), {"builtin": true}],
            "stop-service-deployment": [refused],
        }),
    );
    let assert = deploy(&fake, "1", &["--enable-rollback"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("note: ECS did not roll the service deployment back"),
        "{stderr}"
    );
    fake.assert_last_task_definition("update-service", 2, WEB_1);
    // A rolling service never reads its service deployment while all goes well.
    assert!(fake.calls_of("describe-service-deployments").is_empty());
}

#[test]
fn access_denied_on_service_deployments_falls_back_to_the_deployments() {
    for cli in Cli::BOTH {
        let denied = json!({"exit": 254, "stderr": "An error occurred (AccessDeniedException) when \
            calling the DescribeServiceDeployments operation: User is not authorized"});
        let fake = managed(
            "BLUE_GREEN",
            &[baking(), file("describe-services/web-done.json")],
            vec![denied],
            json!({}),
        )
        .with_cli(cli);
        let assert = deploy(&fake, "10", &[]).success();
        let stderr = stderr_of(&assert);
        let notes: Vec<&str> = stderr
            .lines()
            .filter(|line| line.contains("note: cannot read the service deployment"))
            .collect();
        assert_eq!(notes.len(), 1, "{cli:?}: {stderr}");
        assert!(
            notes[0].contains("An error occurred (AccessDeniedException)"),
            "{cli:?}: {stderr}"
        );
        assert_no_error_details(&stderr);
        assert_eq!(fake.calls_of("describe-service-deployments").len(), 1);
    }
}

#[test]
fn without_a_service_deployment_a_blue_green_service_is_followed_by_its_deployments() {
    let mut update = fixture("update-service/web-blue-green.json");
    update["service"]
        .as_object_mut()
        .unwrap()
        .remove("currentServiceDeployment");
    let fake = from_steady_and(
        &[baking(), file("describe-services/web-done.json")],
        json!({"update-service": [answer(update)]}),
    );
    deploy(&fake, "10", &[]).success();
    assert!(fake.calls_of("describe-service-deployments").is_empty());
}

#[test]
fn a_rolling_service_with_a_service_deployment_keeps_its_call_budget() {
    let fake = from_steady_and(
        &[file("describe-services/web-done.json")],
        json!({"update-service": [update_with("ROLLING")]}),
    );
    deploy(&fake, "10", &[]).success();
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
}
