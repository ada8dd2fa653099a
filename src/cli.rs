//! The command line: the bash script's flags (same names, same short forms) plus our own
//! additions, and the argv normalisation that lets `-to` stay a single flag.

use std::ffi::OsString;

use clap::{ArgAction, Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ecs-deploy",
    about = "Deploy a new container image to an Amazon ECS service, or register a new task-definition revision, using the AWS CLI.",
    long_about = None,
    disable_version_flag = true,
    after_help = "Exit codes: 0 success, 1 deployment or task failed, 3 usage, 4 aws not found, 5 neither -n nor -d, \
6 both -n and -d, 7 -n without -c, 8 no -i, 9 bad --max-definitions, 10/11/12 run-task options without --run-task, \
13 unparsable image, 14 no container uses the image's repository, 15 an ECR image or its repository does not exist, 252-255 an aws call failed.\n\n\
Examples:\n  ecs-deploy -c production -n web -i 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2\n  \
ecs-deploy -d migrate -i registry.example.com:5000/team/migrate:17\n  ecs-deploy -c staging -n api -to 0.1.899 -i ignore"
)]
pub struct Cli {
    /// AWS access key id, handed to the AWS CLI as AWS_ACCESS_KEY_ID
    #[arg(short = 'k', long = "aws-access-key", value_name = "KEY")]
    pub aws_access_key: Option<String>,
    /// AWS secret access key, handed to the AWS CLI as AWS_SECRET_ACCESS_KEY
    #[arg(short = 's', long = "aws-secret-key", value_name = "SECRET")]
    pub aws_secret_key: Option<String>,
    /// AWS region (default: AWS_DEFAULT_REGION / AWS_REGION / the CLI's configuration)
    #[arg(short = 'r', long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS CLI profile (default: AWS_PROFILE)
    #[arg(short = 'p', long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Use the AWS CLI's default credential chain (instance or task role); accepted for compatibility
    #[arg(long = "aws-instance-profile")]
    pub aws_instance_profile: bool,
    /// Assume this IAM role first and make every later call with its temporary credentials
    #[arg(short = 'a', long = "aws-assume-role", value_name = "ROLE_ARN")]
    pub aws_assume_role: Option<String>,
    /// ECS cluster name or ARN
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Service to deploy (needs -c); repeat it to release to several services of the cluster together (at most 10)
    #[arg(short = 'n', long = "service-name", value_name = "SERVICE", action = ArgAction::Append)]
    pub service_name: Vec<String>,
    /// Task definition to update instead of a service: FAMILY, FAMILY:REVISION or an ARN
    #[arg(short = 'd', long = "task-definition", value_name = "TASK_DEF")]
    pub task_definition: Option<String>,
    /// New image, [domain[:port]/][path/]name[:tag][@sha256:digest]; repeat once per repository
    #[arg(short = 'i', long, value_name = "IMAGE", action = ArgAction::Append)]
    pub image: Vec<String>,
    /// Desired task count for the service
    #[arg(
        short = 'D',
        long = "desired-count",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub desired_count: Option<String>,
    /// minimumHealthyPercent of the deployment configuration
    #[arg(short = 'm', long, value_name = "PERCENT")]
    pub min: Option<String>,
    /// maximumPercent of the deployment configuration
    #[arg(short = 'M', long, value_name = "PERCENT")]
    pub max: Option<String>,
    /// Seconds to wait in each waiting phase [default: 90]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<String>,
    /// Take the image tag from this environment variable (unset or empty: latest)
    #[arg(short = 'e', long = "tag-env-var", value_name = "VAR")]
    pub tag_env_var: Option<String>,
    /// Put this tag on every container's image, keeping each repository (short form: -to)
    #[arg(long = "tag-only", value_name = "TAG")]
    pub tag_only: Option<String>,
    /// After success, deregister the oldest ACTIVE revisions of the family beyond N
    #[arg(long = "max-definitions", value_name = "N", allow_hyphen_values = true)]
    pub max_definitions: Option<String>,
    /// Base the new revision on this JSON file instead of the current definition
    #[arg(long = "task-definition-file", value_name = "PATH")]
    pub task_definition_file: Option<std::path::PathBuf>,
    /// On failure after the service update, point the service back at the previous revision
    #[arg(long = "enable-rollback")]
    pub enable_rollback: bool,
    /// Base the new revision on the newest revision of the family, not the one the service runs
    #[arg(long = "use-latest-task-def")]
    pub use_latest_task_def: bool,
    /// Redeploy the service's current task definition (no new revision)
    #[arg(long = "force-new-deployment")]
    pub force_new_deployment: bool,
    /// Don't wait until the service has a single deployment
    #[arg(long = "skip-deployments-check")]
    pub skip_deployments_check: bool,
    /// Change nothing: follow the service's current deployment to its end (with -c and -n)
    #[arg(long = "wait-only")]
    pub wait_only: bool,
    /// Stop waiting (exit 0) once the service deployment reaches this lifecycle stage (e.g. POST_TEST_TRAFFIC_SHIFT, or a CodeDeploy lifecycle event such as AfterAllowTestTraffic) or, with "paused", a pause hook
    #[arg(long = "wait-until", value_name = "STAGE|paused")]
    pub wait_until: Option<String>,
    /// Release the pause holding each service's deployment (continue-service-deployment), then follow it to its end (with -c and -n)
    #[arg(long = "continue-deployment")]
    pub continue_deployment: bool,
    /// With --continue-deployment: the pause hook to release (default: the one awaiting action)
    #[arg(long = "hook-id", value_name = "ID")]
    pub hook_id: Option<String>,
    /// With --continue-deployment: continue (default) or rollback
    #[arg(long = "action", value_name = "continue|rollback")]
    pub action: Option<String>,
    /// With -d: run the new revision once as a task on -c CLUSTER
    #[arg(long = "run-task")]
    pub run_task: bool,
    /// Launch type for --run-task (EC2, FARGATE, EXTERNAL)
    #[arg(long = "launch-type", value_name = "TYPE")]
    pub launch_type: Option<String>,
    /// Fargate platform version for --run-task
    #[arg(long = "platform-version", value_name = "VERSION")]
    pub platform_version: Option<String>,
    /// Network configuration for --run-task (JSON, shorthand or file://), passed to aws as given
    #[arg(
        long = "network-configuration",
        value_name = "CONFIG",
        allow_hyphen_values = true
    )]
    pub network_configuration: Option<String>,
    /// With --run-task: wait for the task to stop and require exit code 0 from every essential container
    #[arg(long = "wait-for-success")]
    pub wait_for_success: bool,
    /// Don't ask ECR whether each new ECR image exists before registering anything
    #[arg(long = "no-verify-image")]
    pub no_verify_image: bool,
    /// Log lines shown of each failed container of a stopped task (awslogs driver); 0 reads no logs at all [default: 20]
    #[arg(long = "log-lines", value_name = "N", allow_hyphen_values = true)]
    pub log_lines: Option<String>,
    /// Copy the task definition's tags to the new revision
    #[arg(long = "copy-task-definition-tags")]
    pub copy_task_definition_tags: bool,
    /// CODE_DEPLOY services: the CodeDeploy application to deploy through (default: the
    /// application whose deployment group targets the service)
    #[arg(long = "codedeploy-application", value_name = "NAME")]
    pub codedeploy_application: Option<String>,
    /// CODE_DEPLOY services: the deployment group of that application (needs
    /// --codedeploy-application; default: the group whose ECS service is -n)
    #[arg(long = "codedeploy-deployment-group", value_name = "NAME")]
    pub codedeploy_deployment_group: Option<String>,
    /// CODE_DEPLOY services: an AppSpec (YAML or JSON) to send instead of the default one;
    /// its TaskDefinition is replaced by the new revision, everything else (hooks too) is kept
    #[arg(long = "codedeploy-appspec", value_name = "FILE")]
    pub codedeploy_appspec: Option<std::path::PathBuf>,
    /// CODE_DEPLOY services: the description of the CodeDeploy deployment
    #[arg(
        long = "codedeploy-description",
        value_name = "TEXT",
        allow_hyphen_values = true
    )]
    pub codedeploy_description: Option<String>,
    /// Trace every aws call (argv, duration, exit status) to stderr; secrets are redacted
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Seconds between polls while waiting [default: 3]
    #[arg(long = "poll-interval", value_name = "SECONDS")]
    pub poll_interval: Option<String>,
    /// Longest time one aws call may take before it is stopped [default: 120]; a call made
    /// while waiting is also stopped at that wait's deadline
    #[arg(long = "call-timeout", value_name = "SECONDS")]
    pub call_timeout: Option<String>,
    /// Make read calls only: print the definition that would be registered and a diff
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Show environment values in the --dry-run diff (masked by default)
    #[arg(long = "show-env-values")]
    pub show_env_values: bool,
    /// Result format on stdout: text (the script's status lines) or json (one object; status lines go to stderr)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print the version and exit
    #[arg(long)]
    pub version: bool,
    /// Print a completion script for this shell and exit
    #[arg(long, value_name = "SHELL", hide_short_help = true)]
    pub completions: Option<clap_complete::Shell>,
    /// Print the man page (roff) and exit
    #[arg(long, hide_short_help = true)]
    pub man: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Options that take a value, so that a value spelled `-to` is left alone.
const TAKES_VALUE: &[&str] = &[
    "-k",
    "--aws-access-key",
    "-s",
    "--aws-secret-key",
    "-r",
    "--region",
    "-p",
    "--profile",
    "-a",
    "--aws-assume-role",
    "-c",
    "--cluster",
    "-n",
    "--service-name",
    "-d",
    "--task-definition",
    "-i",
    "--image",
    "-D",
    "--desired-count",
    "-m",
    "--min",
    "-M",
    "--max",
    "-t",
    "--timeout",
    "-e",
    "--tag-env-var",
    "--tag-only",
    "--max-definitions",
    "--task-definition-file",
    "--launch-type",
    "--platform-version",
    "--network-configuration",
    "--poll-interval",
    "--call-timeout",
    "--log-lines",
    "--codedeploy-application",
    "--codedeploy-deployment-group",
    "--codedeploy-appspec",
    "--codedeploy-description",
    "--output",
    "--completions",
];

/// The script's `-to` is one two-letter flag; clap would read it as `-t o`. Rewrite it (and
/// `-to=TAG`) to `--tag-only` wherever it stands as a flag, not as another option's value.
pub fn normalise_args<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut value_expected = false;
    let mut after_double_dash = false;
    for (index, arg) in args.into_iter().enumerate() {
        if index == 0 || value_expected || after_double_dash {
            value_expected = false;
            out.push(arg);
            continue;
        }
        let text = arg.to_string_lossy();
        if text == "--" {
            after_double_dash = true;
        } else if text == "-to" {
            value_expected = true;
            out.push("--tag-only".into());
            continue;
        } else if let Some(tag) = text.strip_prefix("-to=") {
            out.push(format!("--tag-only={tag}").into());
            continue;
        } else {
            value_expected = TAKES_VALUE.contains(&text.as_ref());
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalise_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dash_to_becomes_tag_only() {
        assert_eq!(
            norm(&["x", "-c", "a", "-to", "1.2"]),
            ["x", "-c", "a", "--tag-only", "1.2"]
        );
        assert_eq!(norm(&["x", "-to=1.2"]), ["x", "--tag-only=1.2"]);
    }

    #[test]
    fn dash_to_as_a_value_is_kept() {
        assert_eq!(
            norm(&["x", "-e", "-to", "-t", "5"]),
            ["x", "-e", "-to", "-t", "5"]
        );
        assert_eq!(norm(&["x", "-to", "-to"]), ["x", "--tag-only", "-to"]);
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_value_option_is_listed() {
        use clap::CommandFactory;
        for arg in Cli::command().get_arguments() {
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values())
                && !matches!(arg.get_action(), ArgAction::SetTrue);
            if takes_value && let Some(long) = arg.get_long() {
                assert!(
                    TAKES_VALUE.contains(&format!("--{long}").as_str()),
                    "{long}"
                );
            }
        }
    }
}
