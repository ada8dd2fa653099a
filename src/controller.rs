//! Which deployment controller rolls a service out: ECS itself (with its strategy) or
//! CodeDeploy. The deploy flow picks the driver from this once per service; the release,
//! the poll loop and the renderers never look at it again.

use serde::Deserialize;

use crate::ecs::Strategy;

/// `deploymentController.type` of a service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControllerType {
    #[default]
    Ecs,
    CodeDeploy,
    External,
    #[serde(other)]
    Unknown,
}

impl ControllerType {
    pub fn as_str(self) -> &'static str {
        match self {
            ControllerType::Ecs => "ECS",
            ControllerType::CodeDeploy => "CODE_DEPLOY",
            ControllerType::External => "EXTERNAL",
            ControllerType::Unknown => "UNKNOWN",
        }
    }
}

/// The controller of a service, with ECS's strategy where ECS controls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Ecs(Strategy),
    CodeDeploy,
    External,
    Unknown,
}

impl Controller {
    pub fn new(kind: ControllerType, strategy: Strategy) -> Controller {
        match kind {
            ControllerType::Ecs => Controller::Ecs(strategy),
            ControllerType::CodeDeploy => Controller::CodeDeploy,
            ControllerType::External => Controller::External,
            ControllerType::Unknown => Controller::Unknown,
        }
    }

    /// The name in the JSON result (`controller`).
    pub fn as_str(self) -> &'static str {
        match self {
            Controller::Ecs(_) => "ECS",
            Controller::CodeDeploy => "CODE_DEPLOY",
            Controller::External => "EXTERNAL",
            Controller::Unknown => "UNKNOWN",
        }
    }

    /// Why ecs-deploy cannot deploy through this controller, if it cannot.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Controller::Ecs(_) | Controller::CodeDeploy => None,
            Controller::External => Some(
                "the EXTERNAL deployment controller is driven by your own tooling (task sets); \
                 ecs-deploy deploys ECS and CODE_DEPLOY services",
            ),
            Controller::Unknown => {
                Some("its deployment controller is not one ecs-deploy knows (ECS, CODE_DEPLOY)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_external_and_unknown_controllers_are_refused() {
        assert!(Controller::Ecs(Strategy::Rolling).refusal().is_none());
        assert!(Controller::CodeDeploy.refusal().is_none());
        assert!(Controller::External.refusal().is_some());
        let kind: ControllerType = serde_json::from_str("\"CODE_DEPLOY\"").unwrap();
        assert_eq!(kind, ControllerType::CodeDeploy);
        let odd: ControllerType = serde_json::from_str("\"SOMETHING\"").unwrap();
        assert_eq!(Controller::new(odd, Strategy::Rolling), Controller::Unknown);
    }
}
