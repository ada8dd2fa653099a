"""ECS: moto's ECS backend with services that run tasks over time. Deployments (rolling
updates and the staged BLUE_GREEN / LINEAR / CANARY strategies), service deployments and
their lifecycle stages, the circuit breaker, alarms and rollbacks, run-task, and the
request handlers that pass on what moto's own leave out."""

from __future__ import annotations

import datetime
import json
import math
import time
import uuid
from typing import Any

from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import (
    ECSException,
    EcsClientException,
    InvalidParameterException,
    TaskDefinitionNotFoundException,
)
from moto.utilities.utils import get_partition

from .config import (
    BREAKER_REASON,
    CANARY_DEFAULTS,
    CONFIG,
    FINISHED_STATUSES,
    LIFECYCLE_STAGES,
    LINEAR_DEFAULTS,
    MIN_RELAUNCH_DELAY,
    STAGED_STRATEGIES,
    STRATEGIES,
    TICKERS,
    as_datetime,
    image_fails,
    log,
    new_deployment_id,
    new_service_deployment_id,
)
from . import hooks
from .tasks import EmuTask


# --------------------------------------------------------------------------------------
# Deployments and service deployments (plain classes, rendered by moto's serializer
# from their snake_case attributes)
# --------------------------------------------------------------------------------------

class EmuDeployment:
    def __init__(self, service: Any, task_definition_arn: str, desired: int, now: float, kind: str):
        self.id = new_deployment_id()
        self.status = "PRIMARY"
        self.task_definition = task_definition_arn
        self.desired_count = desired
        self.pending_count = 0
        self.running_count = 0
        self.failed_tasks = 0
        self.created_at = as_datetime(now)
        self.updated_at = as_datetime(now)
        self.launch_type = service.launch_type
        self.platform_version = getattr(service, "platform_version", None)
        self.platform_family = "Linux" if service.launch_type == "FARGATE" else None
        self.network_configuration = service.network_configuration or None
        self.capacity_provider_strategy = getattr(service, "capacity_provider_strategy", None)
        self.rollout_state = "IN_PROGRESS"
        self.rollout_state_reason = f"ECS deployment {self.id} in progress."
        # "initial" (create-service), "update" (update-service) or "rollback"
        self.kind = kind
        self.launched = 0
        self.ready_at: float | None = None
        # the service revision this deployment runs: its id is the deployment id's number
        self.revision_arn = service_arn_prefix(service) + (
            f"service-revision/{service.cluster_name}/{service.name}/{self.id.split('/')[-1]}"
        )
        # the service deployment it belongs to (as its target, or as its rollback)
        self.service_deployment: EmuServiceDeployment | None = None
        # True while a staged (blue/green, linear, canary) deployment has not reached
        # SCALE_UP: no task is launched yet
        self.hold = False
        # True when the lifecycle stages, not the rolling logic, finish this deployment
        self.staged = False


def service_arn_prefix(service: Any) -> str:
    region = service.region_name
    return f"arn:{get_partition(region)}:ecs:{region}:{service._account_id}:"


def production_steps(config: dict[str, Any], strategy: str) -> list[tuple[float, float]]:
    """(production traffic weight, seconds it is held) of each step of the shift."""
    stage = CONFIG["stage_seconds"]
    minute = CONFIG["seconds_per_minute"]
    if strategy == "LINEAR":
        linear = {**LINEAR_DEFAULTS, **(config.get("linearConfiguration") or {})}
        step = float(linear["stepPercent"]) or LINEAR_DEFAULTS["stepPercent"]
        count = max(1, math.ceil(100.0 / step - 1e-9))
        pause = float(linear["stepBakeTimeInMinutes"]) * minute
        weights = [min(100.0, round(step * (k + 1), 1)) for k in range(count)]
        return [(w, stage + (pause if k < count - 1 else 0.0)) for k, w in enumerate(weights)]
    if strategy == "CANARY":
        canary = {**CANARY_DEFAULTS, **(config.get("canaryConfiguration") or {})}
        pause = float(canary["canaryBakeTimeInMinutes"]) * minute
        return [(float(canary["canaryPercent"]), stage + pause), (100.0, stage)]
    return [(100.0, stage)]


class EmuServiceDeployment:
    """One ECS service deployment: a target service revision replacing the source ones."""

    def __init__(
        self,
        service: Any,
        target: EmuDeployment,
        sources: list[EmuDeployment],
        now: float,
        breaker: bool,
    ):
        self.id = new_service_deployment_id()
        self.arn = service_arn_prefix(service) + (
            f"service-deployment/{service.cluster_name}/{service.name}/{self.id}"
        )
        self.service = service
        self.service_arn = service.arn
        self.cluster_arn = service.cluster_arn
        self.created_at = now
        self.started_at = now
        self.updated_at = now
        self.finished_at: float | None = None
        self.stopped_at: float | None = None
        self.target = target
        self.sources = list(sources)
        self.configuration = json.loads(json.dumps(getattr(service, "deployment_configuration", None) or {}))
        self.strategy = self.configuration.get("strategy") or "ROLLING"
        self.status = "IN_PROGRESS"
        self.status_reason: str | None = None
        # lifecycle stages: only deployments of a staged strategy walk them
        self.staged = self.strategy in STAGED_STRATEGIES and target.kind == "update"
        self.stage: str | None = LIFECYCLE_STAGES[0] if self.staged else None
        self.stage_at = now
        self.scaled_at: float | None = None
        self.steps: list[tuple[float, float]] = []
        # lifecycle hooks: every run so far, and where the production traffic shift is
        self.hook_runs: list[hooks.HookRun] = []
        self.shift: dict[str, Any] | None = None
        self.production_weight = 0.0
        self.test_weight = 0.0
        self.rollback: dict[str, Any] | None = None
        self.restore: EmuDeployment | None = None
        # a requested rollback or stop takes effect at this time
        self.action_at: float | None = None
        self.breaker_enabled = breaker
        self.breaker_status = "MONITORING" if breaker else "DISABLED"
        alarms = self.configuration.get("alarms") or {}
        self.alarm_names = list(alarms.get("alarmNames") or [])
        self.alarms_enabled = bool(alarms.get("enable")) and bool(self.alarm_names)
        self.alarms_rollback = bool(alarms.get("rollback"))
        self.alarm_status = "MONITORING" if self.alarms_enabled else "DISABLED"
        self.triggered_alarms: list[str] = []
        self.alarm_at: float | None = None
        # where a rollback goes: the source revision that last completed, else the newest
        good = getattr(service, "emu_good_task_definition", None)
        back = next((d for d in self.sources if d.task_definition == good), None)
        if back is None and self.sources:
            back = self.sources[0]
        self.source_task_definition = back.task_definition if back else None
        self.source_revision_arn = back.revision_arn if back else None
        self.source_deployment_id = back.id if back else None
        target.service_deployment = self
        target.staged = self.staged
        target.hold = self.staged

    @property
    def active(self) -> bool:
        return self.status not in FINISHED_STATUSES

    def touch(self, now: float) -> None:
        self.updated_at = max(self.updated_at, now)

    def enter(self, stage: str, when: float) -> None:
        self.stage = stage
        self.stage_at = when
        self.touch(when)
        log(f"service {self.service.name}: service deployment {self.id} stage {stage}")

    def finish(self, status: str, now: float, reason: str | None = None) -> None:
        self.status = status
        if reason is not None:
            self.status_reason = reason
        if status == "STOPPED":
            self.stopped_at = now
        else:
            self.finished_at = now
        if self.breaker_status == "MONITORING":
            self.breaker_status = "MONITORING_COMPLETE"
        if self.alarm_status == "MONITORING":
            self.alarm_status = "MONITORING_COMPLETE"
        self.action_at = None
        self.touch(now)
        log(f"service {self.service.name}: service deployment {self.id} {status}")

    def alarm_fires(self) -> bool:
        # a new service is steady at once: only update deployments are watched
        name = CONFIG["trigger_alarm"]
        return (
            self.target.kind == "update"
            and self.alarms_enabled
            and bool(name)
            and name in self.alarm_names
        )

    # -- the DescribeServiceDeployments shapes -------------------------------------
    def _revision(self, arn: str, production: float | None, test: float | None) -> dict[str, Any]:
        requested = running = pending = 0
        if self.service.status == "ACTIVE":
            for deployment in self.service.deployments:
                if deployment.revision_arn == arn:
                    requested += deployment.desired_count
                    running += deployment.running_count
                    pending += deployment.pending_count
        summary: dict[str, Any] = {
            "arn": arn,
            "requestedTaskCount": requested,
            "runningTaskCount": running,
            "pendingTaskCount": pending,
        }
        if production is not None:
            summary["requestedTestTrafficWeight"] = test
            summary["requestedProductionTrafficWeight"] = production
        return summary

    def describe(self) -> dict[str, Any]:
        weights = self.strategy in STAGED_STRATEGIES and self.target.kind == "update"
        source_arns: list[str] = []
        for deployment in self.sources:
            if deployment.revision_arn not in source_arns:
                source_arns.append(deployment.revision_arn)
        sources = []
        for index, arn in enumerate(source_arns):
            first = index == 0
            sources.append(
                self._revision(
                    arn,
                    (100.0 - self.production_weight if first else 0.0) if weights else None,
                    (100.0 - self.test_weight if first else 0.0) if weights else None,
                )
            )
        answer: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": as_datetime(self.created_at),
            "startedAt": as_datetime(self.started_at),
        }
        if self.finished_at is not None:
            answer["finishedAt"] = as_datetime(self.finished_at)
        if self.stopped_at is not None:
            answer["stoppedAt"] = as_datetime(self.stopped_at)
        answer["updatedAt"] = as_datetime(self.updated_at)
        answer["sourceServiceRevisions"] = sources
        answer["targetServiceRevision"] = self._revision(
            self.target.revision_arn,
            self.production_weight if weights else None,
            self.test_weight if weights else None,
        )
        answer["status"] = self.status
        if self.status_reason:
            answer["statusReason"] = self.status_reason
        if self.stage:
            answer["lifecycleStage"] = self.stage
        hooks.describe_into(self, answer)
        answer["deploymentConfiguration"] = self.configuration
        if self.rollback:
            answer["rollback"] = dict(self.rollback, startedAt=as_datetime(self.rollback["startedAt"]))
        if self.breaker_enabled:
            answer["deploymentCircuitBreaker"] = {
                "status": self.breaker_status,
                "failureCount": self.target.failed_tasks,
                "threshold": CONFIG["failure_threshold"],
            }
        else:
            answer["deploymentCircuitBreaker"] = {"status": "DISABLED"}
        alarms: dict[str, Any] = {"status": self.alarm_status}
        if self.alarm_names:
            alarms["alarmNames"] = list(self.alarm_names)
        if self.triggered_alarms:
            alarms["triggeredAlarmNames"] = list(self.triggered_alarms)
        answer["alarms"] = alarms
        return answer

    def brief(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "startedAt": as_datetime(self.started_at),
            "createdAt": as_datetime(self.created_at),
        }
        if self.finished_at is not None:
            answer["finishedAt"] = as_datetime(self.finished_at)
        answer["targetServiceRevisionArn"] = self.target.revision_arn
        answer["status"] = self.status
        if self.status_reason:
            answer["statusReason"] = self.status_reason
        return answer


def subject_of(service: Any, task_set: Any = None) -> str:
    """How ECS's service events name a service, or one of its task sets."""
    if isinstance(task_set, EmuTaskSet):
        return f"(service {service.name}, taskSet {task_set.id})"
    return f"(service {service.name})"


def target_group_name(arn: str | None) -> str | None:
    """The name in arn:...:targetgroup/NAME/ID."""
    parts = (arn or "").split(":targetgroup/", 1)
    if len(parts) != 2 or not parts[1]:
        return None
    return parts[1].split("/")[0] or None


class EmuTaskSet:
    """A task set of a CODE_DEPLOY service: the tasks of one task definition that one
    target group serves (rendered as ECS's TaskSet shape). The first comes with
    create-service; CodeDeploy deployments add a replacement and remove the original."""

    def __init__(
        self,
        service: Any,
        task_definition_arn: str,
        now: float,
        *,
        kind: str,
        status: str,
        started_by: str | None = None,
        external_id: str | None = None,
        load_balancers: list[dict[str, Any]] | None = None,
        target_group: str | None = None,
    ):
        self.id = new_deployment_id()
        self.task_set_arn = service_arn_prefix(service) + (
            f"task-set/{service.cluster_name}/{service.name}/{self.id}"
        )
        self.service_arn = service.arn
        self.cluster_arn = service.cluster_arn
        self.started_by = started_by
        self.external_id = external_id
        self.status = status
        self.task_definition = task_definition_arn
        self.computed_desired_count = 0
        self.pending_count = 0
        self.running_count = 0
        self.created_at = as_datetime(now)
        self.updated_at = as_datetime(now)
        self.launch_type = service.launch_type
        fargate = service.launch_type == "FARGATE"
        self.platform_version = "1.4.0" if fargate else None
        self.platform_family = "Linux" if fargate else None
        self.network_configuration = service.network_configuration or None
        self.capacity_provider_strategy = getattr(service, "capacity_provider_strategy", None)
        self.load_balancers = list(load_balancers if load_balancers is not None else service.load_balancers or [])
        self.service_registries = list(service.service_registries or [])
        self.scale = {"value": 100.0, "unit": "PERCENT"}
        self.stability_status = "STABILIZING"
        self.stability_status_at = as_datetime(now)
        self.tags: list[dict[str, str]] = []
        # -- the emulator's bookkeeping (not part of the TaskSet shape) ---------------
        # "initial" (create-service), "replacement" (a CodeDeploy deployment)
        self.kind = kind
        self.launched = 0
        self.failed_tasks = 0
        # True once its tasks failed --failure-threshold times: it launches no more
        self.frozen = False
        # the share of production / test traffic its target group gets (CodeDeploy)
        self.traffic_weight = 100.0 if status == "PRIMARY" else 0.0
        self.test_traffic_weight = 0.0
        self.target_group = target_group
        # a DRAINING task set is removed from the service at this time
        self.remove_at: float | None = None

    @property
    def desired_count(self) -> int:
        """The number of tasks it keeps (the name _launch reads)."""
        return self.computed_desired_count

    def touch(self, now: float) -> None:
        self.updated_at = as_datetime(now)


# --------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------

# describe-services lists the task sets in this order
TASK_SET_ORDER = {"PRIMARY": 0, "ACTIVE": 1, "DRAINING": 2}

DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "alarms": {"alarmNames": [], "rollback": False, "enable": False},
    "strategy": "ROLLING",
}


def validate_deployment_configuration(config: dict[str, Any]) -> None:
    strategy = config.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise InvalidParameterException(
            f"Invalid deployment strategy '{strategy}'. Valid values: {', '.join(STRATEGIES)}."
        )
    bake = config.get("bakeTimeInMinutes")
    if bake is not None and not 0 <= int(bake) <= 1440:
        raise InvalidParameterException("bakeTimeInMinutes must be between 0 and 1440.")
    linear = config.get("linearConfiguration") or {}
    if linear.get("stepPercent") is not None and not 3.0 <= float(linear["stepPercent"]) <= 100.0:
        raise InvalidParameterException("linearConfiguration.stepPercent must be between 3.0 and 100.0.")
    canary = config.get("canaryConfiguration") or {}
    if canary.get("canaryPercent") is not None and not 0.1 <= float(canary["canaryPercent"]) <= 100.0:
        raise InvalidParameterException("canaryConfiguration.canaryPercent must be between 0.1 and 100.0.")
    alarms = config.get("alarms")
    if alarms is not None and not isinstance(alarms.get("alarmNames", []), list):
        raise InvalidParameterException("alarms.alarmNames must be a list.")
    hooks.validate_lifecycle_hooks(config.get("lifecycleHooks"))


class EmulatorBackend(ecs_models.EC2ContainerServiceBackend):
    """moto's ECS backend, with services and tasks that behave over time."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        # every service deployment of this account and region, oldest first
        self.service_deployments: dict[str, EmuServiceDeployment] = {}

    # -- task definitions ----------------------------------------------------------
    def register_task_definition(self, family: str, container_definitions: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        task_definition = super().register_task_definition(family, container_definitions, *args, **kwargs)
        task_definition.registered_at = as_datetime(time.time())
        task_definition.registered_by = f"arn:aws:iam::{self.account_id}:root"
        return task_definition

    def deregister_task_definition(self, task_definition_str: str) -> Any:
        task_definition = super().deregister_task_definition(task_definition_str)
        task_definition.deregistered_at = as_datetime(time.time())
        return task_definition

    def describe_task_definition(self, task_definition_str: str) -> Any:
        name = task_definition_str.split("/")[-1]
        if ":" not in name:
            # a bare family means its latest ACTIVE revision
            revisions = self.task_definitions.get(name, {})
            active = [rev for rev, td in revisions.items() if td.status == "ACTIVE"]
            if not active:
                raise TaskDefinitionNotFoundException()
            return revisions[max(active)]
        return super().describe_task_definition(task_definition_str)

    def list_task_definitions(self, family_prefix: str | None, status: str = "ACTIVE") -> list[str]:
        found = []
        for family, revisions in self.task_definitions.items():
            if family_prefix is not None and family != family_prefix:
                continue
            for revision, td in revisions.items():
                if status is None or td.status == status:
                    found.append((family, revision, td.arn))
        found.sort()
        return [arn for _, _, arn in found]

    # -- cluster bookkeeping: computed in tick() instead ------------------------------
    def update_cluster_resources(self, *args: Any, **kwargs: Any) -> None:
        return None

    # -- services ------------------------------------------------------------------
    def create_service(self, cluster_str: str, service_name: str, *args: Any, **kwargs: Any) -> Any:
        cluster = self._get_cluster(cluster_str)
        existing = self.services.get(f"{cluster.name}:{service_name}")
        if existing is not None and existing.status == "ACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        service = super().create_service(cluster_str, service_name, *args, **kwargs)
        now = time.time()
        service.created_at = as_datetime(now)
        service.created_by = f"arn:aws:iam::{self.account_id}:root"
        service.deployment_configuration = json.loads(json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))
        for attribute, value in getattr(self, "pending_service_extras", {}).items():
            setattr(service, attribute, value)
        service.events = []
        # the task definition of the last COMPLETED deployment: where a rollback goes
        service.emu_good_task_definition = None
        service.deployments = []
        if not service.network_configuration:
            service.network_configuration = None  # ECS leaves it out without awsvpc
        service.current_service_deployment = None
        service.current_service_revisions = []
        if service.deployment_controller.get("type", "ECS") == "ECS" and service.task_definition:
            deployment = EmuDeployment(service, service.task_definition, service.desired_count, now, "initial")
            service.deployments = [deployment]
            self._start_service_deployment(service, deployment, [], now)
            self._launch(service, deployment, service.desired_count, now, immediate=True)
            self._reconcile(service, now)
        elif service.deployment_controller.get("type") == "CODE_DEPLOY" and service.task_definition:
            # one PRIMARY task set whose tasks are up at once, like a new ECS service's
            service.task_sets = []
            target_group = None
            for balancer in service.load_balancers or []:
                target_group = target_group_name(balancer.get("targetGroupArn")) or target_group
            task_set = EmuTaskSet(
                service, service.task_definition, now, kind="initial", status="PRIMARY", target_group=target_group
            )
            task_set.computed_desired_count = service.desired_count
            service.task_sets.append(task_set)
            self._launch(service, task_set, service.desired_count, now, immediate=True)
            self._reconcile(service, now)
        return service

    def update_service(self, service_properties: dict[str, Any]) -> Any:
        props = dict(service_properties)
        cluster_str = props.pop("cluster", None) or "default"
        service_str = props.pop("service")
        td_str = props.pop("task_definition", None)
        force = bool(props.pop("force_new_deployment", False))
        desired = props.pop("desired_count", None)
        service = self._get_service(cluster_str, service_str)
        if service.status != "ACTIVE":
            raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")

        new_arn = None
        if td_str:
            task_definition = self.describe_task_definition(td_str)
            if task_definition.status != "ACTIVE":
                raise EcsClientException("TaskDefinition is inactive")
            new_arn = task_definition.arn
        changes_revision = bool(new_arn) and new_arn != service.task_definition
        controller = service.deployment_controller.get("type", "ECS")
        if controller == "CODE_DEPLOY" and (changes_revision or force):
            raise InvalidParameterException(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
                "Use AWS CodeDeploy to trigger a new deployment."
            )
        if controller != "ECS" and (changes_revision or force):
            raise InvalidParameterException(
                f"Unable to update task definition on services with a {controller} deployment controller."
            )

        for name, value in props.items():
            if value is None:
                continue
            if name == "deployment_configuration":
                validate_deployment_configuration(value)
                # members left out keep their values (the circuit breaker in particular)
                merged = dict(getattr(service, name, None) or {})
                merged.update(value)
                value = merged
            setattr(service, name, value)
        now = time.time()
        self.tick(now)
        if desired is not None:
            service.desired_count = int(desired)

        if controller == "ECS" and (changes_revision or force):
            if new_arn:
                service.task_definition = new_arn
            deployment = EmuDeployment(service, service.task_definition, service.desired_count, now, "update")
            sources = list(service.deployments)
            self._promote(service, deployment)
            self._start_service_deployment(service, deployment, sources, now)
            log(f"service {service.name}: new deployment {deployment.id} -> {service.task_definition}")
        elif service.deployments:
            service.deployments[0].desired_count = service.desired_count
        self._reconcile(service, now)
        return service

    def delete_service(self, cluster_name: str, service_name: str, force: bool) -> Any:
        service = super().delete_service(cluster_name, service_name, force)
        now = time.time()
        for task in self._service_tasks(service):
            if task.live:
                task.stop(now, "ServiceSchedulerInitiated", "Service deleted")
        service.desired_count = 0
        service.deployments = []
        service.task_sets = [ts for ts in service.task_sets if not isinstance(ts, EmuTaskSet)]
        for service_deployment in self._service_deployments_of(service):
            if service_deployment.active:
                service_deployment.finish("STOPPED", now, "The service was deleted.")
        self._refresh_counts(service, now)
        return service

    # -- service deployments -------------------------------------------------------
    def _service_deployments_of(self, service: Any) -> list[EmuServiceDeployment]:
        return [sd for sd in self.service_deployments.values() if sd.service is service]

    def _start_service_deployment(
        self, service: Any, target: EmuDeployment, sources: list[EmuDeployment], now: float
    ) -> EmuServiceDeployment:
        current = self.service_deployments.get(getattr(service, "current_service_deployment", None) or "")
        if current is not None and current.active:
            current.finish(
                "STOPPED",
                now,
                "ECS stopped the service deployment because a newer service deployment started.",
            )
        enabled, _ = self._breaker(service)
        service_deployment = EmuServiceDeployment(service, target, sources, now, enabled)
        self.service_deployments[service_deployment.arn] = service_deployment
        service.current_service_deployment = service_deployment.arn
        log(f"service {service.name}: service deployment {service_deployment.arn} ({service_deployment.strategy})")
        return service_deployment

    def describe_service_deployments(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        if not arns:
            raise InvalidParameterException("serviceDeploymentArns cannot be empty.")
        if len(arns) > 20:
            raise InvalidParameterException("serviceDeploymentArns cannot have more than 20 elements.")
        found, failures = [], []
        for arn in arns:
            service_deployment = self.service_deployments.get(arn)
            if service_deployment is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(service_deployment.describe())
        return found, failures

    def list_service_deployments(
        self,
        cluster_str: str,
        service_str: str,
        statuses: list[str] | None,
        created: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        service = self._get_service(cluster_str, service_str)
        after = _epoch((created or {}).get("after"))
        before = _epoch((created or {}).get("before"))
        briefs = []
        for service_deployment in reversed(self._service_deployments_of(service)):
            if statuses and service_deployment.status not in statuses:
                continue
            if after is not None and service_deployment.created_at < after:
                continue
            if before is not None and service_deployment.created_at > before:
                continue
            briefs.append(service_deployment.brief())
        return briefs

    def stop_service_deployment(self, arn: str, stop_type: str | None) -> str:
        stop_type = stop_type or "ROLLBACK"
        if stop_type not in ("ROLLBACK", "ABORT"):
            raise InvalidParameterException(f"Invalid stopType '{stop_type}'. Valid values: ABORT, ROLLBACK.")
        service_deployment = self.service_deployments.get(arn)
        if service_deployment is None:
            raise ECSException(
                "ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist."
            )
        now = time.time()
        self.tick(now)
        status = service_deployment.status
        if status in ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
            return arn  # already being stopped or rolled back: that goes on
        if status not in ("PENDING", "IN_PROGRESS"):
            raise InvalidParameterException(
                f"The service deployment {arn} is {status} and can no longer be stopped."
            )
        service = service_deployment.service
        target = service_deployment.target
        if stop_type == "ROLLBACK":
            self._request_rollback(
                service,
                service_deployment,
                now,
                "Service deployment rolled back: stopped by the user (stop type ROLLBACK).",
                f"ECS deployment {target.id} stopped: rollback requested by the user.",
            )
        else:
            self._freeze(service, target, now, f"ECS deployment {target.id} stopped by the user.")
            service_deployment.status = "STOP_REQUESTED"
            service_deployment.status_reason = "Service deployment stopped by the user (stop type ABORT)."
            service_deployment.action_at = now + CONFIG["stage_seconds"]
            service_deployment.touch(now)
            self._event(service, now, f"(service {service.name}) (deployment {target.id}) deployment stopped by the user.")
        self._reconcile(service, now)
        return arn

    def _freeze(self, service: Any, deployment: EmuDeployment, now: float, reason: str) -> None:
        """The deployment launches no more tasks and never completes."""
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = reason
        deployment.updated_at = as_datetime(now)

    def _request_rollback(
        self,
        service: Any,
        service_deployment: EmuServiceDeployment,
        now: float,
        reason: str,
        rollout_reason: str,
    ) -> None:
        self._freeze(service, service_deployment.target, now, rollout_reason)
        service_deployment.status = "ROLLBACK_REQUESTED"
        service_deployment.status_reason = reason
        service_deployment.action_at = now + CONFIG["stage_seconds"]
        service_deployment.touch(now)
        self._event(
            service,
            now,
            f"(service {service.name}) (deployment {service_deployment.target.id}) rollback requested: {reason}",
        )

    def _roll_back(self, service: Any, service_deployment: EmuServiceDeployment, now: float) -> None:
        """A requested rollback starts: the source revision comes back through a new deployment."""
        target = service_deployment.target
        by_target = [t for t in self._service_tasks(service) if t.started_by == target.id and t.live]
        self._stop_tasks(service, by_target, now, target.id)
        target.desired_count = 0
        good = service_deployment.source_task_definition
        if good is None or service.status != "ACTIVE":
            service_deployment.finish("ROLLBACK_FAILED", now, "There is no previous service revision to roll back to.")
            return
        service.task_definition = good
        restore = EmuDeployment(service, good, service.desired_count, now, "rollback")
        self._attach_rollback(service_deployment, restore, now, service_deployment.status_reason or "")
        self._promote(service, restore)
        self._event(service, now, f"(service {service.name}) rolling back to deployment {service_deployment.source_deployment_id}.")

    def _attach_rollback(
        self, service_deployment: EmuServiceDeployment, restore: EmuDeployment, now: float, reason: str
    ) -> None:
        if service_deployment.source_revision_arn and restore.task_definition == service_deployment.source_task_definition:
            restore.revision_arn = service_deployment.source_revision_arn
        restore.service_deployment = service_deployment
        service_deployment.restore = restore
        service_deployment.status = "ROLLBACK_IN_PROGRESS"
        service_deployment.status_reason = reason
        service_deployment.rollback = {
            "reason": reason,
            "startedAt": now,
            "serviceRevisionArn": restore.revision_arn,
        }
        hooks.rollback_runs(service_deployment, now)
        service_deployment.production_weight = 0.0
        service_deployment.test_weight = 0.0
        service_deployment.action_at = None
        service_deployment.touch(now)

    def _alarm(self, service: Any, service_deployment: EmuServiceDeployment, now: float) -> None:
        name = CONFIG["trigger_alarm"]
        target = service_deployment.target
        service_deployment.alarm_status = "TRIGGERED"
        service_deployment.triggered_alarms = [name]
        self._event(service, now, f"(service {service.name}) (deployment {target.id}) deployment failed: alarm {name} is in ALARM state.")
        rollout_reason = f"ECS deployment {target.id} failed: CloudWatch alarm {name} is in ALARM state."
        if service_deployment.alarms_rollback:
            self._request_rollback(
                service,
                service_deployment,
                now,
                f"Service deployment rolled back because the CloudWatch alarm {name} went into ALARM state.",
                rollout_reason,
            )
        else:
            self._freeze(service, target, now, rollout_reason)
            service_deployment.finish(
                "STOPPED", now, f"Service deployment stopped because the CloudWatch alarm {name} went into ALARM state."
            )

    def _drive(self, service: Any, service_deployment: EmuServiceDeployment, now: float) -> None:
        """Move the service's current service deployment on: requests, alarms, stages."""
        sd = service_deployment
        if sd.status == "ROLLBACK_REQUESTED" and sd.action_at is not None and now >= sd.action_at:
            self._roll_back(service, sd, now)
        if sd.status == "STOP_REQUESTED" and sd.action_at is not None and now >= sd.action_at:
            sd.finish("STOPPED", now)
        if sd.status != "IN_PROGRESS" or sd.target.rollout_state != "IN_PROGRESS":
            return
        target = sd.target
        if service.deployments[0] is not target:
            return

        def scaled() -> bool:
            mine = [t for t in self._service_tasks(service) if t.started_by == target.id]
            return sum(1 for t in mine if t.up) >= target.desired_count

        if not sd.staged:
            # a rolling update: an alarm fires once the new tasks are up
            if sd.alarm_fires() and scaled():
                self._alarm(service, sd, now)
            return
        stage_seconds = CONFIG["stage_seconds"]
        while sd.status == "IN_PROGRESS":
            stage = sd.stage
            if stage == "SCALE_UP":
                if not scaled():
                    sd.scaled_at = None
                    return
                if sd.scaled_at is None:
                    sd.scaled_at = now
                due = max(sd.stage_at + stage_seconds, sd.scaled_at)
            elif stage == "PRODUCTION_TRAFFIC_SHIFT":
                # its traffic steps, with the PRE_ / PRODUCTION_TRAFFIC_SHIFT hooks of each
                due = hooks.production_shift(self, sd, now)
            elif stage == "BAKE_TIME":
                bake = float(sd.configuration.get("bakeTimeInMinutes") or 0) * CONFIG["seconds_per_minute"]
                due = sd.stage_at + bake
                if sd.alarm_fires():
                    fire_at = sd.stage_at + bake / 2.0
                    if now >= fire_at:
                        self._alarm(service, sd, now)
                        return
            else:
                # the stage lasts --stage-seconds and until its lifecycle hooks are done
                due = max(sd.stage_at + stage_seconds, hooks.gate(self, sd, stage, sd.stage_at, now))
            if now < due:
                return
            if stage == "CLEAN_UP":
                self._complete(service, target, now)
                return
            following = LIFECYCLE_STAGES[LIFECYCLE_STAGES.index(stage) + 1]
            sd.enter(following, due)
            if following == "SCALE_UP":
                target.hold = False
            elif following == "TEST_TRAFFIC_SHIFT":
                sd.test_weight = 100.0
            elif following == "PRODUCTION_TRAFFIC_SHIFT":
                sd.steps = production_steps(sd.configuration, sd.strategy)
            elif following == "POST_PRODUCTION_TRAFFIC_SHIFT":
                sd.production_weight = 100.0
            elif following == "CLEAN_UP":
                old = [t for t in self._service_tasks(service) if t.started_by != target.id and t.live]
                self._stop_tasks(service, old, now, target.id)
                for deployment in service.deployments[1:]:
                    deployment.desired_count = 0

    def _complete(self, service: Any, primary: EmuDeployment, now: float) -> None:
        """The PRIMARY deployment is done: the others are drained and removed."""
        old = [t for t in self._service_tasks(service) if t.started_by != primary.id and t.live]
        self._stop_tasks(service, old, now, primary.id)
        service.deployments = [primary]
        primary.rollout_state = "COMPLETED"
        primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
        primary.updated_at = as_datetime(now)
        service.emu_good_task_definition = primary.task_definition
        self._event(service, now, f"(service {service.name}) (deployment {primary.id}) deployment completed.")
        self._event(service, now, f"(service {service.name}) has reached a steady state.")
        sd = primary.service_deployment
        if sd is None or not sd.active:
            return
        if primary is sd.target and sd.status == "IN_PROGRESS":
            sd.finish("SUCCESSFUL", now)
        elif primary is sd.restore:
            sd.finish("ROLLBACK_SUCCESSFUL", now)

    # -- tasks ---------------------------------------------------------------------
    def run_task(
        self,
        cluster_str: str,
        task_definition_str: str,
        count: int,
        overrides: dict[str, Any] | None,
        started_by: str,
        tags: list[dict[str, str]] | None,
        launch_type: str | None,
        networking_configuration: dict[str, Any] | None = None,
        group: str | None = None,
        platform_version: str | None = None,
    ) -> list[EmuTask]:
        if launch_type and launch_type not in ("EC2", "FARGATE", "EXTERNAL"):
            raise InvalidParameterException("launch type should be one of [EC2,FARGATE,EXTERNAL]")
        cluster = self._get_cluster(cluster_str)
        task_definition = self.describe_task_definition(task_definition_str)
        if launch_type == "FARGATE" and "FARGATE" not in task_definition.compatibilities:
            raise InvalidParameterException(
                "Task definition does not support launch_type FARGATE."
            )
        if task_definition.network_mode == "awsvpc" and not networking_configuration:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        if count is None or count < 1 or count > 10:
            raise InvalidParameterException("count must be between 1 and 10.")
        now = time.time()
        start = CONFIG["task_start_delay"]
        tasks = []
        for _ in range(count):
            task = EmuTask(
                self,
                cluster,
                task_definition,
                now=now,
                started_by=started_by or "",
                group=group or f"family:{task_definition.family}",
                launch_type=launch_type,
                platform_version=platform_version,
                network_configuration=networking_configuration,
                overrides=overrides,
                tags=tags,
                pending_at=now + start / 4.0,
                start_at=now + start,
                stop_at=now + start + CONFIG["run_task_duration"],
            )
            self.tasks.setdefault(cluster.name, {})[task.task_arn] = task
            tasks.append(task)
        return tasks

    def start_task(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidParameterException("start-task is not supported by the emulator; use run-task.")

    def describe_tasks(self, cluster_str: str, tasks: list[str]) -> list[EmuTask]:
        cluster = self._get_cluster(cluster_str)
        if not tasks:
            raise InvalidParameterException("Tasks cannot be empty.")
        if len(tasks) > 100:
            raise InvalidParameterException("Tasks cannot have more than 100 elements.")
        known = self.tasks.get(cluster.name, {})
        found = []
        for ref in tasks:
            task_id = ref.split("/")[-1]
            for task in known.values():
                if task.task_arn == ref or task.id == task_id:
                    found.append(task)
                    break
        return found

    def list_tasks(
        self,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,
    ) -> list[EmuTask]:
        if cluster_str:
            clusters = [self._get_cluster(cluster_str).name]
        else:
            clusters = list(self.tasks)
        result = []
        for cluster_name in clusters:
            for task in self.tasks.get(cluster_name, {}).values():
                if family and task.task_definition_arn.split("/")[-1].split(":")[0] != family:
                    continue
                if started_by and task.started_by != started_by:
                    continue
                if service_name and task.group != f"service:{service_name.split('/')[-1]}":
                    continue
                if desiredStatus and task.desired_status != desiredStatus:
                    continue
                if container_instance:
                    continue  # the emulator places no task on container instances
                result.append(task)
        return result

    def stop_task(self, cluster_str: str, task_str: str, reason: str) -> EmuTask:
        cluster = self._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        for task in self.tasks.get(cluster.name, {}).values():
            if task.id == task_id or task.task_arn == task_str:
                if task.last_status != "STOPPED":
                    task.stop(time.time(), "UserInitiated", reason or "Task stopped by user")
                return task
        raise InvalidParameterException("The referenced task was not found.")

    # -- the scheduler -------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for cluster_tasks in self.tasks.values():
            for task in cluster_tasks.values():
                if isinstance(task, EmuTask):
                    task.advance(now)
        for service in list(self.services.values()):
            self._reconcile(service, now)
        for cluster in self.clusters.values():
            tasks = [t for t in self.tasks.get(cluster.name, {}).values() if isinstance(t, EmuTask)]
            cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
            cluster.pending_tasks_count = sum(
                1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING")
            )
            cluster.active_services_count = sum(
                1
                for s in self.services.values()
                if s.cluster_name == cluster.name and s.status == "ACTIVE"
            )

    def _service_tasks(self, service: Any) -> list[EmuTask]:
        group = f"service:{service.name}"
        return [
            t
            for t in self.tasks.get(service.cluster_name, {}).values()
            if isinstance(t, EmuTask) and t.group == group
        ]

    def _event(self, service: Any, now: float, message: str) -> None:
        service.events.insert(
            0, {"id": str(uuid.uuid4()), "createdAt": as_datetime(now), "message": message}
        )
        del service.events[100:]
        log(message)

    def _promote(self, service: Any, deployment: EmuDeployment) -> None:
        for older in service.deployments:
            older.status = "ACTIVE"
        service.deployments.insert(0, deployment)

    def _breaker(self, service: Any) -> tuple[bool, bool]:
        config = (getattr(service, "deployment_configuration", None) or {}).get(
            "deploymentCircuitBreaker"
        ) or {}
        enable = bool(config.get("enable")) or CONFIG["circuit_breaker"] or CONFIG["circuit_breaker_rollback"]
        rollback = bool(config.get("rollback")) or CONFIG["circuit_breaker_rollback"]
        return enable, rollback

    def _launch(
        self, service: Any, deployment: EmuDeployment | EmuTaskSet, count: int, now: float, immediate: bool = False
    ) -> None:
        if count <= 0:
            return
        cluster = self.clusters[service.cluster_name]
        task_definition = self.describe_task_definition(deployment.task_definition)
        tags: list[dict[str, str]] = []
        if service.propagate_tags == "SERVICE":
            tags = list(service.tags or [])
        elif service.propagate_tags == "TASK_DEFINITION":
            tags = list(task_definition.tags or [])
        if immediate:
            start = now
        elif deployment.launched >= deployment.desired_count:
            start = now + max(CONFIG["task_start_delay"], MIN_RELAUNCH_DELAY)  # a replacement
        else:
            start = now + CONFIG["task_start_delay"]
        # --fail-share: update deployments and CodeDeploy's replacement task sets
        share = CONFIG["fail_share"] if deployment.kind in ("update", "replacement") else 0.0
        started = []
        for _ in range(count):
            index = deployment.launched
            deployment.launched += 1
            by_share = share > 0 and math.floor((index + 1) * share + 1e-9) > math.floor(index * share + 1e-9)
            by_image = any(image_fails(c.get("image")) for c in task_definition.container_definitions)
            task = EmuTask(
                self,
                cluster,
                task_definition,
                now=now,
                started_by=deployment.id,
                group=f"service:{service.name}",
                launch_type=service.launch_type,
                platform_version=service.platform_version,
                network_configuration=service.network_configuration,
                tags=tags,
                pending_at=now,
                start_at=start,
                fail_at_start=by_share or by_image,
                share_failure=by_share,
            )
            if immediate:
                task.advance(now)
                if task.t_healthy is not None and not task.failed:
                    task.t_healthy = now
                    task.advance(now)
            self.tasks.setdefault(cluster.name, {})[task.task_arn] = task
            started.append(task)
        listed = " ".join(f"(task {t.id})" for t in started)
        noun = "task" if len(started) == 1 else "tasks"
        self._event(service, now, f"{subject_of(service, deployment)} has started {len(started)} {noun}: {listed}.")

    def _stop_tasks(
        self, service: Any, tasks: list[EmuTask], now: float, deployment_id: str, task_set: EmuTaskSet | None = None
    ) -> None:
        if not tasks:
            return
        for task in tasks:
            task.stop(now, "ServiceSchedulerInitiated", f"Scaling activity initiated by (deployment {deployment_id})")
        listed = " ".join(f"(task {t.id})" for t in tasks)
        self._event(service, now, f"{subject_of(service, task_set)} has stopped {len(tasks)} running tasks: {listed}.")

    # -- task sets (CODE_DEPLOY services) ------------------------------------------
    def _reconcile_task_sets(self, service: Any, now: float) -> None:
        """Keep each task set at its computed desired count (its scale of the service's
        desired count; none while DRAINING), replace failed tasks unless it is frozen,
        remove DRAINING ones when their time is up, and keep counts and stability."""
        by_set: dict[str, list[EmuTask]] = {}
        for task in self._service_tasks(service):
            by_set.setdefault(task.started_by or "", []).append(task)
        kept = []
        for task_set in service.task_sets:
            if not isinstance(task_set, EmuTaskSet):
                kept.append(task_set)
                continue
            mine = by_set.get(task_set.id, [])
            live = [t for t in mine if t.live]
            if task_set.status == "DRAINING":
                self._stop_tasks(service, live, now, task_set.id, task_set)
                if task_set.remove_at is not None and now >= task_set.remove_at:
                    log(f"service {service.name}: task set {task_set.id} removed")
                    continue
                live = []
            task_set.failed_tasks = sum(1 for t in mine if t.failed)
            if (
                task_set.kind == "replacement"
                and not task_set.frozen
                and task_set.failed_tasks >= CONFIG["failure_threshold"]
            ):
                task_set.frozen = True
                task_set.touch(now)
                log(f"service {service.name}: task set {task_set.id} frozen after {task_set.failed_tasks} failed tasks")
            wanted = 0
            if task_set.status != "DRAINING":
                wanted = math.ceil(service.desired_count * float(task_set.scale.get("value", 100.0)) / 100.0 - 1e-9)
            if wanted != task_set.computed_desired_count:
                task_set.computed_desired_count = wanted
                task_set.touch(now)
            if not task_set.frozen and task_set.status != "DRAINING":
                if len(live) < wanted:
                    self._launch(service, task_set, wanted - len(live), now)
                elif len(live) > wanted:
                    extra = sorted(live, key=lambda t: (t.last_status == "RUNNING", t.t_start))
                    self._stop_tasks(service, extra[: len(live) - wanted], now, task_set.id, task_set)
            kept.append(task_set)
        service.task_sets = sorted(kept, key=lambda ts: TASK_SET_ORDER.get(getattr(ts, "status", ""), 3))
        self._refresh_task_sets(service, now)

    def _refresh_task_sets(self, service: Any, now: float) -> None:
        tasks = self._service_tasks(service)
        for task_set in service.task_sets:
            if not isinstance(task_set, EmuTaskSet):
                continue
            mine = [t for t in tasks if t.started_by == task_set.id and t.live]
            running = sum(1 for t in mine if t.last_status == "RUNNING")
            pending = sum(1 for t in mine if t.last_status in ("PROVISIONING", "PENDING"))
            if (running, pending) != (task_set.running_count, task_set.pending_count):
                task_set.running_count = running
                task_set.pending_count = pending
                task_set.touch(now)
            up = sum(1 for t in mine if t.up)
            steady = task_set.status != "DRAINING" and up == task_set.computed_desired_count == len(mine)
            stability = "STEADY_STATE" if steady else "STABILIZING"
            if stability != task_set.stability_status:
                task_set.stability_status = stability
                task_set.stability_status_at = as_datetime(now)
                task_set.touch(now)
                if steady:
                    self._event(service, now, f"{subject_of(service, task_set)} updated state to STEADY_STATE.")
        everything = all(
            ts.stability_status == "STEADY_STATE" for ts in service.task_sets if isinstance(ts, EmuTaskSet)
        )
        if everything and not getattr(service, "emu_steady", False):
            self._event(service, now, f"(service {service.name}) has reached a steady state.")
        service.emu_steady = everything

    def code_deploy_service(self, cluster_name: str, service_name: str) -> Any:
        """The ACTIVE CODE_DEPLOY service CLUSTER:SERVICE, or None."""
        service = self.services.get(f"{cluster_name}:{service_name}")
        if service is None or service.status != "ACTIVE":
            return None
        if service.deployment_controller.get("type") != "CODE_DEPLOY":
            return None
        return service

    def primary_task_set(self, service: Any) -> EmuTaskSet | None:
        for task_set in service.task_sets:
            if isinstance(task_set, EmuTaskSet) and task_set.status == "PRIMARY":
                return task_set
        return None

    def add_replacement_task_set(
        self,
        service: Any,
        task_definition_arn: str,
        now: float,
        *,
        external_id: str,
        load_balancers: list[dict[str, Any]],
        target_group: str | None,
    ) -> EmuTaskSet:
        """CodeDeploy's Install: a new ACTIVE task set at scale 100% whose tasks start now."""
        task_set = EmuTaskSet(
            service,
            task_definition_arn,
            now,
            kind="replacement",
            status="ACTIVE",
            started_by="CodeDeploy",
            external_id=external_id,
            load_balancers=load_balancers,
            target_group=target_group,
        )
        service.task_sets.append(task_set)
        log(f"service {service.name}: replacement task set {task_set.id} -> {task_definition_arn}")
        self._reconcile(service, now)
        return task_set

    def make_primary(self, service: Any, task_set: EmuTaskSet, now: float) -> None:
        """The task set serves production: PRIMARY (the service runs its task definition);
        the other live task sets become ACTIVE."""
        for other in service.task_sets:
            if isinstance(other, EmuTaskSet) and other is not task_set and other.status == "PRIMARY":
                other.status = "ACTIVE"
                other.touch(now)
        if task_set.status != "PRIMARY":
            task_set.status = "PRIMARY"
            task_set.touch(now)
        service.task_definition = task_set.task_definition
        self._reconcile(service, now)

    def drain_task_set(self, service: Any, task_set: EmuTaskSet, now: float) -> None:
        """The task set is DRAINING: its tasks are stopped now, and it is removed from the
        service --stage-seconds later."""
        if task_set.status == "DRAINING" or task_set not in service.task_sets:
            return
        task_set.status = "DRAINING"
        task_set.traffic_weight = 0.0
        task_set.test_traffic_weight = 0.0
        task_set.remove_at = now + CONFIG["stage_seconds"]
        task_set.touch(now)
        self._reconcile(service, now)


    def _reconcile(self, service: Any, now: float) -> None:
        if service.status == "ACTIVE" and any(isinstance(ts, EmuTaskSet) for ts in service.task_sets):
            self._reconcile_task_sets(service, now)
        if service.status != "ACTIVE" or not service.deployments:
            self._refresh_counts(service, now)
            return
        by_deployment: dict[str, list[EmuTask]] = {}
        for task in self._service_tasks(service):
            by_deployment.setdefault(task.started_by, []).append(task)
        for deployment in service.deployments:
            deployment.failed_tasks = sum(1 for t in by_deployment.get(deployment.id, []) if t.failed)

        primary = service.deployments[0]
        enabled, rollback = self._breaker(service)
        if (
            enabled
            and primary.rollout_state == "IN_PROGRESS"
            and primary.failed_tasks >= CONFIG["failure_threshold"]
        ):
            primary.rollout_state = "FAILED"
            primary.rollout_state_reason = BREAKER_REASON
            primary.updated_at = as_datetime(now)
            self._event(service, now, f"(service {service.name}) (deployment {primary.id}) deployment failed: tasks failed to start.")
            good = getattr(service, "emu_good_task_definition", None)
            if rollback and primary.kind != "rollback" and good:
                target = next(
                    (d.id for d in service.deployments if d.task_definition == good),
                    None,
                )
                # the failed deployment is scaled in; a new one brings the good revision back
                self._stop_tasks(service, [t for t in by_deployment.get(primary.id, []) if t.live], now, primary.id)
                primary.desired_count = 0
                service.task_definition = good
                restore = EmuDeployment(service, good, service.desired_count, now, "rollback")
                self._promote(service, restore)
                self._event(
                    service,
                    now,
                    f"(service {service.name}) rolling back to deployment {target or restore.id}.",
                )
                sd = primary.service_deployment
                if sd is not None and sd.active and primary is sd.target:
                    sd.breaker_status = "TRIGGERED"
                    self._attach_rollback(sd, restore, now, BREAKER_REASON)
                primary = restore
            else:
                sd = primary.service_deployment
                if sd is not None and sd.active:
                    sd.breaker_status = "TRIGGERED"
                    sd.finish("ROLLBACK_FAILED" if primary is sd.restore else "STOPPED", now, BREAKER_REASON)

        current = self.service_deployments.get(getattr(service, "current_service_deployment", None) or "")
        if current is not None and current.active:
            self._drive(service, current, now)
            primary = service.deployments[0]

        # keep the PRIMARY deployment at its desired count (replaces failed tasks)
        if primary.rollout_state != "FAILED" and not primary.hold:
            mine = by_deployment.get(primary.id, [])
            live = [t for t in mine if t.live]
            if len(live) < primary.desired_count:
                self._launch(service, primary, primary.desired_count - len(live), now)
            elif len(live) > primary.desired_count:
                extra = sorted(live, key=lambda t: (t.last_status == "RUNNING", t.t_start))
                self._stop_tasks(service, extra[: len(live) - primary.desired_count], now, primary.id)

        # a rolling update: done --drain-delay after all its tasks are up
        if primary.rollout_state == "IN_PROGRESS" and not primary.staged:
            mine = [t for t in self._service_tasks(service) if t.started_by == primary.id]
            ready = sum(1 for t in mine if t.up) >= primary.desired_count
            if not ready:
                primary.ready_at = None
            elif primary.ready_at is None:
                primary.ready_at = now
            others = service.deployments[1:]
            if primary.ready_at is not None and (
                not others or now >= primary.ready_at + CONFIG["drain_delay"]
            ):
                self._complete(service, primary, now)
        self._refresh_counts(service, now)

    def _refresh_counts(self, service: Any, now: float) -> None:
        tasks = self._service_tasks(service)
        for deployment in service.deployments:
            mine = [t for t in tasks if t.started_by == deployment.id and t.live]
            running = sum(1 for t in mine if t.last_status == "RUNNING")
            pending = sum(1 for t in mine if t.last_status in ("PROVISIONING", "PENDING"))
            if (running, pending) != (deployment.running_count, deployment.pending_count):
                deployment.running_count = running
                deployment.pending_count = pending
                deployment.updated_at = as_datetime(now)
        live = [t for t in tasks if t.live]
        service.running_count = sum(1 for t in live if t.last_status == "RUNNING")
        service.pending_count = sum(1 for t in live if t.last_status in ("PROVISIONING", "PENDING"))
        revisions: dict[str, dict[str, Any]] = {}
        for deployment in service.deployments:
            summary = revisions.setdefault(
                deployment.revision_arn,
                {"arn": deployment.revision_arn, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0},
            )
            summary["requestedTaskCount"] += deployment.desired_count
            summary["runningTaskCount"] += deployment.running_count
            summary["pendingTaskCount"] += deployment.pending_count
        service.current_service_revisions = list(revisions.values())


# moto finds a backend's URL table next to the module that defines its class
EmulatorBackend.__module__ = ecs_models.__name__


def _lenient_network_check(self: Any, nc: dict[str, Any]) -> dict[str, Any]:
    """moto looks subnets and security groups up in its EC2 backend; accept any ids."""
    subnets = (nc.get("awsvpcConfiguration") or {}).get("subnets") or []
    if not subnets:
        raise InvalidParameterException("subnets can not be empty.")
    return nc


# --------------------------------------------------------------------------------------
# Request handlers that need more than moto passes on
# --------------------------------------------------------------------------------------


Response = ecs_responses.EC2ContainerServiceResponse
_original_create_service = Response.create_service
_original_register = Response.register_task_definition
_original_describe_tasks = Response.describe_tasks

SERVICE_EXTRAS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "placementConstraints": "placement_constraints",
    "placementStrategy": "placement_strategy",
    "capacityProviderStrategy": "capacity_provider_strategy",
    "enableExecuteCommand": "enable_execute_command",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}


def _create_service(self: Any) -> Any:
    # moto's handler passes none of these on; hand them to the backend's create_service
    # (which reads them before starting tasks) through the backend object, under LOCK.
    extras = {}
    for wire, attribute in SERVICE_EXTRAS.items():
        value = self._get_param(wire)
        if value is None:
            continue
        if wire == "deploymentConfiguration":
            validate_deployment_configuration(value)
            merged = json.loads(json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))
            merged.update(value)
            value = merged
        extras[attribute] = value
    self.ecs_backend.pending_service_extras = extras
    try:
        return _original_create_service(self)
    finally:
        self.ecs_backend.pending_service_extras = {}


def _register_task_definition(self: Any) -> Any:
    result = _original_register(self)
    fault_injection = self._get_param("enableFaultInjection")
    if fault_injection is not None:
        result.result["taskDefinition"].enable_fault_injection = fault_injection
    return result


def _list_task_definitions(self: Any) -> Any:
    family = self._get_param("familyPrefix")
    status = self._get_param("status", "ACTIVE")
    arns = self.ecs_backend.list_task_definitions(family, status)
    if (self._get_param("sort") or "ASC").upper() == "DESC":
        arns.reverse()
    return ecs_responses.ActionResult({"taskDefinitionArns": arns})


def _list_tasks(self: Any) -> Any:
    tasks = self.ecs_backend.list_tasks(
        self._get_param("cluster", "default"),
        self._get_param("containerInstance"),
        self._get_param("family"),
        self._get_param("startedBy"),
        self._get_param("serviceName"),
        self._get_param("desiredStatus") or "RUNNING",
    )
    return ecs_responses.ActionResult({"taskArns": [t.task_arn for t in tasks]})


def _describe_tasks(self: Any) -> Any:
    result = _original_describe_tasks(self)
    wanted = self._get_param("tasks", [])
    seen = set()
    for task in result.result["tasks"]:
        seen.add(task.task_arn)
        seen.add(task.id)
    failures = [
        {"arn": ref, "reason": "MISSING"}
        for ref in wanted
        if ref not in seen and ref.split("/")[-1] not in seen
    ]
    result.result["failures"] = failures
    return result


def _epoch(value: Any) -> float | None:
    """A request timestamp (naive UTC datetime, or epoch seconds) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return float(value)


def _describe_service_deployments(self: Any) -> Any:
    found, failures = self.ecs_backend.describe_service_deployments(
        self._get_param("serviceDeploymentArns") or []
    )
    return ecs_responses.ActionResult({"serviceDeployments": found, "failures": failures})


def _list_service_deployments(self: Any) -> Any:
    service = self._get_param("service")
    if not service:
        raise InvalidParameterException("service cannot be empty.")
    briefs = self.ecs_backend.list_service_deployments(
        self._get_param("cluster") or "default",
        service,
        self._get_param("status"),
        self._get_param("createdAt"),
    )
    limit = self._get_param("maxResults") or 20
    if not 1 <= int(limit) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    token = self._get_param("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise InvalidParameterException("Invalid nextToken.") from None
    page = briefs[start : start + int(limit)]
    result: dict[str, Any] = {"serviceDeployments": page}
    if start + int(limit) < len(briefs):
        result["nextToken"] = str(start + int(limit))
    return ecs_responses.ActionResult(result)


def _stop_service_deployment(self: Any) -> Any:
    arn = self._get_param("serviceDeploymentArn")
    if not arn:
        raise InvalidParameterException("serviceDeploymentArn cannot be empty.")
    stopped = self.ecs_backend.stop_service_deployment(arn, self._get_param("stopType"))
    return ecs_responses.ActionResult({"serviceDeploymentArn": stopped})


def install() -> None:
    """Swap the emulator's ECS backend and handlers into moto (before the first request
    creates a backend)."""
    ecs_models.ecs_backends.backend = EmulatorBackend
    ecs_models.Service._validate_network = _lenient_network_check
    Response.create_service = _create_service
    Response.register_task_definition = _register_task_definition
    Response.list_task_definitions = _list_task_definitions
    Response.list_tasks = _list_tasks
    Response.describe_tasks = _describe_tasks
    Response.describe_service_deployments = _describe_service_deployments
    Response.list_service_deployments = _list_service_deployments
    Response.stop_service_deployment = _stop_service_deployment
    TICKERS.append(tick)


def all_backends() -> list[EmulatorBackend]:
    found = []
    for account in list(dict.values(ecs_models.ecs_backends)):
        for backend in list(dict.values(account)):
            if isinstance(backend, EmulatorBackend):
                found.append(backend)
    return found


def tick(now: float) -> None:
    for backend in all_backends():
        backend.tick(now)
