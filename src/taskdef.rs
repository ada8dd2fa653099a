//! From the current task definition to the one to register: keep what
//! `register-task-definition` accepts, and put the new images in, container by container.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::filters;
use crate::image::{self, ImageChange, ImageRef};

/// One container whose image changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerChange {
    pub container: String,
    pub old_image: String,
    pub new_image: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDefinition {
    /// The input for `register-task-definition --cli-input-json`.
    pub input: Value,
    pub changes: Vec<ContainerChange>,
}

#[derive(Debug, Clone)]
struct Container {
    name: String,
    image: Option<String>,
}

fn containers(definition: &Value) -> Result<Vec<Container>> {
    let listed = filters::run(&filters::CONTAINER_IMAGES, definition)?;
    let containers: Vec<Container> = listed
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Container {
            name: c["name"].as_str().unwrap_or_default().to_string(),
            image: c["image"].as_str().map(str::to_string),
        })
        .collect();
    if containers.is_empty() {
        return Err(Error::NothingToUpdate(
            "the task definition has no containerDefinitions: nothing to update".into(),
        ));
    }
    Ok(containers)
}

fn listing(containers: &[Container]) -> String {
    containers
        .iter()
        .map(|c| {
            format!(
                "  {}: {}",
                c.name,
                c.image.as_deref().unwrap_or("(no image)")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The new image of each container (None: unchanged), for `-i` images.
fn replace_by_repository(
    containers: &[Container],
    images: &[ImageRef],
) -> Result<Vec<Option<String>>> {
    let mut used = vec![false; images.len()];
    let new_images = containers
        .iter()
        .map(|container| {
            let current = image::split(container.image.as_deref()?);
            let (index, new) = images
                .iter()
                .enumerate()
                .find(|(_, new)| image::same_repository(&new.repository, &current.repository))?;
            used[index] = true;
            Some(new.to_string())
        })
        .collect();
    if let Some(unused) = used.iter().position(|u| !u) {
        let wanted = &images[unused];
        return Err(Error::NothingToUpdate(format!(
            "no container uses the repository of {wanted} ({}), so nothing would change; \
             the task definition's containers are:\n{}",
            image::canonical_repository(&wanted.repository),
            listing(containers)
        )));
    }
    Ok(new_images)
}

/// `-to TAG`: every container keeps its repository and gets TAG (a digest is replaced).
fn retag(containers: &[Container], tag: &str) -> Vec<Option<String>> {
    containers
        .iter()
        .map(|c| {
            c.image
                .as_deref()
                .filter(|i| !i.is_empty())
                .map(|i| format!("{}:{tag}", image::split(i).repository))
        })
        .collect()
}

/// Build the definition to register from a `describe-task-definition` answer or a bare
/// definition (e.g. from `--task-definition-file`).
pub fn rebuild(current: &Value, change: &ImageChange) -> Result<NewDefinition> {
    let definition = filters::run(&filters::TASK_DEFINITION, current)?;
    if !definition.is_object() {
        return Err(Error::Usage(
            "the task definition is not a JSON object".into(),
        ));
    }
    let containers = containers(&definition)?;
    let new_images = match change {
        ImageChange::Images(images) => replace_by_repository(&containers, images)?,
        ImageChange::TagOnly(tag) => retag(&containers, tag),
    };
    let changes = containers
        .iter()
        .zip(&new_images)
        .filter_map(|(c, new)| {
            Some(ContainerChange {
                container: c.name.clone(),
                old_image: c.image.clone().unwrap_or_default(),
                new_image: new.clone()?,
            })
        })
        .collect();
    let images_var = Value::Array(
        new_images
            .into_iter()
            .map(|i| i.map_or(Value::Null, Value::String))
            .collect(),
    );
    let updated = filters::run_with(&filters::SET_CONTAINER_IMAGES, &definition, &[images_var])?;
    let input = filters::run(&filters::REGISTRABLE_FIELDS, &updated)?;
    Ok(NewDefinition { input, changes })
}

/// Every environment value of every container: secrets, as far as printing goes.
pub fn environment_values(definition: &Value) -> Vec<String> {
    filters::extract(&filters::ENVIRONMENT_VALUES, definition, &[]).unwrap_or_default()
}

/// Whether an essential container defines a health check (then a task must be HEALTHY,
/// not merely RUNNING).
pub fn has_essential_health_check(definition: &Value) -> Result<bool> {
    Ok(filters::extract(
        &filters::HAS_ESSENTIAL_HEALTH_CHECK,
        definition,
        &[],
    )?)
}

/// Names of the essential containers (`essential` defaults to true).
pub fn essential_containers(definition: &Value) -> Result<Vec<String>> {
    Ok(filters::extract(
        &filters::ESSENTIAL_CONTAINER_NAMES,
        definition,
        &[],
    )?)
}

/// `arn:aws:ecs:...:task-definition/FAMILY:REV`, `FAMILY:REV` or `FAMILY` → FAMILY.
pub fn family_of(task_definition: &str) -> &str {
    let name = task_definition
        .split_once("task-definition/")
        .map_or(task_definition, |(_, rest)| rest);
    match name.rsplit_once(':') {
        Some((family, revision)) if revision.chars().all(|c| c.is_ascii_digit()) => family,
        _ => name,
    }
}

/// Add the family's tags (from `describe-task-definition --include TAGS`) to the input.
/// Tags the input already carries (from a `--task-definition-file`) come first and win over
/// a family tag with the same key.
pub fn with_tags(mut input: Value, tags: &Value) -> Value {
    if let Some(object) = input.as_object_mut() {
        let own = object.get("tags").and_then(Value::as_array);
        let family = tags.as_array().map_or(&[][..], Vec::as_slice);
        let merged = merge_tags(own.map_or(&[][..], Vec::as_slice), family);
        if !merged.is_empty() {
            object.insert("tags".into(), Value::Array(merged));
        }
    }
    input
}

/// `first`, then each tag of `then` whose key is not among them yet.
fn merge_tags(first: &[Value], then: &[Value]) -> Vec<Value> {
    let mut merged = first.to_vec();
    for tag in then {
        let taken = match tag.get("key") {
            Some(key) => merged.iter().any(|t| t.get("key") == Some(key)),
            None => merged.contains(tag),
        };
        if !taken {
            merged.push(tag.clone());
        }
    }
    merged
}

/// The tags of a `describe-task-definition --include TAGS` answer.
pub fn tags_of(described: &Value) -> Result<Value> {
    Ok(filters::run(&filters::TASK_DEFINITION_TAGS, described)?)
}

/// The largest `--task-definition-file` accepted, in bytes (1 MiB).
pub const MAX_FILE_BYTES: u64 = crate::input_file::MAX_BYTES;

/// Parse a `--task-definition-file`: the describe shape `{"taskDefinition": {...}}` or bare.
///
/// The file's tags are kept, wherever the file carries them: a bare definition's own `tags`
/// (the `register-task-definition` input shape), and in the describe shape the `tags` next
/// to `taskDefinition` (where `describe-task-definition --include TAGS` puts them) as well as
/// any inside it. The answer is always the describe shape, with every tag of the file moved
/// into the definition (its own tags first; a later tag with a key already seen is
/// dropped), so that the rebuild keeps them like any other registrable field.
pub fn parse_file(path: &std::path::Path) -> Result<Value> {
    let bytes = read_file(path)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Usage(format!(
            "--task-definition-file {} is not valid JSON ({e}); give the JSON of a task definition",
            path.display()
        ))
    })?;
    let mut definition = filters::run(&filters::TASK_DEFINITION, &value)?;
    if !definition.is_object() {
        return Err(Error::Usage(format!(
            "--task-definition-file {} does not hold a task definition object",
            path.display()
        )));
    }
    let wrapper_tags = if value.get("taskDefinition").is_some() {
        value.get("tags").cloned().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let problem = shape_problem(&definition)
        .or_else(|| tags_problem(definition.get("tags"), "tags"))
        .or_else(|| tags_problem(Some(&wrapper_tags), "the tags next to taskDefinition"));
    if let Some(problem) = problem {
        return Err(Error::Usage(format!(
            "--task-definition-file {}: {problem}",
            path.display()
        )));
    }
    if let Some(wrapper_tags) = wrapper_tags.as_array() {
        definition = with_tags(definition, &Value::Array(wrapper_tags.clone()));
    }
    Ok(json!({ "taskDefinition": definition }))
}

/// Tags, when present, must be a list (of `{key, value}`; the AWS CLI checks the items).
fn tags_problem(tags: Option<&Value>, what: &str) -> Option<String> {
    match tags {
        None | Some(Value::Null | Value::Array(_)) => None,
        Some(_) => Some(format!(
            "{what} must be a list of {{\"key\": ..., \"value\": ...}}"
        )),
    }
}

/// The bytes of a `--task-definition-file`: a regular file of at most [`MAX_FILE_BYTES`].
fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    crate::input_file::read(path, "--task-definition-file", "a JSON file").map_err(Error::Usage)
}

/// What keeps a hand-written definition from being rebuilt, if anything: the containers
/// must be a list of objects whose name and image, when present, are strings.
fn shape_problem(definition: &Value) -> Option<String> {
    let containers = match definition.get("containerDefinitions") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        Some(_) => return Some("containerDefinitions must be a list".into()),
    };
    containers.iter().enumerate().find_map(|(i, container)| {
        let Some(object) = container.as_object() else {
            return Some(format!("containerDefinitions[{i}] must be an object"));
        };
        ["name", "image"]
            .iter()
            .find_map(|key| match object.get(*key) {
                None | Some(Value::Null | Value::String(_)) => None,
                Some(_) => Some(format!("containerDefinitions[{i}].{key} must be a string")),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::parse;

    fn images(list: &[&str]) -> ImageChange {
        ImageChange::Images(
            list.iter()
                .map(|i| image::apply_tag_rules(parse(i).unwrap(), None).unwrap())
                .collect(),
        )
    }

    fn described() -> Value {
        json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "containerDefinitions": [
                {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:1.0.0", "essential": true,
                 "environment": [{"name": "DB_PASSWORD", "value": "s3cret"}]},
                {"name": "log-router", "essential": false, "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"}
            ],
            "family": "web", "taskRoleArn": "arn:aws:iam::123456789012:role/web", "networkMode": "awsvpc",
            "revision": 7, "volumes": [], "status": "ACTIVE", "requiresAttributes": [{"name": "x"}],
            "placementConstraints": [], "compatibilities": ["EC2"], "requiresCompatibilities": ["EC2"],
            "cpu": "256", "memory": "512", "pidMode": "host", "ipcMode": "task",
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 30}, "proxyConfiguration": null,
            "registeredAt": "2026-11-01T10:00:00.000000+00:00", "registeredBy": "arn:aws:iam::123456789012:user/ci",
            "enableFaultInjection": false
        }})
    }

    #[test]
    fn keeps_registrable_fields_in_order_and_drops_the_rest() {
        let new = rebuild(
            &described(),
            &images(&["123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:2.0.0"]),
        )
        .unwrap();
        let keys: Vec<&str> = new
            .input
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "containerDefinitions",
                "family",
                "taskRoleArn",
                "networkMode",
                "volumes",
                "placementConstraints",
                "requiresCompatibilities",
                "cpu",
                "memory",
                "pidMode",
                "ipcMode",
                "runtimePlatform",
                "ephemeralStorage",
                "enableFaultInjection"
            ]
        );
        assert_eq!(
            new.input["containerDefinitions"][0]["image"],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app:2.0.0"
        );
        assert_eq!(
            new.input["containerDefinitions"][0]["environment"][0]["value"],
            "s3cret"
        );
        assert_eq!(
            new.input["containerDefinitions"][1]["image"],
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"
        );
        assert_eq!(new.changes.len(), 1);
        assert_eq!(new.changes[0].container, "app");
    }

    #[test]
    fn image_as_last_key_minified_and_bare() {
        let bare: Value = serde_json::from_str(
            r#"{"family":"f","containerDefinitions":[{"name":"a","image":"nginx"}]}"#,
        )
        .unwrap();
        let new = rebuild(&bare, &images(&["nginx:1.27"])).unwrap();
        assert_eq!(
            serde_json::to_string(&new.input).unwrap(),
            r#"{"family":"f","containerDefinitions":[{"name":"a","image":"nginx:1.27"}]}"#
        );
    }

    #[test]
    fn digest_pinned_untagged_and_port_registries() {
        let def = json!({"family": "w", "containerDefinitions": [
            {"name": "a", "image": format!("redis@sha256:{}", "c".repeat(64))},
            {"name": "b", "image": "registry.example.com:5000/team/tool:3.1"},
            {"name": "c", "image": "docker.io/library/nginx"}
        ]});
        let new = rebuild(
            &def,
            &images(&[
                "redis:7",
                "registry.example.com:5000/team/tool:3.2",
                "nginx",
            ]),
        )
        .unwrap();
        let got: Vec<&str> = new.input["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert_eq!(
            got,
            [
                "redis:7",
                "registry.example.com:5000/team/tool:3.2",
                "nginx:latest"
            ]
        );
    }

    #[test]
    fn similar_names_are_not_rewritten() {
        let def = json!({"family": "w", "containerDefinitions": [{"name": "a", "image": "other/my-app:1"}]});
        let err = rebuild(&def, &images(&["app:2"])).unwrap_err();
        assert_eq!(err.exit_code(), 14);
        assert!(err.to_string().contains("a: other/my-app:1"), "{err}");
    }

    #[test]
    fn tag_only_keeps_repositories_and_replaces_digests() {
        let def = json!({"family": "w", "containerDefinitions": [
            {"name": "a", "image": "registry.example.com:5000/team/tool:3.1"},
            {"name": "b", "image": format!("redis@sha256:{}", "c".repeat(64))},
            {"name": "c", "image": "nginx"}
        ]});
        let new = rebuild(&def, &ImageChange::TagOnly("9".into())).unwrap();
        let got: Vec<&str> = new.input["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert_eq!(
            got,
            [
                "registry.example.com:5000/team/tool:9",
                "redis:9",
                "nginx:9"
            ]
        );
    }

    #[test]
    fn nulls_are_dropped() {
        let def = json!({"family": "w", "placementConstraints": null, "cpu": null, "containerDefinitions": [{"name": "a", "image": "x"}]});
        let new = rebuild(&def, &images(&["x:1"])).unwrap();
        assert_eq!(
            new.input.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["family", "containerDefinitions"]
        );
    }

    #[test]
    fn nulls_inside_arrays_are_dropped_too() {
        let def = json!({"family": "w", "requiresCompatibilities": [null, "EC2"],
            "containerDefinitions": [{"name": "a", "image": "x", "command": ["run", null],
                "environment": [null, {"name": "K", "value": null}]}]});
        let new = rebuild(&def, &images(&["x:1"])).unwrap();
        assert_eq!(
            serde_json::to_string(&new.input).unwrap(),
            r#"{"family":"w","requiresCompatibilities":["EC2"],"containerDefinitions":[{"name":"a","image":"x:1","command":["run"],"environment":[{"name":"K"}]}]}"#
        );
    }

    #[test]
    fn tags_are_added_when_present() {
        let input = with_tags(
            json!({"family": "w"}),
            &json!([{"key": "team", "value": "a"}]),
        );
        assert_eq!(input["tags"][0]["key"], "team");
        assert_eq!(
            with_tags(json!({"family": "w"}), &json!([])),
            json!({"family": "w"})
        );
    }

    const FLUENT_BIT: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit";

    fn pinned_fluent_bit() -> Value {
        json!({"family": "w", "containerDefinitions": [
            {"name": "app", "image": "web-app:1"},
            {"name": "log-router", "image": format!("{FLUENT_BIT}:stable@sha256:{}", "f".repeat(64))}
        ]})
    }

    #[test]
    fn a_tag_and_digest_image_is_matched_by_its_repository() {
        let new = rebuild(
            &pinned_fluent_bit(),
            &images(&[&format!("{FLUENT_BIT}:3.0")]),
        )
        .unwrap();
        assert_eq!(
            new.input["containerDefinitions"][1]["image"],
            format!("{FLUENT_BIT}:3.0")
        );
        assert_eq!(new.changes.len(), 1);
        assert_eq!(new.changes[0].container, "log-router");
        // And a tag-and-digest `-i` goes in as written.
        let pinned = format!("{FLUENT_BIT}:3.0@sha256:{}", "0".repeat(64));
        let new = rebuild(&pinned_fluent_bit(), &images(&[&pinned])).unwrap();
        assert_eq!(new.input["containerDefinitions"][1]["image"], pinned);
    }

    #[test]
    fn tag_only_replaces_both_tag_and_digest() {
        let new = rebuild(&pinned_fluent_bit(), &ImageChange::TagOnly("3.0".into())).unwrap();
        assert_eq!(
            new.input["containerDefinitions"][1]["image"],
            format!("{FLUENT_BIT}:3.0")
        );
        assert_eq!(new.input["containerDefinitions"][0]["image"], "web-app:3.0");
    }

    fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn team(value: &str) -> Value {
        json!({"key": "team", "value": value})
    }

    #[test]
    fn a_bare_files_own_tags_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let bare = json!({"family": "w", "tags": [team("a")],
            "containerDefinitions": [{"name": "a", "image": "x:1"}]});
        let path = temp_file(&dir, "bare.json", &bare.to_string());
        let base = parse_file(&path).unwrap();
        let new = rebuild(&base, &images(&["x:2"])).unwrap();
        assert_eq!(new.input["tags"], json!([team("a")]));
        assert_eq!(
            new.input.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["family", "tags", "containerDefinitions"]
        );
    }

    #[test]
    fn a_wrapped_files_tags_next_to_the_definition_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let wrapped = json!({
            "taskDefinition": {"family": "w", "containerDefinitions": [{"name": "a", "image": "x:1"}],
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/w:3", "revision": 3},
            "tags": [team("a"), {"key": "cost", "value": "1"}]});
        let path = temp_file(&dir, "wrapped.json", &wrapped.to_string());
        let base = parse_file(&path).unwrap();
        let new = rebuild(&base, &images(&["x:2"])).unwrap();
        assert_eq!(
            new.input["tags"],
            json!([team("a"), {"key": "cost", "value": "1"}])
        );
        // Tags inside the definition come first; the same key is not given twice.
        let both = json!({"taskDefinition": {"family": "w", "tags": [team("inner")],
            "containerDefinitions": [{"name": "a", "image": "x:1"}]},
            "tags": [team("outer"), {"key": "cost", "value": "1"}]});
        let path = temp_file(&dir, "both.json", &both.to_string());
        let new = rebuild(&parse_file(&path).unwrap(), &images(&["x:2"])).unwrap();
        assert_eq!(
            new.input["tags"],
            json!([team("inner"), {"key": "cost", "value": "1"}])
        );
        // An empty list adds nothing.
        let empty = json!({"taskDefinition": {"family": "w",
            "containerDefinitions": [{"name": "a", "image": "x:1"}]}, "tags": []});
        let path = temp_file(&dir, "empty.json", &empty.to_string());
        let new = rebuild(&parse_file(&path).unwrap(), &images(&["x:2"])).unwrap();
        assert!(new.input.get("tags").is_none(), "{}", new.input);
    }

    #[test]
    fn tags_that_are_not_a_list_are_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            r#"{"family":"w","tags":{"team":"a"},"containerDefinitions":[]}"#,
            r#"{"taskDefinition":{"family":"w","containerDefinitions":[]},"tags":"team=a"}"#,
        ] {
            let path = temp_file(&dir, "tags.json", text);
            let err = parse_file(&path).unwrap_err();
            assert_eq!(err.exit_code(), 3);
            assert!(err.to_string().contains("must be a list"), "{err}");
        }
    }

    #[test]
    fn a_described_definition_gets_tags_only_when_they_are_copied() {
        // describe-task-definition puts tags next to the definition: not taken by themselves.
        let described = json!({"taskDefinition": {"family": "w",
            "containerDefinitions": [{"name": "a", "image": "x:1"}]}, "tags": [team("a")]});
        let new = rebuild(&described, &images(&["x:2"])).unwrap();
        assert!(new.input.get("tags").is_none());
        let copied = with_tags(new.input, &tags_of(&described).unwrap());
        assert_eq!(copied["tags"], json!([team("a")]));
    }

    #[test]
    fn copied_family_tags_add_to_a_files_tags() {
        let input =
            json!({"family": "w", "tags": [team("file"), {"key": "only-file", "value": "1"}]});
        let family = json!([team("family"), {"key": "only-family", "value": "2"}]);
        assert_eq!(
            with_tags(input, &family)["tags"],
            json!([team("file"), {"key": "only-file", "value": "1"}, {"key": "only-family", "value": "2"}])
        );
    }

    fn usage_error(path: &std::path::Path) -> String {
        let err = parse_file(path).unwrap_err();
        assert_eq!(err.exit_code(), 3, "{err}");
        let text = err.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        text
    }

    #[test]
    fn the_file_must_be_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = usage_error(dir.path());
        assert!(err.contains("is a directory, not a regular file"), "{err}");
        let err = usage_error(std::path::Path::new("/dev/null"));
        assert!(
            err.contains("is a character device, not a regular file"),
            "{err}"
        );
        let err = usage_error(&dir.path().join("missing.json"));
        assert!(err.contains("missing.json"), "{err}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (send, receive) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = send.send(parse_file(&path).map_err(|e| (e.exit_code(), e.to_string())));
        });
        let answer = receive.recv_timeout(std::time::Duration::from_secs(5));
        if answer.is_err() {
            // Release the reader that is stuck in open(), then fail.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo);
            panic!("reading a FIFO blocked");
        }
        let (code, err) = answer.unwrap().unwrap_err();
        assert_eq!(code, 3);
        assert!(
            err.contains("is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
    }

    /// A valid definition, padded with spaces to exactly `size` bytes.
    fn padded_definition(size: usize) -> String {
        let text = r#"{"family":"w","containerDefinitions":[{"name":"a","image":"x:1"}]}"#;
        format!("{text}{}", " ".repeat(size - text.len()))
    }

    #[test]
    fn the_file_may_hold_at_most_one_mib() {
        let dir = tempfile::tempdir().unwrap();
        let limit = MAX_FILE_BYTES as usize;
        assert_eq!(limit, 1 << 20);
        let path = temp_file(&dir, "limit.json", &padded_definition(limit));
        assert!(parse_file(&path).is_ok());
        let path = temp_file(&dir, "over.json", &padded_definition(limit + 1));
        let err = usage_error(&path);
        assert!(
            err.contains("is 1048577 bytes; at most 1 MiB (1048576 bytes) is accepted"),
            "{err}"
        );
    }

    #[test]
    fn environment_values_are_collected() {
        let input = json!({"containerDefinitions": [
            {"name": "a", "environment": [{"name": "K", "value": "v1"}, {"name": "N"}]},
            {"name": "b"}, {"name": "c", "environment": [{"name": "P", "value": "v2"}]}]});
        assert_eq!(environment_values(&input), ["v1", "v2"]);
    }

    #[test]
    fn family_from_any_form() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"),
            "web"
        );
        assert_eq!(family_of("web:3"), "web");
        assert_eq!(family_of("web"), "web");
        assert_eq!(family_of("my-app-v2"), "my-app-v2");
    }

    #[test]
    fn essential_defaults_to_true() {
        let definition = json!({"containerDefinitions": [
            {"name": "a"}, {"name": "b", "essential": false}, {"name": "c", "essential": true}]});
        assert_eq!(essential_containers(&definition).unwrap(), ["a", "c"]);
    }

    #[test]
    fn only_an_essential_container_health_check_counts() {
        let sidecar = json!({"containerDefinitions": [{"name": "a"},
            {"name": "b", "essential": false, "healthCheck": {"command": ["true"]}}]});
        assert!(!has_essential_health_check(&sidecar).unwrap());
        let app =
            json!({"containerDefinitions": [{"name": "a", "healthCheck": {"command": ["true"]}}]});
        assert!(has_essential_health_check(&app).unwrap());
    }

    #[test]
    fn no_containers_is_nothing_to_update() {
        assert_eq!(
            rebuild(&json!({"family": "w"}), &images(&["x"]))
                .unwrap_err()
                .exit_code(),
            14
        );
        assert_eq!(
            rebuild(&json!([1]), &images(&["x"]))
                .unwrap_err()
                .exit_code(),
            3
        );
    }
}
