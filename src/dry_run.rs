//! `--dry-run`: show the definition that would be registered, and what changes.

use serde_json::Value;

use crate::report::Report;

pub fn show(report: &Report, _current: &Value, new: &Value, _show_env_values: bool) {
    let text = serde_json::to_string_pretty(new).unwrap_or_default();
    report.progress("dry run: nothing was registered or changed");
    println!("{text}");
}
