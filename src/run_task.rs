//! One-off tasks: `--run-task` (with `-d`), optionally waiting for success.

use crate::deploy::Deploy;
use crate::error::Result;
use crate::options::RunTask;

pub fn run(deploy: &Deploy, cluster: &str, task_definition: &str, options: &RunTask) -> Result<()> {
    let _ = (deploy, cluster, task_definition, options);
    Err(crate::error::Error::Failed(
        "--run-task is not implemented yet".into(),
    ))
}
