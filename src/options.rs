//! Validated settings: the bash script's argument checks, in its order and with its exit
//! codes, turning the raw command line into what the deploy flow needs.

use std::time::Duration;

use crate::cli::{Cli, OutputFormat};
use crate::error::{Error, Result};
use crate::image::{self, ImageRef};

/// What to deploy to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service {
        cluster: String,
        service: String,
    },
    TaskDefinition {
        cluster: Option<String>,
        task_definition: String,
    },
}

/// How new images are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChange {
    /// One image per repository (`-i`, repeatable).
    Images(Vec<ImageRef>),
    /// Every container keeps its repository and gets this tag (`-to`).
    TagOnly(String),
    /// `--force-new-deployment`: no new revision.
    None,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub assume_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTask {
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<String>,
    pub wait_for_success: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub target: Target,
    pub images: ImageChange,
    pub credentials: Credentials,
    pub desired_count: Option<i64>,
    pub min_healthy_percent: Option<u32>,
    pub max_percent: Option<u32>,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub max_definitions: u32,
    /// The `--task-definition-file` JSON, read and checked once, before any aws call.
    pub base_definition: Option<serde_json::Value>,
    pub enable_rollback: bool,
    pub use_latest_task_def: bool,
    pub skip_deployments_check: bool,
    pub run_task: Option<RunTask>,
    pub copy_task_definition_tags: bool,
    pub verbose: bool,
    pub dry_run: bool,
    pub show_env_values: bool,
    pub output: OutputFormat,
    /// `-i` given together with `--force-new-deployment` (ignored, as in the script).
    pub ignored_images: Vec<String>,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<Option<T>> {
    value
        .map(|text| {
            text.trim()
                .parse::<T>()
                .map_err(|_| Error::Usage(format!("{flag} needs a whole number, got '{text}'")))
        })
        .transpose()
}

fn seconds(flag: &str, value: Option<&String>, default: f64) -> Result<Duration> {
    let Some(text) = value else {
        return Ok(Duration::from_secs_f64(default));
    };
    match text.trim().parse::<f64>() {
        Ok(s) if (0.0..=1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::Usage(format!(
            "{flag} needs a number of seconds, got '{text}'"
        ))),
    }
}

/// `--max-definitions`: the script accepts `^-?[0-9]+$`; zero or less means "keep all".
fn max_definitions(value: Option<&String>) -> Result<u32> {
    let Some(text) = value else { return Ok(0) };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::MaxDefinitions(text.clone()));
    }
    if text.starts_with('-') {
        return Ok(0);
    }
    Ok(digits.parse::<u32>().unwrap_or(u32::MAX))
}

fn target(cli: &Cli) -> Result<Target> {
    match (&cli.service_name, &cli.task_definition) {
        (None, None) => Err(Error::NoTarget),
        (Some(_), Some(_)) => Err(Error::BothTargets),
        (Some(service), None) => match &cli.cluster {
            None => Err(Error::NoCluster),
            Some(cluster) => Ok(Target::Service {
                cluster: cluster.clone(),
                service: service.clone(),
            }),
        },
        (None, Some(task_definition)) => Ok(Target::TaskDefinition {
            cluster: cli.cluster.clone(),
            task_definition: task_definition.clone(),
        }),
    }
}

fn run_task(cli: &Cli) -> Result<Option<RunTask>> {
    if !cli.run_task {
        if cli.launch_type.is_some() {
            return Err(Error::LaunchTypeWithoutRunTask);
        }
        if cli.network_configuration.is_some() {
            return Err(Error::RunTaskOptionWithoutRunTask(
                "--network-configuration",
            ));
        }
        if cli.wait_for_success {
            return Err(Error::RunTaskOptionWithoutRunTask("--wait-for-success"));
        }
        if cli.platform_version.is_some() {
            return Err(Error::PlatformVersionWithoutRunTask);
        }
        return Ok(None);
    }
    Ok(Some(RunTask {
        launch_type: cli.launch_type.clone(),
        platform_version: cli.platform_version.clone(),
        network_configuration: cli.network_configuration.clone(),
        wait_for_success: cli.wait_for_success,
    }))
}

/// `-e VAR`: the variable's value; unset and empty both mean "no tag from the environment".
fn env_tag(var: Option<&String>, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    var.and_then(|name| lookup(name))
        .filter(|value| !value.is_empty())
}

/// The image change to make; `-i` is known to be present unless `--force-new-deployment`.
fn images(cli: &Cli, lookup: &dyn Fn(&str) -> Option<String>) -> Result<ImageChange> {
    if cli.force_new_deployment {
        return Ok(ImageChange::None);
    }
    if let Some(tag) = &cli.tag_only {
        image::check_tag(tag).map_err(|why| Error::BadImage {
            image: tag.clone(),
            why,
        })?;
        return Ok(ImageChange::TagOnly(tag.clone()));
    }
    let env_tag = env_tag(cli.tag_env_var.as_ref(), lookup);
    let parsed = cli
        .image
        .iter()
        .map(|raw| {
            let bad = |why: String| Error::BadImage {
                image: raw.clone(),
                why,
            };
            image::parse(raw)
                .and_then(|r| image::apply_tag_rules(r, env_tag.as_deref()))
                .map_err(bad)
        })
        .collect::<Result<Vec<_>>>()?;
    for (i, a) in parsed.iter().enumerate() {
        if let Some(b) = parsed[..i]
            .iter()
            .find(|b| image::same_repository(&a.repository, &b.repository))
        {
            return Err(Error::Usage(format!(
                "-i {a} and -i {b} name the same repository; give one image per repository"
            )));
        }
    }
    Ok(ImageChange::Images(parsed))
}

impl Options {
    /// Validate in the bash script's order: 5, 6, 7, 8, 9, 10, 11, 11, 12, then 13; then check that
    /// a `--task-definition-file` holds a task definition (3), before any aws call.
    pub fn from_cli(cli: &Cli, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Options> {
        let desired_count = number::<i64>("-D/--desired-count", cli.desired_count.as_ref())?;
        let min_healthy_percent = number::<u32>("-m/--min", cli.min.as_ref())?;
        let max_percent = number::<u32>("-M/--max", cli.max.as_ref())?;
        let timeout = seconds("-t/--timeout", cli.timeout.as_ref(), 90.0)?;
        let poll_interval = seconds("--poll-interval", cli.poll_interval.as_ref(), 3.0)?;

        let target = target(cli)?;
        if cli.image.is_empty() && !cli.force_new_deployment {
            return Err(Error::NoImage);
        }
        let max_definitions = max_definitions(cli.max_definitions.as_ref())?;
        let run_task = run_task(cli)?;
        if run_task.is_some()
            && !matches!(
                target,
                Target::TaskDefinition {
                    cluster: Some(_),
                    ..
                }
            )
        {
            return Err(Error::Usage(
                "--run-task needs -d TASK_DEFINITION and -c CLUSTER".into(),
            ));
        }
        if cli.force_new_deployment && !matches!(target, Target::Service { .. }) {
            return Err(Error::Usage(
                "--force-new-deployment needs a service: -c CLUSTER -n SERVICE".into(),
            ));
        }
        let images = images(cli, lookup)?;
        // A base file that cannot be used is a usage error: report it before any aws call.
        let base_definition = match (&cli.task_definition_file, cli.force_new_deployment) {
            (Some(path), false) => Some(crate::taskdef::parse_file(path)?),
            _ => None,
        };
        let ignored_images = if cli.force_new_deployment {
            cli.image.clone()
        } else {
            Vec::new()
        };

        Ok(Options {
            target,
            images,
            credentials: Credentials {
                access_key: cli.aws_access_key.clone(),
                secret_key: cli.aws_secret_key.clone(),
                region: cli.region.clone(),
                profile: cli.profile.clone(),
                assume_role: cli.aws_assume_role.clone(),
            },
            desired_count,
            min_healthy_percent,
            max_percent,
            timeout,
            poll_interval,
            max_definitions,
            base_definition,
            enable_rollback: cli.enable_rollback,
            use_latest_task_def: cli.use_latest_task_def,
            skip_deployments_check: cli.skip_deployments_check,
            run_task,
            copy_task_definition_tags: cli.copy_task_definition_tags,
            verbose: cli.verbose,
            dry_run: cli.dry_run,
            show_env_values: cli.show_env_values,
            output: cli.output,
            ignored_images,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn options(args: &[&str]) -> Result<Options> {
        let argv = std::iter::once("ecs-deploy")
            .chain(args.iter().copied())
            .map(Into::into);
        let cli = Cli::try_parse_from(crate::cli::normalise_args(argv)).expect("parses");
        Options::from_cli(&cli, &|name| {
            (name == "CI_TAG").then(|| "abc123".to_string())
        })
    }

    fn code(args: &[&str]) -> i32 {
        options(args).err().map_or(0, |e| e.exit_code())
    }

    #[test]
    fn checks_run_in_the_scripts_order() {
        assert_eq!(code(&[]), 5);
        assert_eq!(code(&["--max-definitions", "x"]), 5);
        assert_eq!(code(&["-n", "s", "-d", "t"]), 6);
        assert_eq!(code(&["-n", "s"]), 7);
        assert_eq!(code(&["-c", "c", "-n", "s"]), 8);
        assert_eq!(code(&["-d", "t", "-i", "x", "--max-definitions", "two"]), 9);
        assert_eq!(
            code(&[
                "-d",
                "t",
                "-i",
                "x",
                "--launch-type",
                "FARGATE",
                "--platform-version",
                "1"
            ]),
            10
        );
        assert_eq!(
            code(&["-d", "t", "-i", "x", "--network-configuration", "{}"]),
            11
        );
        assert_eq!(code(&["-d", "t", "-i", "x", "--wait-for-success"]), 11);
        assert_eq!(
            code(&["-d", "t", "-i", "x", "--platform-version", "1.4.0"]),
            12
        );
        assert_eq!(code(&["-d", "t", "-i", "/x"]), 13);
        assert_eq!(code(&["-d", "t", "-i", "x"]), 0);
    }

    #[test]
    fn malformed_numbers_are_usage_errors() {
        assert_eq!(code(&["-d", "t", "-i", "x", "-t", "ninety"]), 3);
        assert_eq!(code(&["-d", "t", "-i", "x", "-D", "two"]), 3);
        assert_eq!(code(&["-d", "t", "-i", "x", "-m", "5o"]), 3);
        assert_eq!(code(&["-d", "t", "-i", "x", "-M", ""]), 3);
    }

    #[test]
    fn tag_sources() {
        let images = |args: &[&str]| options(args).unwrap().images;
        assert_eq!(
            images(&["-d", "t", "-i", "repo/app", "-e", "CI_TAG"]),
            ImageChange::Images(vec![image::parse("repo/app:abc123").unwrap()])
        );
        assert_eq!(
            images(&["-d", "t", "-i", "repo/app", "-e", "UNSET_VAR"]),
            ImageChange::Images(vec![image::parse("repo/app:latest").unwrap()])
        );
        assert_eq!(
            images(&["-d", "t", "-i", "ignore", "-to", "0.1.899"]),
            ImageChange::TagOnly("0.1.899".into())
        );
        assert_eq!(code(&["-d", "t", "-i", "ignore", "-to", "a b"]), 13);
    }

    #[test]
    fn negative_max_definitions_keeps_everything() {
        assert_eq!(
            options(&["-d", "t", "-i", "x", "--max-definitions", "-1"])
                .unwrap()
                .max_definitions,
            0
        );
        assert_eq!(
            options(&["-d", "t", "-i", "x", "--max-definitions", "3"])
                .unwrap()
                .max_definitions,
            3
        );
    }

    #[test]
    fn force_new_deployment_needs_no_image() {
        let o = options(&["-c", "c", "-n", "s", "--force-new-deployment", "-i", "x"]).unwrap();
        assert_eq!(o.images, ImageChange::None);
        assert_eq!(o.ignored_images, vec!["x".to_string()]);
    }
}
