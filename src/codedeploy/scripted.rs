//! A scripted [`CodeDeploy`] for unit tests: groups to find, deployments and targets
//! answered from lists (the last answer repeats), and a log of every call.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::{CodeDeploy, Created, Deployment, Group, NewDeployment, Target};
use crate::ecs::Polled;
use crate::error::{Error, Result};

#[derive(Default)]
pub struct ScriptedCodeDeploy {
    pub groups: Vec<Group>,
    /// Answers of `create_deployment`, in order; the last one repeats.
    pub created: RefCell<VecDeque<Result<Created, String>>>,
    /// What `active_deployments` answers, unless `active_refused` says why it fails.
    pub active: Vec<String>,
    pub active_refused: Option<String>,
    /// Answers for one deployment id, in order (the last repeats).
    pub deployments: HashMap<String, RefCell<VecDeque<Polled<Deployment>>>>,
    /// Answers of `poll_target` for one deployment id, in order (the last repeats).
    pub targets: HashMap<String, RefCell<VecDeque<Polled<Target>>>>,
    /// What `stop_deployment` answers (`Some`: CodeDeploy refuses).
    pub stop_refused: Option<String>,
    log: RefCell<Vec<String>>,
}

impl ScriptedCodeDeploy {
    /// Every call so far: the operation, then what tells the calls apart.
    pub fn calls(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    fn called(&self, call: String) {
        self.log.borrow_mut().push(call);
    }

    /// A double whose account holds `groups` (their applications in order of first
    /// appearance).
    pub fn with_groups(groups: Vec<Group>) -> Self {
        ScriptedCodeDeploy {
            groups,
            ..Self::default()
        }
    }

    /// Answer deployment `id` with `answers`, in order.
    pub fn deployment(mut self, id: &str, answers: Vec<Polled<Deployment>>) -> Self {
        self.deployments
            .insert(id.to_string(), RefCell::new(answers.into()));
        self
    }

    /// Answer the target of deployment `id` with `answers`, in order.
    pub fn target(mut self, id: &str, answers: Vec<Polled<Target>>) -> Self {
        self.targets
            .insert(id.to_string(), RefCell::new(answers.into()));
        self
    }
}

fn next<T: Clone>(answers: &RefCell<VecDeque<T>>) -> Option<T> {
    let mut answers = answers.borrow_mut();
    if answers.len() > 1 {
        answers.pop_front()
    } else {
        answers.front().cloned()
    }
}

impl CodeDeploy for ScriptedCodeDeploy {
    fn list_applications(&self) -> Result<Vec<String>> {
        self.called("list-applications".into());
        let mut names: Vec<String> = self.groups.iter().map(|g| g.application.clone()).collect();
        names.dedup();
        Ok(names)
    }

    fn list_deployment_groups(&self, application: &str) -> Result<Vec<String>> {
        self.called(format!("list-deployment-groups {application}"));
        Ok(self
            .groups
            .iter()
            .filter(|g| g.application == application)
            .map(|g| g.name.clone())
            .collect())
    }

    fn deployment_groups(&self, application: &str, names: &[String]) -> Result<Vec<Group>> {
        self.called(format!(
            "batch-get-deployment-groups {application} {}",
            names.join(" ")
        ));
        names
            .iter()
            .map(|name| {
                self.groups
                    .iter()
                    .find(|g| g.application == application && &g.name == name)
                    .cloned()
                    .ok_or_else(|| Error::Failed(format!("deployment group {name} not found")))
            })
            .collect()
    }

    fn create_deployment(&self, new: &NewDeployment) -> Result<Created> {
        self.called(format!(
            "create-deployment {} {}",
            new.application, new.group
        ));
        next(&self.created)
            .unwrap_or_else(|| Err("create-deployment is not scripted".into()))
            .map_err(Error::Failed)
    }

    fn active_deployments(
        &self,
        application: &str,
        group: &str,
        _: Instant,
    ) -> Result<Vec<String>> {
        self.called(format!("list-deployments {application} {group}"));
        match &self.active_refused {
            Some(why) => Err(Error::Failed(why.clone())),
            None => Ok(self.active.clone()),
        }
    }

    fn stop_deployment(&self, id: &str, roll_back: bool) -> Result<()> {
        let flag = if roll_back {
            " --auto-rollback-enabled"
        } else {
            ""
        };
        self.called(format!("stop-deployment {id}{flag}"));
        match &self.stop_refused {
            Some(why) => Err(Error::Failed(why.clone())),
            None => Ok(()),
        }
    }

    fn poll_deployments(&self, ids: &[String], _: Instant) -> Polled<Vec<Option<Deployment>>> {
        self.called(format!("batch-get-deployments {}", ids.join(" ")));
        ids.iter()
            .map(|id| match self.deployments.get(id) {
                Some(answers) => next(answers).map_or(Ok(None), |answer| answer.map(Some)),
                None => Ok(None),
            })
            .collect()
    }

    fn poll_target(&self, deployment: &str, target: &str, _: Instant) -> Polled<Target> {
        self.called(format!("get-deployment-target {deployment} {target}"));
        let answers = self.targets.get(deployment).expect("no target scripted");
        next(answers).expect("no target scripted")
    }

    fn list_targets(&self, deployment: &str, _: Instant) -> Polled<Vec<String>> {
        self.called(format!("list-deployment-targets {deployment}"));
        let answers = self.targets.get(deployment).expect("no target scripted");
        let target = next(answers).expect("no target scripted")?;
        Ok(vec![target.id])
    }
}
