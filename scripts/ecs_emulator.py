#!/usr/bin/env python3
"""A local Amazon ECS emulator for trying `ecs-deploy` without an AWS account.

It is moto's ECS backend, served by moto's own werkzeug application on 127.0.0.1,
with the parts that a deployment tool watches filled in: services really run tasks,
`update-service` starts a rolling update (a new PRIMARY deployment whose tasks go
PENDING -> RUNNING [-> HEALTHY], then the old deployment is drained and removed) or,
with a BLUE_GREEN / LINEAR / CANARY strategy, a staged deployment that walks ECS's
lifecycle stages with bake time; every deployment is also an ECS "service deployment"
(describe-service-deployments, list-service-deployments, stop-service-deployment).
One-off tasks started by `run-task` run and stop with exit codes, and failures, the
deployment circuit breaker (with rollback) and CloudWatch alarms can be injected.
The same port answers CloudWatch Logs for the containers' awslogs streams (with lines a
test sets) and ECR's DescribeImages for images made known to it.

Point the real AWS CLI at it:

    python3 scripts/ecs_emulator.py --port 0 --port-file /tmp/ecs.port &
    export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat /tmp/ecs.port)
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
    aws ecs create-cluster --cluster-name demo

Timeline of a service (all delays are command-line flags, in seconds):

* create-service: the first deployment's tasks are RUNNING (and HEALTHY) at once and the
  deployment is COMPLETED at once, so a fresh service is steady immediately (only
  --fail-image applies to these tasks, not --fail-share), whatever its strategy. Its
  service deployment is SUCCESSFUL at once, with no source revision.
* update-service with a different task definition, or --force-new-deployment, on a
  ROLLING service (the default strategy): a new PRIMARY deployment (rolloutState
  IN_PROGRESS), the previous ones become ACTIVE. Its tasks are PENDING for
  --task-start-delay, then RUNNING; if an essential container has a healthCheck, the
  task is UNKNOWN for --healthy-delay more, then HEALTHY. Once all of them are up,
  --drain-delay later the tasks of every other deployment are STOPPED, those
  deployments are removed and the PRIMARY becomes COMPLETED.
* The same on a BLUE_GREEN, LINEAR or CANARY service (deploymentConfiguration.strategy):
  the new PRIMARY starts no task at first. Its service deployment stays in each
  lifecycleStage for --stage-seconds: RECONCILE_SERVICE, PRE_SCALE_UP, then SCALE_UP
  (the new tasks start and come up as above; the stage lasts until all are up),
  POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT
  (BLUE_GREEN: one step to 100%; LINEAR: steps of linearConfiguration.stepPercent, each
  held --stage-seconds plus stepBakeTimeInMinutes; CANARY: canaryPercent held
  --stage-seconds plus canaryBakeTimeInMinutes, then 100%), POST_PRODUCTION_TRAFFIC_SHIFT,
  BAKE_TIME (bakeTimeInMinutes), CLEAN_UP (the old tasks are stopped as it starts); at
  its end the old deployments are removed, the PRIMARY becomes COMPLETED and the service
  deployment SUCCESSFUL. The old deployment's tasks run until CLEAN_UP, so `deployments`
  lists two entries through bake time. Every minute of configuration (bake times) lasts
  --seconds-per-minute seconds.
* Tasks that fail (see --fail-share / --fail-image) go from PENDING straight to STOPPED
  (stopCode EssentialContainerExited, exit code 1) and are replaced by new tasks, like
  the ECS scheduler does. With the circuit breaker on, --failure-threshold failed tasks
  turn the deployment FAILED and no more of its tasks are launched (the previous
  deployment keeps running; the service deployment is STOPPED); with rollback on, the
  failed deployment is scaled to 0 and the service goes back to the task definition of
  the last COMPLETED deployment through a new PRIMARY deployment (the service deployment
  is ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL when that deployment COMPLETED, or
  ROLLBACK_FAILED if it fails too). Rollback deployments are exempt from --fail-share
  (the old revision is assumed good) and are never rolled back themselves. --fail-share F
  makes the k-th task of a deployment (k = 1, 2, ...) fail when
  floor(k*F) > floor((k-1)*F): 0.5 fails every second task, 1 fails them all; the choice
  is deterministic.
* --trigger-alarm NAME: a service deployment whose deploymentConfiguration.alarms has
  enable=true and lists NAME sees it fire half-way through BAKE_TIME (rolling services:
  as soon as all the new tasks are up). Its alarms.status becomes TRIGGERED
  (triggeredAlarmNames [NAME]) and the deployment FAILED (rolloutStateReason naming the
  alarm). With alarms.rollback: ROLLBACK_REQUESTED, --stage-seconds later
  ROLLBACK_IN_PROGRESS (the new tasks are stopped and the source revision's task
  definition comes back through a new PRIMARY deployment, rolled out as a rolling
  update), then ROLLBACK_SUCCESSFUL once it COMPLETED. Without: STOPPED, and the
  previous deployment keeps running.
* stop-service-deployment on a PENDING or IN_PROGRESS service deployment: --stop-type
  ROLLBACK (the default) goes the same way as an alarm with rollback; ABORT turns the
  deployment FAILED (no more tasks, the previous one keeps running) and the service
  deployment STOP_REQUESTED, then STOPPED --stage-seconds later. On one that is already
  being stopped or rolled back the call changes nothing; on a finished one it fails
  with InvalidParameterException; an unknown ARN gives ServiceDeploymentNotFoundException.
* A newer update-service deployment stops the service deployment it supersedes
  (STOPPED). update-service --desired-count alone scales the PRIMARY deployment (no new
  deployment, no new service deployment); --deployment-configuration is checked
  (strategy, bake and step ranges), stored (merged into the current one) and shown, and
  applies from the next deployment on.
* run-task: PROVISIONING, PENDING (after a quarter of --task-start-delay), RUNNING
  (after --task-start-delay), STOPPED (--run-task-duration later). Every container exits
  0, or N when its environment (or the run-task override) sets EMULATOR_EXIT_CODE=N, or 1
  when its image contains --fail-image.

Container logs (CloudWatch Logs, served on the same port: `aws logs get-log-events`):
a container whose logConfiguration uses the awslogs driver with awslogs-group and
awslogs-stream-prefix logs to stream PREFIX/CONTAINER/TASK_ID of that group, in the
region of awslogs-region (else the cluster's) and the emulator's account. The group
exists once a task using it was started; the stream once the container started. Its
lines are those given with --log-lines KEY=LINE|LINE... (repeatable; KEY is the
container's name or, when no name matches, text contained in its image; "KEY=" gives an
empty stream), or by default a start line and then "Ready" (a service container),
"Done" and "Exiting with code 0", or, for a container that fails (--fail-image,
--fail-share, EMULATOR_EXIT_CODE), an "Error: simulated failure: ..." line naming the
cause and "Exiting with code N". A run-task container writes its lines spread over its
running time (the last before it stops); a service container all of them as it starts;
a crashing one all of them at its crash; a task stopped from outside writes no more.
GetLogEvents pages with forward (f/N) and backward (b/N) tokens that are positions in
the stream: the forward token at the end comes back unchanged until newer lines arrive;
--limit N without --start-from-head gives the last N lines. A missing group or stream
is a ResourceNotFoundException ("The specified log group does not exist." / "The
specified log stream does not exist.").

ECR images (`aws ecr describe-images`, same port): --ecr-image REF (repeatable) or
POST /_emulator/ecr-images with a JSON list of REFs makes images known, REF being
[ACCOUNT.dkr.ecr.REGION.amazonaws.com/]REPO[:TAG][@sha256:DIGEST] (ACCOUNT must be the
emulator's, 123456789012 unless MOTO_ACCOUNT_ID says otherwise; REGION defaults to
us-east-1; no tag and no digest means :latest). The repository is created and an image
pushed with a made-up manifest; its digest is DIGEST or one derived from the reference.
DescribeImages then finds it by tag or digest; an unknown tag or digest is an
ImageNotFoundException, an unknown repository a RepositoryNotFoundException. Anything
else of ECR (and of CloudWatch Logs) is moto's own.

Service deployments: ARNs are arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/
SERVICE/ID; each deployment in `deployments` runs a service revision
arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/N, where N is the number of
its id ecs-svc/N (a rollback deployment runs the source revision again). describe-services
and the create-service / update-service answers carry currentServiceDeployment and
currentServiceRevisions. describe-service-deployments (up to 20 ARNs; unknown ones come
back in failures with reason MISSING) returns the ServiceDeployment shape: createdAt,
startedAt, finishedAt (SUCCESSFUL and ROLLBACK_*) or stoppedAt (STOPPED), updatedAt,
sourceServiceRevisions and targetServiceRevision (task counts; for the staged strategies
also the requested test and production traffic weights), status, statusReason,
lifecycleStage (staged strategies only), the deploymentConfiguration it started with,
rollback {reason, startedAt, serviceRevisionArn}, deploymentCircuitBreaker {status,
failureCount, threshold} (status DISABLED alone when off) and alarms {status,
alarmNames, triggeredAlarmNames} (status DISABLED alone when off).
list-service-deployments lists ServiceDeploymentBrief entries, newest first (status and
createdAt filters, maxResults / nextToken).

`list-tasks` returns tasks whose desiredStatus is RUNNING unless --desired-status is
given, like ECS. State changes are computed from the clock on every request and by a
background ticker (every 0.1 s), under one lock that also serialises the requests.

Extra HTTP endpoints: GET /_emulator/health (readiness), GET /_emulator/config and
POST /_emulator/config with a JSON object to change the failure settings at run time
(the keys are the flags' names with underscores: fail_share, fail_image,
circuit_breaker, trigger_alarm, stage_seconds, ...; log_lines takes an object of KEY ->
list of lines and replaces the whole table, for containers that start from then on),
GET /_emulator/ecr-images (the references made known) and POST /_emulator/ecr-images.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import math
import os
import random
import re
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
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecr import models as ecr_models
    from moto.ecs import models as ecs_models
    from moto.ecs import responses as ecs_responses
    from moto.ecr.exceptions import ImageNotFoundException
    from moto.ecs.exceptions import (
        ECSException,
        EcsClientException,
        InvalidParameterException,
        TaskDefinitionNotFoundException,
    )
    from moto.logs import models as logs_models
    from moto.logs.exceptions import InvalidParameterException as LogsInvalidParameter
    from moto.logs.exceptions import ResourceNotFoundException as LogsNotFound
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
    "stage_seconds": 0.5,
    "seconds_per_minute": 1.0,
    "trigger_alarm": "",
    # container name (or text of its image) -> the lines its awslogs stream gets
    "log_lines": {},
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

# deploymentConfiguration.strategy values; all but ROLLING walk the lifecycle stages
STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
STAGED_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
LIFECYCLE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
# service deployment statuses that no longer change
FINISHED_STATUSES = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# ECS's defaults for the traffic-shifting strategies
LINEAR_DEFAULTS = {"stepPercent": 10.0, "stepBakeTimeInMinutes": 6}
CANARY_DEFAULTS = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


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
    return "ecs-svc/" + random.choice("123456789") + "".join(random.choice("0123456789") for _ in range(18))


def new_service_deployment_id() -> str:
    return "".join(random.choice(ID_ALPHABET) for _ in range(21))


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


def awslogs_target(definition: dict[str, Any], region: str) -> tuple[str, str, str] | None:
    """(group, stream prefix, region) of a container that logs with the awslogs driver."""
    config = definition.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs":
        return None
    group = options.get("awslogs-group")
    prefix = options.get("awslogs-stream-prefix")
    if not group or not prefix:
        return None
    return group, prefix, options.get("awslogs-region") or region


def crash_cause() -> str:
    return f"the image matches --fail-image {CONFIG['fail_image']!r}"


def configured_log_lines(name: str | None, image: str | None) -> list[str] | None:
    """The lines set with --log-lines for this container: its name first, then its image."""
    table = CONFIG["log_lines"]
    if name in table:
        return list(table[name])
    for key, lines in table.items():
        if key and key in (image or ""):
            return list(lines)
    return None


def parse_log_lines(entries: Any) -> dict[str, list[str]]:
    """KEY=LINE|LINE entries, or a JSON object of KEY -> list of lines (or "a|b")."""
    table: dict[str, list[str]] = {}
    if isinstance(entries, dict):
        items = list(entries.items())
    else:
        items = []
        for entry in entries or []:
            if not isinstance(entry, str) or "=" not in entry:
                raise ValueError(f"log lines {entry!r}: expected KEY=LINE|LINE...")
            key, text = entry.split("=", 1)
            items.append((key, text))
    for key, value in items:
        if not key:
            raise ValueError("log lines: empty container name or image")
        if isinstance(value, str):
            lines = value.split("|") if value else []
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            lines = list(value)
        else:
            raise ValueError(f"log lines for {key!r}: expected a list of strings")
        table[str(key)] = lines
    return table


# --------------------------------------------------------------------------------------
# Model objects (plain classes: moto's BaseModel metaclass wants a moto.* module).
# moto's serializer reads attributes by their snake_case names, so these
# plain objects render as ECS Task / Container / Deployment shapes.
# --------------------------------------------------------------------------------------


class EmuContainer:
    def __init__(self, task: "EmuTask", definition: dict[str, Any], exit_on_stop: int, cause: str | None):
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
        # the exit code this container reports when its task stops on its own, and why
        # it is not 0 (written to its log)
        self.exit_on_stop = exit_on_stop
        self.exit_cause = cause
        # (group, stream prefix, region) when it logs with the awslogs driver
        self.log_target = awslogs_target(definition, task.region_name)


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
            code, cause = self._planned_exit(definition, override)
            self.containers.append(EmuContainer(self, definition, code, cause))

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
        # awslogs lines still to be written: (due time, logs backend, group, stream, message)
        self.log_plan: list[tuple[float, Any, str, str, str]] = []
        # the log groups exist before any container starts, as they would in an account
        for container in self.containers:
            self._logs_backend(container)
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
    def _planned_exit(definition: dict[str, Any], override: dict[str, Any]) -> tuple[int, str | None]:
        raw = env_value(override.get("environment"), EXIT_CODE_VARIABLE)
        if raw is None:
            raw = env_value(definition.get("environment"), EXIT_CODE_VARIABLE)
        if raw is not None:
            try:
                code = int(raw)
            except ValueError:
                code = 1
            return code, (f"{EXIT_CODE_VARIABLE}={raw}" if code else None)
        if image_fails(definition.get("image")):
            return 1, crash_cause()
        return 0, None

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

    # -- container logs ------------------------------------------------------------
    def _logs_backend(self, container: EmuContainer) -> Any:
        """moto's logs backend of the container's awslogs region, with its group created."""
        if container.log_target is None:
            return None
        group, _, region = container.log_target
        try:
            backend = logs_models.logs_backends[self.account_id][region]
            backend.ensure_log_group(group)
        except Exception as exc:  # an unknown region, say: no logs, like a failing driver
            log(f"task {self.id}: no log group {group} in {region}: {exc!r}")
            return None
        return backend

    def _open_logs(self, start: float, end: float | None, exits: dict[str, int] | None = None) -> None:
        """Create the awslogs streams of the containers that start at `start` and plan
        their lines: spread over [start, end) for a task that ends on its own, all at
        `start` otherwise. `exits` is given for a task that crashes as it starts."""
        for container in self.containers:
            if container.log_target is None:
                continue
            group, prefix, _ = container.log_target
            stream = f"{prefix}/{container.name}/{self.id}"
            backend = self._logs_backend(container)
            if backend is None:
                continue
            backend.ensure_log_stream(group, stream)
            if exits is not None:
                code: int | None = exits.get(container.name, 0)
                cause = crash_cause() if image_fails(container.image) else "--fail-share picked this task"
            else:
                code = container.exit_on_stop if end is not None else None
                cause = container.exit_cause
            lines = configured_log_lines(container.name, container.image)
            if lines is None:
                lines = [f"Starting {container.name} ({container.image})"]
                if code is None:
                    lines.append("Ready")
                elif code == 0:
                    lines += ["Done", "Exiting with code 0"]
                else:
                    lines += [f"Error: simulated failure: {cause}", f"Exiting with code {code}"]
            step = (end - start) / len(lines) if end is not None and end > start and lines else 0.0
            for k, message in enumerate(lines):
                self.log_plan.append((start + k * step, backend, group, stream, message))
        self.log_plan.sort(key=lambda entry: entry[0])

    def write_logs(self, now: float) -> None:
        """Put the planned lines that are due at `now` into their streams."""
        due = [entry for entry in self.log_plan if entry[0] <= now]
        if not due:
            return
        self.log_plan = [entry for entry in self.log_plan if entry[0] > now]
        batches: dict[tuple[int, str, str], tuple[Any, str, str, list[dict[str, Any]]]] = {}
        for when, backend, group, stream, message in due:
            batch = batches.setdefault((id(backend), group, stream), (backend, group, stream, []))
            batch[3].append({"timestamp": int(when * 1000), "message": message})
        for backend, group, stream, events in batches.values():
            backend.put_log_events(group, stream, events)

    # -- state machine -------------------------------------------------------------
    def advance(self, now: float) -> bool:
        """Apply every transition that is due at `now`; True when the task changed."""
        changed = self._advance(now)
        if self.log_plan:
            self.write_logs(now)
        return changed

    def _advance(self, now: float) -> bool:
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
            self._open_logs(self.t_start, self.t_stop)
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
            self.write_logs(math.inf)
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
        self._open_logs(when, None, exits)
        self.write_logs(math.inf)
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
        # a container that is stopped from outside writes nothing more
        self.log_plan = []
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


# --------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------

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
                offset = sd.stage_at
                for weight, held in sd.steps:
                    if now >= offset and weight != sd.production_weight:
                        sd.production_weight = weight
                        sd.touch(offset)
                        log(f"service {service.name}: production traffic {weight:g}% on {target.id}")
                    offset += held
                due = offset
            elif stage == "BAKE_TIME":
                bake = float(sd.configuration.get("bakeTimeInMinutes") or 0) * CONFIG["seconds_per_minute"]
                due = sd.stage_at + bake
                if sd.alarm_fires():
                    fire_at = sd.stage_at + bake / 2.0
                    if now >= fire_at:
                        self._alarm(service, sd, now)
                        return
            else:
                due = sd.stage_at + stage_seconds
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


# --------------------------------------------------------------------------------------
# CloudWatch Logs: GetLogEvents paging
# --------------------------------------------------------------------------------------

TOKEN_DIGITS = 56


def _log_token(direction: str, position: int) -> str:
    return f"{direction}/{position:0{TOKEN_DIGITS}d}"


def _stream_get_log_events(
    self: Any,
    start_time: Any,
    end_time: Any,
    limit: int | None,
    next_token: str | None,
    start_from_head: Any,
) -> tuple[list[dict[str, Any]], str, str]:
    """GetLogEvents of one stream, with tokens that are positions in the stream.

    A forward token f/N reads on from the N-th event (so at the end of the stream the
    same token comes back until newer events arrive, even on an empty stream); a
    backward token b/N reads the events before the N-th one. Without a token the page
    is the first `limit` events with startFromHead, else the last `limit`."""
    size = 10000 if limit is None else int(limit)
    if size < 1:
        raise LogsInvalidParameter(
            constraint="Member must have value greater than or equal to 1", parameter="limit", value=limit
        )
    events = sorted(
        (
            e
            for e in self.events
            if not (start_time and e.timestamp < int(start_time))
            and not (end_time and e.timestamp > int(end_time))
        ),
        key=lambda e: e.timestamp,
    )
    if next_token:
        direction, _, digits = next_token.partition("/")
        if direction not in ("f", "b") or not digits.isdigit():
            raise LogsInvalidParameter("The specified nextToken is invalid.")
        position = min(int(digits), len(events))
        if direction == "f":
            first, last = position, min(len(events), position + size)
        else:
            first, last = max(0, position - size), position
    elif start_from_head:
        first, last = 0, min(len(events), size)
    else:
        first, last = max(0, len(events) - size), len(events)
    page = [e.to_response_dict() for e in events[first:last]]
    return page, _log_token("b", first), _log_token("f", last)


_original_group_get_log_events = logs_models.LogGroup.get_log_events


def _group_get_log_events(self: Any, log_stream_name: str, *args: Any) -> Any:
    if log_stream_name not in self.streams:
        raise LogsNotFound("The specified log stream does not exist.")
    return _original_group_get_log_events(self, log_stream_name, *args)


# --------------------------------------------------------------------------------------
# ECR: images the emulator knows
# --------------------------------------------------------------------------------------

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(.+)$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# the references made known with --ecr-image or POST /_emulator/ecr-images, in order
ECR_IMAGES: list[str] = []


def emulator_account() -> str:
    """The account moto answers for (the same test credentials always map to it)."""
    return os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID


def parse_ecr_image(reference: str) -> tuple[str, str, str, str | None, str | None]:
    """(account, region, repository, tag, digest) of REPO[:TAG][@sha256:D], optionally
    prefixed by ACCOUNT.dkr.ecr.REGION.amazonaws.com/ (default: the emulator's account,
    us-east-1). A reference with neither tag nor digest means the tag "latest"."""
    account, region, rest = emulator_account(), "us-east-1", reference.strip()
    host = ECR_HOST.match(rest)
    if host:
        account, region, rest = host.group(1), host.group(2), host.group(3)
    elif "/" in rest and ("." in rest.split("/", 1)[0] or ":" in rest.split("/", 1)[0]):
        raise ValueError(f"{reference}: not an ECR image (registry {rest.split('/', 1)[0]})")
    if account != emulator_account():
        raise ValueError(f"{reference}: the registry must be the emulator's account {emulator_account()}")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST.match(digest):
            raise ValueError(f"{reference}: a digest is sha256: and 64 hex digits")
    tag = None
    name = rest
    if ":" in rest.rsplit("/", 1)[-1]:
        name, tag = rest.rsplit(":", 1)
    if not name or tag == "":
        raise ValueError(f"{reference}: cannot read the repository name")
    if tag is None and digest is None:
        tag = "latest"
    return account, region, name, tag, digest


def add_ecr_image(reference: str) -> None:
    """Create the repository if needed and push an image with this tag and/or digest
    (a made-up manifest; its digest is derived from the reference unless given)."""
    account, region, name, tag, digest = parse_ecr_image(reference)
    backend = ecr_models.ecr_backends[account][region]
    if name not in backend.repositories:
        backend.create_repository(name, None, None, None, "MUTABLE", [])
    repository = backend.repositories[name]
    try:
        # already known (a tag alone: under whatever digest it has)
        repository._get_image(tag, digest)
    except ImageNotFoundException:
        if digest is None:
            digest = "sha256:" + hashlib.sha256(f"{region}/{name}:{tag}".encode()).hexdigest()
        layer = "sha256:" + hashlib.sha256(digest.encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024, "digest": layer},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2048, "digest": layer}],
        }
        text = json.dumps(manifest)
        same = [image for image in repository.images if image.get_image_digest() == digest]
        if same and tag is not None:
            # the same image under one more tag
            text = same[0].image_manifest
        backend.put_image(name, text, tag, MANIFEST_TYPE, digest)
    if reference not in ECR_IMAGES:
        ECR_IMAGES.append(reference)
    log(f"ECR image {reference} known in {account}/{region}")


def install() -> None:
    """Swap the emulator into moto (before the first request creates a backend)."""
    logs_models.LogStream.get_log_events = _stream_get_log_events
    logs_models.LogGroup.get_log_events = _group_get_log_events
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
    "stage_seconds": float,
    "seconds_per_minute": float,
    "trigger_alarm": str,
    "log_lines": parse_log_lines,
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
        if path == "/_emulator/ecr-images":
            if environ.get("REQUEST_METHOD") == "POST":
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    references = json.loads(environ["wsgi.input"].read(length) or b"[]")
                    if isinstance(references, str):
                        references = [references]
                    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
                        raise ValueError("expected a JSON list of image references")
                    with LOCK:
                        for reference in references:
                            add_ecr_image(reference)
                except Exception as exc:  # a bad reference or region: say so, keep serving
                    return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            with LOCK:
                return self._json(start_response, "200 OK", {"images": list(ECR_IMAGES)})
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
    parser.add_argument("--stage-seconds", type=float, default=0.5, help="seconds each lifecycle stage of a blue/green, linear or canary deployment lasts")
    parser.add_argument("--seconds-per-minute", type=float, default=1.0, help="seconds one minute of bakeTimeInMinutes (and step/canary bake times) lasts")
    parser.add_argument("--trigger-alarm", default="", metavar="NAME", help="the CloudWatch alarm NAME fires during deployments whose alarms list it")
    parser.add_argument(
        "--log-lines", action="append", default=[], metavar="KEY=LINE|LINE...",
        help="the awslogs lines of containers named KEY (or, failing that, whose image contains KEY); repeatable",
    )
    parser.add_argument(
        "--ecr-image", action="append", default=[], metavar="[ACCOUNT.dkr.ecr.REGION.amazonaws.com/]REPO[:TAG][@sha256:D]",
        help="an image ECR's DescribeImages finds (default region us-east-1); repeatable",
    )
    parser.add_argument("--verbose", action="store_true", help="log requests and service events to stderr")
    args = parser.parse_args(argv)
    try:
        args.log_lines = parse_log_lines(args.log_lines)
    except ValueError as exc:
        parser.error(f"--log-lines: {exc}")
    for reference in args.ecr_image:
        try:
            parse_ecr_image(reference)
        except ValueError as exc:
            parser.error(f"--ecr-image: {exc}")
    if not 0.0 <= args.fail_share <= 1.0:
        parser.error("--fail-share must be between 0 and 1")
    if args.failure_threshold < 1:
        parser.error("--failure-threshold must be at least 1")
    for name in ("task_start_delay", "healthy_delay", "drain_delay", "run_task_duration", "stage_seconds", "seconds_per_minute"):
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
    for reference in args.ecr_image:
        try:
            add_ecr_image(reference)
        except Exception as exc:
            sys.stderr.write(f"ecs_emulator: --ecr-image {reference}: {exc}\n")
            return 2
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
