//! A release: one or several services of a cluster deployed together. They are read in
//! one call, updated one after another, watched together (one describe-services per poll)
//! and, with `--enable-rollback`, rolled back together when one fails. One `-n` is a
//! release of one service, with the script's output unchanged.

use std::time::Instant;

use serde_json::Value;

use super::{Deploy, base_name, stop_if_interrupted};
use crate::codedeploy::watch::{DeploymentWatch, Rollout as CodeDeployRollout};
use crate::controller::Controller;
use crate::ecs::{
    HookAction, HookStatus, NewRevision, Service, ServiceRef, ServiceUpdate, Updated,
};
use crate::error::{Error, Result};
use crate::options::Revision;
use crate::poll::{Start, Stop};
use crate::record::{Fact, Stage};
use crate::report::{Report, RollbackOutcome, Status};
use crate::rollback::{self, Begun};
use crate::watch::{self, Ended, Failure, Follow, Goal, Reads, Rollout, StopAt, Watch};
use crate::{console, taskdef};

/// A service of the release, as it was before anything changed.
pub(super) struct Target<'r> {
    pub(super) current: Service,
    pub(super) cluster: String,
    /// Where its lines and result go: the run's report, or with several services its own.
    pub(super) report: &'r Report,
}

impl Target<'_> {
    pub(super) fn name(&self) -> &str {
        &self.current.name
    }
}

/// Who runs a launched service's deployment: ECS, or CodeDeploy.
#[derive(Debug, Clone)]
pub(super) enum Driven {
    Ecs(Rollout),
    CodeDeploy(CodeDeployRollout),
}

/// A service that was updated (or is followed): what to watch, with the ids of the events
/// that are no news to the user.
pub(super) struct Launched {
    pub(super) target: usize,
    pub(super) driven: Driven,
    pub(super) seen: Vec<String>,
    /// The definition its tasks run, when known: where their logs are.
    pub(super) definition: Option<Value>,
}

/// Indices of `items` grouped by `key`, groups in the order of their first member.
fn grouped<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match groups.iter_mut().find(|g| key(&items[g[0]]) == key(item)) {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

impl Deploy<'_> {
    // Step 1 ---------------------------------------------------------------------------

    /// Read the services (one describe-services call) and hand them to `flow`. With
    /// several, each gets a report of its own, gathered into this one at the end.
    pub(super) fn for_services(
        &self,
        cluster: &str,
        names: &[String],
        flow: impl FnOnce(&[Target]) -> Result<()>,
    ) -> Result<()> {
        self.report.record(|o| {
            o.cluster = Some(cluster.to_string());
            o.service = (names.len() == 1).then(|| names[0].clone());
        });
        let reports: Vec<Report> = match names {
            [_] => Vec::new(),
            _ => names
                .iter()
                .map(|name| {
                    let report = self.report.for_service(name);
                    report.record(|o| o.cluster = Some(cluster.to_string()));
                    report
                })
                .collect(),
        };
        let result = self
            .deployable_services(cluster, names, &reports)
            .and_then(|targets| flow(&targets));
        if let Err(e) = &result {
            for report in &reports {
                let o = report.outcome();
                if o.status == Status::Succeeded && o.deployment_id.is_none() {
                    report.fail(Status::Failed, format!("not deployed: {e}"));
                }
            }
        }
        if !reports.is_empty() {
            self.report.gather(&reports);
        }
        result
    }

    /// The services, if every one can be deployed to: found, ACTIVE and on the ECS
    /// controller. Otherwise nothing is changed, and the error names each problem.
    fn deployable_services<'r>(
        &'r self,
        cluster: &str,
        names: &[String],
        reports: &'r [Report],
    ) -> Result<Vec<Target<'r>>> {
        let mut found = self.ecs.describe_services(cluster, names)?;
        for (service, asked) in found.iter_mut().zip(names) {
            if service.name.is_empty() {
                service.name = asked.clone();
            }
        }
        if let Some(stop_at) = &self.options.wait_until {
            let refused: Vec<String> = found
                .iter()
                .filter_map(|service| cannot_stop_at(service, stop_at))
                .collect();
            if !refused.is_empty() {
                return Err(Error::Usage(format!(
                    "{}; nothing was changed",
                    refused.join("; ")
                )));
            }
        }
        let problems: Vec<String> = found
            .iter()
            .filter_map(|service| undeployable(service, cluster))
            .collect();
        match problems.as_slice() {
            [] => {}
            [one] => return Err(Error::Failed(format!("{one}; nothing was changed"))),
            _ => {
                return Err(Error::Failed(format!(
                    "{}; nothing was changed",
                    problems.join("; ")
                )));
            }
        }
        Ok(found
            .into_iter()
            .enumerate()
            .map(|(i, current)| {
                let report = reports.get(i).unwrap_or(self.report);
                if !current.arn.is_empty() {
                    report.record(|o| o.service_arn = Some(current.arn.clone()));
                }
                Target {
                    current,
                    cluster: cluster.to_string(),
                    report,
                }
            })
            .collect())
    }

    // The service flow -------------------------------------------------------------------

    pub(super) fn deploy_services(&self, targets: &[Target], revision: &Revision) -> Result<()> {
        // Services that share a base definition share its new revision.
        let groups = grouped(targets, |t| base_name(&t.current.task_definition, revision));
        // The first update's CLI starts up while the definitions are read and registered;
        // each next one's while the update before it runs.
        let mut upcoming = groups.iter().flatten().copied();
        self.expect_update(targets, upcoming.next());
        // CodeDeploy's deployment groups are found while the base definitions are read,
        // and before anything is registered.
        let (codedeploy_groups, bases) = self.codedeploy_groups_beside(targets, || {
            groups
                .iter()
                .map(|group| {
                    self.current_definition(&targets[group[0]].current.task_definition, revision)
                })
                .collect::<Result<Vec<_>>>()
        });
        let codedeploy_groups = codedeploy_groups?;
        // Every new definition is built (and may be refused, exit 14) before any is
        // registered.
        let mut built = Vec::new();
        let mut new_images = Vec::new();
        for (group, base) in groups.iter().zip(bases?) {
            for &i in group {
                let target = &targets[i];
                target
                    .report
                    .fact(Fact::CurrentDefinition(base.arn.clone()));
                target.report.record(|o| {
                    o.previous_task_definition = Some(target.current.task_definition.clone());
                });
                self.report.record(|o| {
                    o.previous_task_definition
                        .get_or_insert_with(|| target.current.task_definition.clone());
                });
            }
            let (input, images) = self.build_new_revision(&base, revision)?;
            new_images.extend(images);
            built.push((base, input));
        }
        self.verified_images(&new_images)?;
        let mut registered = Vec::new();
        for (group, (base, input)) in groups.iter().zip(built) {
            let Some(new) = self.register_built(&base, input)? else {
                continue;
            };
            for &i in group {
                targets[i].report.fact(Fact::Registered(new.arn.clone()));
            }
            registered.push(new);
        }
        if self.options.dry_run {
            for (i, target) in targets.iter().enumerate() {
                if let Some(cd) = &codedeploy_groups[i] {
                    // Not registered: the AppSpec names the revision that would be.
                    let base = base_name(&target.current.task_definition, revision);
                    let unknown = format!(
                        "{}:NEW",
                        base.rsplit_once(':').map_or(base, |(family, _)| family)
                    );
                    self.show_codedeploy_plan(target, cd, &unknown)?;
                }
            }
            return Ok(());
        }
        let mut launched = Vec::new();
        for (group, new) in groups.iter().zip(&registered) {
            let health_checked = taskdef::has_essential_health_check(&new.definition)?;
            for &i in group {
                let next = upcoming.next();
                let update = match &codedeploy_groups[i] {
                    Some(cd) => stop_if_interrupted("create-deployment")
                        .and_then(|()| self.create_deployment(targets, i, cd, &new.arn)),
                    None => stop_if_interrupted("update-service").and_then(|()| {
                        self.expect_update(targets, next);
                        self.update_service(
                            targets,
                            i,
                            NewRevision::TaskDefinition(&new.arn),
                            health_checked,
                        )
                    }),
                };
                match update {
                    Ok(one) => launched.push(Launched {
                        definition: Some(new.definition.clone()),
                        ..one
                    }),
                    Err(e) => return Err(self.after_partial_update(targets, launched, e)),
                }
            }
        }
        launched.sort_by_key(|l| l.target);
        let ended = self.watch_all(targets, &launched, Goal::NewRevision, Start::AfterChange);
        self.conclude(targets, launched, ended)?;
        for new in &registered {
            self.prune_old_revisions(&new.arn);
        }
        Ok(())
    }

    /// An update-service of service `i` (if there is one, and ECS deploys it) is to come:
    /// its CLI may start up before the new revision is known. One at a time, so that
    /// many services do not start many CLIs at once.
    fn expect_update(&self, targets: &[Target], i: Option<usize>) {
        let Some(target) = i.and_then(|i| targets.get(i)) else {
            return;
        };
        if self.options.dry_run || !matches!(target.current.controller(), Controller::Ecs(_)) {
            return;
        }
        let revision = NewRevision::TaskDefinition("");
        self.ecs
            .expect_update(&self.service_update(&service_ref(target), revision));
    }

    /// The update of `service` to `revision`, with the scaling asked for.
    fn service_update<'s>(
        &self,
        service: &'s ServiceRef,
        revision: NewRevision<'s>,
    ) -> ServiceUpdate<'s> {
        let scaling = self.options.scaling;
        ServiceUpdate {
            service,
            revision,
            desired_count: scaling.desired_count,
            min_healthy_percent: scaling.min_healthy_percent,
            max_percent: scaling.max_percent,
        }
    }

    /// Step 4: point service `i` at the new revision (or force a new deployment); the
    /// rollout to watch.
    fn update_service(
        &self,
        targets: &[Target],
        i: usize,
        revision: NewRevision,
        health_checked: bool,
    ) -> Result<Launched> {
        let target = &targets[i];
        let current = &target.current;
        let service = &service_ref(target);
        let task_definition = match revision {
            NewRevision::TaskDefinition(arn) => arn,
            NewRevision::Same => &current.task_definition,
        };
        // A second signal may end the run while the call is out: say what may have changed.
        target.report.record(|o| o.stage.reach(Stage::UpdateSent));
        let refused = |e: Error| {
            let before = match revision {
                NewRevision::TaskDefinition(_) => Stage::Registered,
                NewRevision::Same => Stage::Unchanged,
            };
            target.report.record(|o| o.stage.back_to(before));
            e
        };
        let mut updated = self
            .ecs
            .update_service(&self.service_update(service, revision))
            .map_err(refused)?;
        if let Some(why) = updated.lost.take() {
            let Some(applied) = self.read_back(target, revision, task_definition, &why)? else {
                return Err(refused(Error::Aws {
                    step: "update-service".into(),
                    code: 255,
                    message: format!(
                        "its answer was lost ({why}); read back, {} does not run {task_definition}",
                        target.name()
                    ),
                }));
            };
            updated = applied;
        }
        let report = target.report;
        if let Some(why) = &updated.unreadable {
            report.progress(format!(
                "note: ECS accepted update-service, but its answer could not be read ({why}); \
                 watching the service as updated"
            ));
        }
        report.record(|o| {
            o.stage.reach(Stage::Updated);
            o.deployment_id = updated.deployment_id.clone();
            o.service_deployment_arn = updated.service_deployment.clone();
            o.strategy = Some(updated.strategy.as_str().to_string());
        });
        let seen = current
            .event_ids
            .iter()
            .chain(&updated.event_ids)
            .cloned()
            .collect();
        report.record(|o| o.controller = Some(target.current.controller().as_str().to_string()));
        Ok(Launched {
            target: i,
            driven: Driven::Ecs(Rollout::started(
                service,
                &updated,
                task_definition,
                health_checked,
            )),
            seen,
            definition: None,
        })
    }

    /// update-service's answer was lost: one read of the service tells whether ECS applied
    /// the update. Applied: what to follow, like any update; not applied: `None`; not
    /// known: an error that says so, and how to look.
    fn read_back(
        &self,
        target: &Target,
        revision: NewRevision,
        task_definition: &str,
        why: &str,
    ) -> Result<Option<Updated>> {
        let (cluster, name) = (&target.cluster, target.name());
        let until = Instant::now() + self.watch.side.per_call;
        let service = self
            .ecs
            .read_back(cluster, name, until)
            .map_err(|e| Error::Aws {
                step: "update-service".into(),
                code: 255,
                message: format!(
                    "its answer was lost ({why}), and reading the service back failed too ({e}): \
                 whether {name} runs {task_definition} is unknown. \
                 Check with: aws ecs describe-services --cluster {cluster} --services {name}"
                ),
            })?;
        let primary = service.primary.as_ref();
        let applied = match revision {
            NewRevision::TaskDefinition(arn) => service.task_definition == arn,
            NewRevision::Same => {
                let before = target.current.primary.as_ref().map(|p| &p.id);
                primary.is_some_and(|p| Some(&p.id) != before)
            }
        };
        if !applied {
            return Ok(None);
        }
        target.report.progress(format!(
            "note: update-service's answer was lost ({why}); read back, {name} runs {task_definition}: \
             following it as updated"
        ));
        Ok(Some(Updated {
            service_deployment: service.service_deployment.clone(),
            strategy: service.strategy,
            desired_count: primary.and_then(|p| p.desired_count),
            deployment_id: primary.map(|p| p.id.clone()),
            event_ids: service.event_ids.clone(),
            ..Updated::default()
        }))
    }

    /// An update failed (or a signal came) after some services were updated: those are
    /// rolled back with `--enable-rollback` (all or nothing), else left as they are.
    fn after_partial_update(&self, targets: &[Target], launched: Vec<Launched>, e: Error) -> Error {
        if launched.is_empty() {
            return e;
        }
        let why =
            format!("not watched: the release stopped before all services were updated ({e})");
        for one in &launched {
            targets[one.target].report.fail(Status::Failed, why.clone());
        }
        if !self.options.enable_rollback {
            return e;
        }
        let ended = launched.iter().map(|_| Ended::Unfinished).collect();
        match self.roll_back_all(targets, launched, ended, &why) {
            Error::Failed(rolled_back) => Error::Failed(format!("{e}; {rolled_back}")),
            other => other,
        }
    }

    /// Step 5 for every launched service at once.
    fn watch_all(
        &self,
        targets: &[Target],
        launched: &[Launched],
        goal: Goal,
        start: Start,
    ) -> Vec<Ended> {
        let watches = launched
            .iter()
            .map(|one| self.follower(targets[one.target].report, one, goal))
            .collect();
        let fail_fast = self.options.enable_rollback;
        let reads = Reads {
            ecs: self.ecs,
            codedeploy: Some(self.clients.codedeploy),
        };
        watch::together(
            reads,
            self.report,
            self.watch.timing.poll_interval,
            start,
            watches,
            fail_fast,
        )
    }

    /// The watch of one launched service, as its controller has it followed.
    fn follower<'w>(
        &'w self,
        report: &'w Report,
        one: &Launched,
        goal: Goal,
    ) -> Box<dyn Follow<'w> + 'w> {
        let with_logs = |watch: Watch<'w>| match &one.definition {
            Some(definition) => watch.with_logs(self.log_reader(), definition),
            None => watch,
        };
        match &one.driven {
            Driven::Ecs(rollout) => {
                let watch = Watch::new(
                    self.ecs,
                    report,
                    self.watch,
                    rollout.clone(),
                    one.seen.clone(),
                )
                .following(goal)
                .stopping_at(self.options.wait_until.clone());
                Box::new(with_logs(watch))
            }
            Driven::CodeDeploy(rollout) => {
                // The replacement's stopped tasks are those of the new revision.
                let tasks = Rollout {
                    service: rollout.service.clone(),
                    deployment_id: None,
                    task_definition: rollout.task_definition.clone(),
                    health_checked: false,
                    desired_count: None,
                    service_deployment: None,
                    strategy: crate::ecs::Strategy::Rolling,
                };
                let tasks = with_logs(Watch::new(self.ecs, report, self.watch, tasks, []));
                let event = match &self.options.wait_until {
                    Some(StopAt::Stage(event)) => Some(event.as_str()),
                    _ => None,
                };
                let watch = DeploymentWatch::new(
                    self.clients.codedeploy,
                    report,
                    self.watch,
                    rollout.clone(),
                )
                .stopping_at(event);
                Box::new(watch.with_tasks(tasks))
            }
        }
    }

    /// The end of the release: success when every service succeeded; otherwise roll back
    /// when asked, and an error naming each failed service.
    fn conclude(
        &self,
        targets: &[Target],
        launched: Vec<Launched>,
        ended: Vec<Ended>,
    ) -> Result<()> {
        if ended.iter().all(|e| matches!(e, Ended::Succeeded)) {
            return Ok(());
        }
        for (one, end) in launched.iter().zip(&ended) {
            if matches!(end, Ended::Failed(_)) {
                show_console_link(&targets[one.target], &one.driven);
            }
        }
        if let ([target], [one]) = (targets, launched.as_slice()) {
            let failure = match ended.into_iter().next() {
                Some(Ended::Failed(failure)) => *failure,
                _ => return Ok(()),
            };
            return Err(self.after_failure(failure, target, &one.driven));
        }
        let failed: Vec<String> = launched
            .iter()
            .zip(&ended)
            .filter_map(|(one, end)| match end {
                Ended::Failed(f) => Some(format!("{}: {}", targets[one.target].name(), f.why)),
                _ => None,
            })
            .collect();
        let summary = format!(
            "{} of {} services failed ({})",
            failed.len(),
            targets.len(),
            failed.join("; ")
        );
        if self.options.enable_rollback {
            let why = format!("rolled back with the release: {summary}");
            return Err(match self.roll_back_all(targets, launched, ended, &why) {
                Error::Failed(rolled_back) => Error::Failed(format!("{summary}; {rolled_back}")),
                other => other,
            });
        }
        let interrupted = ended
            .iter()
            .any(|e| matches!(e, Ended::Failed(f) if matches!(f.stop, Stop::Interrupted)));
        if interrupted {
            let names: Vec<&str> = targets.iter().map(|t| t.name()).collect();
            return Err(Error::Interrupted(format!(
                "stopped waiting; the deployments go on in ECS. Follow them with: aws ecs describe-services --cluster {} --services {}",
                targets[0].cluster,
                names.join(" ")
            )));
        }
        Err(Error::Failed(summary))
    }

    /// `--enable-rollback` with several services: roll every launched service back (also
    /// those that succeeded: the release is all or nothing). Every rollback is started
    /// before any is waited for; ECS carries them out side by side.
    fn roll_back_all(
        &self,
        targets: &[Target],
        launched: Vec<Launched>,
        ended: Vec<Ended>,
        why: &str,
    ) -> Error {
        let mut started = Vec::new();
        let mut codedeploy_started = Vec::new();
        for (one, end) in launched.into_iter().zip(ended) {
            let target = &targets[one.target];
            let succeeded = matches!(end, Ended::Succeeded);
            let mut failure = match end {
                Ended::Failed(failure) => *failure,
                Ended::Succeeded | Ended::Unfinished => {
                    target
                        .report
                        .record(|o| o.failure_reason = Some(why.to_string()));
                    watch::stopped(Stop::Failed(why.to_string()), why.to_string())
                }
            };
            let previous = &target.current.task_definition;
            let mut rollout = match one.driven {
                Driven::Ecs(rollout) => rollout,
                Driven::CodeDeploy(rollout) => {
                    if succeeded {
                        // Over: CodeDeploy can only deploy the previous revision again.
                        failure.codedeploy = Some(Box::new(rollout.succeeded()));
                    }
                    if let Ok(one) = self.begin_codedeploy_rollback(target, &rollout, failure) {
                        codedeploy_started.push(one);
                    }
                    continue;
                }
            };
            if succeeded {
                // ECS cannot roll back a service deployment that already succeeded.
                rollout.service_deployment = None;
            }
            match rollback::begin(
                self.ecs,
                target.report,
                self.watch,
                previous,
                &rollout,
                failure,
            ) {
                Begun::Over(_) => {}
                Begun::ByEcs(_, one) | Begun::Started(one) => started.push(one),
            }
        }
        rollback::finish_all(self.ecs, self.report, self.watch.timing, started);
        let timing = self.watch.timing;
        crate::codedeploy::rollback::wait_all(
            self.clients.codedeploy,
            self.report,
            timing,
            codedeploy_started,
        );
        let rolled_back = targets
            .iter()
            .filter(|t| {
                let rollback = t.report.outcome().rollback;
                rollback.is_some_and(|r| r.outcome == RollbackOutcome::Succeeded)
            })
            .count();
        Error::Failed(format!(
            "{rolled_back} of {} services rolled back",
            targets.len()
        ))
    }

    pub(super) fn force_new_deployment(
        &self,
        targets: &[Target],
        ignored_images: &[String],
    ) -> Result<()> {
        if !ignored_images.is_empty() {
            self.report.progress(format!(
                "note: --force-new-deployment redeploys the current task definition; ignoring -i {}",
                ignored_images.join(", -i ")
            ));
        }
        if self.options.dry_run {
            for target in targets {
                self.report.progress(format!(
                    "dry run: would force a new deployment of {} on {}",
                    target.name(),
                    target.current.task_definition
                ));
            }
            return Ok(());
        }
        let codedeploy_groups = self.codedeploy_groups(targets)?;
        let mut launched = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            target.report.fact(Fact::ForcingNewDeployment);
            let current = target.current.task_definition.clone();
            target.report.record(|o| {
                o.previous_task_definition = Some(current.clone());
                o.new_task_definition = Some(current);
            });
            let update = match &codedeploy_groups[i] {
                // CodeDeploy redeploys a revision through a deployment of it.
                Some(cd) => stop_if_interrupted("create-deployment").and_then(|()| {
                    self.create_deployment(targets, i, cd, &target.current.task_definition)
                }),
                None => stop_if_interrupted("update-service")
                    .and_then(|()| self.update_service(targets, i, NewRevision::Same, false)),
            };
            match update {
                Ok(one) => launched.push(one),
                Err(e) => return Err(self.after_partial_update(targets, launched, e)),
            }
        }
        let ended = self.watch_all(targets, &launched, Goal::Redeploy, Start::AfterChange);
        self.conclude(targets, launched, ended)
    }

    /// `--wait-only`: follow each service's newest deployment, however it was started,
    /// with the same watch as a deploy; change nothing.
    pub(super) fn wait_only(&self, targets: &[Target]) -> Result<()> {
        let mut launched = Vec::new();
        // The definitions ECS rolls out are read while CodeDeploy's groups are found.
        let (codedeploy_groups, described) = self.codedeploy_groups_beside(targets, || {
            let mut described: Vec<(String, Value)> = Vec::new();
            for target in targets {
                let current = &target.current;
                if current.controller() == Controller::CodeDeploy {
                    continue;
                }
                if current.primary.is_none() {
                    // Told below, in the order of the services.
                    break;
                }
                let td = &current.task_definition;
                if described.iter().all(|(arn, _)| arn != td) {
                    let answer = self.ecs.describe_task_definition(td, false)?.answer;
                    described.push((td.clone(), answer["taskDefinition"].clone()));
                }
            }
            Ok::<_, Error>(described)
        });
        let codedeploy_groups = codedeploy_groups?;
        let described = described?;
        for (i, target) in targets.iter().enumerate() {
            let current = &target.current;
            if let Some(cd) = &codedeploy_groups[i] {
                launched.push(self.codedeploy_in_progress(targets, i, cd)?);
                continue;
            }
            let Some(primary) = current.primary.clone() else {
                return Err(Error::Failed(format!(
                    "service '{}' in cluster '{}' has no deployment to follow",
                    target.name(),
                    target.cluster
                )));
            };
            let td = &current.task_definition;
            let Some((_, definition)) = described.iter().find(|(arn, _)| arn == td) else {
                return Err(Error::Failed(format!(
                    "the definition of {td} was not read"
                )));
            };
            let definition = definition.clone();
            let checked = taskdef::has_essential_health_check(&definition)?;
            launched.push(Launched {
                target: i,
                driven: Driven::Ecs(Rollout {
                    service: service_ref(target),
                    deployment_id: Some(primary.id),
                    task_definition: td.clone(),
                    health_checked: checked,
                    desired_count: primary.desired_count,
                    service_deployment: current.service_deployment.clone(),
                    strategy: current.strategy,
                }),
                seen: current.event_ids.clone(),
                definition: Some(definition),
            });
        }
        for one in &launched {
            let target = &targets[one.target];
            let Driven::Ecs(rollout) = &one.driven else {
                continue;
            };
            let id = rollout.deployment_id.clone().unwrap_or_default();
            target.report.progress(format!(
                "following deployment {id} of {} ({}); nothing will be changed",
                target.name(),
                rollout.task_definition
            ));
            target.report.record(|o| {
                o.new_task_definition = Some(rollout.task_definition.clone());
                o.deployment_id = Some(id.clone());
                o.service_deployment_arn = rollout.service_deployment.clone();
                o.strategy = Some(rollout.strategy.as_str().to_string());
                o.controller = Some(target.current.controller().as_str().to_string());
            });
        }
        let ended = self.watch_all(targets, &launched, Goal::NewRevision, Start::Now);
        self.conclude(targets, launched, ended)
    }

    /// `--continue-deployment`: release the pause holding each service's deployment (all
    /// found before any is released), then follow them: to their end, or with `--action
    /// rollback` until ECS's rollback is over (exit 0 once it succeeded).
    pub(super) fn continue_deployments(
        &self,
        targets: &[Target],
        hook_id: Option<&str>,
        action: HookAction,
    ) -> Result<()> {
        let mut paused = Vec::new();
        for target in targets {
            paused.push(self.pause_of(target, hook_id)?);
        }
        for (target, (arn, hook)) in targets.iter().zip(&paused) {
            stop_if_interrupted("continue-service-deployment")?;
            self.ecs.continue_service_deployment(arn, hook, action)?;
            target.report.progress(format!(
                "released hook {hook} of {} with {}",
                target.name(),
                action.as_str()
            ));
            target.report.record(|o| o.stage.reach(Stage::Updated));
        }
        if action == HookAction::Continue {
            return self.wait_only(targets);
        }
        let started = targets
            .iter()
            .zip(&paused)
            .map(|(target, (arn, _))| {
                rollback::Started::asked_of_ecs(
                    self.ecs,
                    target.report,
                    self.watch,
                    service_ref(target),
                    arn,
                )
            })
            .collect();
        rollback::finish_all(self.ecs, self.report, self.watch.timing, started);
        let back = |t: &Target| {
            t.report
                .outcome()
                .rollback
                .is_some_and(|r| r.outcome == RollbackOutcome::Succeeded)
        };
        let not_back: Vec<&str> = targets
            .iter()
            .filter(|t| !back(t))
            .map(|t| t.name())
            .collect();
        if !not_back.is_empty() {
            return Err(Error::Failed(format!(
                "the rollback of {} did not complete",
                not_back.join(", ")
            )));
        }
        for target in targets {
            // Asked for and done: the run did what it was told.
            target.report.record(|o| o.status = Status::RolledBack);
        }
        Ok(())
    }

    /// The service deployment of `target` and the pause hook to release (`hook_id`, or the
    /// one awaiting action); an error naming what was found when there is not one.
    fn pause_of(&self, target: &Target, hook_id: Option<&str>) -> Result<(String, String)> {
        let name = target.name();
        let Some(arn) = target.current.service_deployment.clone() else {
            return Err(Error::Failed(format!(
                "service '{name}' has no service deployment to continue"
            )));
        };
        let until = Instant::now() + self.watch.side.per_call;
        let sd = self.ecs.poll_service_deployment(&arn, until)?;
        let at = sd
            .lifecycle_stage
            .as_deref()
            .map_or_else(String::new, |stage| format!(" at {stage}"));
        let hooks: Vec<String> = sd
            .hooks
            .iter()
            .map(|h| format!("{} ({}) {}", h.id, h.what(), h.status.as_str()))
            .collect();
        let listed = match hooks.as_slice() {
            [] => "no hooks".to_string(),
            _ => format!("hooks: {}", hooks.join(", ")),
        };
        let awaiting: Vec<&str> = sd
            .hooks
            .iter()
            .filter(|h| h.status == HookStatus::AwaitingAction)
            .map(|h| h.id.as_str())
            .filter(|id| hook_id.is_none_or(|wanted| wanted == *id))
            .collect();
        match awaiting.as_slice() {
            [one] => Ok((arn, one.to_string())),
            [] => Err(Error::Failed(format!(
                "no paused deployment to continue: service '{name}''s deployment is {}{at}, {}{listed}",
                sd.status.as_str(),
                hook_id.map_or_else(String::new, |id| format!(
                    "hook {id} is not awaiting action; "
                )),
            ))),
            several => Err(Error::Failed(format!(
                "service '{name}''s deployment is held by several pauses ({}); name one with --hook-id",
                several.join(", ")
            ))),
        }
    }

    /// Step 5 failed: roll back when asked, else end with the failure's own error.
    fn after_failure(&self, failure: Failure, target: &Target, driven: &Driven) -> Error {
        let rollout = match driven {
            Driven::Ecs(rollout) => rollout,
            Driven::CodeDeploy(rollout) => {
                if !self.options.enable_rollback {
                    return codedeploy_error(failure, rollout);
                }
                let timing = self.watch.timing;
                return match self.begin_codedeploy_rollback(target, rollout, failure) {
                    Ok(started) => {
                        let cd = self.clients.codedeploy;
                        let mut errors = crate::codedeploy::rollback::wait_all(
                            cd,
                            self.report,
                            timing,
                            vec![started],
                        );
                        errors
                            .pop()
                            .unwrap_or_else(|| Error::Failed("rollback not waited for".into()))
                    }
                    Err(e) => e,
                };
            }
        };
        if !self.options.enable_rollback {
            return failure.into_error(&rollout.service);
        }
        rollback::roll_back(
            self.ecs,
            self.report,
            self.watch,
            &target.current.task_definition,
            rollout,
            failure,
        )
    }
}

/// The error a CodeDeploy watch's failure ends the run with when nothing is rolled back.
fn codedeploy_error(failure: Failure, rollout: &CodeDeployRollout) -> Error {
    match failure.stop {
        Stop::Aws(e) => e.into(),
        _ if crate::signals::interrupted() => Error::Interrupted(format!(
            "stopped waiting; deployment {} goes on in CodeDeploy. Follow it with: {}",
            rollout.deployment_id,
            rollout.follow_command()
        )),
        _ => Error::Failed(failure.why),
    }
}

pub(super) fn service_ref(target: &Target) -> ServiceRef {
    ServiceRef {
        cluster: target.cluster.clone(),
        name: target.name().to_string(),
    }
}

/// Why `--wait-until` cannot end the wait on `service`, if it cannot: a stage needs a
/// service deployment with stages (or a CodeDeploy lifecycle event), a pause a hook.
fn cannot_stop_at(service: &Service, stop_at: &StopAt) -> Option<String> {
    let name = &service.name;
    let is_event = |stage: &str| crate::codedeploy::LIFECYCLE_EVENTS.contains(&stage);
    match (service.controller(), stop_at) {
        (Controller::CodeDeploy, StopAt::Stage(event)) if is_event(event) => None,
        (Controller::CodeDeploy, StopAt::Stage(stage)) => Some(format!(
            "--wait-until {stage}: service '{name}' is deployed by CodeDeploy, whose lifecycle events are {}",
            crate::codedeploy::LIFECYCLE_EVENTS.join(", ")
        )),
        (Controller::CodeDeploy, StopAt::Paused) => Some(format!(
            "--wait-until paused: service '{name}' is deployed by CodeDeploy, which has no pause hooks \
             (wait for a lifecycle event instead)"
        )),
        (Controller::Ecs(strategy), _) if !strategy.is_managed() => Some(format!(
            "--wait-until: service '{name}' uses the {} strategy, whose deployments have no lifecycle stages or hooks",
            strategy.as_str()
        )),
        (Controller::Ecs(_), StopAt::Stage(stage)) if is_event(stage) => Some(format!(
            "--wait-until {stage}: that is a CodeDeploy lifecycle event, and service '{name}' is deployed by ECS"
        )),
        _ => None,
    }
}

/// Why a service cannot be deployed to, if it cannot.
fn undeployable(service: &Service, cluster: &str) -> Option<String> {
    let name = &service.name;
    if service.status != "ACTIVE" {
        return Some(format!(
            "service '{name}' in cluster '{cluster}' is {}, not ACTIVE",
            service.status
        ));
    }
    let controller = service.controller();
    let why = controller.refusal()?;
    Some(format!(
        "service '{name}' uses the {} deployment controller: {why}",
        controller.as_str()
    ))
}

/// Where to look at a failed service in the console.
fn show_console_link(target: &Target, driven: &Driven) {
    let url = match driven {
        Driven::Ecs(_) => console::service_deployments(&target.current.arn, &target.cluster),
        Driven::CodeDeploy(rollout) => {
            console::codedeploy_deployment(&target.current.arn, &rollout.deployment_id)
        }
    };
    let Some(url) = url else {
        return;
    };
    target.report.progress(format!("console: {url}"));
    target.report.record(|o| o.console_url = Some(url));
}
