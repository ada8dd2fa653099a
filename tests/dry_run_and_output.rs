//! `--dry-run` (read calls only, the definition and a diff), `--output json` (one result
//! object on stdout), GitHub Actions step outputs and annotations, completions, man page.

mod common;

use std::path::Path;

use common::{
    FakeAws, NEW_IMAGE, OLD_IMAGE, OUR_DEPLOYMENT, SERVICE_ARGS, WEB_1, WEB_2, answer, file,
    fixture, from_steady, from_steady_and, lines, web_definition_cmd,
};
use serde_json::{Value, json};

/// Environment values of `web-1.json` that must never show unless asked for.
const SECRETS: &[&str] = &["s3cr3t-db-pass", "tok-should-never-leak"];

/// A service on web:1 whose task definition can be read; nothing else.
fn read_only_fake() -> FakeAws {
    from_steady(&[])
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut assert_cmd::Command) -> Run {
    let output = cmd.output().expect("run ecs-deploy");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `ecs-deploy -c prod -n web -i NEW_IMAGE --dry-run` against `fake`, not yet run.
fn dry_run_service(fake: &FakeAws) -> assert_cmd::Command {
    let mut cmd = fake.cmd();
    cmd.args(SERVICE_ARGS).arg("--dry-run");
    cmd
}

fn assert_only_reads(fake: &FakeAws) {
    let ops = fake.ops();
    assert!(!ops.is_empty(), "no aws call was made");
    for op in &ops {
        assert!(
            op.starts_with("describe-") || op.starts_with("list-"),
            "dry run made a mutating call: {op} (all: {ops:?})"
        );
    }
}

/// A dry run's stdout: exactly one JSON document, the definition that would be registered.
fn printed_definition(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"))
}

fn diff_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect()
}

// Dry run ------------------------------------------------------------------------------

#[test]
fn dry_run_with_a_service_reads_only_and_diffs_the_image() {
    let fake = read_only_fake();
    let out = run(dry_run_service(&fake).env_remove("NO_COLOR"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_only_reads(&fake);
    assert_eq!(
        fake.ops(),
        ["describe-services", "describe-task-definition"]
    );

    // stdout: only the definition that would be registered; the status lines go to stderr.
    assert!(
        out.stderr
            .contains(&format!("Current task definition: {WEB_1}"))
    );
    assert!(!out.stderr.contains("New task definition"));
    let definition = printed_definition(&out.stdout);
    assert_eq!(definition["containerDefinitions"][0]["image"], NEW_IMAGE);
    assert_eq!(definition["family"], "web");
    assert!(definition.get("revision").is_none() && definition.get("status").is_none());

    // stderr: a unified diff where only the image line changes; not a TTY, so no colour.
    assert!(out.stderr.contains("--- web:1 (current)"), "{}", out.stderr);
    assert!(out.stderr.contains("+++ web (would be registered)"));
    assert!(out.stderr.contains("@@ "));
    assert_eq!(
        diff_lines(&out.stderr),
        [
            "--- web:1 (current)",
            "+++ web (would be registered)",
            &format!("-      \"image\": \"{OLD_IMAGE}\","),
            &format!("+      \"image\": \"{NEW_IMAGE}\","),
        ]
    );
    assert!(!out.stderr.contains('\u{1b}'), "escape codes off a TTY");
    assert!(
        !out.stderr.contains("\"revision\"") && !out.stderr.contains("registeredAt"),
        "read-only keys must not show as removed"
    );
    // Environment values are masked in the diff and in the printed definition.
    for secret in SECRETS {
        assert!(!out.stderr.contains(secret), "{secret} leaked to stderr");
        assert!(!out.stdout.contains(secret), "{secret} leaked to stdout");
    }
    let environment = &definition["containerDefinitions"][0]["environment"];
    assert_eq!(environment[0], json!({"name": "APP_ENV", "value": "****"}));
    assert_eq!(
        environment[1],
        json!({"name": "DB_PASSWORD", "value": "****"})
    );
}

#[test]
fn dry_run_keys_are_sorted_in_the_diff() {
    let fake = read_only_fake();
    let out = run(&mut dry_run_service(&fake));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Context lines around the image: sorted keys put environmentFiles/essential before
    // image and logConfiguration after it (the definition's own order is different).
    let context: Vec<&str> = out
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("@@"))
        .skip(1)
        .take(7)
        .collect();
    assert_eq!(
        context[1].trim(),
        "\"environmentFiles\": [],",
        "{context:?}"
    );
    assert_eq!(context[2].trim(), "\"essential\": true,", "{context:?}");
    assert_eq!(context[5].trim(), "\"logConfiguration\": {", "{context:?}");
}

#[test]
fn dry_run_with_a_task_definition_reads_only() {
    let fake = read_only_fake();
    let out = run(&mut web_definition_cmd(&fake, &["--dry-run"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fake.ops(), ["describe-task-definition"]);
    assert!(!out.stdout.contains("Task definition updated successfully"));
    assert_eq!(
        printed_definition(&out.stdout)["containerDefinitions"][0]["image"],
        NEW_IMAGE
    );
    assert!(
        out.stderr
            .contains(&format!("+      \"image\": \"{NEW_IMAGE}\","))
    );
}

/// A `--task-definition-file` that also changes an environment value and the memory.
fn edited_file(dir: &Path) -> std::path::PathBuf {
    let mut described = fixture("describe-task-definition/web-1.json");
    let definition = &mut described["taskDefinition"];
    definition["containerDefinitions"][0]["environment"][1]["value"] = json!("n3w-db-pass");
    definition["memory"] = json!("1024");
    let path = dir.join("web.json");
    std::fs::write(&path, serde_json::to_string_pretty(&described).unwrap()).unwrap();
    path
}

#[test]
fn dry_run_with_a_file_masks_changed_env_values_but_shows_the_change() {
    let fake = read_only_fake();
    let file = edited_file(fake.dir());
    let out = run(dry_run_service(&fake)
        .arg("--task-definition-file")
        .arg(&file));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_only_reads(&fake);
    let lines = diff_lines(&out.stderr);
    assert!(
        lines.contains(&"-          \"value\": \"****\""),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"+          \"value\": \"**** (changed)\""),
        "{lines:?}"
    );
    assert!(lines.contains(&"-  \"memory\": \"512\","), "{lines:?}");
    assert!(lines.contains(&"+  \"memory\": \"1024\","), "{lines:?}");
    for secret in SECRETS.iter().chain(&["n3w-db-pass"]) {
        assert!(
            !out.stderr.contains(secret) && !out.stdout.contains(secret),
            "{secret} leaked"
        );
    }
    // Unchanged values are masked without the marker.
    assert!(!out.stderr.contains("+          \"value\": \"****\""));
}

#[test]
fn show_env_values_unmasks_the_diff_and_the_definition() {
    let fake = read_only_fake();
    let file = edited_file(fake.dir());
    let out = run(
        web_definition_cmd(&fake, &["--dry-run", "--show-env-values"])
            .arg("--task-definition-file")
            .arg(&file),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fake.ops(), ["describe-task-definition"]);
    let lines = diff_lines(&out.stderr);
    assert!(
        lines.contains(&"-          \"value\": \"s3cr3t-db-pass\""),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"+          \"value\": \"n3w-db-pass\""),
        "{lines:?}"
    );
    assert!(!out.stderr.contains("****"));
    let definition = printed_definition(&out.stdout);
    assert_eq!(
        definition["containerDefinitions"][0]["environment"][2]["value"],
        "tok-should-never-leak"
    );
}

#[test]
fn colour_is_forced_by_clicolor_force_and_disabled_by_no_color() {
    let fake = read_only_fake();
    let coloured = run(dry_run_service(&fake)
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR"));
    assert_eq!(coloured.code, 0, "{}", coloured.stderr);
    assert!(
        coloured.stderr.contains(&format!(
            "\u{1b}[32m+      \"image\": \"{NEW_IMAGE}\",\u{1b}[0m"
        )),
        "{}",
        coloured.stderr
    );
    assert!(
        !coloured.stdout.contains('\u{1b}'),
        "stdout is never coloured"
    );

    let plain = run(dry_run_service(&fake)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stderr.contains('\u{1b}'), "{}", plain.stderr);
    assert!(
        plain
            .stderr
            .contains(&format!("+      \"image\": \"{NEW_IMAGE}\","))
    );
}

#[test]
fn dry_run_force_new_deployment_makes_no_update() {
    let fake = read_only_fake();
    let out = run(fake.cmd().args([
        "-c",
        "prod",
        "-n",
        "web",
        "--force-new-deployment",
        "--dry-run",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fake.ops(), ["describe-services"]);
    assert!(!out.stdout.contains("Force a new deployment"));
}

#[test]
fn dry_run_with_json_output_puts_the_definition_in_the_result() {
    let fake = read_only_fake();
    let out = run(dry_run_service(&fake).args(["--output", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_only_reads(&fake);
    let result: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["dry_run"], true);
    assert_eq!(result["new_task_definition"], Value::Null);
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(
        result["would_register"]["containerDefinitions"][0]["image"],
        NEW_IMAGE
    );
    assert!(out.stderr.contains("Current task definition:"));
    assert!(
        out.stderr
            .contains(&format!("+      \"image\": \"{NEW_IMAGE}\","))
    );
}

// --output json ------------------------------------------------------------------------

const FAST: &[&str] = &["-t", "1", "--poll-interval", "0.1"];

/// The service deploy with quick polls and a short timeout, in text mode.
fn text_args() -> Vec<&'static str> {
    [SERVICE_ARGS, FAST].concat()
}

/// [`text_args`] with `--output json`.
fn deploy_args() -> Vec<&'static str> {
    [SERVICE_ARGS, &["--output", "json"][..], FAST].concat()
}

fn result_of(out: &Run) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", out.stdout))
}

fn successful_fake() -> FakeAws {
    from_steady(&[
        file("describe-services/web-rolling.json"),
        file("describe-services/web-done.json"),
    ])
}

#[test]
fn json_result_of_a_successful_deploy() {
    let fake = successful_fake();
    let out = run(fake.cmd().args(deploy_args()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result = result_of(&out);
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["cluster"], "prod");
    assert_eq!(result["service"], "web");
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(result["new_task_definition"], WEB_2);
    assert_eq!(result["images"], json!([NEW_IMAGE]));
    assert_eq!(result["deployment_id"], OUR_DEPLOYMENT);
    assert_eq!(result["failure_reason"], Value::Null);
    assert_eq!(result["stopped_tasks"], json!([]));
    assert_eq!(result["dry_run"], false);
    assert!(
        result["duration_seconds"]
            .as_f64()
            .is_some_and(|d| d >= 0.0)
    );
    assert!(result["aws_calls"].as_u64().is_some_and(|n| n >= 4));
    // The script's status lines moved to stderr.
    for line in [
        "Using image name: ",
        "Current task definition: ",
        "New task definition: ",
        "Service updated successfully, new task definition running.",
        "Service deployment successful.",
    ] {
        assert!(out.stderr.contains(line), "{line} missing from stderr");
        assert!(!out.stdout.contains(line), "{line} on stdout");
    }
}

#[test]
fn text_output_stays_the_script_lines() {
    let fake = successful_fake();
    let out = run(fake.cmd().args(text_args()).env("GITHUB_ACTIONS", "true"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        lines(&out.stdout),
        [
            format!("Using image name: {NEW_IMAGE}").as_str(),
            &format!("Current task definition: {WEB_1}"),
            &format!("New task definition: {WEB_2}"),
            "Service updated successfully, new task definition running.",
            "Waiting for service deployment to complete...",
            "Service deployment successful.",
        ]
    );
    assert!(!out.stderr.contains("::error"));
}

#[test]
fn json_result_of_a_failed_rollout_with_rollback() {
    // Once pointed back, the service settles on web:1 through the deployment the fake's
    // update-service answers with.
    let mut settled = fixture("describe-services/web-steady.json");
    settled["services"][0]["deployments"][0]["id"] = json!(OUR_DEPLOYMENT);
    let fake = from_steady_and(
        &[
            file("describe-services/web-failed.json"),
            json!({"json": settled, "after": {"update-service": 2}}),
        ],
        json!({
            "list-tasks": [file("list-tasks/two.json")],
            "describe-tasks": [file("describe-tasks/new-stopped.json")],
        }),
    );
    let output = fake.dir().join("github_output");
    let mut args = deploy_args();
    args.push("--enable-rollback");
    let out = run(fake
        .cmd()
        .args(args)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_ACTIONS", "true"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let result = result_of(&out);
    assert_eq!(result["status"], "rolled_back");
    assert_eq!(
        result["rollback"],
        json!({"by": "ecs_deploy", "outcome": "succeeded"})
    );
    assert_eq!(result["previous_task_definition"], WEB_1);
    assert_eq!(result["new_task_definition"], WEB_2);
    assert_eq!(result["deployment_id"], OUR_DEPLOYMENT);
    let reason = result["failure_reason"].as_str().expect("a failure reason");
    assert!(reason.contains("circuit breaker"), "{reason}");
    let stopped = result["stopped_tasks"].as_array().expect("stopped tasks");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(
        stopped[0]["stopped_reason"],
        "Essential container in task exited"
    );
    assert!(
        stopped[0]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains("exit code 1"))),
        "{stopped:?}"
    );
    // The rollback pointed the service back at web:1.
    fake.assert_last_task_definition("update-service", 2, WEB_1);
    assert!(out.stderr.contains(&format!("Rolling back to {WEB_1}")));

    // GitHub Actions: step outputs appended, annotation on stderr (stdout stays JSON).
    let written = std::fs::read_to_string(&output).expect("GITHUB_OUTPUT written");
    assert!(
        written.contains(&format!("task-definition-arn={WEB_2}\n")),
        "{written}"
    );
    assert!(written.contains("status=rolled_back\n"), "{written}");
    assert!(written.contains(&format!("previous-task-definition-arn={WEB_1}\n")));
    let annotation = out
        .stderr
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no ::error:: line:\n{}", out.stderr));
    assert!(annotation.starts_with("::error title=ecs-deploy rolled_back::"));
    assert!(annotation.contains("circuit breaker"), "{annotation}");
}

#[test]
fn json_result_of_a_timeout() {
    // Our deployment never gets a running task.
    let mut stuck = fixture("describe-services/web-rolling.json");
    stuck["services"][0]["deployments"][0]["runningCount"] = json!(0);
    let fake = from_steady(&[answer(stuck)]);
    let output = fake.dir().join("github_output");
    std::fs::write(&output, "earlier=kept\n").unwrap();
    let out = run(fake.cmd().args(deploy_args()).env("GITHUB_OUTPUT", &output));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let result = result_of(&out);
    assert_eq!(result["status"], "timed_out");
    assert_eq!(result["new_task_definition"], WEB_2);
    assert_eq!(result["deployment_id"], OUR_DEPLOYMENT);
    assert!(
        result["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("within 1 seconds")),
        "{result}"
    );
    assert!(
        out.stderr
            .contains("ERROR: New task definition not running within 1 seconds")
    );
    assert_eq!(
        fake.calls_of("update-service").len(),
        1,
        "no rollback asked"
    );
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        written.starts_with("earlier=kept\n"),
        "appended, not replaced"
    );
    assert!(written.contains("status=timed_out\n"), "{written}");
    // Not in GitHub Actions: no annotation.
    assert!(!out.stderr.contains("::error"));
}

#[test]
fn github_output_is_written_in_text_mode_too() {
    let fake = successful_fake();
    let output = fake.dir().join("github_output");
    let out = run(fake.cmd().args(text_args()).env("GITHUB_OUTPUT", &output));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        format!(
            "task-definition-arn={WEB_2}\nstatus=succeeded\nprevious-task-definition-arn={WEB_1}\n"
        )
    );
}

// Completions and man page -----------------------------------------------------------------

fn generated(args: &[&str]) -> String {
    // No aws on PATH, no other argument: generation needs neither.
    let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_ecs-deploy"))
        .args(args)
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    let bash = generated(&["--completions", "bash"]);
    assert!(bash.contains("complete -F _ecs-deploy") || bash.contains("_ecs__deploy"));
    assert!(bash.contains("--service-name") && bash.contains("--dry-run"));
    let zsh = generated(&["--completions", "zsh"]);
    assert!(zsh.starts_with("#compdef ecs-deploy"), "{}", &zsh[..80]);
    assert!(zsh.contains("--enable-rollback"));
    let fish = generated(&["--completions", "fish"]);
    assert!(fish.contains("complete -c ecs-deploy"));
    assert!(fish.contains("-l task-definition"));
}

#[test]
fn man_page_is_roff() {
    let page = generated(&["--man"]);
    assert!(page.contains(".TH ecs-deploy 1"), "{}", &page[..200]);
    assert!(page.contains(".SH NAME") && page.contains(".SH OPTIONS"));
    assert!(page.contains("service\\-name"));
    assert!(page.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn json_result_of_a_command_line_clap_refuses() {
    let fake = FakeAws::empty();
    for json_flag in [&["--output", "json"][..], &["--output=json"]] {
        let out = run(fake
            .cmd()
            .args(SERVICE_ARGS)
            .args(json_flag)
            .arg("--no-such-flag"));
        assert_eq!(out.code, 3, "{}", out.stderr);
        let result = result_of(&out);
        assert_eq!(result["status"], "failed");
        assert_eq!(
            result["failure_reason"],
            "unexpected argument '--no-such-flag' found"
        );
        assert_eq!(result["aws_calls"], 0);
        assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    }
    assert!(fake.calls().is_empty());
}
