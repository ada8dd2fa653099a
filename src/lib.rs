//! ecs-deploy as a library: the binary in `main.rs` is a thin shell around these modules,
//! and the property tests in `tests/` reach the pure parts directly.
//!
//! Dependencies point one way: `deploy` drives `watch`, `rollback`, `run_task`, `taskdef`
//! and `dry_run`; they reach AWS only through the `ecs` layer, the ECR image check (`ecr`)
//! and the log reader (`logs`); `aws` alone runs the AWS CLI.

pub mod appspec;
pub mod arn;
pub mod aws;
pub mod cadence;
pub mod cli;
pub mod codedeploy;
pub mod console;
pub mod controller;
pub mod deploy;
pub mod dry_run;
pub mod ecr;
pub mod ecs;
pub mod error;
pub mod filters;
pub mod image;
pub mod input_file;
pub mod logs;
pub mod options;
pub mod output;
pub mod poll;
pub mod profile;
pub mod record;
pub mod report;
pub mod rollback;
pub mod run_task;
pub mod secrets;
pub mod side;
pub mod signals;
pub mod task;
pub mod taskdef;
pub mod watch;
