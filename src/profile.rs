//! Resolving credentials once per run. A profile whose credentials come from a
//! `credential_process`, SSO or a role makes every `aws` child resolve them again; this
//! module decides from the AWS config and credentials files whether the run may instead
//! ask once (`aws configure export-credentials`) and hand the result to every child,
//! reads that answer, and says when it is due for a refresh. `aws.rs` makes the calls.

use std::path::PathBuf;
use std::time::Duration;

use ini::{Ini, ParseOption};
use jiff::Timestamp;
use serde_json::Value;

use crate::filters;

/// The settings a profile may hold for the run to drop it from the children and lose
/// nothing: how its credentials are obtained (which the export does once), the region
/// (carried over as `AWS_DEFAULT_REGION`) and settings every call already overrides
/// (`--output json`, `AWS_PAGER`, `AWS_CLI_AUTO_PROMPT`). Anything else, an
/// `endpoint_url`, a `ca_bundle`, retry or timestamp settings, a nested `s3` block, would
/// change what the children do once the profile is gone, so such a profile keeps
/// today's way: every call names it and resolves its credentials itself.
const SAFE_SETTINGS: &[&str] = &[
    "region",
    "output",
    "cli_pager",
    "cli_auto_prompt",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_registration_scopes",
    "role_arn",
    "source_profile",
    "credential_source",
    "role_session_name",
    "external_id",
    "duration_seconds",
    "web_identity_token_file",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Settings whose presence means credentials are obtained, not read: a process, SSO, a
/// role (assumed from another profile's keys, a web identity or the instance's role).
const RESOLVED_BY: &[&str] = &[
    "credential_process",
    "sso_session",
    "sso_start_url",
    "role_arn",
    "web_identity_token_file",
];

/// What the command line says about credentials, profile and region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given<'a> {
    /// An access key or a secret key (`-k`, `-s`).
    pub keys: bool,
    /// A role to assume first (`-a`).
    pub assume_role: bool,
    pub profile: Option<&'a str>,
    pub region: bool,
}

/// The run may export the profile's credentials once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The profile's region, for children whose region would otherwise come from it.
    pub default_region: Option<String>,
}

/// Credentials from `aws configure export-credentials --format process`.
#[derive(Clone, PartialEq, Eq)]
pub struct Exported {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    pub expires: Option<Timestamp>,
}

impl std::fmt::Debug for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exported")
            .field("access_key", &self.access_key)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Whether to export, from the real files and environment (`lookup` reads a variable).
/// Any doubt (a file that cannot be read or parsed, an unknown profile) means no.
pub fn plan(given: Given, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Plan> {
    let config = read(config_path(lookup, "AWS_CONFIG_FILE", "config")?)?;
    let shared = read(config_path(
        lookup,
        "AWS_SHARED_CREDENTIALS_FILE",
        "credentials",
    )?)?;
    plan_from(given, lookup, &config, &shared)
}

/// Where a file of the CLI's configuration is: the variable, or `~/.aws/NAME`.
fn config_path(
    lookup: &dyn Fn(&str) -> Option<String>,
    variable: &str,
    name: &str,
) -> Option<PathBuf> {
    let home = || lookup("HOME").filter(|home| !home.is_empty());
    match lookup(variable).filter(|path| !path.is_empty()) {
        Some(path) => match path.strip_prefix("~/") {
            Some(rest) => Some(PathBuf::from(home()?).join(rest)),
            None => Some(PathBuf::from(path)),
        },
        None => Some(PathBuf::from(home()?).join(".aws").join(name)),
    }
}

/// A file's text; a missing file is an empty one, any other failure is `None`.
fn read(path: PathBuf) -> Option<String> {
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(String::new()),
        Err(_) => None,
    }
}

/// Whether to export, from the config and credentials files' text.
pub fn plan_from(
    given: Given,
    lookup: &dyn Fn(&str) -> Option<String>,
    config: &str,
    shared: &str,
) -> Option<Plan> {
    let set = |name: &str| lookup(name).is_some_and(|value| !value.is_empty());
    // Keys of our own or in the environment are used as they are; an assumed role's
    // credentials replace the profile anyway after one call.
    if given.keys || given.assume_role || set("AWS_ACCESS_KEY_ID") || set("AWS_SECRET_ACCESS_KEY") {
        return None;
    }
    let name = profile_name(given, lookup)?;
    let settings = settings_of(&name, config, shared)?;
    if settings.is_empty()
        || !settings
            .iter()
            .all(|(key, _)| SAFE_SETTINGS.contains(&key.as_str()))
    {
        return None;
    }
    let has = |key: &str| settings.iter().any(|(k, _)| k == key);
    // Keys in the profile are read from the file by each call at no cost, unless a role
    // is assumed with them.
    let resolved = RESOLVED_BY.iter().any(|key| has(key));
    if !resolved {
        return None;
    }
    let region_known = given.region || set("AWS_REGION") || set("AWS_DEFAULT_REGION");
    let default_region = if region_known {
        None
    } else {
        settings
            .iter()
            .rev()
            .find(|(key, _)| key == "region")
            .map(|(_, value)| value.clone())
            .filter(|region| !region.is_empty())
    };
    Some(Plan { default_region })
}

/// The profile the children would use: `--profile`, else the environment's, else
/// `default`. Two different profiles in the environment are left to the CLI.
fn profile_name(given: Given, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(profile) = given.profile {
        return Some(profile.to_string());
    }
    let from = |name: &str| lookup(name).filter(|value| !value.is_empty());
    match (from("AWS_PROFILE"), from("AWS_DEFAULT_PROFILE")) {
        (Some(a), Some(b)) if a != b => None,
        (Some(name), _) | (None, Some(name)) => Some(name),
        (None, None) => Some("default".to_string()),
    }
}

/// Every setting of profile `name`, the config file's first and then the credentials
/// file's (which win, as the CLI merges them); `None` when a file cannot be parsed.
fn settings_of(name: &str, config: &str, shared: &str) -> Option<Vec<(String, String)>> {
    let options = || ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    };
    let config = Ini::load_from_str_opt(config, options()).ok()?;
    let shared = Ini::load_from_str_opt(shared, options()).ok()?;
    let mut settings = Vec::new();
    for (section, properties) in &config {
        let words: Vec<&str> = section.unwrap_or_default().split_whitespace().collect();
        let names_it = match words.as_slice() {
            ["profile", profile] => *profile == name,
            [profile] => *profile == name && name == "default",
            _ => false,
        };
        if names_it {
            settings.extend(
                properties
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())),
            );
        }
    }
    for (section, properties) in &shared {
        if section.map(str::trim) == Some(name) {
            settings.extend(
                properties
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())),
            );
        }
    }
    Some(settings)
}

/// The answer of `export-credentials --format process`, if it is one: version 1, a key
/// and a secret, maybe a session token and an expiry in RFC 3339.
pub fn parse_export(answer: &Value) -> Option<Exported> {
    #[derive(serde::Deserialize)]
    struct Answer {
        access_key: Option<String>,
        secret_key: Option<String>,
        session_token: Option<String>,
        expires: Option<String>,
    }
    let answer: Option<Answer> =
        filters::extract(&filters::EXPORTED_CREDENTIALS, answer, &[]).ok()?;
    let answer = answer?;
    let given = |value: Option<String>| value.filter(|value| !value.is_empty());
    let expires = match answer.expires {
        None => None,
        Some(at) => Some(at.parse::<Timestamp>().ok()?),
    };
    Some(Exported {
        access_key: given(answer.access_key)?,
        secret_key: given(answer.secret_key)?,
        session_token: given(answer.session_token),
        expires,
    })
}

/// The longest margin before expiry at which credentials are refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Whether credentials fetched at `fetched` and expiring at `expires` are to be
/// refreshed at `now`: within five minutes of expiry, or within the last quarter of
/// their lifetime when that is shorter.
pub fn refresh_due(now: Timestamp, fetched: Timestamp, expires: Option<Timestamp>) -> bool {
    let Some(expires) = expires else {
        return false;
    };
    let lifetime = Duration::try_from(expires.duration_since(fetched)).unwrap_or_default();
    let margin = REFRESH_MARGIN.min(lifetime / 4);
    let margin = jiff::SignedDuration::try_from(margin).unwrap_or_default();
    now >= expires.checked_sub(margin).unwrap_or(expires)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn plan_for(given: Given, vars: &[(&str, &str)], config: &str) -> Option<Plan> {
        plan_from(given, &env(vars), config, "")
    }

    const PROCESS: &str = "[profile ci]\nregion = eu-west-1\ncredential_process = /bin/creds\n";

    fn ci() -> Given<'static> {
        Given {
            profile: Some("ci"),
            ..Given::default()
        }
    }

    #[test]
    fn a_credential_process_profile_is_exported_and_keeps_its_region() {
        let plan = plan_for(ci(), &[], PROCESS).unwrap();
        assert_eq!(plan.default_region.as_deref(), Some("eu-west-1"));
        // From the environment, too.
        let plan = plan_for(Given::default(), &[("AWS_PROFILE", "ci")], PROCESS);
        assert!(plan.is_some());
        let plan = plan_for(Given::default(), &[("AWS_DEFAULT_PROFILE", "ci")], PROCESS);
        assert!(plan.is_some());
        // A region of the run's own is not replaced.
        for vars in [
            [("AWS_REGION", "us-east-2")],
            [("AWS_DEFAULT_REGION", "us-east-2")],
        ] {
            let plan = plan_for(ci(), &vars, PROCESS).unwrap();
            assert_eq!(plan.default_region, None);
        }
        let with_region = Given {
            region: true,
            ..ci()
        };
        assert_eq!(
            plan_for(with_region, &[], PROCESS).unwrap().default_region,
            None
        );
    }

    #[test]
    fn sso_and_roles_are_exported_too() {
        for config in [
            "[profile ci]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Deploy\n\
             [sso-session corp]\nsso_start_url = https://example.invalid/start\n",
            "[profile ci]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n",
            "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n\
             [profile base]\nendpoint_url = http://127.0.0.1:1\n",
            "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n",
        ] {
            assert!(plan_for(ci(), &[], config).is_some(), "{config}");
        }
    }

    #[test]
    fn the_default_profile_is_the_one_in_use_without_a_name() {
        let config = "[default]\ncredential_process = /bin/creds\n";
        assert!(plan_for(Given::default(), &[], config).is_some());
        let config = "[profile default]\ncredential_process = /bin/creds\n";
        assert!(plan_for(Given::default(), &[], config).is_some());
        // In the config file, [ci] is not profile ci.
        let config = "[ci]\ncredential_process = /bin/creds\n";
        assert_eq!(plan_for(ci(), &[], config), None);
    }

    #[test]
    fn static_keys_anywhere_mean_no_export() {
        let keys = Given { keys: true, ..ci() };
        assert_eq!(plan_for(keys, &[], PROCESS), None);
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        assert_eq!(plan_for(ci(), &vars, PROCESS), None);
        // Keys in the profile's section of the credentials file.
        let shared = "[ci]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
        let config = "[profile ci]\nregion = eu-west-1\n";
        assert_eq!(plan_from(ci(), &env(&[]), config, shared), None);
        // A process in the credentials file counts as one in the config file.
        let shared = "[ci]\ncredential_process = /bin/creds\n";
        assert!(plan_from(ci(), &env(&[]), config, shared).is_some());
    }

    #[test]
    fn anything_beyond_the_safe_settings_keeps_todays_way() {
        for extra in [
            "endpoint_url = http://127.0.0.1:4566",
            "ca_bundle = /etc/ca.pem",
            "cli_timestamp_format = wire",
            "max_attempts = 10",
            "services = local",
            "s3 =\n  max_concurrent_requests = 4",
        ] {
            let config = format!("{PROCESS}{extra}\n");
            assert_eq!(plan_for(ci(), &[], &config), None, "{extra}");
        }
    }

    #[test]
    fn doubt_means_no_export() {
        // An assumed role, an unknown profile, two profiles in the environment, no file.
        let role = Given {
            assume_role: true,
            ..ci()
        };
        assert_eq!(plan_for(role, &[], PROCESS), None);
        let other = Given {
            profile: Some("other"),
            ..Given::default()
        };
        assert_eq!(plan_for(other, &[], PROCESS), None);
        let vars = [("AWS_PROFILE", "ci"), ("AWS_DEFAULT_PROFILE", "other")];
        assert_eq!(plan_for(Given::default(), &vars, PROCESS), None);
        assert_eq!(plan_for(ci(), &[], ""), None);
        assert_eq!(plan_for(ci(), &[], "[profile ci\nregion = x\n"), None);
    }

    #[test]
    fn the_files_are_found_where_the_cli_looks() {
        let vars = [("HOME", "/home/u"), ("AWS_CONFIG_FILE", "~/conf/aws")];
        assert_eq!(
            config_path(&env(&vars), "AWS_CONFIG_FILE", "config"),
            Some(PathBuf::from("/home/u/conf/aws"))
        );
        assert_eq!(
            config_path(&env(&vars), "AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            Some(PathBuf::from("/home/u/.aws/credentials"))
        );
        assert_eq!(config_path(&env(&[]), "AWS_CONFIG_FILE", "config"), None);
    }

    #[test]
    fn an_export_answer_is_read_or_refused() {
        let answer = json!({"Version": 1, "AccessKeyId": "ASIAKEY", "SecretAccessKey": "sec",
                            "SessionToken": "tok", "Expiration": "2026-03-01T12:00:00Z"});
        let exported = parse_export(&answer).unwrap();
        assert_eq!(exported.access_key, "ASIAKEY");
        assert_eq!(exported.session_token.as_deref(), Some("tok"));
        assert_eq!(
            exported.expires,
            Some("2026-03-01T12:00:00Z".parse().unwrap())
        );
        let without = json!({"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "sec"});
        let exported = parse_export(&without).unwrap();
        assert_eq!((exported.session_token, exported.expires), (None, None));
        assert!(!format!("{:?}", parse_export(&answer).unwrap()).contains("sec"));
        for garbage in [
            json!(null),
            json!("text"),
            json!({"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}),
            json!({"Version": 1, "AccessKeyId": "A"}),
            json!({"Version": 1, "AccessKeyId": "", "SecretAccessKey": "s"}),
            json!({"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "soon"}),
        ] {
            assert_eq!(parse_export(&garbage), None, "{garbage}");
        }
    }

    #[test]
    fn refresh_comes_five_minutes_or_a_quarter_of_the_lifetime_before_expiry() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let fetched = at("2026-03-01T12:00:00Z");
        // An hour's credentials: five minutes before.
        let hour = Some(at("2026-03-01T13:00:00Z"));
        assert!(!refresh_due(at("2026-03-01T12:54:59Z"), fetched, hour));
        assert!(refresh_due(at("2026-03-01T12:55:00Z"), fetched, hour));
        // Eight minutes' credentials: two minutes before.
        let short = Some(at("2026-03-01T12:08:00Z"));
        assert!(!refresh_due(at("2026-03-01T12:05:59Z"), fetched, short));
        assert!(refresh_due(at("2026-03-01T12:06:00Z"), fetched, short));
        // Already expired when fetched: due at once; no expiry: never.
        let past = Some(at("2026-03-01T11:00:00Z"));
        assert!(refresh_due(fetched, fetched, past));
        assert!(!refresh_due(at("2030-01-01T00:00:00Z"), fetched, None));
    }
}
