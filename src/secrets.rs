//! What counts as a secret, and masking secrets in text that comes from outside (aws's
//! error text, ECS events and reasons, container log lines, alarm names) as it is read,
//! before anything is rendered. Our own values (ARNs, names, images, statuses) are never
//! masked: they are not searched for secrets at all.
//!
//! A secret is a credential we hold (`-k/-s`, an assumed role's keys and session token),
//! or the value of a task definition's environment entry whose name looks secret.

use std::sync::Mutex;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::filters;

/// What a secret is replaced with.
pub const MASK: &str = "****";

/// Shorter values (`true`, `8080`) are too likely to be ordinary words.
const MIN_LEN: usize = 6;

/// Parts of an environment entry's name that say its value is a secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE",
    "CREDENTIAL",
    "AUTH",
    "SIGNATURE",
    "DSN",
];

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether an environment entry called `name` holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part)) || name.ends_with("_KEY")
}

/// From now on, `secret` is masked wherever text from outside carries it.
pub fn add(secret: &str) {
    if secret.chars().count() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|known| known == secret) {
        secrets.push(secret.to_string());
        // Longest first, so that a secret containing another is masked whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// Learn the secrets of a task definition: the values of its containers' environment
/// entries whose names look secret.
pub fn learn_definition(definition: &Value) {
    let entries: Vec<(String, String)> =
        filters::extract(&filters::ENVIRONMENT_ENTRIES, definition, &[]).unwrap_or_default();
    for (name, value) in entries {
        if looks_secret(&name) {
            add(&value);
        }
    }
}

/// Text from outside with every known secret replaced by [`MASK`].
pub fn mask(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_string();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), MASK);
        }
    }
    text
}

/// Read a string from outside, masked (`#[serde(deserialize_with = ...)]`).
pub fn masked<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(mask(&String::deserialize(deserializer)?))
}

/// [`masked`] for an optional string.
pub fn masked_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(|text| mask(&text)))
}

/// [`masked`] for a list of strings.
pub fn masked_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(deserializer)?;
    Ok(list.iter().map(|text| mask(text)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_look_secret() {
        for name in [
            "DB_PASSWORD",
            "db_passwd",
            "STRIPE_SECRET",
            "GITHUB_TOKEN",
            "X_API_KEY",
            "MAPS_APIKEY",
            "PRIVATE_PEM",
            "GCP_CREDENTIALS",
            "BASIC_AUTH",
            "WEBHOOK_SIGNATURE",
            "SENTRY_DSN",
            "AWS_SECRET_ACCESS_KEY",
            "SIGNING_KEY",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "AWS_REGION",
            "APP_ENV",
            "DD_SERVICE",
            "LAST_STATE",
            "KEYBOARD",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn only_secret_looking_entries_of_a_definition_are_secrets() {
        learn_definition(&json!({"containerDefinitions": [{"environment": [
            {"name": "AWS_REGION", "value": "us-east-1"},
            {"name": "DD_SERVICE", "value": "worker"},
            {"name": "DB_PASSWORD", "value": "pa\"ss\\word-1"},
            {"name": "SHORT_TOKEN", "value": "abc"},
        ]}]}));
        assert_eq!(
            mask("us-east-1 worker pa\"ss\\word-1 abc"),
            "us-east-1 worker **** abc"
        );
    }

    #[test]
    fn secrets_are_masked_longest_first() {
        add("hunter2-long-secret");
        add("hunter2");
        assert_eq!(mask("a=hunter2-long-secret b=hunter2"), "a=**** b=****");
    }

    #[test]
    fn fields_from_outside_are_masked_as_they_are_read() {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(deserialize_with = "masked")]
            reason: String,
            #[serde(deserialize_with = "masked_list")]
            alarms: Vec<String>,
        }
        add("sekrit-value-9");
        let answer: Answer = serde_json::from_value(
            json!({"reason": "bad sekrit-value-9", "alarms": ["sekrit-value-9"]}),
        )
        .unwrap();
        assert_eq!(answer.reason, "bad ****");
        assert_eq!(answer.alarms, ["****"]);
    }
}
