//! Containers of an ECS task as `describe-tasks` reports them; shared by the service watch
//! (stopped tasks of a rollout) and one-off tasks (`--run-task`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub exit_code: Option<i64>,
    pub reason: String,
}

impl Container {
    /// "exit code N", or "no exit code" when the container never ran (e.g. a pull error).
    pub fn exit_text(&self) -> String {
        self.exit_code.map_or_else(
            || "no exit code".to_string(),
            |code| format!("exit code {code}"),
        )
    }
}
