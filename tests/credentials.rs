//! Credentials resolved once: when the profile in use obtains its credentials (a
//! `credential_process`, SSO, a role), the run asks `aws configure export-credentials`
//! once and hands the answer to every later call through its environment, without the
//! profile; close to their expiry they are exported again. Where the export is not to be
//! had (AWS CLI v1, a failure, an answer that is no credentials) or not wanted (keys in
//! the environment, on the command line or in the profile, settings the children would
//! lose), every call goes on as before: same calls, same output.

mod common;

use std::time::Duration;

use common::{
    FakeAws, ROLLOUT_OPS, SERVICE_ARGS, answer, argv_of, file, from_steady, from_steady_and,
    stderr_of, stdout_of,
};
use serde_json::{Value, json};

const EXPORT: &str = "configure export-credentials";

/// The fake's exported credentials (its default answer).
const KEY: &str = "ASIAFAKEEXPORTED0001";
const SECRET: &str = "fakeExportedSecret/0123456789";
const TOKEN: &str = "FakeExportedToken//abcdef";

/// A profile whose credentials come from a process, with a region of its own.
const PROCESS_PROFILE: &str =
    "[profile ci]\nregion = eu-west-1\ncredential_process = /opt/creds ci\n";

/// A deploy of web that is done at the first poll.
fn done() -> FakeAws {
    from_steady(&[file("describe-services/web-done.json")])
}

/// [`done`], with `extra` answers of other ops (the export's, for one).
fn done_and(extra: Value) -> FakeAws {
    from_steady_and(&[file("describe-services/web-done.json")], extra)
}

/// `ecs-deploy -c prod -n web -i NEW_IMAGE EXTRA` against `fake`, not yet run.
fn deploy_cmd(fake: &FakeAws, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = fake.cmd();
    cmd.args(SERVICE_ARGS)
        .args(["--poll-interval", "0.05", "-t", "10"])
        .args(extra)
        .timeout(Duration::from_secs(60));
    cmd
}

/// An answer of `export-credentials --format process`.
fn exported(key: &str, expiration: &str) -> Value {
    answer(json!({
        "Version": 1,
        "AccessKeyId": key,
        "SecretAccessKey": format!("{key}-secret-value"),
        "SessionToken": format!("{key}-session-token"),
        "Expiration": expiration,
    }))
}

/// What a call's log line says of its credentials: the access key id in its environment,
/// whether a profile was in its environment, whether `--profile` was in its argv.
fn credentials_of(call: &Value) -> (Option<&str>, bool, bool) {
    let credentials = &call["credentials"];
    (
        credentials["access_key_id"].as_str(),
        credentials["profile_env"] == true,
        credentials["profile_arg"] == true,
    )
}

/// The argv of every call but the ECR pre-flight's, the temp file of an input named alike.
fn argvs(fake: &FakeAws) -> Vec<Vec<String>> {
    let named = |arg: String| {
        if arg.starts_with("file://") {
            "file://TEMP".to_string()
        } else {
            arg
        }
    };
    fake.argvs()
        .into_iter()
        .map(|argv| argv.into_iter().map(named).collect())
        .collect()
}

/// The op of a logged call, as `FakeAws::ops` names it.
fn op_of(call: &Value) -> String {
    match call["service"].as_str() {
        Some("ecs") => call["op"].as_str().unwrap().to_string(),
        service => format!("{} {}", service.unwrap(), call["op"].as_str().unwrap()),
    }
}

#[test]
fn the_profile_is_exported_once_and_every_later_call_uses_its_keys() {
    let fake = done();
    fake.write_aws_config(PROCESS_PROFILE);
    let assert = deploy_cmd(&fake, &["-p", "ci"]).assert().success();
    assert_eq!(
        fake.ops(),
        [&[EXPORT], ROLLOUT_OPS].concat(),
        "{}",
        stderr_of(&assert)
    );
    let calls = fake.all_calls();
    // The export is made as every call was: with the profile, resolving it.
    assert_eq!(credentials_of(&calls[0]), (None, false, true));
    assert_eq!(
        argv_of(&calls[0]),
        [
            "--output",
            "json",
            "--profile",
            "ci",
            "configure",
            "export-credentials",
            "--format",
            "process"
        ]
    );
    // Every later call, the ECR pre-flight too, gets the exported keys and no profile;
    // the profile's region comes along.
    assert_eq!(fake.ecr_calls().len(), 1);
    for call in &calls[1..] {
        assert_eq!(credentials_of(call), (Some(KEY), false, false), "{call}");
        assert_eq!(call["env"]["AWS_SECRET_ACCESS_KEY"], SECRET);
        assert_eq!(call["env"]["AWS_SESSION_TOKEN"], TOKEN);
        assert_eq!(call["env"]["AWS_DEFAULT_REGION"], "eu-west-1");
    }
}

#[test]
fn a_profile_named_by_the_environment_is_dropped_from_the_children_too() {
    for variable in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
        let fake = done();
        fake.write_aws_config(PROCESS_PROFILE);
        deploy_cmd(&fake, &[])
            .env(variable, "ci")
            .env("AWS_REGION", "us-east-2")
            .assert()
            .success();
        assert_eq!(fake.ops(), [&[EXPORT], ROLLOUT_OPS].concat());
        let calls = fake.all_calls();
        assert_eq!(credentials_of(&calls[0]), (None, true, false));
        for call in &calls[1..] {
            assert_eq!(credentials_of(call), (Some(KEY), false, false), "{call}");
            // The region the environment gives is the one used.
            assert_eq!(call["env"]["AWS_REGION"], "us-east-2");
            assert!(call["env"].get("AWS_DEFAULT_REGION").is_none(), "{call}");
        }
    }
}

#[test]
fn sso_and_the_default_profile_are_exported_alike() {
    let fake = done();
    fake.write_aws_config(
        "[default]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deploy\n\
         [sso-session corp]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n",
    );
    deploy_cmd(&fake, &[]).assert().success();
    assert_eq!(fake.ops(), [&[EXPORT], ROLLOUT_OPS].concat());
    assert!(fake.all_calls()[1..].iter().all(|call| {
        credentials_of(call) == (Some(KEY), false, false)
            && call["env"].get("AWS_DEFAULT_REGION").is_none()
    }));
}

#[test]
fn credentials_close_to_expiry_are_exported_again_before_the_next_call() {
    // The first answer is already inside its refresh window; the second is good for an hour.
    let fake = done_and(json!({EXPORT: [
        exported("ASIAFIRSTEXPORT00001", "2020-01-01T00:00:00Z"),
        exported("ASIASECONDEXPORT0002", "2099-01-01T00:00:00Z"),
    ]}));
    fake.write_aws_config(PROCESS_PROFILE);
    deploy_cmd(&fake, &["-p", "ci"]).assert().success();
    // The refresh runs beside the first describe-services, which may end first.
    let ops = fake.ops();
    assert_eq!(ops[0], EXPORT, "{ops:?}");
    assert_eq!(ops.iter().filter(|op| *op == EXPORT).count(), 2, "{ops:?}");
    let rollout: Vec<&String> = ops.iter().filter(|op| *op != EXPORT).collect();
    assert_eq!(rollout, ROLLOUT_OPS, "{ops:?}");
    let (exports, calls): (Vec<Value>, Vec<Value>) = fake
        .all_calls()
        .into_iter()
        .partition(|call| op_of(call) == EXPORT);
    for call in &exports {
        assert_eq!(credentials_of(call), (None, false, true));
    }
    // The ECR check, the first describe-services and the CLIs started ahead for what
    // follows (see "Calls started ahead") begin side by side; one of them refreshes the
    // credentials, the others do not wait for it and, the first ones being expired,
    // resolve the profile themselves. The expired key is never used; the polls, started
    // after the refresh, use the fresh one.
    for call in &calls {
        if credentials_of(call).0.is_none() {
            assert_eq!(credentials_of(call), (None, false, true), "{call}");
            continue;
        }
        assert_eq!(
            credentials_of(call),
            (Some("ASIASECONDEXPORT0002"), false, false),
            "{call}"
        );
        assert_eq!(
            call["env"]["AWS_SESSION_TOKEN"],
            "ASIASECONDEXPORT0002-session-token"
        );
    }
    let last = calls.last().unwrap();
    assert_eq!(op_of(last), "describe-services");
    assert_eq!(
        credentials_of(last).0,
        Some("ASIASECONDEXPORT0002"),
        "{last}"
    );
}

#[test]
fn a_refresh_that_brings_no_fresh_credentials_ends_the_export() {
    let expired = exported("ASIAFIRSTEXPORT00001", "2020-01-01T00:00:00Z");
    let fake = done_and(json!({EXPORT: [expired]}));
    fake.write_aws_config(PROCESS_PROFILE);
    let without = done();
    let assert = deploy_cmd(&fake, &["-p", "ci"]).assert().success();
    let before = deploy_cmd(&without, &["-p", "ci"]).assert().success();
    // Two exports (the second may end after calls begun beside it), and every other call
    // resolves the profile itself, as without any.
    let ops = fake.ops();
    assert_eq!(ops[0], EXPORT, "{ops:?}");
    assert_eq!(ops.iter().filter(|op| *op == EXPORT).count(), 2, "{ops:?}");
    let (exports, calls): (Vec<Value>, Vec<Value>) = fake
        .all_calls()
        .into_iter()
        .partition(|call| op_of(call) == EXPORT);
    assert_eq!(exports.len(), 2);
    let not_exports: Vec<Vec<String>> = argvs(&fake)
        .into_iter()
        .zip(&ops)
        .filter(|(_, op)| *op != EXPORT)
        .map(|(argv, _)| argv)
        .collect();
    assert_eq!(not_exports, argvs(&without));
    for call in &calls {
        assert_eq!(credentials_of(call), (None, false, true), "{call}");
    }
    assert_eq!(stdout_of(&assert), stdout_of(&before));
    assert_eq!(stderr_of(&assert), stderr_of(&before));
}

/// A run whose export answers `how` (FAKE_AWS_EXPORT_CREDENTIALS) makes one export call,
/// then exactly the calls, and prints exactly the output, of a run that never exports.
fn changes_nothing(how: &str) {
    let fake = done();
    fake.write_aws_config(PROCESS_PROFILE);
    let without = done();
    let extra = ["-p", "ci", "--call-timeout", "2"];
    let assert = deploy_cmd(&fake, &extra)
        .env("FAKE_AWS_EXPORT_CREDENTIALS", how)
        .assert()
        .success();
    let before = deploy_cmd(&without, &extra).assert().success();
    assert_eq!(without.ops(), ROLLOUT_OPS);
    assert_eq!(fake.ops(), [&[EXPORT], ROLLOUT_OPS].concat(), "{how}");
    assert_eq!(argvs(&fake)[1..], argvs(&without), "{how}");
    for call in &fake.all_calls()[1..] {
        assert_eq!(credentials_of(call), (None, false, true), "{how}: {call}");
        assert!(call["env"].get("AWS_DEFAULT_REGION").is_none(), "{call}");
    }
    assert_eq!(stdout_of(&assert), stdout_of(&before), "{how}");
    assert_eq!(stderr_of(&assert), stderr_of(&before), "{how}");
}

#[test]
fn without_export_credentials_in_the_cli_nothing_changes() {
    // AWS CLI v1 has no such command: exit 2, "Invalid choice".
    changes_nothing("missing");
}

#[test]
fn a_failing_or_hung_export_changes_nothing() {
    changes_nothing("fail");
    changes_nothing("hang");
}

#[test]
fn an_export_answer_that_is_no_credentials_changes_nothing() {
    for garbage in [
        "",
        "not json at all",
        r#"{"Version": 1, "AccessKeyId": "ASIAONLYAKEY"}"#,
        r#"{"Version": 2, "AccessKeyId": "ASIA", "SecretAccessKey": "secret-value"}"#,
        r#"{"Version": 1, "AccessKeyId": "ASIA", "SecretAccessKey": "secret-value", "Expiration": "tomorrow"}"#,
    ] {
        changes_nothing(garbage);
    }
}

#[test]
fn static_keys_in_the_environment_or_on_the_command_line_mean_no_export() {
    let fake = done();
    fake.write_aws_config(PROCESS_PROFILE);
    deploy_cmd(&fake, &["-p", "ci"])
        .env("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
        .env("AWS_SECRET_ACCESS_KEY", "secret-from-environment")
        .assert()
        .success();
    assert_eq!(fake.ops(), ROLLOUT_OPS);
    let fake = done();
    fake.write_aws_config(PROCESS_PROFILE);
    let keys = [
        "-p",
        "ci",
        "-k",
        "AKIAFROMCOMMANDLINE1",
        "-s",
        "secret-from-cli",
    ];
    deploy_cmd(&fake, &keys).assert().success();
    assert_eq!(fake.ops(), ROLLOUT_OPS);
    for call in fake.all_calls() {
        assert_eq!(
            credentials_of(&call),
            (Some("AKIAFROMCOMMANDLINE1"), false, true)
        );
    }
}

#[test]
fn static_keys_in_the_profile_mean_no_export() {
    let fake = done();
    fake.write_aws_config("[profile ci]\nregion = eu-west-1\n");
    fake.write_aws_credentials(
        "[ci]\naws_access_key_id = AKIAINTHEPROFILE0001\naws_secret_access_key = profile-secret\n",
    );
    deploy_cmd(&fake, &["-p", "ci"]).assert().success();
    assert_eq!(fake.ops(), ROLLOUT_OPS);
    assert!(
        fake.all_calls()
            .iter()
            .all(|call| credentials_of(call) == (None, false, true))
    );
}

#[test]
fn a_profile_with_settings_the_children_would_lose_is_not_exported() {
    let fake = done();
    fake.write_aws_config(&format!(
        "{PROCESS_PROFILE}endpoint_url = http://127.0.0.1:4566\n"
    ));
    deploy_cmd(&fake, &["-p", "ci"]).assert().success();
    assert_eq!(fake.ops(), ROLLOUT_OPS);
}

#[test]
fn exported_secrets_are_never_printed_even_in_the_trace() {
    // register-task-definition fails, and the careless CLI echoes the secret and token.
    let failing = json!({"exit": 252, "stderr": "\nParameter validation failed:\nInvalid type \
        for parameter containerDefinitions[0].environment", "echo_secrets": true});
    let fake = done_and(json!({"register-task-definition": [failing]}));
    fake.write_aws_config(PROCESS_PROFILE);
    let assert = deploy_cmd(&fake, &["-p", "ci", "-v"]).assert().code(252);
    let register = fake.calls_of("register-task-definition");
    assert_eq!(credentials_of(&register[0]), (Some(KEY), false, false));
    let (out, err) = (stdout_of(&assert), stderr_of(&assert));
    for secret in [KEY, SECRET, TOKEN] {
        assert!(!out.contains(secret), "{secret} on stdout:\n{out}");
        assert!(!err.contains(secret), "{secret} on stderr:\n{err}");
    }
    assert!(err.contains("echo of"), "{err}");
    // The trace shows the export call like any other.
    assert!(
        err.lines().any(|line| line.starts_with("[aws ")
            && line.ends_with(
                "] aws --output json --profile ci configure export-credentials --format process"
            )),
        "{err}"
    );
}
