//! The cadence of the polls of a rollout, as `--verbose` traces it: the first poll soon
//! after update-service; one short wait after a poll that saw the rollout move; two when
//! the end looks near; and otherwise the grid of `--poll-interval` counted from the last
//! change, so that a rollout where nothing happens costs no more polls than a fixed
//! interval would.
//!
//! Every run polls with `--poll-interval 0.3`: a short wait is a third of it, 0.10 s. The
//! traced waits are computed from the interval and from what each poll saw, never from
//! the clock, so they are exact; only when the polls happen depends on time, and nothing
//! here asserts that.

mod common;

use std::time::Duration;

use common::{
    FakeAws, SERVICE_ARGS, answer, file, fixture, from_steady, from_steady_and, lines, stderr_of,
    stdout_of,
};
use serde_json::{Value, json};

/// The aws calls of a deploy up to and including update-service.
const UP_TO_UPDATE: &[&str] = &[
    "describe-services",
    "describe-task-definition",
    "register-task-definition",
    "update-service",
];

/// The trace of the first wait, after update-service.
const FIRST: &str = "[next poll in 0.10s: first poll]";

/// The poll of the service, as [`cadence`] shows it.
const POLL: &str = "describe-services";

/// Run `ecs-deploy -c prod -n web -i NEW_IMAGE --verbose --poll-interval 0.3 -t TIMEOUT`.
fn deploy(fake: &FakeAws, timeout: &str) -> assert_cmd::assert::Assert {
    fake.cmd()
        .args(SERVICE_ARGS)
        .args(["--verbose", "--poll-interval", "0.3", "-t", timeout])
        .timeout(Duration::from_secs(60))
        .assert()
}

/// web-rolling (our web:2 deployment next to the old web:1 one) with `running` of our
/// `desired` tasks running and the others pending.
fn rolling(desired: i64, running: i64) -> Value {
    let mut value = fixture("describe-services/web-rolling.json");
    let service = &mut value["services"][0];
    service["desiredCount"] = json!(desired);
    let ours = &mut service["deployments"][0];
    ours["desiredCount"] = json!(desired);
    ours["runningCount"] = json!(running);
    ours["pendingCount"] = json!(desired - running);
    value
}

/// `answer` to `times` polls in a row.
fn polls(answer: Value, times: usize) -> Value {
    json!({"json": answer, "times": times})
}

/// The ECS calls from update-service on (by op) and the traced waits between them, in
/// the order of the `--verbose` trace on stderr.
fn cadence(stderr: &str) -> Vec<String> {
    let traced: Vec<String> = lines(stderr)
        .into_iter()
        .filter_map(|line| {
            if line.starts_with("[next poll in ") {
                return Some(line.to_string());
            }
            let call = line.strip_prefix("[aws ")?;
            let op = call.split(" ecs ").nth(1)?.split(' ').next()?;
            Some(op.to_string())
        })
        .collect();
    let update = traced
        .iter()
        .position(|line| line == "update-service")
        .unwrap_or_else(|| panic!("no update-service traced:\n{stderr}"));
    traced[update..].to_vec()
}

/// The traced wait `seconds` long, with its reason.
fn wait(seconds: &str, why: &str) -> String {
    format!("[next poll in {seconds}s: {why}]")
}

#[test]
fn a_moving_rollout_is_polled_after_a_short_wait_each_time() {
    // Four tasks to start: each of the first three polls finds one more running, the next
    // two no more, and then the rollout is done. The first poll ends phase 1 (a task of
    // web:2 runs): what follows a finished phase is a change too.
    let fake = from_steady(&[
        answer(rolling(4, 1)),
        answer(rolling(4, 2)),
        answer(rolling(4, 3)),
        polls(rolling(4, 3), 2),
        file("describe-services/web-done.json"),
    ]);
    let assert = deploy(&fake, "10").success();
    assert_eq!(
        cadence(&stderr_of(&assert)),
        [
            "update-service",
            FIRST,
            POLL,
            &wait("0.10", "moving"),
            POLL,
            &wait("0.10", "moving"),
            POLL,
            &wait("0.10", "moving"),
            POLL,
            // Nothing moved: back to the grid from the last change, at 0.3 s from it.
            &wait("0.20", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
        ]
    );
    assert_eq!(fake.ops(), [UP_TO_UPDATE, &[POLL; 6]].concat());
    assert_eq!(
        lines(&stdout_of(&assert))[3..],
        [
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
}

#[test]
fn a_quiet_rollout_stretches_its_waits_to_the_poll_interval() {
    // No task of web:2 starts for five polls: pending tasks are no motion.
    let fake = from_steady(&[
        polls(rolling(2, 0), 5),
        file("describe-services/web-done.json"),
    ]);
    let assert = deploy(&fake, "10").success();
    assert_eq!(
        cadence(&stderr_of(&assert)),
        [
            "update-service",
            FIRST,
            POLL,
            // The grid counts from update-service: its first point is 0.3 s after it.
            &wait("0.20", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
        ]
    );
    assert_eq!(fake.ops(), [UP_TO_UPDATE, &[POLL; 6]].concat());
}

#[test]
fn a_finishing_rollout_gets_two_short_waits() {
    // Phase 1 ends at the first poll (one task of web:2 runs); at the second nothing has
    // moved; at the third both tasks run and the old deployment is still there: the end
    // is near. It stays so until the old deployment is gone.
    let fake = from_steady(&[
        polls(rolling(2, 1), 2),
        polls(rolling(2, 2), 4),
        file("describe-services/web-done.json"),
    ]);
    let assert = deploy(&fake, "10").success();
    assert_eq!(
        cadence(&stderr_of(&assert)),
        [
            "update-service",
            FIRST,
            POLL,
            &wait("0.10", "moving"),
            POLL,
            &wait("0.20", "quiet"),
            POLL,
            &wait("0.10", "near"),
            POLL,
            &wait("0.10", "quiet"),
            POLL,
            // The grid again, from the near poll: its first point is 0.3 s after it, and
            // the two short waits took 0.2 s of that.
            &wait("0.10", "quiet"),
            POLL,
            &wait("0.30", "quiet"),
            POLL,
        ]
    );
    assert_eq!(fake.ops(), [UP_TO_UPDATE, &[POLL; 7]].concat());
}

#[test]
fn a_rollout_that_never_moves_costs_no_more_polls_than_a_fixed_interval() {
    // Nothing ever starts: phase 1 times out after 2 s, polled at most every 0.3 s. A
    // fixed interval would poll at 0.3, 0.6, ... 1.8 s (2 / 0.3 = 6 times), and once more
    // at the deadline: the cadence makes no more than that, and one for good measure (its
    // first poll comes before the grid's first point).
    let fake = from_steady_and(
        &[answer(rolling(2, 0))],
        json!({"list-tasks": [file("list-tasks/empty.json")]}),
    );
    let assert = deploy(&fake, "2").code(1);
    assert!(
        stdout_of(&assert).ends_with("ERROR: New task definition not running within 2 seconds\n")
    );
    let trace = cadence(&stderr_of(&assert));
    // Polls as traced: the one cut short at the deadline is not in the fake's log.
    let polls = trace.iter().filter(|line| *line == POLL).count();
    let fixed = (2.0_f64 / 0.3).floor() as usize + 1;
    assert!(polls <= fixed + 1, "{polls} polls:\n{trace:#?}");
    let logged = fake.calls_of(POLL).len() - 1;
    assert!((polls - 1..=polls).contains(&logged), "{logged} of {polls}");
    // How many polls there are depends on the time calls take; the waits between them
    // do not: after the first two, every one is the whole interval.
    let waits: Vec<&str> = trace
        .iter()
        .map(String::as_str)
        .filter(|line| line.starts_with("[next poll"))
        .collect();
    assert_eq!(waits[..2], [FIRST, &wait("0.20", "quiet")]);
    assert!(
        waits[2..].iter().all(|w| *w == wait("0.30", "quiet")),
        "{waits:?}"
    );
    // At the timeout, the stopped tasks of our deployment are looked for (none).
    assert_eq!(
        fake.ops(),
        [UP_TO_UPDATE, &vec![POLL; logged], &["list-tasks"]].concat()
    );
}

#[test]
fn every_call_after_the_first_finds_its_cli_started_and_reads_its_input_from_a_fifo() {
    // The CLIs of describe-task-definition and update-service start while the service is
    // read, that of register-task-definition while describe-task-definition runs, and
    // that of each poll while the wait before it runs: each then reads its input (the
    // name, the definition, the new revision; for a poll, nothing: `{}`) from a private
    // FIFO.
    let fake = from_steady(&[
        answer(rolling(2, 1)),
        file("describe-services/web-done.json"),
    ]);
    deploy(&fake, "10").success();
    assert_eq!(fake.ops(), [UP_TO_UPDATE, &[POLL; 2]].concat());
    let describe = &fake.calls_of("describe-task-definition")[0];
    assert_eq!(describe["input_mode"], "600");
    assert_eq!(
        describe["input"],
        json!({"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"})
    );
    let register = &fake.calls_of("register-task-definition")[0];
    assert_eq!(register["input_mode"], "600");
    assert_eq!(register["input"]["family"], "web");
    let update = &fake.calls_of("update-service")[0];
    assert_eq!(update["input_mode"], "600");
    let new_revision = update["input"]["taskDefinition"]
        .as_str()
        .unwrap_or_default();
    assert!(new_revision.contains("task-definition/web:"), "{update}");
    // The new revision is in the input only.
    let argv: Vec<&str> = update["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(argv[5].starts_with("file://"), "{argv:?}");
    assert_eq!(
        [&argv[..5], &argv[6..]].concat(),
        [
            "--output",
            "json",
            "ecs",
            "update-service",
            "--cli-input-json",
            "--cluster",
            "prod",
            "--service",
            "web"
        ]
    );
    let services = fake.calls_of(POLL);
    // The first read of the service, before anything is known, is an ordinary call.
    assert!(
        services[0].get("input").is_none_or(Value::is_null),
        "{}",
        services[0]
    );
    for poll in &services[1..] {
        assert_eq!(poll["input"], json!({}), "{poll}");
        assert_eq!(poll["input_mode"], "600", "{poll}");
        assert_eq!(
            common::arg_value(poll, "--services").as_deref(),
            Some("web"),
            "{poll}"
        );
    }
}
