//! The AppSpec of a CodeDeploy deployment of an ECS service (SPEC §14).
//!
//! An AppSpec names the task definition that CodeDeploy puts on the replacement task set,
//! the container and port that take traffic, optional settings of the task set (platform
//! version, network configuration, capacity providers) and the Lambda functions run at each
//! lifecycle event ("hooks"). It is either the default one built from the service
//! ([`AppSpec::for_service`]) or the user's `--codedeploy-appspec` file
//! ([`AppSpec::from_file`]), whose every key is kept; only `TaskDefinition` is replaced by
//! the new revision ([`AppSpec::with_task_definition`]).
//!
//! The document is held as JSON and sent as compact JSON text ([`AppSpec::content`]) in its
//! own key order (serde_json's `preserve_order`), so the same input always gives the same
//! text and the same [`AppSpec::sha256`].
//!
//! Keys are looked up without regard to ASCII case (AWS documents `Resources`/`Hooks` in its
//! examples and `resources`/`hooks` in its structure reference); they are kept as written.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The flag whose file [`AppSpec::from_file`] reads, as named in its errors.
const FLAG: &str = "--codedeploy-appspec";

/// The `Type` of a target service that CodeDeploy deploys to ECS.
pub const ECS_SERVICE: &str = "AWS::ECS::Service";

/// An AppSpec for an ECS deployment: a JSON object with at least one `Resources` entry whose
/// `TargetService.Type` is [`ECS_SERVICE`].
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    document: Value,
}

impl AppSpec {
    /// Read and check a `--codedeploy-appspec` file: YAML or JSON (a regular file of at most
    /// 1 MiB). Every key the user wrote is kept (comments are not: the AppSpec is sent as
    /// JSON). The error is one line naming the flag, the file and the problem.
    pub fn from_file(path: &std::path::Path) -> Result<AppSpec, String> {
        let bytes = crate::input_file::read(path, FLAG, "a YAML or JSON AppSpec file")?;
        let shown = path.display();
        let document = parse(&bytes).map_err(|why| format!("{FLAG} {shown} {why}"))?;
        AppSpec::from_document(document).map_err(|why| format!("{FLAG} {shown}: {why}"))
    }

    /// Check a parsed document: the problem, if it is not an AppSpec for an ECS service.
    pub fn from_document(document: Value) -> Result<AppSpec, String> {
        let Some(top) = document.as_object() else {
            return Err(format!(
                "not an AppSpec: the document is {}, not a mapping of version, Resources and Hooks",
                kind(&document)
            ));
        };
        let resources = match field(top, "Resources") {
            None => return Err(no_target("there is no Resources section")),
            Some(Value::Array(resources)) => resources,
            Some(other) => {
                return Err(format!(
                    "Resources must be a list of `- TargetService: ...` entries, not {}",
                    kind(other)
                ));
            }
        };
        let targets: Vec<&Map<String, Value>> =
            resources.iter().filter_map(ecs_target_service).collect();
        if targets.is_empty() {
            return Err(no_target(&match resources.len() {
                0 => "Resources is empty".to_string(),
                1 => "its one entry is not one".to_string(),
                n => format!("none of its {n} entries is one"),
            }));
        }
        for target in &targets {
            match field(target, "Properties") {
                None | Some(Value::Object(_)) => {}
                Some(other) => {
                    return Err(format!(
                        "TargetService.Properties must be a mapping, not {}",
                        kind(other)
                    ));
                }
            }
            if let Some(info) = properties(target).and_then(|p| field(p, "LoadBalancerInfo")) {
                load_balancer_info(info)?;
            }
        }
        if let Some(hooks) = field(top, "Hooks") {
            hook_list(hooks)?;
        }
        Ok(AppSpec { document })
    }

    /// The default AppSpec: the new revision on the container and port that take traffic,
    /// nothing else (no hooks; the task set keeps the service's network settings).
    pub fn for_service(
        task_definition_arn: &str,
        container_name: &str,
        container_port: u16,
    ) -> AppSpec {
        AppSpec {
            document: json!({
                "version": 0.0,
                "Resources": [{
                    "TargetService": {
                        "Type": ECS_SERVICE,
                        "Properties": {
                            "TaskDefinition": task_definition_arn,
                            "LoadBalancerInfo": {
                                "ContainerName": container_name,
                                "ContainerPort": container_port,
                            },
                        },
                    },
                }],
            }),
        }
    }

    /// The same AppSpec pointing every `Resources[*].TargetService` at `arn`: whatever the
    /// user wrote as `TaskDefinition` (often a placeholder such as `<TASK_DEFINITION>`, or
    /// an older revision) is replaced, and a missing one is added. Everything else is kept.
    pub fn with_task_definition(mut self, arn: &str) -> AppSpec {
        let resources = self
            .document
            .as_object_mut()
            .and_then(|top| field_mut(top, "Resources"))
            .and_then(Value::as_array_mut);
        for entry in resources.into_iter().flatten() {
            let Some(target) = entry
                .as_object_mut()
                .and_then(|e| field_mut(e, "TargetService"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if field(target, "Properties").is_none() {
                target.insert("Properties".into(), Value::Object(Map::new()));
            }
            let Some(properties) = field_mut(target, "Properties").and_then(Value::as_object_mut)
            else {
                continue;
            };
            match field_mut(properties, "TaskDefinition") {
                Some(value) => *value = Value::String(arn.into()),
                None => {
                    properties.insert("TaskDefinition".into(), Value::String(arn.into()));
                }
            }
        }
        self
    }

    /// The document, as it will be sent.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The `TaskDefinition` of the (first) ECS target service, if it has one.
    pub fn task_definition(&self) -> Option<&str> {
        self.ecs_properties()
            .and_then(|p| field(p, "TaskDefinition"))
            .and_then(Value::as_str)
    }

    /// `LoadBalancerInfo` of the (first) ECS target service: the container and port that
    /// take traffic.
    pub fn container(&self) -> Option<(String, u16)> {
        self.ecs_properties()
            .and_then(|p| field(p, "LoadBalancerInfo"))
            .and_then(|info| load_balancer_info(info).ok())
    }

    /// The lifecycle hooks in their order: (event, Lambda function).
    pub fn hooks(&self) -> Vec<(String, String)> {
        self.document
            .as_object()
            .and_then(|top| field(top, "Hooks"))
            .and_then(|hooks| hook_list(hooks).ok())
            .unwrap_or_default()
    }

    /// The text that is sent (`revisionType AppSpecContent`): compact JSON, keys in the
    /// document's order.
    pub fn content(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_default()
    }

    /// The SHA-256 of [`AppSpec::content`]'s bytes, lowercase hex.
    pub fn sha256(&self) -> String {
        sha256_hex(self.content().as_bytes())
    }

    fn ecs_properties(&self) -> Option<&Map<String, Value>> {
        let top = self.document.as_object()?;
        field(top, "Resources")?
            .as_array()?
            .iter()
            .filter_map(ecs_target_service)
            .find_map(properties)
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// YAML or JSON. A document that looks like JSON is read as JSON first, for JSON's own
/// error messages; YAML (a superset of JSON) reads the rest. The problem, if neither reads.
fn parse(bytes: &[u8]) -> Result<Value, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| format!("is not UTF-8 text ({e})"))?;
    let one_line = |e: String| e.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.trim_start().starts_with(['{', '[']) {
        return serde_json::from_str(text).or_else(|json_error| {
            yaml_serde::from_str(text)
                .map_err(|_| format!("is not valid JSON ({})", one_line(json_error.to_string())))
        });
    }
    yaml_serde::from_str(text)
        .map_err(|e| format!("is not valid YAML or JSON ({})", one_line(e.to_string())))
}

/// `TargetService` of a `Resources` entry, when it is an ECS service.
fn ecs_target_service(entry: &Value) -> Option<&Map<String, Value>> {
    let target = field(entry.as_object()?, "TargetService")?.as_object()?;
    (field(target, "Type")?.as_str()? == ECS_SERVICE).then_some(target)
}

fn properties(target: &Map<String, Value>) -> Option<&Map<String, Value>> {
    field(target, "Properties")?.as_object()
}

fn no_target(why: &str) -> String {
    format!("no Resources entry has a TargetService of Type {ECS_SERVICE} ({why})")
}

/// `ContainerName` and `ContainerPort` of a `LoadBalancerInfo`, or what is wrong with it.
fn load_balancer_info(info: &Value) -> Result<(String, u16), String> {
    let wrong = || {
        "LoadBalancerInfo must give ContainerName (text) and ContainerPort (1-65535)".to_string()
    };
    let info = info.as_object().ok_or_else(wrong)?;
    let name = field(info, "ContainerName")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .ok_or_else(wrong)?;
    let port = match field(info, "ContainerPort") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|port| u16::try_from(port).ok())
    .filter(|port| *port > 0)
    .ok_or_else(wrong)?;
    Ok((name.to_string(), port))
}

/// The hooks of a `Hooks` section (a list of `- Event: Function`), or what is wrong with it.
fn hook_list(hooks: &Value) -> Result<Vec<(String, String)>, String> {
    let wrong = || "Hooks must be a list of `- LifecycleEvent: LambdaFunction` entries".to_string();
    let mut found = Vec::new();
    for entry in hooks.as_array().ok_or_else(wrong)? {
        let entry = entry
            .as_object()
            .filter(|e| !e.is_empty())
            .ok_or_else(wrong)?;
        for (event, function) in entry {
            let function = function.as_str().ok_or_else(wrong)?;
            found.push((event.clone(), function.to_string()));
        }
    }
    Ok(found)
}

/// The value of `name` in `object`: that key, or else one that differs only in ASCII case.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn field_mut<'a>(object: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = if object.contains_key(name) {
        name.to_string()
    } else {
        object
            .keys()
            .find(|key| key.eq_ignore_ascii_case(name))?
            .clone()
    };
    object.get_mut(&key)
}

/// What a value is, for an error message.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:42";

    fn fixture_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/appspec/with-hooks.yaml")
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The error for a file holding `text`; it is one line naming the flag and the file.
    fn refused(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "appspec.yaml", text);
        let err = AppSpec::from_file(&path).unwrap_err();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("--codedeploy-appspec "), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        err
    }

    #[test]
    fn the_default_appspec_points_the_service_at_the_revision() {
        let spec = AppSpec::for_service(ARN, "app", 8080);
        assert_eq!(
            spec.content(),
            format!(
                r#"{{"version":0.0,"Resources":[{{"TargetService":{{"Type":"AWS::ECS::Service","Properties":{{"TaskDefinition":"{ARN}","LoadBalancerInfo":{{"ContainerName":"app","ContainerPort":8080}}}}}}}}]}}"#
            )
        );
        assert_eq!(spec.container(), Some(("app".into(), 8080)));
        assert_eq!(spec.task_definition(), Some(ARN));
        assert!(spec.hooks().is_empty());
        // What the default builds passes the file checks too.
        assert_eq!(
            AppSpec::from_document(spec.document().clone()),
            Ok(spec.clone())
        );
        assert_eq!(spec.sha256(), sha256_hex(spec.content().as_bytes()));
    }

    #[test]
    fn a_yaml_appspec_keeps_what_the_user_wrote() {
        let spec = AppSpec::from_file(&fixture_path()).unwrap();
        assert_eq!(spec.task_definition(), Some("<TASK_DEFINITION>"));
        assert_eq!(spec.container(), Some(("checkout".into(), 8080)));
        assert_eq!(
            spec.hooks(),
            [
                ("BeforeInstall", "checkout-hook-check-migrations"),
                ("AfterInstall", "checkout-hook-warm-caches"),
                ("AfterAllowTestTraffic", "checkout-hook-smoke-test-port"),
                ("BeforeAllowTraffic", "checkout-hook-compare-metrics"),
                ("AfterAllowTraffic", "checkout-hook-notify-release"),
            ]
            .map(|(e, f)| (e.to_string(), f.to_string()))
        );

        let spec = spec.with_task_definition(ARN);
        assert_eq!(spec.task_definition(), Some(ARN));
        let properties = &spec.document()["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(properties["PlatformVersion"], "1.4.0");
        assert_eq!(
            properties["NetworkConfiguration"]["AwsvpcConfiguration"],
            json!({
                "Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0f9e8d7c6b5a40312"],
                "SecurityGroups": ["sg-0c0ffee0c0ffee000"],
                "AssignPublicIp": "DISABLED",
            })
        );
        assert_eq!(
            properties["CapacityProviderStrategy"][1],
            json!({"CapacityProvider": "FARGATE_SPOT", "Base": 0, "Weight": 3})
        );
        assert_eq!(spec.hooks().len(), 5);
        // Sent as compact JSON in the file's own key order; the version stays a number.
        let content = spec.content();
        assert!(
            content.starts_with(&format!(
                r#"{{"version":0.0,"Resources":[{{"TargetService":{{"Type":"AWS::ECS::Service","Properties":{{"TaskDefinition":"{ARN}","LoadBalancerInfo""#
            )),
            "{content}"
        );
        assert!(
            content.ends_with(r#""Hooks":[{"BeforeInstall":"checkout-hook-check-migrations"},{"AfterInstall":"checkout-hook-warm-caches"},{"AfterAllowTestTraffic":"checkout-hook-smoke-test-port"},{"BeforeAllowTraffic":"checkout-hook-compare-metrics"},{"AfterAllowTraffic":"checkout-hook-notify-release"}]}"#),
            "{content}"
        );
        assert!(!content.contains("<TASK_DEFINITION>") && !content.contains('#'));
    }

    #[test]
    fn the_same_appspec_in_json_sends_the_same_content() {
        let yaml = AppSpec::from_file(&fixture_path()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pretty = serde_json::to_string_pretty(yaml.document()).unwrap();
        let path = write(&dir, "appspec.json", &pretty);
        let json = AppSpec::from_file(&path).unwrap();
        assert_eq!(json, yaml);
        assert_eq!(json.content(), yaml.content());
        let (json, yaml) = (
            json.with_task_definition(ARN),
            yaml.with_task_definition(ARN),
        );
        assert_eq!(json.sha256(), yaml.sha256());
        assert_eq!(json.hooks(), yaml.hooks());
    }

    #[test]
    fn the_task_definition_is_replaced_or_added_wherever_a_target_service_is() {
        let document = json!({
            "version": "0.0",
            "resources": [
                {"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
                    "taskDefinition": "old", "PlatformVersion": "LATEST"}}},
                {"TargetService": {"Type": "AWS::ECS::Service"}},
            ],
        });
        let spec = AppSpec::from_document(document)
            .unwrap()
            .with_task_definition(ARN);
        assert_eq!(
            spec.document(),
            &json!({
                "version": "0.0",
                "resources": [
                    {"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
                        "taskDefinition": ARN, "PlatformVersion": "LATEST"}}},
                    {"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
                        "TaskDefinition": ARN}}},
                ],
            })
        );
        assert_eq!(spec.container(), None);
    }

    #[test]
    fn files_that_are_not_an_ecs_appspec_are_refused() {
        for (text, problem) in [
            ("version: 0.0\nResources: [\n", "is not valid YAML or JSON"),
            ("{\"version\": 0.0,", "is not valid JSON"),
            ("", ": not an AppSpec: the document is empty, not a mapping"),
            ("- a\n- b\n", "the document is a list, not a mapping"),
            ("version: 0.0\n", "(there is no Resources section)"),
            ("version: 0.0\nResources: web\n", "Resources must be a list"),
            (
                "Resources:\n  - TargetService:\n      Type: AWS::Lambda::Function\n",
                "no Resources entry has a TargetService of Type AWS::ECS::Service (its one entry is not one)",
            ),
            (
                "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties: [1]\n",
                "TargetService.Properties must be a mapping",
            ),
            (
                "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 70000\n",
                "ContainerPort (1-65535)",
            ),
            (
                "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\nHooks:\n  BeforeInstall: check\n",
                "Hooks must be a list",
            ),
            (
                "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\nHooks:\n  - BeforeInstall: [check]\n",
                "Hooks must be a list",
            ),
            ("\u{0}\u{1}", "is not valid YAML or JSON"),
        ] {
            let err = refused(text);
            assert!(err.contains(problem), "{text:?}: {err}");
        }
        let err = refused("version: 0.0\nResources:\n  - TargetService: {Type: [\n");
        assert!(err.contains("line"), "the parser says where: {err}");
    }

    #[test]
    fn a_missing_or_unusable_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        let err = AppSpec::from_file(&missing).unwrap_err();
        assert!(err.contains("missing.yaml"), "{err}");
        assert!(err.contains("--codedeploy-appspec"), "{err}");
        let err = AppSpec::from_file(dir.path()).unwrap_err();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
        let path = write(&dir, "binary.yaml", "");
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        let err = AppSpec::from_file(&path).unwrap_err();
        assert!(err.contains("is not UTF-8 text"), "{err}");
    }

    #[test]
    fn flow_yaml_that_is_not_json_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "flow.yaml",
            "{version: 0.0, Resources: [{TargetService: {Type: 'AWS::ECS::Service'}}]}",
        );
        let spec = AppSpec::from_file(&path).unwrap();
        assert_eq!(
            spec.content(),
            r#"{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service"}}]}"#
        );
    }

    #[test]
    fn sha256_of_known_strings() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let spec = AppSpec::from_document(json!({"Resources": [
            {"TargetService": {"Type": "AWS::ECS::Service"}}]}))
        .unwrap();
        assert_eq!(
            spec.content(),
            r#"{"Resources":[{"TargetService":{"Type":"AWS::ECS::Service"}}]}"#
        );
        assert_eq!(spec.sha256(), sha256_hex(spec.content().as_bytes()));
        assert_eq!(spec.sha256().len(), 64);
    }
}
