//! `-d FAMILY[:REV]|ARN`: describe the definition, build the new one, register it. The
//! exact aws calls, the exact stdout, and the exact JSON that reaches
//! `register-task-definition` (taken from the fake's log).

mod common;

use assert_cmd::assert::Assert;
use common::{
    ECR_APP, FakeAws, NEW_IMAGE, REGISTRABLE, answer, arg_value, contains_null, describing, file,
    fixture, fixture_path, stderr_of as stderr, stdout_of as stdout, web_definition_cmd,
};
use serde_json::{Map, Value, json};

const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/";
const SECRET_ENV_VALUES: &[&str] = &["s3cr3t-db-pass", "tok-should-never-leak"];

fn arn(reference: &str) -> String {
    format!("{ARN_PREFIX}{reference}")
}

/// Run `ecs-deploy ARGS` against `fake`.
fn run(fake: &FakeAws, args: &[&str]) -> Assert {
    fake.cmd().args(args).assert()
}

/// Run [`web_definition_cmd`], which must succeed.
fn deploy_web(fake: &FakeAws, extra: &[&str]) -> Assert {
    web_definition_cmd(fake, extra).assert().success()
}

/// A fake for `--max-definitions`: web:1 is described, `listed` is the answer of
/// list-task-definitions, and the new revision is web:5.
fn listing(listed: Value) -> FakeAws {
    FakeAws::new(json!({
        "next_revision": 5,
        "ops": {
            "describe-task-definition": [file("describe-task-definition/web-1.json")],
            "list-task-definitions": [listed]
        }
    }))
}

/// Drop nulls at every depth (what the registered JSON must look like).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// What the registered input must be: the definition's registrable keys, in its order,
/// without nulls, with `images` (container name → new image) put in.
fn expected_input(described: &Value, images: &[(&str, &str)]) -> Value {
    let definition = described.get("taskDefinition").unwrap_or(described);
    let mut kept: Map<String, Value> = definition
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| REGISTRABLE.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), without_nulls(v)))
        .collect();
    for container in kept["containerDefinitions"].as_array_mut().unwrap() {
        let name = container["name"].as_str().unwrap().to_string();
        if let Some((_, image)) = images.iter().find(|(n, _)| *n == name) {
            container["image"] = json!(image);
        }
    }
    Value::Object(kept)
}

/// Compare as text: serde_json keeps key order here (preserve_order), so this also
/// checks that the order was kept.
fn assert_same_json(got: &Value, want: &Value) {
    assert_eq!(
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap()
    );
}

fn images_of(input: &Value) -> Vec<String> {
    input["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ------------------------------------------------------------------ the basic flow

#[test]
fn two_calls_exact_argv_and_exact_status_lines() {
    let fake = describing("web-1.json");
    let assert = run(&fake, &["-d", "web", "-i", NEW_IMAGE]).success();
    assert_eq!(
        stdout(&assert),
        format!(
            "Using image name: {NEW_IMAGE}\nCurrent task definition: {}\nNew task definition: {}\nTask definition updated successfully\n",
            arn("web:1"),
            arn("web:2")
        )
    );

    let argvs = fake.argvs();
    assert_eq!(argvs.len(), 2, "{argvs:?}");
    // The name goes in the input, so that the CLI can start before it is known.
    assert_eq!(
        argvs[0][..5],
        [
            "--output",
            "json",
            "ecs",
            "describe-task-definition",
            "--cli-input-json",
        ]
    );
    assert_eq!(argvs[0].len(), 6, "{:?}", argvs[0]);
    assert_eq!(
        fake.calls_of("describe-task-definition")[0]["input"],
        json!({"taskDefinition": "web"})
    );
    assert_eq!(
        argvs[1][..5],
        [
            "--output",
            "json",
            "ecs",
            "register-task-definition",
            "--cli-input-json"
        ]
    );
    assert_eq!(argvs[1].len(), 6, "{:?}", argvs[1]);
    assert!(argvs[1][5].starts_with("file://"), "{:?}", argvs[1]);
    assert!(fake.calls().iter().all(|c| c["exit"] == 0));
}

#[test]
fn the_registered_json_keeps_every_registrable_field_in_order() {
    let fake = describing("web-1.json");
    run(&fake, &["-d", "web:1", "-i", NEW_IMAGE]).success();
    let registered = fake.registered();
    assert_eq!(registered.len(), 1);
    let got = &registered[0];
    let described = fixture("describe-task-definition/web-1.json");
    assert_same_json(got, &expected_input(&described, &[("app", NEW_IMAGE)]));

    // The fields the bash script lost, spelled out.
    let definition = &described["taskDefinition"];
    for key in [
        "pidMode",
        "runtimePlatform",
        "ephemeralStorage",
        "cpu",
        "memory",
        "executionRoleArn",
        "taskRoleArn",
        "enableFaultInjection",
    ] {
        assert_eq!(got[key], definition[key], "{key}");
    }
    for key in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
    ] {
        assert!(got.get(key).is_none(), "{key} must be dropped");
    }
    // The sidecar (image as its last key) is untouched.
    assert_eq!(
        got["containerDefinitions"][1],
        definition["containerDefinitions"][1]
    );
    assert_eq!(
        fake.calls_of("describe-task-definition")[0]["input"]["taskDefinition"],
        "web:1"
    );
}

#[test]
fn ec2_definition_keeps_ipc_mode_and_task_level_sizes() {
    let fake = describing("worker-ec2-5.json");
    run(&fake, &["-d", "worker", "-i", "nginx:1.27"]).success();
    let described = fixture("describe-task-definition/worker-ec2-5.json");
    let got = &fake.registered()[0];
    assert_same_json(got, &expected_input(&described, &[("proxy", "nginx:1.27")]));
    for key in ["pidMode", "ipcMode", "placementConstraints", "volumes"] {
        assert_eq!(got[key], described["taskDefinition"][key], "{key}");
    }
    assert_eq!(
        images_of(got),
        [
            "nginx:1.27",
            "redis@sha256:3f1d2c8a9b7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c",
            "registry.example.com:5000/team/tool:3.1"
        ]
    );
}

#[test]
fn an_arn_is_passed_through_as_given() {
    let fake = describing("web-1.json");
    run(&fake, &["-d", &arn("web:1"), "-i", NEW_IMAGE]).success();
    assert_eq!(
        arg_value(&fake.calls()[0], "--task-definition").as_deref(),
        Some(arn("web:1").as_str())
    );
}

// ------------------------------------------------------------------------ images

#[test]
fn several_images_one_per_repository() {
    let fake = describing("worker-ec2-5.json");
    let assert = run(
        &fake,
        &[
            "-d",
            "worker",
            "-i",
            "registry.example.com:5000/team/tool:3.2",
            "-i",
            "docker.io/library/redis:7.4",
        ],
    )
    .success();
    let out = stdout(&assert);
    assert!(out.starts_with(
        "Using image name: registry.example.com:5000/team/tool:3.2\nUsing image name: docker.io/library/redis:7.4\n"
    ), "{out}");
    assert_eq!(
        images_of(&fake.registered()[0]),
        [
            "nginx",
            "docker.io/library/redis:7.4",
            "registry.example.com:5000/team/tool:3.2"
        ]
    );
}

#[test]
fn two_images_of_one_repository_are_a_usage_error() {
    let fake = describing("worker-ec2-5.json");
    run(
        &fake,
        &["-d", "worker", "-i", "nginx:1", "-i", "library/nginx:2"],
    )
    .code(3);
    assert!(fake.calls().is_empty());
}

#[test]
fn tag_only_retags_every_container() {
    let fake = describing("worker-ec2-5.json");
    let assert = run(&fake, &["-d", "worker", "-i", "ignore", "-to", "2025.11"]).success();
    assert!(stdout(&assert).starts_with("Using image name: 2025.11\n"));
    assert_eq!(
        images_of(&fake.registered()[0]),
        [
            "nginx:2025.11",
            "redis:2025.11",
            "registry.example.com:5000/team/tool:2025.11"
        ]
    );
}

#[test]
fn tag_only_long_form_on_the_web_family() {
    let fake = describing("web-1.json");
    run(&fake, &["-d", "web", "-i", "ignore", "--tag-only", "9.9.9"]).success();
    assert_eq!(
        images_of(&fake.registered()[0]),
        [
            format!("{ECR_APP}:9.9.9"),
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:9.9.9".to_string()
        ]
    );
}

const FLUENT_BIT: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit";

/// web:1 with its log router pinned as `FLUENT_BIT:stable@sha256:...`.
fn web_with_pinned_log_router() -> (FakeAws, String) {
    let mut described = fixture("describe-task-definition/web-1.json");
    let pinned = format!("{FLUENT_BIT}:stable@sha256:{}", "5e".repeat(32));
    described["taskDefinition"]["containerDefinitions"][1]["image"] = json!(pinned);
    let fake = common::scenario(json!({ "describe-task-definition": [answer(described)] }));
    (fake, pinned)
}

#[test]
fn a_tag_and_digest_image_is_matched_by_its_repository() {
    let (fake, pinned) = web_with_pinned_log_router();
    let new = format!("{FLUENT_BIT}:3.0");
    let assert = run(&fake, &["-d", "web", "-i", &new]).success();
    assert!(
        stderr(&assert).contains(&format!("  log-router: {pinned} -> {new}")),
        "{}",
        stderr(&assert)
    );
    assert_eq!(
        images_of(&fake.registered()[0]),
        [common::OLD_IMAGE.to_string(), new]
    );
}

#[test]
fn a_tag_and_digest_image_can_be_deployed_as_written() {
    let (fake, _) = web_with_pinned_log_router();
    let new = format!("{FLUENT_BIT}:3.0@sha256:{}", "a7".repeat(32));
    let assert = run(&fake, &["-d", "web", "-i", &new]).success();
    assert!(stdout(&assert).starts_with(&format!("Using image name: {new}\n")));
    assert_eq!(images_of(&fake.registered()[0])[1], new);
}

#[test]
fn tag_only_replaces_the_tag_and_the_digest() {
    let (fake, _) = web_with_pinned_log_router();
    run(&fake, &["-d", "web", "-i", "ignore", "-to", "3.0"]).success();
    assert_eq!(
        images_of(&fake.registered()[0]),
        [format!("{ECR_APP}:3.0"), format!("{FLUENT_BIT}:3.0")]
    );
}

// ---------------------------------------------------------- --task-definition-file

fn write_temp(dir: &tempfile::TempDir, name: &str, value: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn task_definition_file_wrapped_and_bare() {
    let dir = tempfile::tempdir().unwrap();
    let mut described = fixture("describe-task-definition/web-1.json");
    // Make the file differ from what describe answers, to see which one is used.
    described["taskDefinition"]["memory"] = json!("1024");
    let wrapped = write_temp(&dir, "wrapped.json", &described);
    let bare = write_temp(&dir, "bare.json", &described["taskDefinition"]);
    let image = format!("{ECR_APP}:3.0.0");
    let want = expected_input(&described, &[("app", &image)]);
    for file in [wrapped, bare] {
        let fake = describing("web-1.json");
        let assert = run(
            &fake,
            &["-d", "web", "-i", &image, "--task-definition-file", &file],
        )
        .success();
        assert!(stdout(&assert).contains("Task definition updated successfully"));
        assert_eq!(
            fake.ops(),
            ["describe-task-definition", "register-task-definition"]
        );
        let got = &fake.registered()[0];
        assert_same_json(got, &want);
        assert_eq!(got["memory"], "1024");
    }
}

#[test]
fn legacy_file_with_nulls_registers_cleanly() {
    let fake = FakeAws::new(json!({
        "next_revision": 8,
        "ops": {
            "describe-task-definition": [file("describe-task-definition/legacy-nulls.json")]
        }
    }));
    let file = fixture_path("describe-task-definition/legacy-nulls.json");
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/legacy:2020.01";
    let assert = run(
        &fake,
        &[
            "-d",
            "legacy",
            "-i",
            image,
            "--task-definition-file",
            file.to_str().unwrap(),
        ],
    )
    .success();
    assert!(stdout(&assert).ends_with(&format!(
        "Current task definition: {}\nNew task definition: {}\nTask definition updated successfully\n",
        arn("legacy:7"),
        arn("legacy:8")
    )));
    let got = &fake.registered()[0];
    assert!(!contains_null(got), "{got:#}");
    let described = fixture("describe-task-definition/legacy-nulls.json");
    assert_same_json(got, &expected_input(&described, &[("legacy", image)]));
    let container = &got["containerDefinitions"][0];
    assert!(container.get("linuxParameters").is_none());
    assert!(container.get("healthCheck").is_none());
    assert!(got.get("placementConstraints").is_none());
}

// --------------------------------------------------------------------------- tags

#[test]
fn copy_task_definition_tags() {
    let fake = describing("web-1-tags.json");
    deploy_web(&fake, &["--copy-task-definition-tags"]);
    let describe = &fake.calls_of("describe-task-definition")[0];
    assert_eq!(describe["argv"][3], "describe-task-definition");
    assert_eq!(arg_value(describe, "--include").as_deref(), Some("TAGS"));
    assert_eq!(describe["input"], json!({"taskDefinition": "web"}));
    let got = &fake.registered()[0];
    assert_eq!(got["tags"], json!([{"key": "team", "value": "payments"}]));
    // Still nothing that register-task-definition would refuse.
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        keys.iter().all(|k| *k == "tags" || REGISTRABLE.contains(k)),
        "{keys:?}"
    );
}

fn tag(key: &str, value: &str) -> Value {
    json!({"key": key, "value": value})
}

/// `-d web -i NEW_IMAGE --task-definition-file FILE EXTRA` against a fake describing
/// `described`; the registered input.
fn register_from_file(described: &str, file: &str, extra: &[&str]) -> Value {
    let fake = describing(described);
    deploy_web(
        &fake,
        &[&["--task-definition-file", file][..], extra].concat(),
    );
    fake.registered().remove(0)
}

#[test]
fn a_bare_files_own_tags_are_registered() {
    let dir = tempfile::tempdir().unwrap();
    let described = fixture("describe-task-definition/web-1.json");
    let mut bare = described["taskDefinition"].clone();
    bare["tags"] = json!([tag("team", "platform"), tag("cost-center", "42")]);
    let file = write_temp(&dir, "bare.json", &bare);
    let got = register_from_file("web-1.json", &file, &[]);
    // In the definition's own place, like every other registrable key.
    assert_same_json(&got, &expected_input(&bare, &[("app", NEW_IMAGE)]));
    assert_eq!(got["tags"], bare["tags"]);
}

#[test]
fn a_wrapped_files_tags_next_to_the_definition_are_registered() {
    // What `describe-task-definition --include TAGS` prints, saved to a file.
    let dir = tempfile::tempdir().unwrap();
    let mut described = fixture("describe-task-definition/web-1.json");
    described["tags"] = json!([tag("team", "platform")]);
    let file = write_temp(&dir, "wrapped.json", &described);
    let mut got = register_from_file("web-1.json", &file, &[]);
    assert_eq!(got["tags"], json!([tag("team", "platform")]));
    got.as_object_mut().unwrap().remove("tags");
    assert_same_json(&got, &expected_input(&described, &[("app", NEW_IMAGE)]));
}

#[test]
fn copied_family_tags_add_to_a_files_tags() {
    // web-1-tags.json: the family's tags are team=payments.
    let dir = tempfile::tempdir().unwrap();
    let mut bare = fixture("describe-task-definition/web-1.json")["taskDefinition"].clone();
    bare["tags"] = json!([tag("cost-center", "42")]);
    let file = write_temp(&dir, "bare.json", &bare);
    let got = register_from_file("web-1-tags.json", &file, &["--copy-task-definition-tags"]);
    assert_eq!(
        got["tags"],
        json!([tag("cost-center", "42"), tag("team", "payments")])
    );
    // The file's value wins over the family's for the same key.
    bare["tags"] = json!([tag("team", "platform")]);
    let file = write_temp(&dir, "bare.json", &bare);
    let got = register_from_file("web-1-tags.json", &file, &["--copy-task-definition-tags"]);
    assert_eq!(got["tags"], json!([tag("team", "platform")]));
}

#[test]
fn without_the_flag_no_tags_are_asked_for_or_sent() {
    let fake = describing("web-1-tags.json");
    deploy_web(&fake, &[]);
    assert!(arg_value(&fake.calls()[0], "--include").is_none());
    assert!(fake.registered()[0].get("tags").is_none());
}

// ------------------------------------------------------------------ secrets & env

#[test]
fn the_input_file_is_private() {
    let fake = describing("web-1.json");
    deploy_web(&fake, &[]);
    let register = &fake.calls_of("register-task-definition")[0];
    assert_eq!(register["input_mode"], "600");
    // And it is gone afterwards.
    let source = arg_value(register, "--cli-input-json").unwrap();
    let path = source.strip_prefix("file://").unwrap();
    assert!(
        !std::path::Path::new(path).exists(),
        "{path} was left behind"
    );
}

#[test]
fn environment_values_never_reach_argv_or_verbose_output() {
    let fake = describing("web-1.json");
    let assert = deploy_web(&fake, &["-v"]);
    let (out, err) = (stdout(&assert), stderr(&assert));
    // -v traces both calls.
    assert!(err.contains("describe-task-definition"), "{err}");
    assert!(err.contains("register-task-definition"), "{err}");
    for secret in SECRET_ENV_VALUES {
        for argv in fake.argvs() {
            assert!(
                argv.iter().all(|a| !a.contains(secret)),
                "{secret} in {argv:?}"
            );
        }
        assert!(!out.contains(secret), "{secret} on stdout");
        assert!(!err.contains(secret), "{secret} on stderr");
    }
    // The values did reach AWS, through the file.
    let registered = serde_json::to_string(&fake.registered()[0]).unwrap();
    for secret in SECRET_ENV_VALUES {
        assert!(registered.contains(secret));
    }
}

#[test]
fn credentials_go_through_the_environment_only() {
    let fake = describing("web-1.json");
    let key = "AKIAEXAMPLEKEY123456";
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let assert = deploy_web(&fake, &["-v", "-k", key, "-s", secret]);
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call["env"]["AWS_ACCESS_KEY_ID"], key);
        assert_eq!(call["env"]["AWS_SECRET_ACCESS_KEY"], secret);
        let argv = serde_json::to_string(&call["argv"]).unwrap();
        assert!(!argv.contains(key) && !argv.contains(secret), "{argv}");
    }
    let (out, err) = (stdout(&assert), stderr(&assert));
    for text in [&out, &err] {
        assert!(!text.contains(key), "{text}");
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn region_and_profile_become_global_options() {
    let fake = describing("web-1.json");
    deploy_web(&fake, &["-r", "eu-west-1", "-p", "deploy"]);
    for argv in fake.argvs() {
        assert_eq!(
            argv[..7],
            [
                "--output",
                "json",
                "--region",
                "eu-west-1",
                "--profile",
                "deploy",
                "ecs"
            ]
        );
    }
    let fake = describing("web-1.json");
    deploy_web(&fake, &["--region", "eu-west-1", "--profile", "deploy"]);
    assert!(
        fake.argvs()
            .iter()
            .all(|a| a[2..6] == ["--region", "eu-west-1", "--profile", "deploy"])
    );
}

#[test]
fn children_get_no_pager_no_prompt_and_the_users_environment() {
    let fake = describing("web-1.json");
    web_definition_cmd(&fake, &[])
        .env("AWS_PAGER", "less")
        .env("AWS_CLI_AUTO_PROMPT", "on")
        .env("AWS_ENDPOINT_URL", "http://localhost:4566")
        .env("AWS_PROFILE", "from-env")
        .assert()
        .success();
    assert!(!fake.calls().is_empty());
    for call in fake.calls() {
        assert_eq!(call["env"]["AWS_PAGER"], "");
        assert_eq!(call["env"]["AWS_CLI_AUTO_PROMPT"], "off");
        assert_eq!(call["env"]["AWS_ENDPOINT_URL"], "http://localhost:4566");
        assert_eq!(call["env"]["AWS_PROFILE"], "from-env");
        assert!(call["env"].get("AWS_ACCESS_KEY_ID").is_none());
    }
}

// --------------------------------------------------------------- --max-definitions

#[test]
fn max_definitions_deregisters_the_oldest_beyond_n() {
    // The new revision is web:5, the newest of the listed web:1..web:5.
    let fake = listing(file("list-task-definitions/web-active.json"));
    let assert = deploy_web(&fake, &["--max-definitions", "3"]);
    assert_eq!(
        fake.ops(),
        [
            "describe-task-definition",
            "register-task-definition",
            "list-task-definitions",
            "deregister-task-definition",
            "deregister-task-definition"
        ]
    );
    let list = &fake.calls_of("list-task-definitions")[0];
    assert_eq!(
        list["argv"],
        json!([
            "--output",
            "json",
            "ecs",
            "list-task-definitions",
            "--family-prefix",
            "web",
            "--status",
            "ACTIVE",
            "--sort",
            "ASC"
        ])
    );
    let deregistered = fake.deregistered();
    assert_eq!(deregistered, [arn("web:1"), arn("web:2")]);
    let out = stdout(&assert);
    assert!(out.contains(&format!("New task definition: {}", arn("web:5"))));
    for gone in &deregistered {
        assert!(
            out.lines()
                .any(|l| l == format!("Deregistering outdated task revision: {gone}")),
            "{out}"
        );
    }
}

#[test]
fn max_definitions_ignores_other_families_sharing_the_prefix() {
    let mut listed = fixture("list-task-definitions/web-active.json");
    let arns = listed["taskDefinitionArns"].as_array_mut().unwrap();
    arns.insert(0, json!(arn("web-admin:1")));
    arns.insert(3, json!(arn("web-admin:2")));
    arns.push(json!(arn("webhooks:9")));
    let fake = listing(answer(listed));
    deploy_web(&fake, &["--max-definitions", "4"]);
    assert_eq!(fake.deregistered(), [arn("web:1")]);
}

#[test]
fn max_definitions_with_few_revisions_deregisters_nothing() {
    let fake = listing(file("list-task-definitions/web-active.json"));
    deploy_web(&fake, &["--max-definitions", "5"]);
    assert!(fake.calls_of("deregister-task-definition").is_empty());
    // Zero or negative keeps everything, without even listing.
    for keep in ["0", "-1"] {
        let fake = describing("web-1.json");
        deploy_web(&fake, &["--max-definitions", keep]);
        assert_eq!(
            fake.ops(),
            ["describe-task-definition", "register-task-definition"]
        );
    }
}
