//! The one error type. Every variant knows the exit code the bash script used for it, so
//! `main` maps errors to exit codes in one place.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// Exit 1: the deployment or the one-off task did not succeed.
    #[error("{0}")]
    Failed(String),
    /// Exit 3: bad command line (unknown flag, malformed number, unreadable input file).
    #[error("{0}")]
    Usage(String),
    /// Exit 4.
    #[error(
        "the AWS CLI ('aws') was not found on PATH; install it (https://aws.amazon.com/cli/) or add it to PATH"
    )]
    AwsNotFound,
    /// Exit 5.
    #[error(
        "one of -n/--service-name (a service) or -d/--task-definition (a task definition) is required"
    )]
    NoTarget,
    /// Exit 6.
    #[error("give only one of -n/--service-name and -d/--task-definition, not both")]
    BothTargets,
    /// Exit 7.
    #[error("-n/--service-name needs the cluster: add -c/--cluster NAME")]
    NoCluster,
    /// Exit 8.
    #[error("no image given: add -i/--image IMAGE (or use --force-new-deployment)")]
    NoImage,
    /// Exit 9.
    #[error("--max-definitions must be a whole number, got '{0}'")]
    MaxDefinitions(String),
    /// Exit 10.
    #[error("--launch-type only applies to one-off tasks: add --run-task")]
    LaunchTypeWithoutRunTask,
    /// Exit 11.
    #[error("{0} only applies to one-off tasks: add --run-task")]
    RunTaskOptionWithoutRunTask(&'static str),
    /// Exit 12.
    #[error("--platform-version only applies to one-off tasks: add --run-task")]
    PlatformVersionWithoutRunTask,
    /// Exit 13.
    #[error(
        "cannot parse image '{image}': {why}; expected [domain[:port]/][path/]name[:tag][@sha256:digest]"
    )]
    BadImage { image: String, why: String },
    /// Exit 14: no container would get the new image.
    #[error("{0}")]
    NothingToUpdate(String),
    /// Exit 15: a new image is not in its ECR repository (or the repository does not exist).
    #[error("{0}")]
    ImageNotFound(String),
    /// Exit 130: SIGINT/SIGTERM while waiting, without rollback.
    #[error("{0}")]
    Interrupted(String),
    /// An `aws` call that failed for good: exits with the CLI's own code.
    #[error("{step} failed: {message}")]
    Aws {
        step: String,
        code: i32,
        message: String,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed(_) => 1,
            Error::Usage(_) => 3,
            Error::AwsNotFound => 4,
            Error::NoTarget => 5,
            Error::BothTargets => 6,
            Error::NoCluster => 7,
            Error::NoImage => 8,
            Error::MaxDefinitions(_) => 9,
            Error::LaunchTypeWithoutRunTask => 10,
            Error::RunTaskOptionWithoutRunTask(_) => 11,
            Error::PlatformVersionWithoutRunTask => 12,
            Error::BadImage { .. } => 13,
            Error::NothingToUpdate(_) => 14,
            Error::ImageNotFound(_) => 15,
            Error::Interrupted(_) => 130,
            Error::Aws { code, .. } => *code,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::filters::FilterError> for Error {
    fn from(e: crate::filters::FilterError) -> Self {
        Error::Aws {
            step: "reading the AWS CLI's answer".into(),
            code: 255,
            message: e.to_string(),
        }
    }
}
