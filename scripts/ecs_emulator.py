#!/usr/bin/env python3
"""A local Amazon ECS emulator for trying `ecs-deploy` without an AWS account.

It is moto's ECS backend, served by moto's own werkzeug application on 127.0.0.1,
with the parts that a deployment tool watches filled in: services really run tasks,
`update-service` starts a rolling update (a new PRIMARY deployment whose tasks go
PENDING -> RUNNING [-> HEALTHY], then the old deployment is drained and removed),
one-off tasks started by `run-task` run and stop with exit codes, and failures plus the
deployment circuit breaker (with rollback) can be injected.

Point the real AWS CLI at it:

    python3 scripts/ecs_emulator.py --port 0 --port-file /tmp/ecs.port &
    export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat /tmp/ecs.port)
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
    aws ecs create-cluster --cluster-name demo

Timeline of a service (all delays are command-line flags, in seconds):

* create-service: the first deployment's tasks are RUNNING (and HEALTHY) at once and the
  deployment is COMPLETED at once, so a fresh service is steady immediately (only
  --fail-image applies to these tasks, not --fail-share).
* update-service with a different task definition, or --force-new-deployment: a new
  PRIMARY deployment (rolloutState IN_PROGRESS), the previous ones become ACTIVE. Its
  tasks are PENDING for --task-start-delay, then RUNNING; if an essential container has
  a healthCheck, the task is UNKNOWN for --healthy-delay more, then HEALTHY. Once all
  of them are up, --drain-delay later the tasks of every other deployment are STOPPED,
  those deployments are removed and the PRIMARY becomes COMPLETED.
* Tasks that fail (see --fail-share / --fail-image) go from PENDING straight to STOPPED
  (stopCode EssentialContainerExited, exit code 1) and are replaced by new tasks, like
  the ECS scheduler does. With the circuit breaker on, --failure-threshold failed tasks
  turn the deployment FAILED and no more of its tasks are launched (the previous
  deployment keeps running); with rollback on, the failed deployment is scaled to 0 and
  the service goes back to the task definition of the last COMPLETED deployment through
  a new PRIMARY deployment. Rollback deployments are exempt from --fail-share (the old
  revision is assumed good) and are never rolled back themselves. --fail-share F makes
  the k-th task of a deployment (k = 1, 2, ...) fail when floor(k*F) > floor((k-1)*F):
  0.5 fails every second task, 1 fails them all; the choice is deterministic.
* update-service --desired-count alone scales the PRIMARY deployment (no new one);
  --deployment-configuration is stored (merged into the current one) and shown.
* run-task: PROVISIONING, PENDING (after a quarter of --task-start-delay), RUNNING
  (after --task-start-delay), STOPPED (--run-task-duration later). Every container exits
  0, or N when its environment (or the run-task override) sets EMULATOR_EXIT_CODE=N, or 1
  when its image contains --fail-image.

`list-tasks` returns tasks whose desiredStatus is RUNNING unless --desired-status is
given, like ECS. State changes are computed from the clock on every request and by a
background ticker (every 0.1 s), under one lock that also serialises the requests.

Extra HTTP endpoints: GET /_emulator/health (readiness), GET /_emulator/config and
POST /_emulator/config with a JSON object to change the failure settings at run time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from typing import Any

# Stop requests that arrive while moto is still being imported are honoured too.
STOP = threading.Event()


def _request_stop(_signum: int, _frame: Any) -> None:
    STOP.set()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)

try:
    from moto.ecs import models as ecs_models
    from moto.ecs import responses as ecs_responses
    from moto.ecs.exceptions import (
        ECSException,
        EcsClientException,
        InvalidParameterException,
        TaskDefinitionNotFoundException,
    )
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from moto.utilities.utils import get_partition
    from werkzeug.serving import make_server
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"ecs_emulator: cannot import moto ({exc}); install it with: scripts/ensure-moto\n"
    )
    sys.exit(2)


# --------------------------------------------------------------------------------------
# Settings and shared state
# --------------------------------------------------------------------------------------

CONFIG: dict[str, Any] = {
    "task_start_delay": 2.0,
    "healthy_delay": 1.0,
    "drain_delay": 2.0,
    "run_task_duration": 2.0,
    "fail_share": 0.0,
    "fail_image": "",
    "circuit_breaker": False,
    "circuit_breaker_rollback": False,
    "failure_threshold": 2,
    "verbose": False,
}

# Every request and every background tick holds this lock: the emulator's state is only
# ever touched by one thread at a time.
LOCK = threading.RLock()

ESSENTIAL_EXIT_REASON = "Essential container in task exited"
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
EXIT_CODE_VARIABLE = "EMULATOR_EXIT_CODE"
# a service never relaunches failed tasks faster than this, even with a zero start delay
MIN_RELAUNCH_DELAY = 0.5


def as_datetime(epoch: float) -> datetime.datetime:
    """A naive UTC datetime, the form moto's serializer expects."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(
        tzinfo=None
    )


def log(message: str) -> None:
    if CONFIG["verbose"]:
        sys.stderr.write(f"[ecs-emulator] {message}\n")
        sys.stderr.flush()


def new_deployment_id() -> str:
    return "ecs-svc/" + "".join(random.choice("0123456789") for _ in range(19))


def has_health_check(container: dict[str, Any]) -> bool:
    return bool(container.get("essential", True)) and bool(container.get("healthCheck"))


def env_value(pairs: list[dict[str, Any]] | None, name: str) -> str | None:
    for pair in pairs or []:
        if pair.get("name") == name:
            return pair.get("value")
    return None


def image_fails(image: str | None) -> bool:
    marker = CONFIG["fail_image"]
    return bool(marker) and marker in (image or "")


# --------------------------------------------------------------------------------------
# Model objects (plain classes: moto's BaseModel metaclass wants a moto.* module).
# moto's serializer reads attributes by their snake_case names, so these
# plain objects render as ECS Task / Container / Deployment shapes.
# --------------------------------------------------------------------------------------


class EmuContainer:
    def __init__(self, task: "EmuTask", definition: dict[str, Any], exit_on_stop: int):
        self.container_arn = (
            f"arn:{task.partition}:ecs:{task.region_name}:{task.account_id}:container/"
            f"{task.cluster_name}/{task.id}/{uuid.uuid4()}"
        )
        self.task_arn = task.task_arn
        self.name = definition.get("name")
        self.image = definition.get("image")
        self.runtime_id = None
        self.last_status = "PENDING"
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.health_status = "UNKNOWN"
        self.network_bindings: list[Any] = []
        self.network_interfaces: list[Any] = []
        self.cpu = str(definition.get("cpu", 0))
        self.memory = str(definition["memory"]) if definition.get("memory") else None
        self.memory_reservation = (
            str(definition["memoryReservation"])
            if definition.get("memoryReservation")
            else None
        )
        self.essential = bool(definition.get("essential", True))
        self.checked = has_health_check(definition)
        # the exit code this container reports when its task stops on its own
        self.exit_on_stop = exit_on_stop


class EmuTask:
    """A task with a schedule: PROVISIONING -> PENDING -> RUNNING [-> STOPPED]."""

    def __init__(
        self,
        backend: "EmulatorBackend",
        cluster: Any,
        task_definition: Any,
        *,
        now: float,
        started_by: str,
        group: str,
        launch_type: str | None,
        platform_version: str | None = None,
        network_configuration: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        pending_at: float,
        start_at: float,
        stop_at: float | None = None,
        fail_at_start: bool = False,
        share_failure: bool = False,
    ):
        self.id = uuid.uuid4().hex
        self.region_name = cluster.region_name
        self.account_id = backend.account_id
        self.partition = get_partition(self.region_name)
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        if backend.enable_long_arn_for_name(name="taskLongArnFormat"):
            self.task_arn = f"arn:{self.partition}:ecs:{self.region_name}:{self.account_id}:task/{cluster.name}/{self.id}"
        else:
            self.task_arn = f"arn:{self.partition}:ecs:{self.region_name}:{self.account_id}:task/{self.id}"
        self.task_definition_arn = task_definition.arn
        self.container_instance_arn = None
        self.started_by = started_by or None
        self.group = group
        self.launch_type = launch_type or "EC2"
        self.platform_version = platform_version or (
            "1.4.0" if self.launch_type == "FARGATE" else None
        )
        self.platform_family = "Linux" if self.launch_type == "FARGATE" else None
        self.availability_zone = f"{self.region_name}a"
        self.connectivity = None
        self.connectivity_at = None
        self.enable_execute_command = False
        self.tags = tags or []
        self.version = 1
        self.attributes: list[Any] = []
        self.cpu, self.memory = self._task_size(task_definition)
        self.ephemeral_storage = getattr(task_definition, "ephemeral_storage", None)

        container_overrides = {
            o.get("name"): o for o in (overrides or {}).get("containerOverrides", [])
        }
        self.overrides = {
            "containerOverrides": list(container_overrides.values())
            or [{"name": c.get("name")} for c in task_definition.container_definitions],
            "inferenceAcceleratorOverrides": [],
        }
        for key, value in (overrides or {}).items():
            if key != "containerOverrides":
                self.overrides[key] = value

        self.containers = []
        for definition in task_definition.container_definitions:
            override = container_overrides.get(definition.get("name"), {})
            self.containers.append(
                EmuContainer(self, definition, self._planned_exit(definition, override))
            )

        self.attachments: list[dict[str, Any]] = []
        if task_definition.network_mode == "awsvpc":
            subnets = (
                (network_configuration or {})
                .get("awsvpcConfiguration", {})
                .get("subnets", ["subnet-00000000"])
            )
            octets = [random.randint(1, 254) for _ in range(2)]
            self.attachments.append(
                {
                    "id": str(uuid.uuid4()),
                    "type": "ElasticNetworkInterface",
                    "status": "ATTACHED",
                    "details": [
                        {"name": "subnetId", "value": subnets[0]},
                        {"name": "networkInterfaceId", "value": "eni-" + uuid.uuid4().hex[:17]},
                        {"name": "privateIPv4Address", "value": f"10.0.{octets[0]}.{octets[1]}"},
                    ],
                }
            )

        # schedule
        self.created_at = as_datetime(now)
        self.pull_started_at = None
        self.pull_stopped_at = None
        self.started_at = None
        self.stopping_at = None
        self.execution_stopped_at = None
        self.stopped_at = None
        self.stop_code = None
        self.stopped_reason = None
        self.desired_status = "RUNNING"
        self.last_status = "PROVISIONING" if pending_at > now else "PENDING"
        self.health_status = "UNKNOWN"
        self.t_pending = pending_at
        self.t_start = start_at
        self.t_healthy: float | None = None
        self.t_stop = stop_at
        self.fail_at_start = fail_at_start
        self.share_failure = share_failure
        # True once the task stopped because of a (simulated) container failure
        self.failed = False
        if self.last_status == "PENDING":
            self.pull_started_at = as_datetime(now)

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _task_size(task_definition: Any) -> tuple[str | None, str | None]:
        cpu = task_definition.cpu
        memory = task_definition.memory
        if cpu is None:
            cpu = str(sum(int(c.get("cpu") or 0) for c in task_definition.container_definitions))
        if memory is None:
            total = sum(
                int(c.get("memory") or c.get("memoryReservation") or 0)
                for c in task_definition.container_definitions
            )
            memory = str(total) if total else None
        return (str(cpu) if cpu is not None else None, str(memory) if memory else None)

    @staticmethod
    def _planned_exit(definition: dict[str, Any], override: dict[str, Any]) -> int:
        raw = env_value(override.get("environment"), EXIT_CODE_VARIABLE)
        if raw is None:
            raw = env_value(definition.get("environment"), EXIT_CODE_VARIABLE)
        if raw is not None:
            try:
                return int(raw)
            except ValueError:
                return 1
        return 1 if image_fails(definition.get("image")) else 0

    @property
    def checked(self) -> bool:
        return any(c.checked for c in self.containers)

    @property
    def live(self) -> bool:
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"

    @property
    def up(self) -> bool:
        """RUNNING, and HEALTHY when an essential container has a health check."""
        if self.last_status != "RUNNING" or self.desired_status != "RUNNING":
            return False
        return self.health_status == "HEALTHY" if self.checked else True

    def _touch(self) -> None:
        self.version += 1

    # -- state machine -------------------------------------------------------------
    def advance(self, now: float) -> bool:
        """Apply every transition that is due at `now`; True when the task changed."""
        changed = False
        if self.last_status == "STOPPED":
            return False
        if self.last_status == "PROVISIONING" and now >= self.t_pending:
            self.last_status = "PENDING"
            self.pull_started_at = as_datetime(self.t_pending)
            changed = True
        if self.last_status == "PENDING" and now >= self.t_start:
            self.pull_stopped_at = as_datetime(self.t_start)
            if self.fail_at_start:
                self._fail(self.t_start)
                self._touch()
                return True
            self.last_status = "RUNNING"
            self.started_at = as_datetime(self.t_start)
            self.connectivity = "CONNECTED"
            self.connectivity_at = as_datetime(self.t_start)
            for container in self.containers:
                container.last_status = "RUNNING"
                container.runtime_id = f"{self.id}-{uuid.uuid4().hex[:10]}"
            if self.checked:
                self.t_healthy = self.t_start + CONFIG["healthy_delay"]
            changed = True
        if (
            self.last_status == "RUNNING"
            and self.t_healthy is not None
            and self.health_status != "HEALTHY"
            and now >= self.t_healthy
        ):
            self.health_status = "HEALTHY"
            for container in self.containers:
                if container.checked:
                    container.health_status = "HEALTHY"
            changed = True
        if self.last_status == "RUNNING" and self.t_stop is not None and now >= self.t_stop:
            self.stop(
                self.t_stop,
                "EssentialContainerExited",
                ESSENTIAL_EXIT_REASON,
                {c.name: c.exit_on_stop for c in self.containers},
            )
            return True
        if changed:
            self._touch()
        return changed

    def _fail(self, when: float) -> None:
        """A service task whose container crashes as it starts."""
        exits: dict[str, int] = {}
        blamed = False
        for container in self.containers:
            if image_fails(container.image):
                exits[container.name] = 1
                blamed = True
        if not blamed and self.share_failure:
            for container in self.containers:
                if container.essential:
                    exits[container.name] = 1
                    break
        self.failed = True
        self.stop(when, "EssentialContainerExited", ESSENTIAL_EXIT_REASON, exits, started=True)

    def stop(
        self,
        when: float,
        stop_code: str,
        reason: str,
        exits: dict[str, int] | None = None,
        started: bool | None = None,
    ) -> None:
        ran = self.last_status == "RUNNING" if started is None else started
        self.desired_status = "STOPPED"
        self.last_status = "STOPPED"
        self.stop_code = stop_code
        self.stopped_reason = reason
        stamp = as_datetime(when)
        self.stopping_at = stamp
        self.execution_stopped_at = stamp
        self.stopped_at = stamp
        self.health_status = "UNKNOWN" if not self.checked else self.health_status
        for container in self.containers:
            container.last_status = "STOPPED"
            if ran:
                container.exit_code = (exits or {}).get(container.name, 0)
        self._touch()


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


# --------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------

DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


class EmulatorBackend(ecs_models.EC2ContainerServiceBackend):
    """moto's ECS backend, with services and tasks that behave over time."""

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
        if service.deployment_controller.get("type", "ECS") == "ECS" and service.task_definition:
            deployment = EmuDeployment(service, service.task_definition, service.desired_count, now, "initial")
            service.deployments = [deployment]
            self._launch(service, deployment, service.desired_count, now, immediate=True)
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
        if controller != "ECS" and (changes_revision or force):
            raise InvalidParameterException(
                f"Unable to update task definition on services with a {controller} deployment controller."
            )

        for name, value in props.items():
            if value is None:
                continue
            if name == "deployment_configuration":
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
            self._promote(service, deployment)
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
        self._refresh_counts(service, now)
        return service

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

    def _launch(self, service: Any, deployment: EmuDeployment, count: int, now: float, immediate: bool = False) -> None:
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
        share = CONFIG["fail_share"] if deployment.kind == "update" else 0.0
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
        self._event(service, now, f"(service {service.name}) has started {len(started)} {noun}: {listed}.")

    def _stop_tasks(self, service: Any, tasks: list[EmuTask], now: float, deployment_id: str) -> None:
        if not tasks:
            return
        for task in tasks:
            task.stop(now, "ServiceSchedulerInitiated", f"Scaling activity initiated by (deployment {deployment_id})")
        listed = " ".join(f"(task {t.id})" for t in tasks)
        self._event(service, now, f"(service {service.name}) has stopped {len(tasks)} running tasks: {listed}.")

    def _reconcile(self, service: Any, now: float) -> None:
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
                primary = restore

        # keep the PRIMARY deployment at its desired count (replaces failed tasks)
        if primary.rollout_state != "FAILED":
            mine = by_deployment.get(primary.id, [])
            live = [t for t in mine if t.live]
            if len(live) < primary.desired_count:
                self._launch(service, primary, primary.desired_count - len(live), now)
            elif len(live) > primary.desired_count:
                extra = sorted(live, key=lambda t: (t.last_status == "RUNNING", t.t_start))
                self._stop_tasks(service, extra[: len(live) - primary.desired_count], now, primary.id)

        if primary.rollout_state == "IN_PROGRESS":
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
                old = [
                    t
                    for t in self._service_tasks(service)
                    if t.started_by != primary.id and t.live
                ]
                self._stop_tasks(service, old, now, primary.id)
                service.deployments = [primary]
                primary.rollout_state = "COMPLETED"
                primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
                primary.updated_at = as_datetime(now)
                service.emu_good_task_definition = primary.task_definition
                self._event(service, now, f"(service {service.name}) (deployment {primary.id}) deployment completed.")
                self._event(service, now, f"(service {service.name}) has reached a steady state.")
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


def install() -> None:
    """Swap the emulator into moto (before the first request creates a backend)."""
    ecs_models.ecs_backends.backend = EmulatorBackend
    ecs_models.Service._validate_network = _lenient_network_check
    Response.create_service = _create_service
    Response.register_task_definition = _register_task_definition
    Response.list_task_definitions = _list_task_definitions
    Response.list_tasks = _list_tasks
    Response.describe_tasks = _describe_tasks


def all_backends() -> list[EmulatorBackend]:
    found = []
    for account in list(dict.values(ecs_models.ecs_backends)):
        for backend in list(dict.values(account)):
            if isinstance(backend, EmulatorBackend):
                found.append(backend)
    return found


def tick_all() -> None:
    with LOCK:
        now = time.time()
        for backend in all_backends():
            backend.tick(now)


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------

CONFIG_KEYS = {
    "task_start_delay": float,
    "healthy_delay": float,
    "drain_delay": float,
    "run_task_duration": float,
    "fail_share": float,
    "fail_image": str,
    "circuit_breaker": bool,
    "circuit_breaker_rollback": bool,
    "failure_threshold": int,
}


class EmulatorApp:
    """WSGI wrapper: /_emulator/* endpoints, and one request at a time into moto."""

    def __init__(self, moto_app: Any):
        self.moto_app = moto_app

    def _json(self, start_response: Any, status: str, payload: Any) -> list[bytes]:
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/_emulator/health":
            return self._json(start_response, "200 OK", {"status": "ok"})
        if path == "/_emulator/config":
            if environ.get("REQUEST_METHOD") == "POST":
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    update = json.loads(environ["wsgi.input"].read(length) or b"{}")
                    with LOCK:
                        for key, value in update.items():
                            if key not in CONFIG_KEYS:
                                raise ValueError(f"unknown setting {key}")
                            CONFIG[key] = CONFIG_KEYS[key](value)
                except (ValueError, TypeError) as exc:
                    return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            with LOCK:
                return self._json(start_response, "200 OK", {k: CONFIG[k] for k in CONFIG_KEYS})
        if CONFIG["verbose"]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            log(f"request {target.rsplit('.', 1)[-1] or environ.get('REQUEST_METHOD', '') + ' ' + path}")
        with LOCK:
            tick_all()
            chunks = self.moto_app(environ, start_response)
            try:
                return [b"".join(chunks)]
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()


def warm_up(port: int) -> None:
    """One ECS call through the server, so that moto has loaded ECS before we say 'ready'."""
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Local ECS emulator (moto) for ecs-deploy demos and tests."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--port-file", help="write the port number to this file once listening")
    parser.add_argument("--task-start-delay", type=float, default=2.0, help="seconds a service/run-task task stays PENDING")
    parser.add_argument("--healthy-delay", type=float, default=1.0, help="seconds from RUNNING to HEALTHY (containers with healthCheck)")
    parser.add_argument("--drain-delay", type=float, default=2.0, help="seconds from the new tasks being up to the old ones being stopped")
    parser.add_argument("--run-task-duration", type=float, default=2.0, help="seconds a run-task task stays RUNNING")
    parser.add_argument("--fail-share", type=float, default=0.0, help="share (0..1) of the tasks of updated deployments that fail to start")
    parser.add_argument("--fail-image", default="", help="tasks with a container whose image contains this text fail")
    parser.add_argument("--circuit-breaker", action="store_true", help="treat every service as having the circuit breaker enabled")
    parser.add_argument("--circuit-breaker-rollback", action="store_true", help="circuit breaker with rollback for every service")
    parser.add_argument("--failure-threshold", type=int, default=2, help="failed tasks that trip the circuit breaker")
    parser.add_argument("--verbose", action="store_true", help="log requests and service events to stderr")
    args = parser.parse_args(argv)
    if not 0.0 <= args.fail_share <= 1.0:
        parser.error("--fail-share must be between 0 and 1")
    if args.failure_threshold < 1:
        parser.error("--failure-threshold must be at least 1")
    for name in ("task_start_delay", "healthy_delay", "drain_delay", "run_task_duration"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for key in CONFIG_KEYS:
        CONFIG[key] = getattr(args, key)
    CONFIG["verbose"] = args.verbose
    # werkzeug's access log says only "POST /"; --verbose logs each request's ECS action
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    install()
    app = EmulatorApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    port = server.server_address[1]

    stop = STOP
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    if stop.is_set():
        server.server_close()
        return 0

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    serving.start()

    def ticker() -> None:
        while not stop.wait(0.1):
            try:
                tick_all()
            except Exception as exc:  # keep ticking; report once per failure
                sys.stderr.write(f"[ecs-emulator] tick failed: {exc!r}\n")

    threading.Thread(target=ticker, daemon=True).start()

    try:
        warm_up(port)
    except Exception as exc:
        sys.stderr.write(f"[ecs-emulator] warm-up request failed: {exc!r}\n")

    if args.port_file:
        temporary = f"{args.port_file}.tmp{os.getpid()}"
        with open(temporary, "w") as handle:
            handle.write(f"{port}\n")
        os.replace(temporary, args.port_file)
    print(f"ecs emulator listening on http://127.0.0.1:{port}", flush=True)

    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    if args.port_file:
        try:
            os.remove(args.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
