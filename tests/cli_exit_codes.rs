//! Every exit code of the command line, end to end through the real binary and the fake
//! `aws`: usage (3), aws missing (4), the script's argument checks (5–13), nothing to
//! update (14), and a failing aws call (its own code).

mod common;

use std::path::Path;

use assert_cmd::assert::Assert;
use common::{
    Cli, ECR_APP, FakeAws, NEW_IMAGE, OLD_IMAGE, WEB_1, assert_no_error_details, describing, file,
    scenario, stderr_of as stderr, stdout_of as stdout, web_definition_cmd,
};
use serde_json::{Value, json};

/// Run with these arguments against a fake that describes web:1; return the fake (for its
/// log) and the finished run.
fn run(args: &[&str]) -> (FakeAws, Assert) {
    let fake = describing("web-1.json");
    let assert = fake.cmd().args(args).assert();
    (fake, assert)
}

/// `-d web -i repo/app:1` followed by `extra`.
fn web_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-d", "web", "-i", "repo/app:1"];
    args.extend_from_slice(extra);
    args
}

/// `-d web -i NEW_IMAGE` against `fake`, run.
fn deploy_2_0_0(fake: &FakeAws) -> Assert {
    web_definition_cmd(fake, &[]).assert()
}

/// The run exits with `code`, writes a reason to stderr and makes no aws call.
fn argument_error(args: &[&str], code: i32) -> String {
    let (fake, assert) = run(args);
    let assert = assert.code(code);
    assert!(
        fake.calls().is_empty(),
        "{args:?}: no aws call expected, got {:?}",
        fake.ops()
    );
    let err = stderr(&assert);
    assert!(!err.trim().is_empty(), "{args:?}: a reason on stderr");
    err
}

// ---------------------------------------------------------------------------- 0 and 3

#[test]
fn no_arguments_prints_usage_on_stdout_and_exits_3() {
    let (fake, assert) = run(&[]);
    let assert = assert.code(3);
    let out = stdout(&assert);
    assert!(out.contains("Usage"), "{out}");
    assert!(out.contains("--task-definition"), "{out}");
    assert!(fake.calls().is_empty());
}

#[test]
fn version_prints_the_version() {
    let (fake, assert) = run(&["--version"]);
    let assert = assert.success();
    assert_eq!(stdout(&assert).trim(), env!("CARGO_PKG_VERSION"));
    assert!(fake.calls().is_empty());
}

#[test]
fn version_with_output_json_prints_one_json_object() {
    for args in [
        &["--version", "--output", "json"][..],
        &["--output=json", "--version"],
    ] {
        let (fake, assert) = run(args);
        let assert = assert.success();
        let out = stdout(&assert);
        assert_eq!(
            out,
            format!("{{\"version\": \"{}\"}}\n", env!("CARGO_PKG_VERSION")),
            "{args:?}"
        );
        let value: Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(value, json!({"version": env!("CARGO_PKG_VERSION")}));
        assert!(fake.calls().is_empty());
    }
}

#[test]
fn help_exits_0() {
    for flag in ["-h", "--help"] {
        let (fake, assert) = run(&[flag]);
        let assert = assert.success();
        let out = stdout(&assert);
        assert!(out.contains("--service-name"), "{out}");
        assert!(out.contains("--tag-only"), "{out}");
        assert!(out.contains("--no-verify-image"), "{out}");
        for flag in CODEDEPLOY_FLAGS {
            assert!(out.contains(flag), "{flag}: {out}");
        }
        assert!(fake.calls().is_empty());
    }
}

#[test]
fn no_verify_image_is_accepted() {
    let fake = describing("web-1.json");
    web_definition_cmd(&fake, &["--no-verify-image"])
        .assert()
        .success();
    assert_eq!(fake.registered().len(), 1);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let err = argument_error(&web_args(&["--no-such-flag"]), 3);
    assert!(err.contains("--no-such-flag"), "{err}");
    argument_error(&web_args(&["-x"]), 3);
}

#[test]
fn malformed_numbers_are_usage_errors() {
    for (flag, value) in [
        ("-t", "ninety"),
        ("--timeout", "9O"),
        ("-D", "two"),
        ("--desired-count", "1.5"),
        ("-m", "fifty"),
        ("--min", "-"),
        ("-M", "200%"),
        ("--max", ""),
    ] {
        let err = argument_error(&web_args(&[flag, value]), 3);
        assert!(err.contains(value), "{flag} {value}: {err}");
    }
}

#[test]
fn a_bad_number_is_reported_before_a_missing_target() {
    // A typo in -t must never turn into a silent default timeout.
    argument_error(&["-t", "abc"], 3);
}

#[test]
fn dash_to_is_one_flag() {
    // Read as `-t o`, this would be a malformed timeout (exit 3).
    let (fake, assert) = run(&["-d", "web", "-i", "ignore", "-to", "1.2.3"]);
    let assert = assert.success();
    assert!(stdout(&assert).contains("Using image name: 1.2.3"));
    let registered = fake.registered();
    assert_eq!(
        registered[0]["containerDefinitions"][0]["image"],
        format!("{ECR_APP}:1.2.3")
    );
    // `-to=TAG` is accepted too.
    let (_, assert) = run(&["-d", "web", "-i", "ignore", "-to=1.2.4"]);
    assert!(stdout(&assert.success()).contains("Using image name: 1.2.4"));
}

/// The usage error (3) of `-d web -i repo/app:1 --task-definition-file FILE`.
fn definition_file_error(file: &Path) -> String {
    argument_error(
        &web_args(&["--task-definition-file", file.to_str().unwrap()]),
        3,
    )
}

#[test]
fn task_definition_file_that_is_not_json_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taskdef.json");
    std::fs::write(&file, "family: web\ncontainerDefinitions: []\n").unwrap();
    let err = definition_file_error(&file);
    assert!(err.contains("not valid JSON"), "{err}");
    assert!(err.contains("taskdef.json"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let missing = dir.path().join("missing.json");
    let err = definition_file_error(&missing);
    assert!(err.contains("missing.json"), "{err}");

    std::fs::write(&file, "[1, 2]").unwrap();
    let err = definition_file_error(&file);
    assert!(err.contains("task definition"), "{err}");

    // Valid JSON of the wrong shape is caught before any aws call, too.
    for (text, problem) in [
        (
            r#"{"family":"web","containerDefinitions":"app"}"#,
            "must be a list",
        ),
        (
            r#"{"family":"web","containerDefinitions":[5]}"#,
            "containerDefinitions[0] must be an object",
        ),
        (
            r#"{"taskDefinition":{"family":"web","containerDefinitions":[{"name":"a","image":7}]}}"#,
            "containerDefinitions[0].image must be a string",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = definition_file_error(&file);
        assert!(err.contains(problem), "{text}: {err}");
    }
}

/// Run `-d web -i NEW_IMAGE --task-definition-file FILE` against a fake that describes
/// web:1, guarded: a run that has not ended after a few seconds is killed and the test fails
/// (reading a FIFO blocks), and the run may not take more than 1 GiB of address space
/// (reading /dev/zero to the end would take all the memory there is). The exit code and
/// stderr, and whether aws was called.
fn guarded_definition_file_run(file: &Path) -> (Option<i32>, String, bool) {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let fake = describing("web-1.json");
    let mut command = fake.command();
    command
        .args(["-d", "web", "-i", NEW_IMAGE, "--task-definition-file"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().expect("start ecs-deploy");
    let since = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if since.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "--task-definition-file {}: still running after 10 s",
                file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), err, !fake.calls().is_empty())
}

/// The guarded run exits 3 before any aws call, with one line that contains `why`.
fn refused_definition_file(file: &Path, why: &str) {
    let (code, err, called) = guarded_definition_file_run(file);
    assert_eq!(code, Some(3), "{}: {err}", file.display());
    assert!(!called, "{}: no aws call expected", file.display());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(why), "{}: {err}", file.display());
}

#[test]
fn task_definition_file_must_be_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("taskdef.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    refused_definition_file(&fifo, "is a FIFO (named pipe), not a regular file");
    refused_definition_file(
        Path::new("/dev/zero"),
        "is a character device, not a regular file",
    );
    refused_definition_file(dir.path(), "is a directory, not a regular file");
}

/// A valid web:1 definition file, padded with spaces to exactly `size` bytes.
fn padded_definition_file(dir: &Path, size: usize) -> std::path::PathBuf {
    let described = common::fixture("describe-task-definition/web-1.json");
    let text = serde_json::to_string(&described).unwrap();
    let path = dir.join(format!("taskdef-{size}.json"));
    std::fs::write(&path, format!("{text}{}", " ".repeat(size - text.len()))).unwrap();
    path
}

#[test]
fn task_definition_file_may_hold_at_most_one_mib() {
    const MIB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    refused_definition_file(
        &padded_definition_file(dir.path(), MIB + 1),
        "is 1048577 bytes; at most 1 MiB (1048576 bytes) is accepted",
    );
    // Exactly 1 MiB is fine.
    let (code, err, called) = guarded_definition_file_run(&padded_definition_file(dir.path(), MIB));
    assert_eq!(code, Some(0), "{err}");
    assert!(called);
}

// ------------------------------------------------------------------ --codedeploy-*

/// `-c prod -n web -i repo/app:1` followed by `extra`.
fn service_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-c", "prod", "-n", "web", "-i", "repo/app:1"];
    args.extend_from_slice(extra);
    args
}

const CODEDEPLOY_FLAGS: [&str; 4] = [
    "--codedeploy-application",
    "--codedeploy-deployment-group",
    "--codedeploy-appspec",
    "--codedeploy-description",
];

#[test]
fn codedeploy_flags_need_a_service() {
    for flag in CODEDEPLOY_FLAGS {
        // -d alone, and -d with --run-task (one-off tasks need -d): 3, before any aws call.
        for args in [
            web_args(&[flag, "value"]),
            web_args(&["-c", "prod", "--run-task", flag, "value"]),
        ] {
            let err = argument_error(&args, 3);
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(flag), "{args:?}: {err}");
            assert!(err.contains("-n SERVICE"), "{args:?}: {err}");
        }
    }
}

#[test]
fn a_deployment_group_needs_its_application_and_one_service() {
    let err = argument_error(
        &service_args(&["--codedeploy-deployment-group", "web-bg"]),
        3,
    );
    assert!(err.contains("--codedeploy-application"), "{err}");
    let err = argument_error(
        &service_args(&[
            "-n",
            "worker",
            "--codedeploy-application",
            "shop",
            "--codedeploy-deployment-group",
            "web-bg",
        ]),
        3,
    );
    assert!(err.contains("-n was given 2 times"), "{err}");
    let err = argument_error(&service_args(&["--codedeploy-application", ""]), 3);
    assert!(
        err.contains("--codedeploy-application needs a name"),
        "{err}"
    );
}

#[test]
fn an_appspec_or_description_does_not_go_with_wait_only() {
    for flag in ["--codedeploy-appspec", "--codedeploy-description"] {
        let err = argument_error(&["-c", "prod", "-n", "web", "--wait-only", flag, "x"], 3);
        assert!(err.contains("--wait-only") && err.contains(flag), "{err}");
    }
}

/// The usage error (3) of a service deploy with `--codedeploy-appspec FILE`: one line that
/// names the flag and the file.
fn appspec_error(file: &Path) -> String {
    let err = argument_error(
        &service_args(&["--codedeploy-appspec", file.to_str().unwrap()]),
        3,
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--codedeploy-appspec"), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    err
}

#[test]
fn an_appspec_file_that_cannot_be_read_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = appspec_error(&dir.path().join("missing.yaml"));
    assert!(err.contains("cannot read"), "{err}");
    let err = appspec_error(dir.path());
    assert!(err.contains("is a directory, not a regular file"), "{err}");
    let fifo = dir.path().join("appspec.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let err = appspec_error(&fifo);
    assert!(
        err.contains("is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
}

#[test]
fn an_appspec_file_that_does_not_parse_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("appspec.yaml");
    std::fs::write(
        &yaml,
        "version: 0.0\nResources:\n  - TargetService: {Type: [\n",
    )
    .unwrap();
    let err = appspec_error(&yaml);
    assert!(err.contains("is not valid YAML or JSON"), "{err}");
    assert!(err.contains("line"), "{err}");
    let json = dir.path().join("appspec.json");
    std::fs::write(&json, r#"{"version": 0.0, "Resources": [}"#).unwrap();
    let err = appspec_error(&json);
    assert!(err.contains("is not valid JSON"), "{err}");
}

#[test]
fn an_appspec_without_an_ecs_target_service_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("appspec.yaml");
    for (text, problem) in [
        ("version: 0.0\n", "there is no Resources section"),
        (
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::Lambda::Function\n",
            "no Resources entry has a TargetService of Type AWS::ECS::Service",
        ),
        (r#"{"version": 0.0, "Resources": []}"#, "Resources is empty"),
        ("just text\n", "not an AppSpec"),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = appspec_error(&file);
        assert!(err.contains(problem), "{text:?}: {err}");
    }
}

// --------------------------------------------------------------------------------- 4

/// A directory holding a `python3` (so the fake could run) but no `aws`.
fn path_without_aws(dir: &Path) -> std::ffi::OsString {
    let python = which_python();
    std::os::unix::fs::symlink(&python, dir.join("python3")).unwrap();
    dir.as_os_str().to_owned()
}

fn which_python() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())
        .expect("python3 on PATH")
}

#[test]
fn aws_missing_from_path_exits_4() {
    let fake = FakeAws::empty();
    let dir = tempfile::tempdir().unwrap();
    let path = path_without_aws(dir.path());
    for args in [
        &["-d", "web", "-i", "repo/app:1"][..],
        // The script looks for aws before it checks the arguments.
        &["-c", "prod"][..],
    ] {
        let assert = fake.cmd().env("PATH", &path).args(args).assert().code(4);
        let err = stderr(&assert);
        assert!(err.contains("aws"), "{err}");
        assert!(err.contains("PATH"), "{err}");
    }
    // An empty PATH, too.
    fake.cmd()
        .env("PATH", "")
        .args(["-d", "web", "-i", "repo/app:1"])
        .assert()
        .code(4);
    assert!(fake.calls().is_empty());
}

// ---------------------------------------------------------------------------- 5–12

#[test]
fn neither_service_nor_task_definition_exits_5() {
    let err = argument_error(&["-c", "prod", "-i", "repo/app:1"], 5);
    assert!(err.contains("-n") && err.contains("-d"), "{err}");
}

#[test]
fn both_service_and_task_definition_exit_6() {
    argument_error(
        &["-c", "prod", "-n", "web", "-d", "web", "-i", "repo/app:1"],
        6,
    );
}

#[test]
fn service_without_cluster_exits_7() {
    let err = argument_error(&["-n", "web", "-i", "repo/app:1"], 7);
    assert!(err.contains("-c"), "{err}");
}

#[test]
fn no_image_exits_8() {
    argument_error(&["-c", "prod", "-n", "web"], 8);
    argument_error(&["-d", "web"], 8);
    argument_error(&["-d", "web", "-to", "1.2.3"], 8);
}

#[test]
fn max_definitions_not_a_number_exits_9() {
    for value in ["two", "3x", "", "1.5", "--"] {
        let err = argument_error(&web_args(&["--max-definitions", value]), 9);
        assert!(err.contains("--max-definitions"), "{value}: {err}");
    }
}

#[test]
fn launch_type_without_run_task_exits_10() {
    argument_error(&web_args(&["--launch-type", "FARGATE"]), 10);
}

#[test]
fn network_configuration_or_wait_for_success_without_run_task_exit_11() {
    let err = argument_error(
        &web_args(&[
            "--network-configuration",
            r#"{"awsvpcConfiguration":{"subnets":["subnet-1"]}}"#,
        ]),
        11,
    );
    assert!(err.contains("--network-configuration"), "{err}");
    let err = argument_error(&web_args(&["--wait-for-success"]), 11);
    assert!(err.contains("--wait-for-success"), "{err}");
}

#[test]
fn platform_version_without_run_task_exits_12() {
    argument_error(&web_args(&["--platform-version", "1.4.0"]), 12);
}

#[test]
fn checks_run_in_the_scripts_order() {
    // Everything wrong at once: the first check of the script wins.
    let all = [
        "-i",
        "/x",
        "--max-definitions",
        "x",
        "--launch-type",
        "EC2",
        "--wait-for-success",
        "--platform-version",
        "1",
    ];
    argument_error(&all, 5);
    let with_service: Vec<&str> = ["-n", "web"].iter().chain(&all).copied().collect();
    argument_error(&with_service, 7);
    let with_target: Vec<&str> = ["-d", "web"].iter().chain(&all).copied().collect();
    argument_error(&with_target, 9);
    argument_error(
        &[
            "-d",
            "web",
            "-i",
            "/x",
            "--network-configuration",
            "{}",
            "--platform-version",
            "1",
        ],
        11,
    );
    argument_error(&["-d", "web", "-i", "/x", "--platform-version", "1"], 12);
}

// -------------------------------------------------------------------------------- 13

#[test]
fn unparsable_images_exit_13() {
    for image in [
        "/x",
        "domain.com:abc/repo/image",
        "_x:tag",
        "",
        "repo/app:bad tag",
        "repo//app",
        "repo/app@md5:abc",
    ] {
        let err = argument_error(&["-d", "web", "-i", image], 13);
        assert!(err.contains("cannot parse image"), "{image:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{image:?}: {err}");
    }
}

#[test]
fn references_outside_the_distribution_grammar_exit_13() {
    let huge_tag = format!("nginx:{}", "t".repeat(10_000));
    let long_tag = format!("nginx:{}", "t".repeat(129));
    let bad_digest = format!("nginx:1.27@sha256:{}", "A".repeat(64));
    for image in [
        "nginx@sha256:ZZZZ",
        huge_tag.as_str(),
        long_tag.as_str(),
        "-",
        "Nginx:1",
        "team/App:1",
        "a..b:1",
        "nginx:.hidden",
        "nginx:-rc",
        bad_digest.as_str(),
    ] {
        let err = argument_error(&["-d", "web", "-i", image], 13);
        assert!(err.contains("cannot parse image"), "{image:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{image:?}: {err}");
        assert!(
            err.len() < 400,
            "a short reason for {} characters: {err}",
            image.len()
        );
    }
    let err = argument_error(&["-d", "web", "-i", &huge_tag], 13);
    assert!(err.contains("10000 characters"), "{err}");
    let err = argument_error(&["-d", "web", "-i", "Nginx:1"], 13);
    assert!(err.contains("lowercase"), "{err}");
    let err = argument_error(&["-d", "web", "-i", "nginx@sha256:ZZZZ"], 13);
    assert!(err.contains("64 lowercase hex"), "{err}");
}

#[test]
fn tags_from_dash_to_and_dash_e_follow_the_tag_grammar() {
    let long = "t".repeat(129);
    for tag in ["-to=.hidden", "-to=-rc", &format!("-to={long}")] {
        let err = argument_error(&["-d", "web", "-i", "ignore", tag], 13);
        assert!(err.contains("tag"), "{tag}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    for value in [".hidden", "-rc", long.as_str()] {
        let fake = FakeAws::empty();
        fake.cmd()
            .env("CI_TAG", value)
            .args(["-d", "web", "-i", "repo/app", "-e", "CI_TAG"])
            .assert()
            .code(13);
        assert!(fake.calls().is_empty());
    }
    // 128 characters is the longest tag, and fine.
    let longest = "t".repeat(128);
    let (fake, assert) = run(&["-d", "web", "-i", "ignore", "-to", &longest]);
    assert.success();
    assert_eq!(
        fake.registered()[0]["containerDefinitions"][0]["image"],
        format!("{ECR_APP}:{longest}")
    );
}

#[test]
fn a_tag_and_digest_image_is_accepted_as_written() {
    let image = format!("{ECR_APP}:2.0.0@sha256:{}", "0123456789abcdef".repeat(4));
    let (fake, assert) = run(&["-d", "web", "-i", &image]);
    let out = stdout(&assert.success());
    assert!(
        out.contains(&format!("Using image name: {image}\n")),
        "{out}"
    );
    assert_eq!(
        fake.registered()[0]["containerDefinitions"][0]["image"],
        image
    );
}

#[test]
fn an_unusable_tag_exits_13() {
    argument_error(&["-d", "web", "-i", "ignore", "-to", "a b"], 13);
    let fake = FakeAws::empty();
    fake.cmd()
        .env("CI_TAG", "feature/x")
        .args(["-d", "web", "-i", "repo/app", "-e", "CI_TAG"])
        .assert()
        .code(13);
    assert!(fake.calls().is_empty());
}

// -------------------------------------------------------------------------------- 14

#[test]
fn no_container_uses_the_repository_exits_14_without_registering() {
    let (fake, assert) = run(&["-d", "web", "-i", "other/web-app:2.0.0"]);
    let assert = assert.code(14);
    let err = stderr(&assert);
    assert!(err.contains("other/web-app"), "{err}");
    assert!(err.contains(&format!("app: {OLD_IMAGE}")), "{err}");
    assert!(
        err.contains("log-router: public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"),
        "{err}"
    );
    assert_eq!(fake.ops(), ["describe-task-definition"]);
    assert!(fake.registered().is_empty());
    // Nothing claims a new revision on stdout.
    let out = stdout(&assert);
    assert!(!out.contains("New task definition"), "{out}");
}

#[test]
fn one_unmatched_image_among_several_exits_14() {
    let (fake, assert) = run(&["-d", "web", "-i", NEW_IMAGE, "-i", "nginx:1.27"]);
    let err = stderr(&assert.code(14));
    assert!(err.contains("nginx"), "{err}");
    assert!(fake.registered().is_empty());
}

// --------------------------------------------------------------- failing aws calls

/// web:1 can be described, and `op` fails with this exit code and message.
fn failing(op: &str, code: i32, message: &str) -> FakeAws {
    let mut ops = json!({
        "describe-task-definition": [file("describe-task-definition/web-1.json")],
    });
    ops[op] = json!([{"exit": code, "stderr": message}]);
    scenario(ops)
}

#[test]
fn a_failing_describe_exits_with_the_aws_code_and_names_the_step() {
    for cli in Cli::BOTH {
        let fake = failing(
            "describe-task-definition",
            255,
            "\nAn error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition.\n",
        )
        .with_cli(cli);
        let assert = deploy_2_0_0(&fake).code(cli.service_error_code(255));
        let err = stderr(&assert);
        let failed: Vec<&str> = err.lines().filter(|l| l.contains("failed")).collect();
        assert_eq!(
            failed,
            [
                "ecs-deploy: describe-task-definition failed: An error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition."
            ],
            "{cli:?}: {err}"
        );
        assert_no_error_details(&err);
        assert_eq!(fake.ops(), ["describe-task-definition"]);
        assert!(!stdout(&assert).contains("Current task definition"));
    }
}

#[test]
fn a_failing_register_exits_with_the_aws_code_and_names_the_step() {
    let fake = failing(
        "register-task-definition",
        252,
        "\nParameter validation failed:\nInvalid length for parameter family, value: 0, valid min length: 1\n",
    );
    let assert = deploy_2_0_0(&fake).code(252);
    let err = stderr(&assert);
    assert!(
        err.lines().any(|l| l.contains(
            "register-task-definition failed: Invalid length for parameter family, value: 0, valid min length: 1"
        )),
        "{err}"
    );
    assert_eq!(
        fake.ops(),
        ["describe-task-definition", "register-task-definition"]
    );
    let out = stdout(&assert);
    assert!(out.contains(&format!("Current task definition: {WEB_1}")));
    assert!(!out.contains("New task definition"), "{out}");
    assert!(!out.contains("updated successfully"), "{out}");
}

#[test]
fn a_failure_without_a_message_still_names_the_step() {
    let fake = failing("register-task-definition", 254, "");
    let assert = deploy_2_0_0(&fake).code(254);
    let err = stderr(&assert);
    assert!(err.contains("register-task-definition failed:"), "{err}");
    assert!(err.contains("254"), "{err}");
}

#[test]
fn output_that_is_not_json_is_an_error_not_a_crash() {
    let fake = scenario(json!({
        "describe-task-definition": [{"stdout_raw": "<html>proxy error</html>"}]
    }));
    let assert = deploy_2_0_0(&fake).code(255);
    let err = stderr(&assert);
    assert!(err.contains("describe-task-definition failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ------------------------------------------------------------------------------ -e

#[test]
fn tag_env_var_unset_falls_back_to_latest() {
    let fake = describing("web-1.json");
    let assert = fake
        .cmd()
        .env_remove("ECS_DEPLOY_TEST_UNSET_TAG")
        .args([
            "-d",
            "web",
            "-i",
            ECR_APP,
            "-e",
            "ECS_DEPLOY_TEST_UNSET_TAG",
        ])
        .assert()
        .success();
    assert!(stdout(&assert).contains(&format!("Using image name: {ECR_APP}:latest")));
    assert_eq!(
        fake.registered()[0]["containerDefinitions"][0]["image"],
        format!("{ECR_APP}:latest")
    );
}

#[test]
fn tag_env_var_empty_falls_back_to_latest_and_set_supplies_the_tag() {
    let fake = describing("web-1.json");
    for tag in ["", "build-42"] {
        fake.cmd()
            .env("CI_TAG", tag)
            .args(["-d", "web", "-i", ECR_APP, "-e", "CI_TAG"])
            .assert()
            .success();
    }
    let images: Vec<Value> = fake
        .registered()
        .iter()
        .map(|r| r["containerDefinitions"][0]["image"].clone())
        .collect();
    assert_eq!(
        images,
        [
            json!(format!("{ECR_APP}:latest")),
            json!(format!("{ECR_APP}:build-42"))
        ]
    );
}

#[test]
fn wait_until_and_continue_deployment_misuse_is_a_usage_error_before_any_call() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "-i",
                "repo/app:2",
                "--wait-until",
                "SOMEWHERE",
            ],
            "--wait-until takes paused",
        ),
        (
            &["-d", "web", "-i", "repo/app:2", "--wait-until", "paused"],
            "--wait-until needs a service",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "-i",
                "repo/app:2",
                "--hook-id",
                "h1",
            ],
            "--hook-id goes with --continue-deployment",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "--wait-only",
                "--action",
                "rollback",
            ],
            "--action goes with --continue-deployment",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "--continue-deployment",
                "--action",
                "later",
            ],
            "--action takes continue or rollback",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "--continue-deployment",
                "-i",
                "repo/app:2",
            ],
            "does not go with -i",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "--continue-deployment",
                "--enable-rollback",
            ],
            "use --action rollback",
        ),
        (
            &[
                "-c",
                "prod",
                "-n",
                "web",
                "-n",
                "api",
                "--continue-deployment",
                "--hook-id",
                "h1",
            ],
            "--hook-id names the pause of one deployment",
        ),
    ];
    for (args, reason) in cases {
        let err = argument_error(args, 3);
        assert!(err.contains(reason), "{args:?}: {err}");
    }
}
