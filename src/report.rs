//! What the user sees: the bash script's status lines (stdout, word for word), progress
//! and reasons (stderr), and the `--output json` result object.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;

/// A task of the new revision that stopped, as reported to the user.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StoppedTask {
    pub task_arn: String,
    pub stopped_reason: String,
    pub containers: Vec<String>,
}

/// The machine-readable result (`--output json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub status: &'static str,
    pub cluster: Option<String>,
    pub service: Option<String>,
    pub previous_task_definition: Option<String>,
    pub new_task_definition: Option<String>,
    pub images: Vec<String>,
    pub deployment_id: Option<String>,
    pub task_arn: Option<String>,
    pub duration_seconds: f64,
    pub failure_reason: Option<String>,
    pub stopped_tasks: Vec<StoppedTask>,
    pub aws_calls: u32,
}

pub struct Report {
    format: OutputFormat,
    outcome: RefCell<Outcome>,
}

impl Report {
    pub fn new(format: OutputFormat) -> Report {
        Report {
            format,
            outcome: RefCell::new(Outcome {
                status: "succeeded",
                ..Outcome::default()
            }),
        }
    }

    /// One of the script's status lines: stdout, or stderr when stdout carries JSON.
    pub fn status(&self, line: impl Display) {
        match self.format {
            OutputFormat::Text => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            OutputFormat::Json => eprintln!("{line}"),
        }
    }

    /// Progress, events and reasons: always stderr, so stdout stays what parsers expect.
    pub fn progress(&self, line: impl Display) {
        eprintln!("{line}");
    }

    pub fn record(&self, update: impl FnOnce(&mut Outcome)) {
        update(&mut self.outcome.borrow_mut());
    }

    #[allow(dead_code)]
    pub fn outcome(&self) -> Outcome {
        self.outcome.borrow().clone()
    }

    /// Print the JSON result, when asked for; called once, at the very end.
    pub fn finish(&self) {
        if self.format == OutputFormat::Json {
            let outcome = self.outcome.borrow();
            let text = serde_json::to_string_pretty(&*outcome).unwrap_or_else(|_| "{}".into());
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}
