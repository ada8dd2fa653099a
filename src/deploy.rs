//! The deploy flow, in five steps: find the current task definition, build the new one,
//! register it, point the service at it, wait. Several services (`-n` repeated) are one
//! release: one new revision per base definition, every service updated, then all watched
//! together and, with `--enable-rollback`, all rolled back when one fails. Also `-d` mode
//! (steps 1–3, and maybe a one-off task), `--force-new-deployment` (steps 4–5 only) and
//! `--wait-only` (step 5 only).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::codedeploy::CodeDeploy;
use crate::ecr::{self, Registry, Verdict};
use crate::ecs::{Ecs, TaskDefinition};
use crate::error::{Error, Result};
use crate::image::ImageChange;
use crate::logs::{LogReader, LogSource};
use crate::options::{Mode, Options, Revision, RunTask};
use crate::poll::Timing;
use crate::record::Fact;
use crate::report::Report;
use crate::secrets;
use crate::side::Budget;
use crate::watch;
use crate::{dry_run, run_task, signals, taskdef};

mod codedeploy;
mod release;

/// Where the deploy reaches AWS: ECS for every change, and read-only look-ups of
/// container logs and of images in ECR.
#[derive(Clone, Copy)]
pub struct Clients<'a> {
    pub ecs: &'a dyn Ecs,
    /// Deployments of CODE_DEPLOY services.
    pub codedeploy: &'a (dyn CodeDeploy + Sync),
    pub logs: &'a dyn LogSource,
    pub registry: &'a (dyn Registry + Sync),
}

pub struct Deploy<'a> {
    ecs: &'a dyn Ecs,
    clients: Clients<'a>,
    report: &'a Report,
    options: &'a Options,
    watch: watch::Settings,
    /// The answer of the ECR pre-flight started next to the first ECS call, if one was.
    /// The ECR pre-flight running beside the first reads: its verdict, and the flag that
    /// abandons it.
    preflight: RefCell<Option<(Receiver<Verdict>, Arc<AtomicBool>)>>,
}

/// A registered revision: its ARN and the definition it was registered from.
struct Registered {
    arn: String,
    definition: Value,
}

/// After a SIGINT/SIGTERM no new change starts: the run ends before `step`.
fn stop_if_interrupted(step: &str) -> Result<()> {
    if signals::interrupted() {
        return Err(Error::Interrupted(format!("interrupted before {step}")));
    }
    Ok(())
}

/// How long registration waits for an ECR pre-flight that has not answered yet.
const PREFLIGHT_GRACE: Duration = Duration::from_secs(3);

impl<'a> Deploy<'a> {
    pub fn new(clients: Clients<'a>, report: &'a Report, options: &'a Options) -> Deploy<'a> {
        let watch = watch::Settings {
            timing: Timing {
                timeout: options.timeout,
                poll_interval: options.poll_interval,
            },
            skip_deployments_check: options.skip_deployments_check,
            side: Budget::new(options.call_timeout),
        };
        Deploy {
            ecs: clients.ecs,
            clients,
            report,
            options,
            watch,
            preflight: RefCell::new(None),
        }
    }

    pub fn run(&self) -> Result<()> {
        let started = Instant::now();
        let images = self.images_to_verify();
        let registry = self.clients.registry;
        let budget = self.ecr_budget();
        let abandon = Arc::clone(&budget.abandon);
        // The ECR pre-flight runs next to the first ECS call, so that it costs no time.
        let result = std::thread::scope(|scope| {
            if !images.is_empty() {
                let (sender, receiver) = mpsc::channel();
                scope.spawn(move || sender.send(ecr::verify(registry, &images, &budget)));
                self.preflight
                    .replace(Some((receiver, Arc::clone(&abandon))));
            }
            let result = self.dispatch();
            // A check still running now is not awaited (the run failed before it was
            // needed): its call is killed, and no new one starts.
            abandon.store(true, Ordering::SeqCst);
            result
        });
        self.report.record(|o| {
            o.duration_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        });
        result
    }

    /// The ECR images `-i` names, to be checked before anything is registered (none with
    /// `--no-verify-image`; `-to` images are known only once the definition is built).
    fn images_to_verify(&self) -> Vec<String> {
        let revision = match &self.options.mode {
            Mode::Deploy { revision, .. } | Mode::Register { revision, .. } => revision,
            Mode::Redeploy { .. } | Mode::WaitOnly { .. } | Mode::Continue { .. } => {
                return Vec::new();
            }
        };
        match &revision.images {
            ImageChange::Images(images) if self.options.verify_image => images
                .iter()
                .map(ToString::to_string)
                .filter(|image| ecr::target(image).is_some())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The end of the pre-flight, just before the first registration: exit 15 when an
    /// image does not exist; a note when one could not be checked. `built` are the new
    /// definitions' images, checked here when no pre-flight could start earlier (`-to`).
    fn verified_images(&self, built: &[String]) -> Result<()> {
        let verdict = match self.preflight.take() {
            Some((receiver, abandon)) => {
                // Everything else is ready: the check may hold the deploy up a little, not
                // for its whole budget.
                let verdict = receiver.recv_timeout(PREFLIGHT_GRACE).or_else(|_| {
                    abandon.store(true, Ordering::SeqCst);
                    receiver.recv()
                });
                verdict.unwrap_or(Verdict::Ok)
            }
            None if self.options.verify_image => {
                let mut budget = self.ecr_budget();
                budget.length = budget.length.min(PREFLIGHT_GRACE);
                ecr::verify(self.clients.registry, built, &budget)
            }
            None => return Ok(()),
        };
        for note in verdict.into_result()? {
            self.report.progress(format!("note: {note}"));
        }
        Ok(())
    }

    /// The whole pre-flight's budget, from now: that of one piece of side work.
    fn ecr_budget(&self) -> ecr::Budget {
        ecr::Budget {
            started: Instant::now(),
            length: Budget::new(self.options.call_timeout).per_call,
            abandon: Arc::new(AtomicBool::new(false)),
        }
    }

    fn dispatch(&self) -> Result<()> {
        match &self.options.mode {
            Mode::Deploy {
                cluster,
                services,
                revision,
            } => {
                self.announce_images(&revision.images);
                // Its CLI starts up while the services are read.
                self.ecs
                    .expect_describe_task_definition(revision.copy_task_definition_tags);
                self.for_services(cluster, services, |targets| {
                    self.deploy_services(targets, revision)
                })
            }
            Mode::Redeploy {
                cluster,
                services,
                ignored_images,
            } => self.for_services(cluster, services, |targets| {
                self.force_new_deployment(targets, ignored_images)
            }),
            Mode::WaitOnly { cluster, services } => {
                self.for_services(cluster, services, |targets| self.wait_only(targets))
            }
            Mode::Continue {
                cluster,
                services,
                hook_id,
                action,
            } => self.for_services(cluster, services, |targets| {
                self.continue_deployments(targets, hook_id.as_deref(), *action)
            }),
            Mode::Register {
                task_definition,
                revision,
                run,
            } => self.register(task_definition, revision, run.as_ref()),
        }
    }

    fn announce_images(&self, images: &ImageChange) {
        for image in images.shown() {
            self.report.fact(Fact::UsingImage(image));
        }
    }

    // Step 1 ---------------------------------------------------------------------------

    /// The definition the new revision is based on: the one given (or, with
    /// `--use-latest-task-def`, the family's newest).
    fn current_definition(
        &self,
        task_definition: &str,
        revision: &Revision,
    ) -> Result<TaskDefinition> {
        if !self.options.dry_run {
            // The CLI of the registration starts up while this read runs.
            self.ecs.expect_register();
        }
        self.ecs.describe_task_definition(
            base_name(task_definition, revision),
            revision.copy_task_definition_tags,
        )
    }

    // Steps 2 and 3 ----------------------------------------------------------------------

    /// Build the new definition's input from `current` (exit 14 when no container would
    /// change); the changes are shown.
    fn build_new_revision(
        &self,
        current: &TaskDefinition,
        revision: &Revision,
    ) -> Result<(Value, Vec<String>)> {
        let described = &current.answer;
        let base = revision.base_definition.as_ref().unwrap_or(described);
        let new = taskdef::rebuild(base, &revision.images)?;
        for change in &new.changes {
            self.report.progress(format!(
                "  {}: {} -> {}",
                change.container, change.old_image, change.new_image
            ));
        }
        let images: Vec<String> = new.changes.iter().map(|c| c.new_image.clone()).collect();
        if let ImageChange::TagOnly(_) = revision.images {
            self.report.record(|o| o.images = images.clone());
        }
        let mut input = new.input;
        if revision.copy_task_definition_tags {
            input = taskdef::with_tags(input, &taskdef::tags_of(described)?);
        }
        Ok((input, images))
    }

    /// Register the built input; `None` on a dry run (which shows it instead).
    fn register_built(&self, current: &TaskDefinition, input: Value) -> Result<Option<Registered>> {
        if self.options.dry_run {
            dry_run::show(
                self.report,
                &current.answer,
                &input,
                self.options.show_env_values,
            );
            return Ok(None);
        }
        secrets::learn_definition(&input);
        stop_if_interrupted("register-task-definition")?;
        let arn = self.ecs.register_task_definition(&input)?;
        self.report.record(|o| {
            o.new_task_definition.get_or_insert_with(|| arn.clone());
        });
        Ok(Some(Registered {
            arn,
            definition: input,
        }))
    }

    // -d mode --------------------------------------------------------------------------

    fn register(
        &self,
        task_definition: &str,
        revision: &Revision,
        run: Option<&RunTask>,
    ) -> Result<()> {
        self.announce_images(&revision.images);
        let current = self.current_definition(task_definition, revision)?;
        self.report
            .fact(Fact::CurrentDefinition(current.arn.clone()));
        self.report
            .record(|o| o.previous_task_definition = Some(current.arn.clone()));
        let (input, images) = self.build_new_revision(&current, revision)?;
        self.verified_images(&images)?;
        let Some(new) = self.register_built(&current, input)? else {
            return Ok(());
        };
        self.report.fact(Fact::Registered(new.arn.clone()));
        match run {
            Some(run) => run_task::run(
                self.ecs,
                self.log_reader(),
                self.report,
                self.watch.timing,
                &new.arn,
                &new.definition,
                run,
            )?,
            None => self.report.fact(Fact::DefinitionUpdated),
        }
        self.prune_old_revisions(&new.arn);
        Ok(())
    }

    fn log_reader(&self) -> LogReader<'a> {
        LogReader {
            source: self.clients.logs,
            lines: self.options.log_lines,
            budget: Budget::new(self.options.call_timeout),
        }
    }

    // After success ---------------------------------------------------------------------

    /// `--max-definitions N` after a success. The deployment already succeeded, so a
    /// failure here is a warning, not a failed run.
    fn prune_old_revisions(&self, new_arn: &str) {
        if let Err(e) = self.deregister_outdated(new_arn) {
            self.report.progress(format!(
                "warning: old revisions were not all deregistered: {e}"
            ));
        }
    }

    /// Deregister the oldest ACTIVE revisions of the family beyond N, never the one just
    /// deployed, and never another family that merely shares the prefix.
    fn deregister_outdated(&self, new_arn: &str) -> Result<()> {
        let keep = self.options.max_definitions as usize;
        if keep == 0 {
            return Ok(());
        }
        stop_if_interrupted("deregister-task-definition")?;
        let family = taskdef::family_of(new_arn);
        let listed = self.ecs.list_task_definitions(family)?;
        let arns: Vec<&String> = listed
            .iter()
            .filter(|arn| taskdef::family_of(arn) == family)
            .collect();
        let outdated = arns.len().saturating_sub(keep);
        for arn in arns
            .into_iter()
            .take(outdated)
            .filter(|arn| *arn != new_arn)
        {
            stop_if_interrupted("deregister-task-definition")?;
            self.report.fact(Fact::Deregistering(arn.clone()));
            self.ecs.deregister_task_definition(arn)?;
        }
        Ok(())
    }
}

/// The definition a service's new revision is based on: the one it runs, or with
/// `--use-latest-task-def` its family (whose newest revision is then described).
fn base_name<'t>(task_definition: &'t str, revision: &Revision) -> &'t str {
    if revision.use_latest_task_def {
        taskdef::family_of(task_definition)
    } else {
        task_definition
    }
}
