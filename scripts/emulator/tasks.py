"""Tasks and their containers: the schedule of one task (PROVISIONING -> PENDING ->
RUNNING [-> HEALTHY] [-> STOPPED]), its simulated crashes and exit codes, and the awslogs
lines its containers write. Services, task sets and run-task all start these."""

from __future__ import annotations

import math
import random
import uuid
from typing import TYPE_CHECKING, Any

from moto.logs import models as logs_models
from moto.utilities.utils import get_partition

from .config import (
    CONFIG,
    ESSENTIAL_EXIT_REASON,
    EXIT_CODE_VARIABLE,
    as_datetime,
    crash_cause,
    env_value,
    has_health_check,
    image_fails,
    log,
)
from .logs import awslogs_target, configured_log_lines

if TYPE_CHECKING:
    from .ecs import EmulatorBackend


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
