//! Only decisive reads decide, against the fake `aws`: reads that only explain (the logs of
//! a crashed task, the list of stopped tasks) may hang or fail without turning a good deploy
//! into a failure or holding it up; an update-service whose answer was lost is read back
//! before anything is claimed; a service deployment that cannot be read falls back to the
//! service's deployments.

mod common;

use std::time::Duration;

use common::{
    FakeAws, SERVICE_ARGS, TASK_B, TASK_B_STOPPED, WEB_1, WEB_2, answer, crashed_task, file,
    fixture, from_steady_and, lines, scenario, stderr_of as stderr, stdout_of as stdout,
    task_b_crashed,
};
use serde_json::{Value, json};

const HANG: fn() -> Value = || json!({"hang": true, "grandchild": true});

fn deploy(fake: &FakeAws, timeout: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "0.1", "-t", timeout])
        .args(extra)
        .timeout(Duration::from_secs(90))
        .assert()
}

/// web-rolling with our deployment at `running` tasks and `failed` failed ones.
fn rolling(running: i64, failed: i64) -> Value {
    let mut value = fixture("describe-services/web-rolling.json");
    let ours = &mut value["services"][0]["deployments"][0];
    ours["runningCount"] = json!(running);
    ours["failedTasks"] = json!(failed);
    answer(value)
}

fn notes(err: &str) -> Vec<&str> {
    lines(err)
        .into_iter()
        .filter(|line| line.starts_with("note:"))
        .collect()
}

// ------------------------------------------------------------------ side work

#[test]
fn a_hung_log_read_does_not_hold_up_a_rollout_that_comes_up() {
    // Task B crashed on the way; the next poll sees the rollout done. The log read of the
    // crashed container never answers: it is stopped once the wait is over, not waited for.
    let fake = from_steady_and(
        &[rolling(1, 1), file("describe-services/web-done.json")],
        task_b_crashed(vec![HANG()]),
    );
    let assert = deploy(&fake, "60", &[]).success();
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    let err = stderr(&assert);
    let at = lines(&err)
        .iter()
        .position(|line| *line == TASK_B_STOPPED)
        .unwrap_or_else(|| panic!("no stopped line:\n{err}"));
    assert_eq!(
        lines(&err)[at + 1],
        "note: logs of app: still being read when the wait ended; not shown"
    );
    assert_eq!(notes(&err).len(), 1, "{err}");
    assert_eq!(fake.calls_of("logs get-log-events").len(), 1);
    assert_no_aws_left(&fake);
}

/// No aws child (nor anything it started) outlived the run.
fn assert_no_aws_left(fake: &FakeAws) {
    let pids = fake
        .all_calls()
        .into_iter()
        .filter_map(|call| call["pid"].as_i64());
    for pid in pids.chain(fake.grandchildren().into_iter().map(i64::from)) {
        let pid = i32::try_from(pid).unwrap();
        assert!(!common::alive(pid), "process {pid} outlived the run");
    }
}

#[test]
fn a_log_read_gets_its_own_budget_then_one_note() {
    // --call-timeout 1: a side read may take 1 s at most. The rollout takes longer.
    let fake = from_steady_and(
        &[
            rolling(0, 1),
            json!({"json": rolling(0, 1)["json"], "times": 25}),
            rolling(1, 1),
            file("describe-services/web-done.json"),
        ],
        task_b_crashed(vec![HANG()]),
    );
    let assert = deploy(&fake, "60", &["--call-timeout", "1"]).success();
    let err = stderr(&assert);
    assert_eq!(
        notes(&err),
        ["note: logs of app: no answer within 1 s; not read"],
        "{err}"
    );
    let block = lines(&err);
    let at = block
        .iter()
        .position(|line| *line == TASK_B_STOPPED)
        .unwrap();
    assert_eq!(block[at + 1], notes(&err)[0]);
}

#[test]
fn a_hung_stopped_task_listing_ends_a_poll_before_the_deadline() {
    // No task of ours runs at the first poll and ECS counts a failed one: the listing of
    // the stopped tasks hangs. It is cut a poll before the 3 s deadline, and the next poll
    // (a decisive read) sees the task running.
    let mut ops = task_b_crashed(vec![]);
    ops["list-tasks"] = json!([HANG()]);
    let fake = from_steady_and(
        &[
            rolling(0, 1),
            rolling(1, 1),
            file("describe-services/web-done.json"),
        ],
        ops,
    );
    let assert = deploy(&fake, "3", &[]).success();
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    let err = stderr(&assert);
    let notes = notes(&err);
    assert_eq!(notes.len(), 1, "{err}");
    assert!(
        notes[0].starts_with(
            "note: could not list the stopped tasks (will try again when more fail): no answer within"
        ),
        "{err}"
    );
    assert!(!err.contains("not running within"), "{err}");
}

#[test]
fn a_one_off_task_that_exits_0_succeeds_with_its_log_reads_hung() {
    let fake = scenario(json!({
        "describe-task-definition": [file("describe-task-definition/migrate-1.json")],
        "run-task": [file("run-task/migrate-started.json")],
        "describe-tasks": [
            file("describe-tasks/migrate-running.json"),
            file("describe-tasks/migrate-stopped-ok.json"),
        ],
        "logs get-log-events": [HANG()],
    }));
    let assert = fake
        .cmd()
        .args(["-c", "prod", "-d", "migrate", "-i", common::NEW_IMAGE])
        .args(["--run-task", "--wait-for-success", "--poll-interval", "0.1"])
        .args(["-t", "30", "--call-timeout", "1"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    assert!(
        stdout(&assert).contains("executed successfully!"),
        "{}",
        stdout(&assert)
    );
    let err = stderr(&assert);
    // Each essential container's log is given up once, with a note; never read again.
    let notes = notes(&err);
    assert!(!notes.is_empty(), "{err}");
    assert!(
        notes
            .iter()
            .all(|note| note.ends_with("no answer within 1 s; not read")),
        "{err}"
    );
    assert_eq!(fake.calls_of("logs get-log-events").len(), notes.len());
}

// ------------------------------------------------------------------ lost update answers

/// update-service never answers; describe-services after it (the read back, then the
/// polls) answers `later`.
fn lost_update(later: &[Value], more: Value) -> FakeAws {
    let mut more = more;
    let mut updates = vec![json!({"builtin": true, "hang": true})];
    if let Some(rest) = more["update-service"].as_array() {
        updates.extend(rest.iter().cloned());
    }
    more["update-service"] = json!(updates);
    from_steady_and(later, more)
}

#[test]
fn an_update_applied_but_unanswered_is_read_back_and_watched() {
    let fake = lost_update(
        &[
            file("describe-services/web-rolling.json"),
            file("describe-services/web-done.json"),
        ],
        json!({}),
    );
    let assert = deploy(&fake, "10", &["--call-timeout", "1"]).success();
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
    let err = stderr(&assert);
    assert!(
        err.contains(&format!(
            "note: update-service's answer was lost (aws gave no answer within 1 seconds \
             (--call-timeout); it was stopped); read back, web runs {WEB_2}: following it as updated"
        )),
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
            "describe-services",
        ]
    );
}

#[test]
fn an_update_applied_but_unanswered_is_rolled_back_like_any_other() {
    let rollback = {
        let mut value = fixture("describe-services/web-steady.json");
        answer(json!({"service": value["services"][0].take()}))
    };
    let back =
        json!({"fixture": "describe-services/web-steady.json", "after": {"update-service": 2}});
    let fake = lost_update(
        &[
            file("describe-services/web-rolling.json"),
            file("describe-services/web-failed.json"),
            back,
        ],
        json!({
            "update-service": [rollback],
            "list-tasks": [answer(json!({"taskArns": []}))],
        }),
    );
    let assert = deploy(&fake, "10", &["--call-timeout", "1", "--enable-rollback"]).code(1);
    assert!(
        stdout(&assert).ends_with(&format!("Rolling back to {WEB_1}\n")),
        "{}",
        stdout(&assert)
    );
    assert_eq!(fake.calls_of("update-service").len(), 2);
    let err = stderr(&assert);
    assert_eq!(
        err.lines().last(),
        Some(format!("ecs-deploy: the service was pointed back at {WEB_1}").as_str()),
        "{err}"
    );
}

#[test]
fn an_update_not_applied_says_the_new_revision_is_unused() {
    let fake = lost_update(&[file("describe-services/web-steady.json")], json!({}));
    let assert = deploy(&fake, "10", &["--call-timeout", "1"]).code(255);
    let err = stderr(&assert);
    assert!(
        err.contains(&format!("read back, web does not run {WEB_2}")),
        "{err}"
    );
    assert_eq!(
        err.lines().last(),
        Some(
            format!("ecs-deploy: {WEB_2} is registered but unused; the service still runs {WEB_1}")
                .as_str()
        ),
        "{err}"
    );
}

#[test]
fn a_read_back_that_hangs_too_is_bounded_and_says_the_outcome_is_unknown() {
    let fake = lost_update(&[HANG()], json!({}));
    let assert = deploy(&fake, "10", &["--call-timeout", "1"]).code(255);
    let err = stderr(&assert);
    assert!(
        err.contains(&format!("whether web runs {WEB_2} is unknown")),
        "{err}"
    );
    assert_no_aws_left(&fake);
}

#[test]
fn an_update_whose_outcome_cannot_be_read_says_so_and_how_to_check() {
    let unreadable = json!({"exit": 255, "stderr": "Could not connect to the endpoint URL"});
    let fake = lost_update(&[unreadable], json!({}));
    let assert = deploy(&fake, "10", &["--call-timeout", "1"]).code(255);
    let err = stderr(&assert);
    assert!(
        err.contains(&format!("whether web runs {WEB_2} is unknown")),
        "{err}"
    );
    assert_eq!(
        err.lines().last(),
        Some(
            format!(
                "ecs-deploy: update-service of web to {WEB_2} was sent and may have been applied; \
                 check with: aws ecs describe-services --cluster prod --services web"
            )
            .as_str()
        ),
        "{err}"
    );
}

// ------------------------------------------------------------------ service deployments

#[test]
fn a_service_deployment_ecs_calls_missing_on_every_poll_falls_back_after_three() {
    let sd = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Kx9qW2mR7tYbN4pZ";
    let missing = answer(json!({
        "serviceDeployments": [],
        "failures": [{"arn": sd, "reason": "MISSING"}]
    }));
    let fake = from_steady_and(
        &[
            file("describe-services/web-rolling.json"),
            json!({"fixture": "describe-services/web-rolling.json", "times": 3}),
            file("describe-services/web-done.json"),
        ],
        json!({
            "update-service": [answer(fixture("update-service/web-blue-green.json"))],
            "describe-service-deployments": [missing],
        }),
    );
    let assert = deploy(&fake, "10", &[]).success();
    let err = stderr(&assert);
    // Phase 1 is reached on the first poll: the snapshot decides it without the service
    // deployment.
    assert!(stdout(&assert).contains("Service updated successfully, new task definition running."));
    assert_eq!(
        notes(&err),
        [
            "note: cannot read the service deployment (ECS does not list it (MISSING)); \
          following the service's deployments alone"
        ],
        "{err}"
    );
    assert_eq!(fake.calls_of("describe-service-deployments").len(), 3);
}

#[test]
fn garbage_service_deployments_do_not_hide_the_snapshot() {
    let fake = from_steady_and(
        &[
            file("describe-services/web-rolling.json"),
            json!({"fixture": "describe-services/web-rolling.json", "times": 3}),
            file("describe-services/web-done.json"),
        ],
        json!({
            "update-service": [answer(fixture("update-service/web-blue-green.json"))],
            "describe-service-deployments": [{"stdout_raw": "<html>proxy error</html>"}],
        }),
    );
    let assert = deploy(&fake, "10", &[]).success();
    let err = stderr(&assert);
    assert_eq!(notes(&err).len(), 1, "{err}");
    assert!(stdout(&assert).ends_with("Service deployment successful.\n"));
}

// ------------------------------------------------------------------ stopped tasks

#[test]
fn tasks_that_keep_failing_are_looked_for_ever_more_seldom() {
    // No circuit breaker: ECS counts one more failed task at every poll for 3 s. Each poll
    // is a decisive read; the stopped tasks are listed at the first failure, then after
    // gaps that double from one poll interval (0.1 s) up to ten of them, and once more to
    // explain the timeout. A stopped task, once described, is never described again.
    let polls: Vec<Value> = (1..=60).map(|failed| rolling(0, failed)).collect();
    let fake = from_steady_and(&polls, task_b_crashed(vec![]));
    let assert = deploy(&fake, "3", &[]).failure();
    let err = stderr(&assert);
    let looks = fake.calls_of("list-tasks").len();
    let polls = fake.calls_of("describe-services").len() - 1;
    // At most 0, 0.1, 0.3, 0.7, 1.5 and 2.5 s, and the timeout's.
    assert!(
        (2..=7).contains(&looks),
        "{looks} looks in {polls} polls\n{err}"
    );
    assert_eq!(fake.calls_of("describe-tasks").len(), 1, "{err}");
    assert_eq!(
        lines(&err).iter().filter(|l| **l == TASK_B_STOPPED).count(),
        1,
        "{err}"
    );
}

#[test]
fn crash_logs_are_read_for_the_first_three_stopped_tasks() {
    // Five tasks of web:2 crashed at once: each is told, the log lines of the first three
    // are read (side by side), and a note says why the others show none.
    let (arns, tasks): (Vec<String>, Vec<Value>) = (1..=5).map(crashed_task).unzip();
    let mut ops = task_b_crashed(vec![answer(json!({
        "events": [{"timestamp": 1_764_151_000_000_u64, "message": "Error: boom",
                    "ingestionTime": 1_764_151_000_500_u64}],
        "nextForwardToken": "f/1", "nextBackwardToken": "b/0"
    }))]);
    ops["list-tasks"] = json!([answer(json!({"taskArns": arns}))]);
    ops["describe-tasks"] = json!([answer(json!({"tasks": tasks, "failures": []}))]);
    let fake = from_steady_and(
        &[rolling(0, 5), file("describe-services/web-done.json")],
        ops,
    );
    let assert = deploy(&fake, "30", &[]).success();
    let err = stderr(&assert);
    assert_eq!(fake.calls_of("logs get-log-events").len(), 3, "{err}");
    let told: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|l| l.starts_with("task ") && l.contains(" stopped: "))
        .collect();
    assert_eq!(told.len(), 5, "{err}");
    assert_eq!(
        lines(&err)
            .iter()
            .filter(|l| l.ends_with("| Error: boom"))
            .count(),
        3,
        "{err}"
    );
    assert_eq!(
        notes(&err),
        ["note: log lines are shown for the first 3 crashed tasks only"],
        "{err}"
    );
}

#[test]
fn a_task_that_failed_on_the_way_to_a_good_end_is_still_told() {
    // Task B fails at the first poll and is told at once; another fails before the next
    // poll, which finds the rollout done before the next look at stopped tasks is due.
    let mut done = fixture("describe-services/web-done.json");
    done["services"][0]["deployments"][0]["failedTasks"] = json!(2);
    let (second, task) = crashed_task(2);
    let mut ops = task_b_crashed(vec![]);
    ops["list-tasks"] = json!([
        answer(json!({"taskArns": [TASK_B]})),
        answer(json!({"taskArns": [TASK_B, second]})),
    ]);
    ops["describe-tasks"] = json!([
        file("describe-tasks/new-stopped.json"),
        answer(json!({"tasks": [task], "failures": []})),
    ]);
    let fake = from_steady_and(&[rolling(0, 1), answer(done)], ops);
    // A poll interval of 1 s: the second look is due 1 s after the first, the poll that
    // finds the rollout done comes before.
    let assert = fake
        .cmd()
        .args(SERVICE_ARGS)
        .args(["--poll-interval", "1", "-t", "30", "--log-lines", "0"])
        .timeout(Duration::from_secs(90))
        .assert()
        .success();
    let err = stderr(&assert);
    let told: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|l| l.starts_with("task ") && l.contains(" stopped: "))
        .collect();
    assert_eq!(told.len(), 2, "{err}");
    assert_eq!(fake.calls_of("describe-tasks").len(), 2, "{err}");
}
