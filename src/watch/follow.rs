//! The seam between the poll loop and the deployment controllers: each controller's
//! watch says which decisive read it needs and takes its answer; the loop makes those
//! reads for every watch at once (one call per kind) and never knows which controller it
//! drives.

use std::time::Instant;

use super::{Failure, Progress};
use crate::cadence::Pace;
use crate::codedeploy::{BATCH_GET_DEPLOYMENTS_LIMIT, CodeDeploy, Deployment};
use crate::ecs::{DESCRIBE_SERVICES_LIMIT, Ecs, Polled, Snapshot};
use crate::poll::{PollError, Stop};
use crate::report::Report;
use crate::side::{self, Budget};

/// The read whose answer decides a watch's next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decisive {
    /// The service, from describe-services.
    Service { cluster: String, name: String },
    /// A CodeDeploy deployment, from batch-get-deployments.
    Deployment(String),
}

/// The answer of a decisive read.
#[derive(Debug, Clone)]
pub enum Answer {
    Service(Snapshot),
    Deployment(Deployment),
}

/// A deployment being followed, whatever controller runs it.
pub trait Follow<'a> {
    /// Where its lines and result go.
    fn report(&self) -> &'a Report;
    /// What side work may take.
    fn side(&self) -> Budget;
    fn decisive(&self) -> Decisive;
    /// Begin the first phase; done at once when no phase applies.
    fn start(&mut self) -> Progress;
    /// When the current phase runs out of time.
    fn deadline(&self) -> Instant;
    /// One step on the answer of its decisive read.
    fn advance(&mut self, answer: Answer) -> Result<Progress, PollError>;
    /// How the last step saw things move, for the timing of the next poll.
    fn pace(&self) -> Pace;
    /// Whether the last step did side work after its decisive read.
    fn did_side_work(&self) -> bool;
    /// Reads the last step asked for, to run beside the poll loop, each with what to show
    /// should it be stopped first.
    fn side_work(&mut self) -> Vec<(side::Work<'a>, Vec<String>)>;
    /// Say why the phase ended, record it, and hand the failure on.
    fn fail(&mut self, stop: Stop) -> Failure;
}

/// Where the decisive reads are made.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub ecs: &'a dyn Ecs,
    pub codedeploy: Option<&'a dyn CodeDeploy>,
}

impl<'a> Reads<'a> {
    pub fn ecs(ecs: &'a dyn Ecs) -> Reads<'a> {
        Reads {
            ecs,
            codedeploy: None,
        }
    }

    /// The service reads of `wanted` are to be made soon: their calls may get ready.
    pub fn expect(&self, wanted: &[Decisive]) {
        for (cluster, chunk) in service_reads(wanted) {
            let names: Vec<String> = chunk.into_iter().map(|(_, name)| name).collect();
            self.ecs.expect_poll(cluster, &names);
        }
    }

    /// Every read asked for, one call per kind (and per cluster, and per batch limit): an
    /// answer per read, in that order (`None` where an answer left it out).
    pub fn read(&self, wanted: &[Decisive], deadline: Instant) -> Polled<Vec<Option<Answer>>> {
        let mut answers: Vec<Option<Answer>> = vec![None; wanted.len()];
        for (cluster, chunk) in service_reads(wanted) {
            let names: Vec<String> = chunk.iter().map(|(_, name)| name.clone()).collect();
            let snapshots = self.ecs.poll_services(cluster, &names, deadline)?;
            for ((i, _), snapshot) in chunk.iter().zip(snapshots) {
                answers[*i] = snapshot.map(Answer::Service);
            }
        }
        let deployments: Vec<(usize, String)> = wanted
            .iter()
            .enumerate()
            .filter_map(|(i, read)| match read {
                Decisive::Deployment(id) => Some((i, id.clone())),
                Decisive::Service { .. } => None,
            })
            .collect();
        if let Some(codedeploy) = self.codedeploy {
            for chunk in deployments.chunks(BATCH_GET_DEPLOYMENTS_LIMIT) {
                let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
                let found = codedeploy.poll_deployments(&ids, deadline)?;
                for ((i, _), deployment) in chunk.iter().zip(found) {
                    answers[*i] = deployment.map(Answer::Deployment);
                }
            }
        }
        Ok(answers)
    }
}

/// A failure a watch ended with, before any look: ECS's and CodeDeploy's alike.
pub fn stopped(stop: Stop, why: String) -> Failure {
    Failure {
        stop,
        why,
        last: None,
        service_deployment: None,
        codedeploy: None,
    }
}

/// The service reads of `wanted`, one describe-services call each: the cluster, and the
/// position and name of each service asked.
fn service_reads(wanted: &[Decisive]) -> Vec<(&str, Vec<(usize, String)>)> {
    let services: Vec<(usize, &str, &str)> = wanted
        .iter()
        .enumerate()
        .filter_map(|(i, read)| match read {
            Decisive::Service { cluster, name } => Some((i, cluster.as_str(), name.as_str())),
            Decisive::Deployment(_) => None,
        })
        .collect();
    let mut clusters: Vec<&str> = Vec::new();
    for &(_, cluster, _) in &services {
        if !clusters.contains(&cluster) {
            clusters.push(cluster);
        }
    }
    let mut calls = Vec::new();
    for cluster in clusters {
        let asked: Vec<(usize, String)> = services
            .iter()
            .filter(|&&(_, c, _)| c == cluster)
            .map(|&(i, _, name)| (i, name.to_string()))
            .collect();
        for chunk in asked.chunks(DESCRIBE_SERVICES_LIMIT) {
            calls.push((cluster, chunk.to_vec()));
        }
    }
    calls
}
