//! ecs-deploy as a library: the binary in `main.rs` is a thin shell around these modules,
//! and the property tests in `tests/` reach the pure parts directly.

pub mod aws;
pub mod cli;
pub mod deploy;
pub mod dry_run;
pub mod error;
pub mod filters;
pub mod image;
pub mod options;
pub mod report;
pub mod run_task;
pub mod signals;
pub mod task;
pub mod taskdef;
pub mod watch;
