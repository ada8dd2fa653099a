//! Property tests: arbitrary input to the image parser, the argv normaliser, the command
//! line and the task-definition rebuild gives an answer or an error, never a panic; and
//! the answers keep their promises (round trips, no nulls, only registrable keys).

mod common;

use std::ffi::OsString;

use clap::Parser;
use common::{REGISTRABLE, contains_null};
use ecs_deploy::cli::{self, Cli};
use ecs_deploy::image::{self, ImageChange, ImageRef, Pin};
use ecs_deploy::options::Options;
use ecs_deploy::taskdef;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const CASES: u32 = 256;

// ------------------------------------------------------------------ strategies

/// Strings that look like image references more often than `any::<String>()` does. In the
/// last form a digest has the only valid length (64 hex characters), and a tag and a digest
/// may come together.
fn image_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9./:@_-]{0,40}",
        "([a-z0-9.-]{1,12}(:[0-9a-z]{1,5})?/)?([a-z0-9._-]{1,8}/){0,3}[a-z0-9-]{1,10}(:[A-Za-z0-9._-]{1,10})?(@sha256:[0-9a-f]{64})?",
    ]
}

/// Tags the grammar accepts: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

/// Repositories the grammar accepts, with or without a registry (and port). Without one,
/// the first component has no `.` (it would be read as a registry).
fn valid_repository() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,4}(([._]|__|-{1,3})[a-z0-9]{1,4}){0,2}";
    let first = "[a-z0-9]{1,4}((_|__|-{1,3})[a-z0-9]{1,4}){0,2}";
    (
        prop::option::of("[a-zA-Z0-9]{1,6}\\.[a-z]{2,4}(:[0-9]{1,5})?|localhost(:[0-9]{1,5})?"),
        first,
        prop::collection::vec(component, 0..3),
    )
        .prop_map(|(domain, first, rest)| {
            let path = std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("/");
            match domain {
                Some(domain) => format!("{domain}/{path}"),
                None => path,
            }
        })
}

fn tag_like() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![any::<String>(), "[A-Za-z0-9._-]{0,12}"])
}

/// Tokens that a command line is made of: the real flags, `-to` and its lookalikes,
/// values, and noise.
fn arg_token() -> impl Strategy<Value = String> {
    const FLAGS: &[&str] = &[
        "-k",
        "-s",
        "-r",
        "-p",
        "-a",
        "-c",
        "-n",
        "-d",
        "-i",
        "-D",
        "-m",
        "-M",
        "-t",
        "-e",
        "-to",
        "-to=1",
        "-v",
        "-h",
        "--",
        "-",
        "--tag-only",
        "--max-definitions",
        "--task-definition-file",
        "--launch-type",
        "--platform-version",
        "--network-configuration",
        "--wait-for-success",
        "--run-task",
        "--force-new-deployment",
        "--copy-task-definition-tags",
        "--use-latest-task-def",
        "--enable-rollback",
        "--skip-deployments-check",
        "--dry-run",
        "--output",
        "json",
        "--poll-interval",
        "--version",
        "--timeout=5",
        "web",
        "repo/app:1",
        "5",
        "-5",
    ];
    prop_oneof![
        3 => prop::sample::select(FLAGS).prop_map(String::from),
        1 => any::<String>(),
        1 => "-[a-zA-Z]{1,3}(=[a-z0-9]{0,3})?",
    ]
}

fn argv() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(arg_token(), 0..12)
}

fn os_args(args: &[String]) -> Vec<OsString> {
    std::iter::once("ecs-deploy".to_string())
        .chain(args.iter().cloned())
        .map(OsString::from)
        .collect()
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z/:@.]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Keys that the rebuild looks at, mixed with arbitrary ones.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "taskDefinition",
            "containerDefinitions",
            "name",
            "image",
            "family",
            "tags",
            "cpu",
            "placementConstraints",
            "revision",
            "status",
        ])
        .prop_map(String::from),
        1 => any::<String>(),
    ]
}

/// Something shaped like a task definition, with random nulls and extra keys.
fn task_definition_like() -> impl Strategy<Value = Value> {
    let container = (
        prop::option::of("[a-z-]{1,8}"),
        prop::option::of(image_like()),
        prop::collection::vec((json_key(), any_json()), 0..4),
    )
        .prop_map(|(name, image, extra)| {
            let mut object = Map::new();
            for (k, v) in extra {
                object.insert(k, v);
            }
            if let Some(name) = name {
                object.insert("name".into(), json!(name));
            }
            match image {
                Some(image) => object.insert("image".into(), json!(image)),
                None => object.insert("image".into(), Value::Null),
            };
            Value::Object(object)
        });
    let top_key = prop_oneof![
        3 => prop::sample::select(vec![
            "family", "taskRoleArn", "cpu", "memory", "pidMode", "ipcMode", "volumes",
            "placementConstraints", "revision", "status", "registeredAt",
            "requiresAttributes", "compatibilities", "ephemeralStorage", "tags",
        ])
        .prop_map(String::from),
        1 => any::<String>(),
    ];
    (
        prop::collection::vec(container, 0..4),
        prop::collection::vec((top_key, any_json()), 0..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(containers, fields, containers_first, wrapped)| {
            let mut object = Map::new();
            if containers_first {
                object.insert(
                    "containerDefinitions".into(),
                    Value::Array(containers.clone()),
                );
            }
            for (k, v) in fields {
                if k != "containerDefinitions" && k != "taskDefinition" {
                    object.insert(k, v);
                }
            }
            if !containers_first {
                object.insert("containerDefinitions".into(), Value::Array(containers));
            }
            let definition = Value::Object(object);
            if wrapped {
                json!({"taskDefinition": definition, "tags": []})
            } else {
                definition
            }
        })
}

fn image_change() -> impl Strategy<Value = ImageChange> {
    prop_oneof![
        prop::collection::vec(image_like(), 1..3).prop_map(|raw| {
            let images: Vec<ImageRef> = raw
                .iter()
                .filter_map(|r| image::parse(r).ok())
                .filter_map(|r| image::apply_tag_rules(r, None).ok())
                .collect();
            if images.is_empty() {
                ImageChange::Images(vec![image::parse("nginx:1").unwrap()])
            } else {
                ImageChange::Images(images)
            }
        }),
        "[A-Za-z0-9_][A-Za-z0-9._-]{0,9}".prop_map(ImageChange::TagOnly),
    ]
}

// ------------------------------------------------------------------------ images

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn split_never_panics_and_round_trips(text in image_like()) {
        let split = image::split(&text);
        prop_assert_eq!(split.to_string(), text);
    }

    #[test]
    fn parse_never_panics_and_round_trips(text in image_like()) {
        if let Ok(reference) = image::parse(&text) {
            prop_assert_eq!(reference.to_string(), text.clone());
            prop_assert_eq!(image::parse(&reference.to_string()), Ok(reference.clone()));
            prop_assert!(!reference.repository.is_empty());
            if let Pin::Tag(tag) | Pin::TagAndDigest { tag, .. } = &reference.pin {
                prop_assert!(image::check_tag(tag).is_ok());
                prop_assert!(tag.len() <= 128 && !tag.starts_with(['.', '-']), "{tag}");
            }
            if let Pin::Digest(digest) | Pin::TagAndDigest { digest, .. } = &reference.pin {
                let hex = digest.strip_prefix("sha256:").unwrap_or_default();
                prop_assert!(hex.len() == 64, "{digest}");
                prop_assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{digest}");
            }
            // Below a registry, the path is lowercase.
            let parts: Vec<&str> = reference.repository.split('/').collect();
            let registry = parts.len() > 1
                && (parts[0].contains(['.', ':']) || parts[0] == "localhost");
            let path = if registry { &parts[1..] } else { &parts[..] };
            for part in path {
                prop_assert!(!part.is_empty() && !part.bytes().any(|b| b.is_ascii_uppercase()), "{text}");
            }
        }
    }

    #[test]
    fn valid_references_parse_whole(
        repository in valid_repository(),
        tag in prop::option::of(valid_tag()),
        digest in prop::option::of("[0-9a-f]{64}"),
    ) {
        let mut text = repository.clone();
        if let Some(tag) = &tag {
            text = format!("{text}:{tag}");
        }
        if let Some(hex) = &digest {
            text = format!("{text}@sha256:{hex}");
        }
        let parsed = image::parse(&text);
        prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed.repository, &repository);
        prop_assert_eq!(parsed.to_string(), text.clone());
        // The lenient reading of a definition's image agrees.
        prop_assert_eq!(image::split(&text), parsed);
    }

    #[test]
    fn tag_only_gives_every_container_its_repository_and_the_tag(
        repository in valid_repository(),
        old_tag in prop::option::of(valid_tag()),
        digest in prop::option::of("[0-9a-f]{64}"),
        tag in valid_tag(),
    ) {
        let mut image = repository.clone();
        if let Some(old_tag) = &old_tag {
            image = format!("{image}:{old_tag}");
        }
        if let Some(hex) = &digest {
            image = format!("{image}@sha256:{hex}");
        }
        let definition = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": image}]});
        let new = taskdef::rebuild(&definition, &ImageChange::TagOnly(tag.clone()));
        prop_assert!(new.is_ok(), "{new:?}");
        let want = format!("{repository}:{tag}");
        prop_assert_eq!(&new.unwrap().input["containerDefinitions"][0]["image"], &json!(want));
    }

    #[test]
    fn apply_tag_rules_never_panics_and_its_result_parses(text in image_like(), tag in tag_like()) {
        let Ok(reference) = image::parse(&text) else { return Ok(()) };
        match image::apply_tag_rules(reference.clone(), tag.as_deref()) {
            Ok(applied) => {
                // The repository never changes, and the result is a valid reference again.
                prop_assert_eq!(&applied.repository, &reference.repository);
                prop_assert_eq!(image::parse(&applied.to_string()), Ok(applied.clone()));
                prop_assert!(applied.pin != Pin::Untagged);
                // Applying the rules twice changes nothing.
                prop_assert_eq!(
                    image::apply_tag_rules(applied.clone(), tag.as_deref()),
                    Ok(applied.clone())
                );
                if matches!(reference.pin, Pin::Tag(_)) {
                    prop_assert_eq!(&applied, &reference);
                }
            }
            // Only a tag from the environment can be refused.
            Err(_) => prop_assert!(tag.is_some_and(|t| image::check_tag(&t).is_err())),
        }
    }

    #[test]
    fn same_repository_is_an_equivalence(a in image_like(), b in image_like()) {
        let (a, b) = (image::split(&a).repository, image::split(&b).repository);
        prop_assert!(image::same_repository(&a, &a));
        prop_assert_eq!(image::same_repository(&a, &b), image::same_repository(&b, &a));
        let canonical = image::canonical_repository(&a);
        prop_assert_eq!(image::canonical_repository(&canonical), canonical.clone());
        prop_assert!(image::same_repository(&a, &canonical));
    }
}

// ----------------------------------------------------------------- command line

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn normalise_args_never_panics_and_only_rewrites_dash_to(args in argv()) {
        let input = os_args(&args);
        let output = cli::normalise_args(input.clone());
        prop_assert_eq!(output.len(), input.len());
        prop_assert_eq!(&output[0], &input[0]);
        for (before, after) in input.iter().zip(&output) {
            if before != after {
                let before = before.to_string_lossy();
                let after = after.to_string_lossy();
                prop_assert!(before == "-to" || before.starts_with("-to="), "{before} -> {after}");
                prop_assert!(after.starts_with("--tag-only"), "{before} -> {after}");
            }
        }
        // Normalising twice is normalising once.
        prop_assert_eq!(cli::normalise_args(output.clone()), output);
    }

    #[test]
    fn normalise_args_survives_bytes_that_are_not_utf8(raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..8)) {
        use std::os::unix::ffi::OsStringExt;
        let input: Vec<OsString> = std::iter::once(OsString::from("ecs-deploy"))
            .chain(raw.into_iter().map(OsString::from_vec))
            .collect();
        let output = cli::normalise_args(input.clone());
        prop_assert_eq!(output.len(), input.len());
        let _ = Cli::try_parse_from(output);
    }

    #[test]
    fn a_dash_to_flag_is_never_read_as_a_timeout(tag in "[A-Za-z0-9._-]{1,10}", before in argv()) {
        // Wherever `-to TAG` stands as a flag, clap sees --tag-only TAG.
        let mut args = vec!["-d".to_string(), "web".into(), "-i".into(), "x".into()];
        args.extend(before.into_iter().filter(|a| !a.starts_with('-') && a != "json"));
        args.extend(["-to".to_string(), tag.clone()]);
        let parsed = Cli::try_parse_from(cli::normalise_args(os_args(&args)));
        if let Ok(parsed) = parsed {
            prop_assert_eq!(parsed.tag_only, Some(tag));
            prop_assert_eq!(parsed.timeout, None);
        }
    }

    #[test]
    fn parsing_and_validating_any_command_line_never_panics(args in argv(), env_value in tag_like()) {
        if let Ok(parsed) = Cli::try_parse_from(cli::normalise_args(os_args(&args))) {
            let lookup = |_: &str| env_value.clone();
            match Options::from_cli(&parsed, &lookup) {
                Ok(_) => {}
                Err(e) => prop_assert!((3..=14).contains(&e.exit_code()), "{e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------- rebuild

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn rebuild_never_panics_on_any_json(value in any_json(), change in image_change()) {
        let _ = taskdef::rebuild(&value, &change);
        let _ = taskdef::tags_of(&value);
        let _ = taskdef::with_tags(value.clone(), &value);
    }

    #[test]
    fn rebuild_output_is_registrable(value in task_definition_like(), change in image_change()) {
        let Ok(new) = taskdef::rebuild(&value, &change) else { return Ok(()) };
        let definition = value.get("taskDefinition").unwrap_or(&value);
        let input = new.input.as_object().expect("an object");
        prop_assert!(!contains_null(&new.input), "{:#}", new.input);
        // Only registrable keys, in the definition's own order.
        let keys: Vec<&String> = input.keys().collect();
        let expected: Vec<&String> = definition
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| REGISTRABLE.contains(&k.as_str()) && !v.is_null())
            .map(|(k, _)| k)
            .collect();
        prop_assert_eq!(keys, expected);
        // Every container is still there; only images change, and only as reported.
        let before = definition["containerDefinitions"].as_array().unwrap();
        let after = new.input["containerDefinitions"].as_array().unwrap();
        prop_assert_eq!(before.len(), after.len());
        for (old, new_container) in before.iter().zip(after) {
            let old_image = old["image"].as_str();
            let new_image = new_container["image"].as_str();
            if old_image != new_image {
                let name = old["name"].as_str().unwrap_or_default();
                prop_assert!(
                    new.changes.iter().any(|c| c.container == name
                        && Some(c.new_image.as_str()) == new_image),
                    "{name}: {old_image:?} -> {new_image:?} not in {:?}", new.changes
                );
            }
        }
    }
}
