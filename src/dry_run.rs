//! `--dry-run`: show the definition that would be registered (stdout, or the JSON result
//! with `--output json`) and a unified diff against the current one (stderr).
//!
//! Both sides of the diff go through the same registrable-fields filter, so the read-only
//! keys of a `describe-task-definition` answer (revision, status, registeredAt, ...) never
//! show up as removed. Keys are sorted at every depth, so the diff shows changes of value,
//! not of key order. Environment values are masked (see [`mask_environment`]) unless
//! `--show-env-values`.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};
use similar::TextDiff;

use crate::appspec::AppSpec;
use crate::filters;
use crate::report::Report;
use crate::taskdef;

/// What a masked environment value looks like.
pub const MASK: &str = "****";
/// A masked value that differs from the current value of the same variable.
pub const MASK_CHANGED: &str = "**** (changed)";

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Show what a deploy would register; nothing is registered or changed.
///
/// `described` is the `describe-task-definition` answer of the current revision, `new` the
/// input that `register-task-definition` would have been given.
pub fn show(report: &Report, described: &Value, new: &Value, show_env_values: bool) {
    let current = current_registrable(described, new);
    let (current_shown, new_shown) = if show_env_values {
        (current.clone(), new.clone())
    } else {
        mask_environment(&current, new)
    };

    let diff = unified_diff(
        &current_shown,
        &new_shown,
        &label(described, "current"),
        &label(new, "would be registered"),
    );
    let mut err = std::io::stderr().lock();
    if diff.is_empty() {
        let _ = writeln!(
            err,
            "dry run: the new revision would be identical to the current one"
        );
    } else {
        let _ = err.write_all(paint(&diff, use_colour()).as_bytes());
    }
    let _ = writeln!(err, "dry run: nothing was registered or changed");
    let _ = err.flush();
    drop(err);

    report.record(|o| o.dry_run = true);
    if report.is_json() {
        report.record(|o| o.would_register = Some(new_shown));
    } else {
        let text = serde_json::to_string_pretty(&new_shown).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// Show the CodeDeploy deployment a dry run would create (stderr progress, prefixed like
/// every progress line of its service): where, the AppSpec that would be sent (pretty JSON,
/// indented, keys in the order they would be sent) and the description, if any.
pub fn codedeploy_plan(
    report: &Report,
    application: &str,
    group: &str,
    appspec: &AppSpec,
    description: Option<&str>,
) {
    report.progress(format_args!(
        "dry run: would create a CodeDeploy deployment in {application}/{group} with this AppSpec:"
    ));
    let text = serde_json::to_string_pretty(appspec.document()).unwrap_or_default();
    for line in text.lines() {
        report.progress(format_args!("  {line}"));
    }
    if let Some(description) = description {
        report.progress(format_args!(
            "dry run: the deployment's description would be: {description}"
        ));
    }
}

/// The current definition reduced to what `register-task-definition` accepts (plus its tags
/// when the new input carries tags, so copied tags don't show as added).
pub fn current_registrable(described: &Value, new: &Value) -> Value {
    let mut current = filters::run(&filters::TASK_DEFINITION, described)
        .and_then(|definition| filters::run(&filters::REGISTRABLE_FIELDS, &definition))
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    if new.get("tags").is_some()
        && let Ok(tags) = taskdef::tags_of(described)
    {
        current = taskdef::with_tags(current, &tags);
    }
    current
}

/// `family:revision` (or the family) of a definition, for the diff header.
fn label(definition: &Value, side: &str) -> String {
    let definition = filters::run(&filters::TASK_DEFINITION, definition).unwrap_or_default();
    let family = definition["family"].as_str().unwrap_or("task definition");
    match definition["revision"].as_i64() {
        Some(revision) => format!("{family}:{revision} ({side})"),
        None => format!("{family} ({side})"),
    }
}

/// Replace every `containerDefinitions[].environment[].value` by [`MASK`]; on the new side,
/// a value that differs from the current value of the same variable of the same container
/// becomes [`MASK_CHANGED`], so a changed secret still shows as a changed line without
/// showing either value (or a hash of it).
pub fn mask_environment(current: &Value, new: &Value) -> (Value, Value) {
    let mut current_masked = current.clone();
    let mut new_masked = new.clone();
    for_each_env_value(&mut current_masked, |_, _, value| {
        *value = Value::String(MASK.into())
    });
    for_each_env_value(&mut new_masked, |container, variable, value| {
        let before = env_value(current, container, variable);
        let marker = match before {
            Some(before) if before != value => MASK_CHANGED,
            _ => MASK,
        };
        *value = Value::String(marker.into());
    });
    (current_masked, new_masked)
}

/// Value of environment variable `variable` of container `container`, if any.
fn env_value<'a>(definition: &'a Value, container: &str, variable: &str) -> Option<&'a Value> {
    definition["containerDefinitions"]
        .as_array()?
        .iter()
        .find(|c| c["name"].as_str() == Some(container))?["environment"]
        .as_array()?
        .iter()
        .find(|e| e["name"].as_str() == Some(variable))?
        .get("value")
}

fn for_each_env_value(definition: &mut Value, mut visit: impl FnMut(&str, &str, &mut Value)) {
    let Some(containers) = definition
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for container in containers {
        let name = container["name"].as_str().unwrap_or_default().to_string();
        let Some(environment) = container
            .get_mut("environment")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for entry in environment {
            let variable = entry["name"].as_str().unwrap_or_default().to_string();
            if let Some(value) = entry.get_mut("value") {
                visit(&name, &variable, value);
            }
        }
    }
}

/// The same value with the keys of every object sorted; arrays keep their order.
pub fn sort_keys(value: &Value) -> Value {
    filters::run(&filters::SORTED_KEYS, value).unwrap_or_else(|_| value.clone())
}

fn pretty_sorted(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sort_keys(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// A unified diff (3 lines of context) of the two definitions, keys sorted; empty when
/// they are the same.
pub fn unified_diff(current: &Value, new: &Value, old_label: &str, new_label: &str) -> String {
    let old_text = pretty_sorted(current);
    let new_text = pretty_sorted(new);
    if old_text == new_text {
        return String::new();
    }
    TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Colour on a terminal, unless `NO_COLOR` is set (to anything non-empty). `CLICOLOR_FORCE`
/// (non-empty, not `0`) forces colour when stderr is not a terminal; `NO_COLOR` still wins.
fn use_colour() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::stderr().is_terminal()
}

/// ANSI colours for a unified diff: headers bold, hunk headers cyan, removals red,
/// additions green.
pub fn paint(diff: &str, colour: bool) -> String {
    if !colour {
        return diff.to_string();
    }
    let mut out = String::with_capacity(diff.len() + 256);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let colour = if body.starts_with("--- ") || body.starts_with("+++ ") {
            BOLD
        } else if body.starts_with("@@") {
            CYAN
        } else if body.starts_with('-') {
            RED
        } else if body.starts_with('+') {
            GREEN
        } else {
            ""
        };
        if colour.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(colour);
            out.push_str(body);
            out.push_str(RESET);
            out.push_str(newline);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let value = json!({"b": 1, "a": {"z": [{"y": 1, "x": 2}], "c": 3}});
        assert_eq!(
            serde_json::to_string(&sort_keys(&value)).unwrap(),
            r#"{"a":{"c":3,"z":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn masked_values_show_changes_without_values() {
        let current = json!({"containerDefinitions": [{"name": "app", "environment": [
            {"name": "A", "value": "same"}, {"name": "B", "value": "old"}]}]});
        let new = json!({"containerDefinitions": [{"name": "app", "environment": [
            {"name": "A", "value": "same"}, {"name": "B", "value": "new"},
            {"name": "C", "value": "added"}]}]});
        let (old_masked, new_masked) = mask_environment(&current, &new);
        let text = format!("{old_masked}{new_masked}");
        for secret in ["same", "old", "new", "added"] {
            assert!(!text.contains(&format!("\"{secret}\"")), "{text}");
        }
        let values: Vec<&str> = new_masked["containerDefinitions"][0]["environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, [MASK, MASK_CHANGED, MASK]);
        let diff = unified_diff(&old_masked, &new_masked, "a", "b");
        assert!(
            diff.contains("+          \"value\": \"**** (changed)\""),
            "{diff}"
        );
    }

    #[test]
    fn read_only_keys_are_not_removed() {
        let described = json!({"taskDefinition": {"family": "web", "revision": 4,
            "status": "ACTIVE", "containerDefinitions": [{"name": "app", "image": "a:1"}]}});
        let new =
            json!({"family": "web", "containerDefinitions": [{"name": "app", "image": "a:2"}]});
        let current = current_registrable(&described, &new);
        let diff = unified_diff(&current, &new, "web:4 (current)", "web (new)");
        assert!(diff.contains("-      \"image\": \"a:1\","), "{diff}");
        assert!(diff.contains("+      \"image\": \"a:2\","), "{diff}");
        assert!(
            !diff.contains("revision") && !diff.contains("status"),
            "{diff}"
        );
        assert_eq!(label(&described, "current"), "web:4 (current)");
    }

    #[test]
    fn paint_colours_only_when_asked() {
        let diff = "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n";
        assert_eq!(paint(diff, false), diff);
        let painted = paint(diff, true);
        assert!(painted.contains("\x1b[31m-x\x1b[0m\n"));
        assert!(painted.contains("\x1b[32m+y\x1b[0m\n"));
        assert!(painted.ends_with(" z\n"));
    }

    #[test]
    fn a_codedeploy_plan_shows_the_appspec_that_would_be_sent() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
        let report = Report::captured();
        let appspec = AppSpec::for_service(arn, "app", 80);
        codedeploy_plan(&report, "shop", "web-bg", &appspec, None);
        let expected = [
            "> dry run: would create a CodeDeploy deployment in shop/web-bg with this AppSpec:",
            ">   {",
            r#">     "version": 0.0,"#,
            r#">     "Resources": ["#,
            ">       {",
            r#">         "TargetService": {"#,
            r#">           "Type": "AWS::ECS::Service","#,
            r#">           "Properties": {"#,
            r#">             "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2","#,
            r#">             "LoadBalancerInfo": {"#,
            r#">               "ContainerName": "app","#,
            r#">               "ContainerPort": 80"#,
            ">             }",
            ">           }",
            ">         }",
            ">       }",
            ">     ]",
            ">   }",
        ];
        assert_eq!(report.lines(), expected);

        // A service deployed with others: every line carries its name; the description
        // comes last.
        let report = Report::captured();
        let service = report.for_service("web");
        codedeploy_plan(&service, "shop", "web-bg", &appspec, Some("release 1.4.2"));
        let lines = report.lines();
        assert_eq!(lines.len(), expected.len() + 1);
        assert!(lines.iter().all(|l| l.starts_with("> [web] ")), "{lines:?}");
        assert_eq!(
            lines.last().unwrap(),
            "> [web] dry run: the deployment's description would be: release 1.4.2"
        );
    }

    #[test]
    fn a_codedeploy_plan_keeps_the_users_appspec_and_its_order() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/appspec/with-hooks.yaml");
        let appspec = AppSpec::from_file(&path)
            .unwrap()
            .with_task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:9");
        let report = Report::captured();
        codedeploy_plan(&report, "shop", "checkout-bg", &appspec, None);
        let lines = report.lines();
        let shown: String = lines[1..]
            .iter()
            .map(|l| l.strip_prefix(">   ").expect("indented").to_string() + "\n")
            .collect();
        let sent: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(&sent, appspec.document());
        assert_eq!(serde_json::to_string(&sent).unwrap(), appspec.content());
        assert!(shown.contains(r#""BeforeAllowTraffic": "checkout-hook-compare-metrics""#));
    }
}
