//! Validated settings: the bash script's argument checks, in its order and with its exit
//! codes, turning the raw command line into what the deploy flow needs.

use std::time::Duration;

use serde_json::Value;

use crate::appspec::AppSpec;
use crate::arn::{cluster_name, service_name};
use crate::aws::Credentials;
use crate::cli::{Cli, OutputFormat};
use crate::codedeploy::LIFECYCLE_EVENTS;
use crate::ecs::{DESCRIBE_SERVICES_LIMIT, HookAction, LIFECYCLE_STAGES};
use crate::error::{Error, Result};
use crate::image::{self, ImageChange};
use crate::watch::StopAt;

/// What the run does; each mode carries exactly the settings that apply to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `-c -n -i`: register a new revision (one per base definition) and point the
    /// services at it.
    Deploy {
        cluster: String,
        services: Vec<String>,
        revision: Revision,
    },
    /// `-c -n --force-new-deployment`: redeploy what the services run.
    Redeploy {
        cluster: String,
        services: Vec<String>,
        /// `-i` given anyway: ignored, as in the script, with a note.
        ignored_images: Vec<String>,
    },
    /// `-c -n --wait-only`: change nothing; follow each current deployment to its end.
    WaitOnly {
        cluster: String,
        services: Vec<String>,
    },
    /// `-c -n --continue-deployment`: release each service's paused deployment, then follow
    /// it to its end.
    Continue {
        cluster: String,
        services: Vec<String>,
        hook_id: Option<String>,
        action: HookAction,
    },
    /// `-d`: register a new revision; with `--run-task`, run it once.
    Register {
        task_definition: String,
        revision: Revision,
        run: Option<RunTask>,
    },
}

/// How the new revision is built.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub images: ImageChange,
    /// The `--task-definition-file` JSON, read and checked once, before any aws call, in
    /// the `{"taskDefinition": {...}}` shape with the file's tags inside the definition.
    pub base_definition: Option<Value>,
    pub use_latest_task_def: bool,
    pub copy_task_definition_tags: bool,
}

/// `--run-task` and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTask {
    pub cluster: String,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<String>,
    pub wait_for_success: bool,
}

/// `-D/-m/-M`, passed to update-service as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scaling {
    pub desired_count: Option<i64>,
    pub min_healthy_percent: Option<u32>,
    pub max_percent: Option<u32>,
}

/// The `--codedeploy-*` flags, for services whose deployment controller is CODE_DEPLOY
/// (SPEC §14). All are optional: without them the deployment group is the one whose ECS
/// service is the one deployed, and the AppSpec is the default one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeDeployOptions {
    /// `--codedeploy-application`.
    pub application: Option<String>,
    /// `--codedeploy-deployment-group` (only with `application`).
    pub group: Option<String>,
    /// `--codedeploy-appspec`, read and checked before any aws call; its `TaskDefinition`
    /// is still the user's (see [`AppSpec::with_task_definition`]).
    pub appspec: Option<AppSpec>,
    /// `--codedeploy-description`.
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub mode: Mode,
    pub credentials: Credentials,
    pub scaling: Scaling,
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// The longest any one aws call may take.
    pub call_timeout: Duration,
    pub max_definitions: u32,
    pub enable_rollback: bool,
    pub skip_deployments_check: bool,
    /// Whether to check, before registering, that each new ECR image exists.
    pub verify_image: bool,
    /// Log lines shown per failed container; 0: no log is read.
    pub log_lines: u32,
    pub verbose: bool,
    pub dry_run: bool,
    pub show_env_values: bool,
    pub output: OutputFormat,
    pub codedeploy: CodeDeployOptions,
    /// `--wait-until`: where the wait ends before the deployment's end.
    pub wait_until: Option<StopAt>,
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

/// What `-n`, `-d` and `-c` name: a service or a task definition.
enum Target {
    Service {
        cluster: String,
        services: Vec<String>,
    },
    TaskDefinition {
        task_definition: String,
    },
}

fn target(cli: &Cli) -> Result<Target> {
    let services = &cli.service_name;
    match (services.is_empty(), &cli.task_definition) {
        (true, None) => Err(Error::NoTarget),
        (false, Some(_)) => Err(Error::BothTargets),
        (false, None) => match &cli.cluster {
            None => Err(Error::NoCluster),
            Some(cluster) => Ok(Target::Service {
                cluster: cluster.clone(),
                services: services.clone(),
            }),
        },
        (true, Some(task_definition)) => Ok(Target::TaskDefinition {
            task_definition: task_definition.clone(),
        }),
    }
}

/// `--run-task` and its options; the options without it are errors 10, 11 and 12.
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
    let (Some(cluster), Some(_)) = (&cli.cluster, &cli.task_definition) else {
        return Err(Error::Usage(
            "--run-task needs -d TASK_DEFINITION and -c CLUSTER".into(),
        ));
    };
    Ok(Some(RunTask {
        cluster: cluster.clone(),
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

/// The image change to make; `-i` is known to be present.
fn images(cli: &Cli, lookup: &dyn Fn(&str) -> Option<String>) -> Result<ImageChange> {
    if let Some(tag) = &cli.tag_only {
        image::check_tag(tag).map_err(|why| Error::BadImage {
            image: image::abbreviate(tag),
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
                image: image::abbreviate(raw),
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
    /// Validate in the bash script's order: 5, 6, 7, 8, 9, 10, 11, 11, 12, then 13, with the
    /// combinations of our own flags (3) checked before 13; then check that a
    /// `--task-definition-file` holds a task definition and a `--codedeploy-appspec` an
    /// AppSpec (3), before any aws call.
    pub fn from_cli(cli: &Cli, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Options> {
        let scaling = Scaling {
            desired_count: number("-D/--desired-count", cli.desired_count.as_ref())?,
            min_healthy_percent: number("-m/--min", cli.min.as_ref())?,
            max_percent: number("-M/--max", cli.max.as_ref())?,
        };
        let timeout = seconds("-t/--timeout", cli.timeout.as_ref(), 90.0)?;
        let poll_interval = seconds("--poll-interval", cli.poll_interval.as_ref(), 3.0)?;
        let call_timeout = seconds("--call-timeout", cli.call_timeout.as_ref(), 120.0)?;
        if call_timeout.is_zero() {
            return Err(Error::Usage(
                "--call-timeout must be more than 0 seconds".into(),
            ));
        }

        let log_lines = number::<u32>("--log-lines", cli.log_lines.as_ref())?.unwrap_or(20);
        let target = target(cli)?;
        if let Target::Service { cluster, services } = &target {
            check_services(cluster, services)?;
        }
        let follows = cli.wait_only || cli.continue_deployment;
        if cli.image.is_empty() && !cli.force_new_deployment && !follows {
            return Err(Error::NoImage);
        }
        let max_definitions = max_definitions(cli.max_definitions.as_ref())?;
        let run = run_task(cli)?;
        if let Some(conflict) = wait_only_conflict(cli, &target) {
            return Err(Error::Usage(format!(
                "--wait-only changes nothing, so it does not go with {conflict}"
            )));
        }
        check_codedeploy(cli, &target)?;
        let wait_until = wait_until(cli, &target)?;
        let continued = continued(cli, &target)?;
        let mode = match target {
            Target::Service { cluster, services } if cli.wait_only => {
                Mode::WaitOnly { cluster, services }
            }
            Target::Service { cluster, services } if cli.continue_deployment => {
                let (hook_id, action) = continued;
                Mode::Continue {
                    cluster,
                    services,
                    hook_id,
                    action,
                }
            }
            Target::Service { cluster, services } if cli.force_new_deployment => Mode::Redeploy {
                cluster,
                services,
                ignored_images: cli.image.clone(),
            },
            _ if cli.force_new_deployment => {
                return Err(Error::Usage(
                    "--force-new-deployment needs a service: -c CLUSTER -n SERVICE".into(),
                ));
            }
            Target::Service { cluster, services } => Mode::Deploy {
                cluster,
                services,
                revision: revision(cli, lookup)?,
            },
            Target::TaskDefinition { task_definition } => Mode::Register {
                task_definition,
                revision: revision(cli, lookup)?,
                run,
            },
        };
        let codedeploy = codedeploy(cli)?;

        Ok(Options {
            mode,
            credentials: Credentials {
                access_key: cli.aws_access_key.clone(),
                secret_key: cli.aws_secret_key.clone(),
                region: cli.region.clone(),
                profile: cli.profile.clone(),
                assume_role: cli.aws_assume_role.clone(),
            },
            scaling,
            timeout,
            poll_interval,
            call_timeout,
            max_definitions,
            enable_rollback: cli.enable_rollback,
            skip_deployments_check: cli.skip_deployments_check,
            verify_image: !cli.no_verify_image,
            log_lines,
            verbose: cli.verbose,
            dry_run: cli.dry_run,
            show_env_values: cli.show_env_values,
            output: cli.output,
            codedeploy,
            wait_until,
        })
    }
}

/// Several `-n`: at most as many as one describe-services call takes, all in `cluster`,
/// each once (a name and an ARN of the same service count as the same).
fn check_services(cluster: &str, services: &[String]) -> Result<()> {
    if services.len() > DESCRIBE_SERVICES_LIMIT {
        return Err(Error::Usage(format!(
            "-n was given {} times; at most {DESCRIBE_SERVICES_LIMIT} services can be deployed together",
            services.len()
        )));
    }
    let cluster = cluster_name(cluster);
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for given in services {
        if given.is_empty() {
            return Err(Error::Usage("-n needs a service name, got ''".into()));
        }
        let (in_cluster, name) = service_name(given);
        if let Some(other) = in_cluster.filter(|c| *c != cluster) {
            return Err(Error::Usage(format!(
                "-n {given} is a service of cluster '{other}', not of -c {cluster}; \
                 the services of one run are in one cluster"
            )));
        }
        if let Some((first, _)) = seen.iter().find(|(_, known)| *known == name) {
            let again = if first == given {
                format!("-n {given} is given twice")
            } else {
                format!("-n {first} and -n {given} are the same service")
            };
            return Err(Error::Usage(again));
        }
        seen.push((given, name));
    }
    Ok(())
}

/// `--wait-until STAGE|paused`: an ECS lifecycle stage, a CodeDeploy lifecycle event, or a
/// pause. It ends a wait on a service.
fn wait_until(cli: &Cli, target: &Target) -> Result<Option<StopAt>> {
    let Some(given) = cli.wait_until.as_deref() else {
        return Ok(None);
    };
    if matches!(target, Target::TaskDefinition { .. }) {
        return Err(Error::Usage(
            "--wait-until needs a service: -c CLUSTER -n SERVICE (it does not go with -d)".into(),
        ));
    }
    let name = given.trim();
    if name.eq_ignore_ascii_case("paused") {
        return Ok(Some(StopAt::Paused));
    }
    let stage = LIFECYCLE_STAGES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .map(|s| s.to_string());
    let event = LIFECYCLE_EVENTS
        .iter()
        .find(|e| e.eq_ignore_ascii_case(name))
        .map(|e| e.to_string());
    match stage.or(event) {
        Some(stage) => Ok(Some(StopAt::Stage(stage))),
        None => Err(Error::Usage(format!(
            "--wait-until takes paused, an ECS lifecycle stage ({}) or a CodeDeploy lifecycle event ({}), got '{given}'",
            LIFECYCLE_STAGES.join(", "),
            LIFECYCLE_EVENTS.join(", ")
        ))),
    }
}

/// `--continue-deployment [--hook-id ID] [--action continue|rollback]`: the hook and the
/// action; `--hook-id` and `--action` need it.
fn continued(cli: &Cli, target: &Target) -> Result<(Option<String>, HookAction)> {
    if !cli.continue_deployment {
        let given = [
            ("--hook-id", cli.hook_id.is_some()),
            ("--action", cli.action.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
            return Err(Error::Usage(format!(
                "{flag} goes with --continue-deployment"
            )));
        }
        return Ok((None, HookAction::Continue));
    }
    let conflict = [
        (
            matches!(target, Target::TaskDefinition { .. }),
            "-d (it continues a service's deployment: -c and -n)",
        ),
        (!cli.image.is_empty() || cli.tag_only.is_some(), "-i or -to"),
        (
            cli.wait_only,
            "--wait-only (it follows the deployment it continues anyway)",
        ),
        (cli.force_new_deployment, "--force-new-deployment"),
        (cli.task_definition_file.is_some(), "--task-definition-file"),
        (
            cli.enable_rollback,
            "--enable-rollback (use --action rollback)",
        ),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    if let Some(flag) = conflict {
        return Err(Error::Usage(format!(
            "--continue-deployment does not go with {flag}"
        )));
    }
    if let (Some(_), Target::Service { services, .. }) = (&cli.hook_id, target)
        && services.len() > 1
    {
        return Err(Error::Usage(format!(
            "--hook-id names the pause of one deployment, but -n was given {} times; leave it out to release each service's own pause",
            services.len()
        )));
    }
    let action = match cli.action.as_deref().map(str::trim) {
        None => HookAction::Continue,
        Some(a) if a.eq_ignore_ascii_case("continue") => HookAction::Continue,
        Some(a) if a.eq_ignore_ascii_case("rollback") => HookAction::Rollback,
        Some(other) => {
            return Err(Error::Usage(format!(
                "--action takes continue or rollback, got '{other}'"
            )));
        }
    };
    if let Some(blank) = cli.hook_id.as_deref().filter(|id| id.trim().is_empty()) {
        return Err(Error::Usage(format!(
            "--hook-id needs an id, got '{blank}'"
        )));
    }
    Ok((cli.hook_id.clone(), action))
}

/// What `--wait-only` cannot be combined with, if anything is given with it.
fn wait_only_conflict(cli: &Cli, target: &Target) -> Option<&'static str> {
    if !cli.wait_only {
        return None;
    }
    [
        (
            matches!(target, Target::TaskDefinition { .. }),
            "-d (it follows a service: -c and -n)",
        ),
        (!cli.image.is_empty() || cli.tag_only.is_some(), "-i or -to"),
        (cli.enable_rollback, "--enable-rollback"),
        (cli.force_new_deployment, "--force-new-deployment"),
        (cli.task_definition_file.is_some(), "--task-definition-file"),
        (cli.codedeploy_appspec.is_some(), "--codedeploy-appspec"),
        (
            cli.codedeploy_description.is_some(),
            "--codedeploy-description",
        ),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// The `--codedeploy-*` flags given, in the order of `--help`.
fn codedeploy_flags(cli: &Cli) -> Vec<&'static str> {
    [
        (
            cli.codedeploy_application.is_some(),
            "--codedeploy-application",
        ),
        (
            cli.codedeploy_deployment_group.is_some(),
            "--codedeploy-deployment-group",
        ),
        (cli.codedeploy_appspec.is_some(), "--codedeploy-appspec"),
        (
            cli.codedeploy_description.is_some(),
            "--codedeploy-description",
        ),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}

/// The `--codedeploy-*` flags deploy a service (so not with `-d`, nor with `--run-task`,
/// which needs `-d`); a deployment group belongs to an application and targets one service;
/// names are not empty. All usage errors (3).
fn check_codedeploy(cli: &Cli, target: &Target) -> Result<()> {
    let given = codedeploy_flags(cli);
    let Some(first) = given.first() else {
        return Ok(());
    };
    let services = match target {
        Target::TaskDefinition { .. } => {
            return Err(Error::Usage(format!(
                "{first} needs a service: -c CLUSTER -n SERVICE (it does not go with -d)"
            )));
        }
        Target::Service { services, .. } => services,
    };
    for (flag, value) in [
        ("--codedeploy-application", &cli.codedeploy_application),
        (
            "--codedeploy-deployment-group",
            &cli.codedeploy_deployment_group,
        ),
    ] {
        if let Some(blank) = value.as_deref().filter(|v| v.trim().is_empty()) {
            return Err(Error::Usage(format!("{flag} needs a name, got '{blank}'")));
        }
    }
    if cli.codedeploy_deployment_group.is_some() {
        if cli.codedeploy_application.is_none() {
            return Err(Error::Usage(
                "--codedeploy-deployment-group needs --codedeploy-application NAME, \
                 the application the group belongs to"
                    .into(),
            ));
        }
        if services.len() > 1 {
            return Err(Error::Usage(format!(
                "--codedeploy-deployment-group names the group of one service, but -n was given \
                 {} times; give one -n, or leave the group out to find each service's own",
                services.len()
            )));
        }
    }
    Ok(())
}

/// The `--codedeploy-*` settings; the AppSpec file is read and checked here (3).
fn codedeploy(cli: &Cli) -> Result<CodeDeployOptions> {
    let appspec = cli
        .codedeploy_appspec
        .as_deref()
        .map(AppSpec::from_file)
        .transpose()
        .map_err(Error::Usage)?;
    Ok(CodeDeployOptions {
        application: cli.codedeploy_application.clone(),
        group: cli.codedeploy_deployment_group.clone(),
        appspec,
        description: cli.codedeploy_description.clone(),
    })
}

/// The new revision's images (13 when one cannot be parsed), then its base file (3).
fn revision(cli: &Cli, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Revision> {
    let images = images(cli, lookup)?;
    // A base file that cannot be used is a usage error: report it before any aws call.
    let base_definition = cli
        .task_definition_file
        .as_deref()
        .map(crate::taskdef::parse_file)
        .transpose()?;
    Ok(Revision {
        images,
        base_definition,
        use_latest_task_def: cli.use_latest_task_def,
        copy_task_definition_tags: cli.copy_task_definition_tags,
    })
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

    fn images_of(options: Options) -> ImageChange {
        match options.mode {
            Mode::Deploy { revision, .. } | Mode::Register { revision, .. } => revision.images,
            Mode::Redeploy { .. } | Mode::WaitOnly { .. } | Mode::Continue { .. } => {
                panic!("no images in {options:?}")
            }
        }
    }

    #[test]
    fn tag_sources() {
        let images = |args: &[&str]| images_of(options(args).unwrap());
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
    fn image_checks_follow_the_distribution_grammar() {
        let pinned = format!("fluent-bit:stable@sha256:{}", "a".repeat(64));
        let images = images_of(options(&["-d", "t", "-i", &pinned]).unwrap());
        assert_eq!(images.shown(), [pinned]);
        for bad in ["-", "Nginx:1", "nginx@sha256:ZZZZ"] {
            assert_eq!(code(&["-d", "t", "-i", bad]), 13, "{bad}");
        }
        assert_eq!(code(&["-d", "t", "-i", "x", "-to=.x"]), 13);
        // A huge value is not repeated whole in the reason.
        let huge = format!("nginx:{}", "t".repeat(10_000));
        let err = options(&["-d", "t", "-i", &huge]).unwrap_err();
        assert_eq!(err.exit_code(), 13);
        assert!(err.to_string().len() < 400, "{err}");
        assert!(err.to_string().contains("10006 characters"), "{err}");
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
        assert_eq!(
            o.mode,
            Mode::Redeploy {
                cluster: "c".into(),
                services: vec!["s".into()],
                ignored_images: vec!["x".into()],
            }
        );
        assert_eq!(code(&["-d", "t", "--force-new-deployment"]), 3);
    }

    #[test]
    fn wait_only_follows_a_service_and_changes_nothing() {
        assert_eq!(
            options(&["-c", "c", "-n", "s", "--wait-only"])
                .unwrap()
                .mode,
            Mode::WaitOnly {
                cluster: "c".into(),
                services: vec!["s".into()]
            }
        );
        assert_eq!(code(&["-n", "s", "--wait-only"]), 7);
        assert_eq!(code(&["--wait-only"]), 5);
        for extra in [
            &["-i", "x:1"][..],
            &["--enable-rollback"],
            &["--force-new-deployment"],
        ] {
            let args = [&["-c", "c", "-n", "s", "--wait-only"][..], extra].concat();
            assert_eq!(code(&args), 3, "{args:?}");
        }
        assert_eq!(code(&["-c", "c", "-d", "t", "--wait-only"]), 3);
    }

    #[test]
    fn several_services_are_one_release_of_one_cluster() {
        let o = options(&["-c", "c", "-n", "web", "-n", "worker", "-i", "x:1"]).unwrap();
        assert!(
            matches!(o.mode, Mode::Deploy { ref services, .. } if services == &["web", "worker"])
        );
        let eleven: Vec<String> = (0..11)
            .flat_map(|i| ["-n".into(), format!("s{i}")])
            .collect();
        let mut args: Vec<&str> = vec!["-c", "c", "-i", "x:1"];
        args.extend(eleven.iter().map(String::as_str));
        assert_eq!(code(&args), 3);
        assert_eq!(code(&["-c", "c", "-n", "web", "-n", "web", "-i", "x:1"]), 3);
        assert_eq!(
            code(&["-c", "c", "-n", "web", "-n", "w", "-d", "t", "-i", "x"]),
            6
        );
        assert_eq!(code(&["-n", "web", "-n", "w", "-i", "x"]), 7);
    }

    #[test]
    fn a_service_named_by_name_and_by_arn_is_given_twice() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
        let old_arn = "arn:aws:ecs:us-east-1:123456789012:service/web";
        let cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
        for (cluster, services) in [
            ("prod", ["web", arn]),
            ("prod", [arn, "web"]),
            ("prod", [arn, arn]),
            ("prod", ["web", old_arn]),
            ("prod", [old_arn, arn]),
            (cluster_arn, ["web", arn]),
        ] {
            let args = [
                "-c",
                cluster,
                "-n",
                services[0],
                "-n",
                services[1],
                "-i",
                "x:1",
            ];
            let error = options(&args).unwrap_err();
            assert_eq!(error.exit_code(), 3, "{args:?}");
            assert!(
                error.to_string().contains("same service") || error.to_string().contains("twice"),
                "{error}"
            );
        }
        let ok = options(&["-c", cluster_arn, "-n", arn, "-n", "worker", "-i", "x:1"]);
        assert!(ok.is_ok(), "{ok:?}");
        let message = options(&["-c", "prod", "-n", "web", "-n", arn, "-i", "x:1"])
            .unwrap_err()
            .to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains(&format!("-n web and -n {arn}")),
            "{message}"
        );
    }

    #[test]
    fn a_service_arn_of_another_cluster_is_a_usage_error() {
        let staging = "arn:aws:ecs:us-east-1:123456789012:service/staging/web";
        for services in [&[staging][..], &["api", staging]] {
            let mut args = vec!["-c", "prod", "-i", "x:1"];
            args.extend(services.iter().flat_map(|s| ["-n", *s]));
            let error = options(&args).unwrap_err();
            assert_eq!(error.exit_code(), 3, "{args:?}");
            let message = error.to_string();
            assert_eq!(message.lines().count(), 1, "{message}");
            assert!(message.contains("cluster 'staging'"), "{message}");
            assert!(message.contains("-c prod"), "{message}");
        }
        // The cluster's own ARN names the same cluster.
        let cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/staging";
        assert!(options(&["-c", cluster_arn, "-n", staging, "-i", "x:1"]).is_ok());
    }

    #[test]
    fn service_names_and_arns_are_read_apart() {
        assert_eq!(service_name("web"), (None, "web"));
        assert_eq!(
            service_name("arn:aws:ecs:eu-west-1:1:service/prod/web"),
            (Some("prod"), "web")
        );
        assert_eq!(
            service_name("arn:aws-cn:ecs:cn-north-1:1:service/web"),
            (None, "web")
        );
        // Not an ECS service ARN: taken as given (ECS says whether it exists).
        for odd in [
            "arn:aws:ecs:r:1:task/prod/x",
            "arn:aws:iam::1:role/web",
            "a:b",
        ] {
            assert_eq!(service_name(odd), (None, odd));
        }
        assert_eq!(cluster_name("prod"), "prod");
        assert_eq!(cluster_name("arn:aws:ecs:r:1:cluster/prod"), "prod");
    }

    #[test]
    fn log_lines_default_to_twenty_and_take_a_whole_number() {
        assert_eq!(options(&["-d", "t", "-i", "x:1"]).unwrap().log_lines, 20);
        let none = options(&["-d", "t", "-i", "x:1", "--log-lines", "0"]).unwrap();
        assert_eq!(none.log_lines, 0);
        for bad in ["-1", "many", "2.5"] {
            assert_eq!(
                code(&["-d", "t", "-i", "x:1", "--log-lines", bad]),
                3,
                "{bad}"
            );
        }
    }

    #[test]
    fn images_are_verified_unless_told_not_to() {
        assert!(options(&["-d", "t", "-i", "x:1"]).unwrap().verify_image);
        let off = options(&["-d", "t", "-i", "x:1", "--no-verify-image"]).unwrap();
        assert!(!off.verify_image);
    }

    #[test]
    fn each_mode_carries_its_own_settings() {
        let deploy = options(&["-c", "c", "-n", "s", "-i", "x:1"]).unwrap();
        assert!(matches!(deploy.mode, Mode::Deploy { ref cluster, .. } if cluster == "c"));
        let register = options(&["-c", "c", "-d", "t", "-i", "x:1"]).unwrap();
        assert!(matches!(register.mode, Mode::Register { run: None, .. }));
        let run = options(&["-c", "c", "-d", "t", "-i", "x:1", "--run-task"]).unwrap();
        assert!(matches!(
            run.mode,
            Mode::Register { run: Some(RunTask { ref cluster, .. }), .. } if cluster == "c"
        ));
        assert_eq!(code(&["-d", "t", "-i", "x:1", "--run-task"]), 3);
        assert_eq!(code(&["-c", "c", "-n", "s", "-i", "x:1", "--run-task"]), 3);
    }

    #[test]
    fn codedeploy_flags_are_kept_for_a_service() {
        assert_eq!(
            options(&["-c", "c", "-n", "s", "-i", "x:1"])
                .unwrap()
                .codedeploy,
            CodeDeployOptions::default()
        );
        let appspec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/appspec/with-hooks.yaml"
        );
        let o = options(&[
            "-c",
            "c",
            "-n",
            "s",
            "-i",
            "x:1",
            "--codedeploy-application",
            "shop",
            "--codedeploy-deployment-group",
            "shop-checkout",
            "--codedeploy-appspec",
            appspec,
            "--codedeploy-description",
            "-to the moon",
        ])
        .unwrap();
        assert_eq!(o.codedeploy.application.as_deref(), Some("shop"));
        assert_eq!(o.codedeploy.group.as_deref(), Some("shop-checkout"));
        assert_eq!(o.codedeploy.description.as_deref(), Some("-to the moon"));
        let spec = o.codedeploy.appspec.expect("the AppSpec is read");
        assert_eq!(spec.hooks().len(), 5);
        assert_eq!(spec.task_definition(), Some("<TASK_DEFINITION>"));
        // The application alone (the group is found in it), also for several services.
        let o = options(&[
            "-c",
            "c",
            "-n",
            "a",
            "-n",
            "b",
            "-i",
            "x:1",
            "--codedeploy-application",
            "shop",
        ])
        .unwrap();
        assert_eq!(o.codedeploy.application.as_deref(), Some("shop"));
        // A redeploy goes through CodeDeploy too.
        assert!(
            options(&[
                "-c",
                "c",
                "-n",
                "s",
                "--force-new-deployment",
                "--codedeploy-application",
                "shop"
            ])
            .is_ok()
        );
    }

    #[test]
    fn codedeploy_flag_misuse_is_a_usage_error() {
        let error = |args: &[&str]| options(args).unwrap_err();
        for flag in [
            "--codedeploy-application",
            "--codedeploy-deployment-group",
            "--codedeploy-appspec",
            "--codedeploy-description",
        ] {
            for target in [&["-d", "t"][..], &["-c", "c", "-d", "t", "--run-task"]] {
                let args = [target, &["-i", "x:1", flag, "v"]].concat();
                let err = error(&args);
                assert_eq!(err.exit_code(), 3, "{args:?}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "{flag} needs a service: -c CLUSTER -n SERVICE (it does not go with -d)"
                    )
                );
            }
        }
        let err = error(&[
            "-c",
            "c",
            "-n",
            "s",
            "-i",
            "x:1",
            "--codedeploy-deployment-group",
            "g",
        ]);
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.to_string()
                .contains("needs --codedeploy-application NAME"),
            "{err}"
        );
        let err = error(&[
            "-c",
            "c",
            "-n",
            "a",
            "-n",
            "b",
            "-i",
            "x:1",
            "--codedeploy-application",
            "shop",
            "--codedeploy-deployment-group",
            "g",
        ]);
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("-n was given 2 times"), "{err}");
        let err = error(&[
            "-c",
            "c",
            "-n",
            "s",
            "-i",
            "x:1",
            "--codedeploy-application",
            " ",
        ]);
        assert_eq!(
            err.to_string(),
            "--codedeploy-application needs a name, got ' '"
        );
        for flag in ["--codedeploy-appspec", "--codedeploy-description"] {
            let err = error(&["-c", "c", "-n", "s", "--wait-only", flag, "x"]);
            assert_eq!(err.exit_code(), 3);
            assert!(err.to_string().contains(flag), "{err}");
        }
        // An image that cannot be parsed (13) is reported before the AppSpec file (3).
        assert_eq!(
            code(&[
                "-c",
                "c",
                "-n",
                "s",
                "-i",
                "/x",
                "--codedeploy-appspec",
                "/nonexistent.yaml"
            ]),
            13
        );
        let err = error(&[
            "-c",
            "c",
            "-n",
            "s",
            "-i",
            "x:1",
            "--codedeploy-appspec",
            "/nonexistent.yaml",
        ]);
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.to_string()
                .starts_with("cannot read --codedeploy-appspec /nonexistent.yaml"),
            "{err}"
        );
    }
}
