"""CodeDeploy for ECS: applications, deployment groups bound to CODE_DEPLOY services,
and blue/green deployments that walk CodeDeploy's ECS lifecycle events on the emulator's
clock, creating, promoting and removing the service's task sets (see ecs.py). moto's
codedeploy backend keeps the applications and groups; the deployments, the targets and
every answer the ECS tool reads are the emulator's, in the shapes of the CodeDeploy API."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import random
import re
import time
from typing import Any

import yaml
from moto.codedeploy import models as cd_models
from moto.codedeploy import responses as cd_responses
from moto.codedeploy.exceptions import (
    ApplicationNameRequiredException,
    CodeDeployException,
    DeploymentDoesNotExistException,
    DeploymentGroupAlreadyExistsException,
    DeploymentGroupNameRequiredException,
)
from moto.ecs import models as ecs_models
from moto.utilities.utils import get_partition

from .config import CONFIG, HOOK_EVENTS, TICKERS, log
from .ecs import EmulatorBackend, EmuTaskSet

# CodeDeploy's lifecycle events of an ECS deployment, in order, and those a hook can run in
ECS_EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
TEST_TRAFFIC_EVENTS = ("AllowTestTraffic", "AfterAllowTestTraffic")
# deployment statuses: still going, and over
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Ready", "Baking")
FINISHED_STATUSES = ("Succeeded", "Failed", "Stopped")
ALL_STATUSES = ACTIVE_STATUSES + FINISHED_STATUSES
TARGET_STATUSES = ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Unknown", "Ready")
# the predefined ECS deployment configurations: (type, percent, minutes between steps)
ECS_CONFIGS = {
    "CodeDeployDefault.ECSAllAtOnce": ("AllAtOnce", 100, 0),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("Linear", 10, 1),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("Linear", 10, 3),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("Canary", 10, 5),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("Canary", 10, 15),
}
DEFAULT_ECS_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
BATCH_GET_DEPLOYMENTS_LIMIT = 25
BATCH_GET_GROUPS_LIMIT = 100
DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
ID_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# what CodeDeploy says (the API reference, the user guide's troubleshooting pages)
STOP_PENDING = "Stopping Pending. Stopping to schedule commands in the deployment instances"
HOOK_FAILURE = "The deployment failed because one or more of the lifecycle event validation functions failed."
READY_TIMEOUT = (
    "The deployment timed out while waiting for a notification to continue. This time out period is {n} minutes."
)
USER_STOP = "The deployment was stopped by a user."


def stamp(epoch: float | None) -> float | None:
    """A CodeDeploy timestamp: epoch seconds (JSON protocol), to the millisecond."""
    return None if epoch is None else round(epoch, 3)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CodeDeployError(CodeDeployException):
    code = 400

    def __init__(self, name: str, message: str):
        super().__init__(name, message)


def error(name: str, message: str) -> CodeDeployError:
    return CodeDeployError(name, message)


# --------------------------------------------------------------------------------------
# AppSpec
# --------------------------------------------------------------------------------------


class AppSpec:
    """The parts of an ECS AppSpec the emulator acts on."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        resources = document.get("Resources")
        if not isinstance(resources, list) or not resources:
            raise error("InvalidRevisionException", "The AppSpec file must have at least one entry in Resources.")
        first = resources[0]
        if not isinstance(first, dict) or len(first) != 1:
            raise error("InvalidRevisionException", "Each Resources entry of the AppSpec file must name one resource.")
        self.resource_name, resource = next(iter(first.items()))
        if not isinstance(resource, dict):
            raise error("InvalidRevisionException", f"The AppSpec resource {self.resource_name} is not a mapping.")
        kind = resource.get("Type")
        if kind != "AWS::ECS::Service":
            raise error(
                "InvalidRevisionException",
                f"The AppSpec resource {self.resource_name} has Type {kind!r}; an ECS deployment needs AWS::ECS::Service.",
            )
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            raise error("InvalidRevisionException", f"The AppSpec resource {self.resource_name} has no Properties.")
        self.task_definition = properties.get("TaskDefinition")
        if not isinstance(self.task_definition, str) or not self.task_definition:
            raise error("InvalidRevisionException", "The AppSpec file's TaskDefinition property is missing.")
        balancer = properties.get("LoadBalancerInfo")
        if not isinstance(balancer, dict):
            raise error("InvalidRevisionException", "The AppSpec file's LoadBalancerInfo property is missing.")
        self.container_name = balancer.get("ContainerName")
        self.container_port = balancer.get("ContainerPort")
        if not isinstance(self.container_name, str) or not self.container_name:
            raise error("InvalidRevisionException", "The AppSpec file's LoadBalancerInfo has no ContainerName.")
        try:
            self.container_port = int(self.container_port)
        except (TypeError, ValueError):
            raise error("InvalidRevisionException", "The AppSpec file's LoadBalancerInfo has no valid ContainerPort.") from None
        # [(event, function)] in the order written
        self.hooks: list[tuple[str, str]] = []
        hooks = document.get("Hooks") or []
        if not isinstance(hooks, list):
            raise error("InvalidRevisionException", "The AppSpec file's Hooks must be a list.")
        for entry in hooks:
            if not isinstance(entry, dict):
                raise error("InvalidRevisionException", "Each Hooks entry of the AppSpec file must map an event to a function.")
            for event, function in entry.items():
                if event not in HOOK_EVENTS:
                    raise error(
                        "InvalidRevisionException",
                        f"The AppSpec file names a hook for {event}; an ECS deployment's hooks are {', '.join(HOOK_EVENTS)}.",
                    )
                if not isinstance(function, str) or not function:
                    raise error("InvalidRevisionException", f"The AppSpec hook for {event} names no Lambda function.")
                self.hooks.append((event, function))

    def hook_for(self, event: str) -> str | None:
        for name, function in self.hooks:
            if name == event:
                return function
        return None

    @staticmethod
    def parse(content: str) -> "AppSpec":
        try:
            document = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            raise error("InvalidRevisionException", f"The AppSpec content is neither JSON nor YAML: {exc}") from None
        if not isinstance(document, dict):
            raise error("InvalidRevisionException", "The AppSpec content is not a mapping.")
        return AppSpec(document)


def synthesized_revision(task_definition: str, container: str, port: int) -> dict[str, Any]:
    """The revision of a rollback when no earlier CodeDeploy deployment succeeded: an
    AppSpec naming the original task set's task definition."""
    content = json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": task_definition,
                            "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
                        },
                    }
                }
            ],
        },
        separators=(",", ":"),
    )
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha256_of(content)}}


def traffic_steps(config_name: str) -> list[tuple[float, float]]:
    """(weight of the replacement, seconds it is held) of each step of AllowTraffic."""
    stage = CONFIG["stage_seconds"]
    minute = CONFIG["seconds_per_minute"]
    kind, percent, minutes = ECS_CONFIGS.get(config_name, ECS_CONFIGS[DEFAULT_ECS_CONFIG])
    if kind == "Linear":
        weights = [min(100.0, float(percent * (k + 1))) for k in range(-(-100 // percent))]
        return [(w, stage + (minutes * minute if w < 100.0 else 0.0)) for w in weights]
    if kind == "Canary":
        return [(float(percent), stage + minutes * minute), (100.0, stage)]
    return [(100.0, stage)]


# --------------------------------------------------------------------------------------
# Deployments
# --------------------------------------------------------------------------------------


def new_deployment_id() -> str:
    return "d-" + "".join(random.choice(ID_CHARACTERS) for _ in range(9))


class EmuCodeDeployment:
    """One CodeDeploy deployment to one ECS service (its only target)."""

    def __init__(
        self,
        backend: "EmuCodeDeployBackend",
        group: Any,
        revision: dict[str, Any],
        appspec: AppSpec,
        now: float,
        *,
        description: str | None,
        creator: str,
        config_name: str,
        auto_rollback: dict[str, Any],
        rollback_of: "EmuCodeDeployment | None" = None,
    ):
        self.id = new_deployment_id()
        while self.id in backend.emu_deployments:
            self.id = new_deployment_id()
        self.backend = backend
        self.group = group
        self.application_name = group.application.application_name
        self.group_name = group.deployment_group_name
        self.revision = revision
        self.appspec = appspec
        self.previous_revision: dict[str, Any] | None = None
        self.description = description
        self.creator = creator
        self.config_name = config_name
        self.auto_rollback = auto_rollback
        self.create_time = now
        self.start_time = now
        self.complete_time: float | None = None
        self.status = "InProgress"
        self.error: dict[str, str] | None = None
        self.rollback_info: dict[str, str] = {}
        self.rollback_of = rollback_of
        self.is_rollback = rollback_of is not None
        service = (group.ecs_services or [{}])[0]
        self.cluster = service.get("clusterName", "")
        self.service_name = service.get("serviceName", "")
        self.events: list[dict[str, Any]] = [
            {"name": name, "status": "Pending", "start": None, "end": None, "diagnostics": None} for name in ECS_EVENTS
        ]
        self.target_status = "InProgress"
        self.target_updated = now
        self.target_arn: str | None = None
        # walking the events: "events", "ready_wait" or "termination_wait"
        self.phase = "events"
        self.index = 0
        self.step_at = now
        self.wait_at: float | None = None
        self.ready_continued_at: float | None = None
        self.termination_continued_at: float | None = None
        self.termination_wait_started = False
        self.steps: list[tuple[float, float]] = []
        # the task sets: the one serving production when it started, and the new one
        self.original: EmuTaskSet | None = None
        self.replacement: EmuTaskSet | None = None

    # -- state helpers ---------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def target_id(self) -> str:
        return f"{self.cluster}:{self.service_name}"

    def touch(self, when: float) -> None:
        self.target_updated = max(self.target_updated, when)

    def current_event(self) -> dict[str, Any] | None:
        return self.events[self.index] if self.index < len(self.events) else None

    def group_config(self) -> dict[str, Any]:
        return self.group.blue_green_deployment_configuration or {}

    def ready_wait(self) -> tuple[bool, float]:
        """(whether it waits in Ready for continue-deployment, the wait in minutes)."""
        option = self.group_config().get("deploymentReadyOption") or {}
        waits = option.get("actionOnTimeout") == "STOP_DEPLOYMENT"
        return waits, float(option.get("waitTimeInMinutes") or 0)

    def termination(self) -> tuple[str, float]:
        """(TERMINATE or KEEP_ALIVE, minutes the original task set is kept after success)."""
        option = self.group_config().get("terminateBlueInstancesOnDeploymentSuccess") or {}
        return option.get("action") or "TERMINATE", float(option.get("terminationWaitTimeInMinutes") or 0)

    def rolls_back_on(self, event: str) -> bool:
        config = self.auto_rollback or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def test_route(self) -> bool:
        for pair in (self.group.load_balancer_info or {}).get("targetGroupPairInfoList") or []:
            if (pair.get("testTrafficRoute") or {}).get("listenerArns"):
                return True
        return False

    def target_groups(self) -> list[str]:
        for pair in (self.group.load_balancer_info or {}).get("targetGroupPairInfoList") or []:
            return [tg.get("name") for tg in pair.get("targetGroups") or [] if tg.get("name")]
        return []

    # -- the API shapes ----------------------------------------------------------------
    def overview(self) -> dict[str, int]:
        counts = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
        if self.target_status in counts:
            counts[self.target_status] = 1
        return counts

    def info(self) -> dict[str, Any]:
        group = self.group
        answer: dict[str, Any] = {
            "applicationName": self.application_name,
            "deploymentGroupName": self.group_name,
            "deploymentConfigName": self.config_name,
            "deploymentId": self.id,
        }
        if self.previous_revision:
            answer["previousRevision"] = self.previous_revision
        answer["revision"] = self.revision
        answer["status"] = self.status
        if self.error:
            answer["errorInformation"] = dict(self.error)
        answer["createTime"] = stamp(self.create_time)
        answer["startTime"] = stamp(self.start_time)
        if self.complete_time is not None:
            answer["completeTime"] = stamp(self.complete_time)
        answer["deploymentOverview"] = self.overview()
        if self.description:
            answer["description"] = self.description
        answer["creator"] = self.creator
        answer["ignoreApplicationStopFailures"] = False
        answer["autoRollbackConfiguration"] = self.auto_rollback or {"enabled": False, "events": []}
        answer["updateOutdatedInstancesOnly"] = False
        if self.rollback_info:
            answer["rollbackInfo"] = dict(self.rollback_info)
        answer["deploymentStyle"] = group.deployment_style
        answer["instanceTerminationWaitTimeStarted"] = self.termination_wait_started
        answer["blueGreenDeploymentConfiguration"] = group.blue_green_deployment_configuration
        answer["loadBalancerInfo"] = group.load_balancer_info
        answer["deploymentStatusMessages"] = []
        answer["computePlatform"] = "ECS"
        return answer

    def _event_shape(self, event: dict[str, Any]) -> dict[str, Any]:
        shape: dict[str, Any] = {"lifecycleEventName": event["name"]}
        if event["diagnostics"] is not None:
            shape["diagnostics"] = dict(event["diagnostics"])
        if event["start"] is not None:
            shape["startTime"] = stamp(event["start"])
        if event["end"] is not None:
            shape["endTime"] = stamp(event["end"])
        shape["status"] = event["status"]
        return shape

    @staticmethod
    def _task_set_shape(task_set: EmuTaskSet, label: str) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "identifer": task_set.id,
            "desiredCount": task_set.computed_desired_count,
            "pendingCount": task_set.pending_count,
            "runningCount": task_set.running_count,
            "status": task_set.status,
            "trafficWeight": float(task_set.traffic_weight),
        }
        if task_set.target_group:
            shape["targetGroup"] = {"name": task_set.target_group}
        shape["taskSetLabel"] = label
        return shape

    def target(self) -> dict[str, Any]:
        task_sets = []
        if self.original is not None:
            task_sets.append(self._task_set_shape(self.original, "Blue"))
        if self.replacement is not None:
            task_sets.append(self._task_set_shape(self.replacement, "Green"))
        ecs_target: dict[str, Any] = {
            "deploymentId": self.id,
            "targetId": self.target_id,
        }
        if self.target_arn:
            ecs_target["targetArn"] = self.target_arn
        ecs_target["lastUpdatedAt"] = stamp(self.target_updated)
        ecs_target["lifecycleEvents"] = [self._event_shape(e) for e in self.events]
        ecs_target["status"] = self.target_status
        ecs_target["taskSetsInfo"] = task_sets
        return {"deploymentTargetType": "ECSTarget", "ecsTarget": ecs_target}

    def last_info(self) -> dict[str, Any]:
        """The LastDeploymentInfo shape of a deployment group."""
        answer: dict[str, Any] = {"deploymentId": self.id, "status": self.status}
        if self.complete_time is not None:
            answer["endTime"] = stamp(self.complete_time)
        answer["createTime"] = stamp(self.create_time)
        return answer


# --------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------


class EmuCodeDeployBackend(cd_models.CodeDeployBackend):
    """moto's CodeDeploy backend (applications, deployment groups) with ECS deployments
    that walk their lifecycle events on the clock."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        # every deployment of this account and region, oldest first
        self.emu_deployments: dict[str, EmuCodeDeployment] = {}

    # -- the ECS side ------------------------------------------------------------------
    def ecs(self) -> EmulatorBackend:
        return ecs_models.ecs_backends[self.account_id][self.region_name]

    def _service_of(self, deployment: EmuCodeDeployment) -> Any:
        return self.ecs().code_deploy_service(deployment.cluster, deployment.service_name)

    def _target_group_arn(self, name: str) -> str:
        partition = get_partition(self.region_name)
        suffix = hashlib.sha256(f"{self.region_name}/{name}".encode()).hexdigest()[:16]
        return f"arn:{partition}:elasticloadbalancing:{self.region_name}:{self.account_id}:targetgroup/{name}/{suffix}"

    # -- applications and deployment groups ----------------------------------------------
    def application_of(self, name: str | None) -> Any:
        if not name:
            raise ApplicationNameRequiredException("The application name must be specified.")
        return self.get_application(name)

    def group_of(self, application_name: str | None, group_name: str | None) -> Any:
        self.application_of(application_name)
        if not group_name:
            raise DeploymentGroupNameRequiredException("The deployment group name must be specified.")
        return self.get_deployment_group(application_name, group_name)

    def create_deployment_group(self, application_name: str, deployment_group_name: str, *args: Any, **kwargs: Any) -> str:
        application = self.application_of(application_name)
        if not deployment_group_name:
            raise DeploymentGroupNameRequiredException("The deployment group name must be specified.")
        if deployment_group_name in self.deployment_groups.get(application_name, {}):
            raise DeploymentGroupAlreadyExistsException(
                f"The deployment group {deployment_group_name} already exists with the user or AWS account."
            )
        if application.compute_platform == "ECS":
            self._check_ecs_group(kwargs)
            kwargs["deployment_config_name"] = kwargs.get("deployment_config_name") or DEFAULT_ECS_CONFIG
            kwargs["deployment_style"] = kwargs.get("deployment_style") or {
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            }
            blue_green = kwargs.get("blue_green_deployment_configuration") or {}
            blue_green.setdefault("terminateBlueInstancesOnDeploymentSuccess", {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0})
            blue_green.setdefault("deploymentReadyOption", {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0})
            kwargs["blue_green_deployment_configuration"] = blue_green
        group_id = super().create_deployment_group(application_name, deployment_group_name, *args, **kwargs)
        group = self.deployment_groups[application_name][deployment_group_name]
        group.emu_alarm_configuration = kwargs.get("alarm_configuration")
        group.emu_last_successful = None
        group.emu_last_attempted = None
        return group_id

    def _check_ecs_group(self, kwargs: dict[str, Any]) -> None:
        config_name = kwargs.get("deployment_config_name")
        if config_name and config_name not in ECS_CONFIGS:
            raise error("DeploymentConfigDoesNotExistException", f"The deployment configuration {config_name} does not exist.")
        services = kwargs.get("ecs_services") or []
        if len(services) != 1:
            raise error("InvalidECSServiceException", "An ECS deployment group must name exactly one ECS service.")
        cluster, name = services[0].get("clusterName"), services[0].get("serviceName")
        if self.ecs().code_deploy_service(cluster or "", name or "") is None:
            raise error(
                "InvalidECSServiceException",
                f"Deployment group's ECS service {cluster}:{name} must exist, be ACTIVE and use the CODE_DEPLOY deployment controller.",
            )
        pairs = (kwargs.get("load_balancer_info") or {}).get("targetGroupPairInfoList") or []
        if len(pairs) != 1 or len(pairs[0].get("targetGroups") or []) != 2:
            raise error(
                "InvalidLoadBalancerInfoException",
                "An ECS deployment group needs loadBalancerInfo.targetGroupPairInfoList with one pair of two target groups.",
            )
        if not (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns"):
            raise error("InvalidLoadBalancerInfoException", "The target group pair has no prodTrafficRoute listener.")
        style = kwargs.get("deployment_style") or {}
        if style and (style.get("deploymentType"), style.get("deploymentOption")) != ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL"):
            raise error(
                "InvalidDeploymentStyleException",
                "An ECS deployment group's deploymentStyle must be BLUE_GREEN WITH_TRAFFIC_CONTROL.",
            )

    def group_info(self, group: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "applicationName": group.application.application_name,
            "deploymentGroupId": group.deployment_group_id,
            "deploymentGroupName": group.deployment_group_name,
            "deploymentConfigName": str(group.deployment_config_name),
            "ec2TagFilters": group.ec2_tag_filters,
            "onPremisesInstanceTagFilters": group.on_premises_instance_tag_filters,
            "autoScalingGroups": group.auto_scaling_groups,
            "serviceRoleArn": group.service_role_arn,
            "triggerConfigurations": group.trigger_configurations,
            "alarmConfiguration": getattr(group, "emu_alarm_configuration", None)
            or {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []},
            "autoRollbackConfiguration": group.auto_rollback_configuration or {"enabled": False, "events": []},
            "deploymentStyle": group.deployment_style,
            "outdatedInstancesStrategy": group.outdated_instances_strategy or "UPDATE",
            "blueGreenDeploymentConfiguration": group.blue_green_deployment_configuration,
            "loadBalancerInfo": group.load_balancer_info,
        }
        if getattr(group, "emu_last_successful", None) is not None:
            answer["lastSuccessfulDeployment"] = group.emu_last_successful.last_info()
        if getattr(group, "emu_last_attempted", None) is not None:
            answer["lastAttemptedDeployment"] = group.emu_last_attempted.last_info()
        answer["computePlatform"] = group.application.compute_platform
        answer["ecsServices"] = group.ecs_services
        answer["terminationHookEnabled"] = bool(group.termination_hook_enabled)
        return answer

    def batch_get_deployment_groups(self, application_name: str | None, names: list[str] | None) -> tuple[list[Any], str | None]:
        self.application_of(application_name)
        if not names:
            raise DeploymentGroupNameRequiredException("The deployment group names must be specified.")
        if len(names) > BATCH_GET_GROUPS_LIMIT:
            raise error(
                "BatchLimitExceededException",
                f"The maximum number of names or IDs allowed for this request ({BATCH_GET_GROUPS_LIMIT}) was exceeded.",
            )
        groups = self.deployment_groups.get(application_name or "", {})
        found, missing = [], []
        for name in names:
            if name in groups:
                found.append(groups[name])
            else:
                missing.append(name)
        message = f"Deployment groups do not exist: [{', '.join(missing)}]" if missing else None
        return found, message

    # -- deployments ---------------------------------------------------------------------
    def deployment_of(self, deployment_id: str | None) -> EmuCodeDeployment:
        if not deployment_id:
            raise error("DeploymentIdRequiredException", "The deployment ID must be specified.")
        if not DEPLOYMENT_ID.match(deployment_id):
            raise error("InvalidDeploymentIdException", f"The deployment ID {deployment_id} is not valid.")
        deployment = self.emu_deployments.get(deployment_id)
        if deployment is None:
            raise DeploymentDoesNotExistException(
                f"The deployment {deployment_id} does not exist with the user or AWS account."
            )
        return deployment

    def create_ecs_deployment(
        self,
        application_name: str | None,
        group_name: str | None,
        revision: Any,
        config_name: str | None,
        description: str | None,
        auto_rollback: dict[str, Any] | None,
    ) -> str:
        group = self.group_of(application_name, group_name)
        if group.application.compute_platform != "ECS":
            raise error(
                "InvalidDeploymentGroupNameException",
                f"The deployment group {group_name} does not deploy to ECS; the emulator deploys ECS services only.",
            )
        if not revision:
            raise error("RevisionRequiredException", "The revision must be specified.")
        if revision.get("revisionType") != "AppSpecContent":
            raise error(
                "InvalidRevisionException",
                "An ECS deployment's revision must be of type AppSpecContent here (the emulator keeps no S3 bundles).",
            )
        spec = revision.get("appSpecContent") or {}
        content = spec.get("content")
        if not isinstance(content, str) or not content:
            raise error("InvalidRevisionException", "The AppSpec content must be specified.")
        digest = sha256_of(content)
        given = spec.get("sha256")
        if given and given.lower() != digest:
            raise error(
                "InvalidRevisionException",
                f"The sha256 {given} of the AppSpec content does not match its content (whose sha256 is {digest}).",
            )
        appspec = AppSpec.parse(content)
        self._check_revision(appspec)
        config_name = config_name or str(group.deployment_config_name) or DEFAULT_ECS_CONFIG
        if config_name not in ECS_CONFIGS:
            raise error("DeploymentConfigDoesNotExistException", f"The deployment configuration {config_name} does not exist.")
        for other in self.emu_deployments.values():
            if other.group is group and other.active:
                raise error(
                    "DeploymentLimitExceededException",
                    f"The Deployment Group '{group.deployment_group_name}' already has an active Deployment '{other.id}'",
                )
        now = time.time()
        deployment = EmuCodeDeployment(
            self,
            group,
            {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": digest}},
            appspec,
            now,
            description=description,
            creator="user",
            config_name=config_name,
            auto_rollback=auto_rollback or group.auto_rollback_configuration or {},
        )
        self._register(deployment, now)
        log(f"codedeploy: deployment {deployment.id} of {deployment.target_id} -> {appspec.task_definition}")
        self._drive(deployment, now)
        return deployment.id

    def _check_revision(self, appspec: AppSpec) -> None:
        arn = appspec.task_definition
        if ":task-definition/" not in arn:
            raise error("InvalidRevisionException", f"The AppSpec file's TaskDefinition {arn} is not a task definition ARN.")
        try:
            task_definition = self.ecs().describe_task_definition(arn)
        except Exception:
            raise error("InvalidRevisionException", f"The task definition {arn} of the AppSpec file does not exist.") from None
        if task_definition.arn != arn:
            raise error("InvalidRevisionException", f"The task definition {arn} of the AppSpec file does not exist.")
        for container in task_definition.container_definitions:
            if container.get("name") != appspec.container_name:
                continue
            ports = [int(m.get("containerPort")) for m in container.get("portMappings") or [] if m.get("containerPort") is not None]
            if appspec.container_port not in ports:
                raise error(
                    "InvalidRevisionException",
                    f"The container {appspec.container_name} of {arn} maps no port {appspec.container_port} "
                    f"(its ports: {', '.join(str(p) for p in ports) or 'none'}).",
                )
            return
        raise error(
            "InvalidRevisionException",
            f"The task definition {arn} has no container named {appspec.container_name} (the AppSpec's ContainerName).",
        )

    def _register(self, deployment: EmuCodeDeployment, now: float) -> None:
        group = deployment.group
        if getattr(group, "emu_last_successful", None) is not None and not deployment.is_rollback:
            deployment.previous_revision = group.emu_last_successful.revision
        self.emu_deployments[deployment.id] = deployment
        group.emu_last_attempted = deployment
        service = self._service_of(deployment)
        if service is None:
            self._fail(
                deployment,
                now,
                "INVALID_ECS_SERVICE",
                f"The ECS service {deployment.service_name} of cluster {deployment.cluster} is not an ACTIVE service "
                "with the CODE_DEPLOY deployment controller.",
            )
            return
        deployment.target_arn = service.arn
        if deployment.original is None:
            deployment.original = self.ecs().primary_task_set(service)

    def list_ecs_deployments(
        self,
        application_name: str | None,
        group_name: str | None,
        statuses: list[str] | None,
        created: dict[str, Any] | None,
    ) -> list[str]:
        if application_name and not group_name:
            raise DeploymentGroupNameRequiredException(
                "If applicationName is specified, then deploymentGroupName must be specified."
            )
        if group_name and not application_name:
            raise ApplicationNameRequiredException(
                "If deploymentGroupName is specified, applicationName must be specified."
            )
        group = self.group_of(application_name, group_name) if application_name else None
        for status in statuses or []:
            if status not in ALL_STATUSES:
                raise error("InvalidDeploymentStatusException", f"The deployment status {status} is not valid.")
        start = epoch_of((created or {}).get("start"))
        end = epoch_of((created or {}).get("end"))
        found = []
        for deployment in reversed(list(self.emu_deployments.values())):
            if group is not None and deployment.group is not group:
                continue
            if statuses and deployment.status not in statuses:
                continue
            if start is not None and deployment.create_time < start:
                continue
            if end is not None and deployment.create_time > end:
                continue
            found.append(deployment.id)
        return found

    def stop_ecs_deployment(self, deployment_id: str | None, auto_rollback: bool | None) -> dict[str, str]:
        deployment = self.deployment_of(deployment_id)
        now = time.time()
        self._drive(deployment, now)
        if not deployment.active:
            raise error("DeploymentAlreadyCompletedException", f"The deployment {deployment.id} has already completed.")
        if auto_rollback is None:
            roll_back = deployment.rolls_back_on("DEPLOYMENT_STOP_ON_REQUEST")
        else:
            roll_back = bool(auto_rollback)
        log(f"codedeploy: deployment {deployment.id} stopped by the user (rollback: {roll_back})")
        self._stop(deployment, now, "MANUAL_STOP", USER_STOP, roll_back=roll_back and not deployment.is_rollback)
        return {"status": "Pending", "statusMessage": STOP_PENDING}

    def continue_ecs_deployment(self, deployment_id: str | None, wait_type: str | None) -> None:
        wait_type = wait_type or "READY_WAIT"
        if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise error("InvalidDeploymentWaitTypeException", f"The wait type {wait_type} is not valid.")
        deployment = self.deployment_of(deployment_id)
        now = time.time()
        self._drive(deployment, now)
        if not deployment.active:
            raise error("DeploymentAlreadyCompletedException", f"The deployment {deployment.id} has already completed.")
        if wait_type == "READY_WAIT":
            if deployment.phase != "ready_wait":
                raise error(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {deployment.id} does not have a status of Ready and can't continue yet.",
                )
            deployment.ready_continued_at = now
        else:
            if deployment.phase != "termination_wait":
                raise error(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {deployment.id} is not waiting to terminate its original task set.",
                )
            deployment.termination_continued_at = now
        log(f"codedeploy: deployment {deployment.id} continued ({wait_type})")
        self._drive(deployment, now)

    def target_of(self, deployment_id: str | None, target_id: str | None) -> dict[str, Any]:
        deployment = self.deployment_of(deployment_id)
        if not target_id:
            raise error("DeploymentTargetIdRequiredException", "A deployment target ID must be specified.")
        if target_id != deployment.target_id:
            raise error(
                "DeploymentTargetDoesNotExistException",
                f"The target ID {target_id} does not belong to deployment {deployment.id}.",
            )
        return deployment.target()

    # -- the walk --------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        for deployment in list(self.emu_deployments.values()):
            if deployment.active:
                self._drive(deployment, now)

    def _drive(self, deployment: EmuCodeDeployment, now: float) -> None:
        """Apply every transition of the deployment that is due at `now`, at the time it
        was due: one lifecycle event per --stage-seconds (Install until the replacement's
        tasks are up, AllowTraffic through its traffic steps), then the waits."""
        d = deployment
        stage = CONFIG["stage_seconds"]
        minute = CONFIG["seconds_per_minute"]
        while d.active:
            service = self._service_of(d)
            if service is None:
                self._fail(d, now, "INVALID_ECS_SERVICE", f"The ECS service {d.target_id} is no longer ACTIVE.")
                return
            if d.phase == "ready_wait":
                if d.ready_continued_at is not None:
                    d.phase = "events"
                    d.step_at = d.ready_continued_at
                    d.status = "InProgress"
                    d.target_status = "InProgress"
                    d.touch(d.step_at)
                    continue
                _, minutes = d.ready_wait()
                limit = (d.wait_at or now) + minutes * minute
                if now >= limit:
                    self._stop(d, limit, "TIMEOUT", READY_TIMEOUT.format(n=f"{minutes:g}"), roll_back=False)
                return
            if d.phase == "termination_wait":
                _, minutes = d.termination()
                end = d.termination_continued_at
                if end is None:
                    end = (d.wait_at or now) + minutes * minute
                if now < end:
                    return
                self._succeed(d, end)
                return
            event = d.current_event()
            if event is None:
                self._succeed(d, d.step_at)
                return
            name = event["name"]
            if event["status"] == "Pending":
                if self._skips(d, name):
                    event["status"] = "Skipped"
                    d.touch(d.step_at)
                    d.index += 1
                    self._after(d, name, d.step_at)
                    continue
                event["status"] = "InProgress"
                event["start"] = d.step_at
                d.touch(d.step_at)
                log(f"codedeploy: deployment {d.id} {name}")
                self._begin(d, name, service, d.step_at)
            if name == "Install":
                due = self._installed_at(d, d.step_at + stage)
                if not d.active:
                    return
            elif name == "AllowTraffic" and not d.is_rollback:
                due = self._shift(d, service, now)
            else:
                due = d.step_at + stage
            if due is None or now < due:
                return
            hook = d.appspec.hook_for(name) if name in HOOK_EVENTS else None
            if hook and not d.is_rollback and CONFIG["codedeploy_fail_hook"] == name:
                event["status"] = "Failed"
                event["end"] = due
                event["diagnostics"] = {
                    "errorCode": "ScriptFailed",
                    "scriptName": hook,
                    "message": f"The {name} hook {hook} returned Failed.",
                    "logTail": f"[emulator] {hook}: validation failed (--codedeploy-fail-hook {name})\n",
                }
                log(f"codedeploy: deployment {d.id} hook {name} ({hook}) failed")
                self._fail(d, due, "HOOK_EXECUTION_FAILURE", HOOK_FAILURE)
                return
            event["status"] = "Succeeded"
            event["end"] = due
            event["diagnostics"] = {"errorCode": "Success", "scriptName": hook or "", "message": "Succeeded", "logTail": ""}
            d.touch(due)
            self._end(d, name, service, due)
            d.index += 1
            d.step_at = due
            self._after(d, name, due)

    def _skips(self, d: EmuCodeDeployment, name: str) -> bool:
        if d.is_rollback:
            # a rollback only moves the traffic back (and then removes the replacement)
            return name != "AllowTraffic"
        return name in TEST_TRAFFIC_EVENTS and not d.test_route()

    def _begin(self, d: EmuCodeDeployment, name: str, service: Any, at: float) -> None:
        ecs = self.ecs()
        if name == "Install":
            original = ecs.primary_task_set(service)
            d.original = original
            # what earlier stopped or failed deployments left behind goes first
            for leftover in list(service.task_sets):
                if isinstance(leftover, EmuTaskSet) and leftover is not original and leftover.status == "ACTIVE":
                    ecs.drain_task_set(service, leftover, at)
            names = d.target_groups()
            blue = original.target_group if original is not None and original.target_group else None
            if blue not in names:
                blue = names[0] if names else None
                if original is not None:
                    original.target_group = blue
            green = next((n for n in names if n != blue), None)
            balancers = []
            for balancer in service.load_balancers or [{}]:
                entry = dict(balancer)
                if green:
                    entry["targetGroupArn"] = self._target_group_arn(green)
                entry["containerName"] = d.appspec.container_name
                entry["containerPort"] = d.appspec.container_port
                balancers.append(entry)
            d.replacement = ecs.add_replacement_task_set(
                service,
                d.appspec.task_definition,
                at,
                external_id=d.id,
                load_balancers=balancers,
                target_group=green,
            )
        elif name == "AllowTestTraffic" and d.replacement is not None:
            d.replacement.test_traffic_weight = 100.0
            if d.original is not None:
                d.original.test_traffic_weight = 0.0
        elif name == "AllowTraffic":
            if d.is_rollback:
                self._reroute_back(d, service, at)
            else:
                d.steps = traffic_steps(d.config_name)

    def _installed_at(self, d: EmuCodeDeployment, earliest: float) -> float | None:
        """When Install is over: --stage-seconds after it began, and once every task of the
        replacement is up. A replacement whose tasks keep failing fails the deployment."""
        task_set = d.replacement
        if task_set is None:
            return earliest
        tasks = [t for t in self.ecs()._service_tasks(self._service_of(d)) if t.started_by == task_set.id]
        if task_set.frozen:
            failed = sorted(t.t_start for t in tasks if t.failed)
            at = failed[min(len(failed), CONFIG["failure_threshold"]) - 1] if failed else d.step_at
            reasons = sorted({t.stopped_reason for t in tasks if t.failed and t.stopped_reason})
            message = (
                f"The ECS service could not reach a steady state: the replacement task set {task_set.id} "
                f"({task_set.task_definition.split('/')[-1]}) had {len(failed)} tasks stop as they started"
                + (f" ({'; '.join(reasons)})" if reasons else "")
                + "."
            )
            event = d.current_event()
            if event is not None:
                event["diagnostics"] = {"errorCode": "UnknownError", "scriptName": "", "message": message, "logTail": ""}
            self._fail(d, max(at, d.step_at), "ECS_UPDATE_ERROR", message)
            return None
        wanted = task_set.computed_desired_count
        if wanted <= 0:
            return earliest
        up = sorted(
            (t.t_healthy if t.checked and t.t_healthy is not None else t.t_start) for t in tasks if t.up
        )
        if len(up) < wanted:
            return None
        return max(earliest, up[wanted - 1])

    def _shift(self, d: EmuCodeDeployment, service: Any, now: float) -> float:
        """Move production traffic to the replacement step by step; PRIMARY once it has all."""
        offset = d.step_at
        for weight, held in d.steps:
            if now >= offset and d.replacement is not None and weight != d.replacement.traffic_weight:
                d.replacement.traffic_weight = weight
                d.replacement.touch(offset)
                if d.original is not None:
                    d.original.traffic_weight = 100.0 - weight
                    d.original.touch(offset)
                d.touch(offset)
                log(f"codedeploy: deployment {d.id} production traffic {weight:g}% on {d.replacement.id}")
                if weight >= 100.0:
                    self.ecs().make_primary(service, d.replacement, offset)
            offset += held
        return offset

    def _reroute_back(self, d: EmuCodeDeployment, service: Any, at: float) -> None:
        """A rollback: production (and test) traffic back on the original task set."""
        ecs = self.ecs()
        if d.original is not None and d.original in service.task_sets:
            d.original.traffic_weight = 100.0
            d.original.test_traffic_weight = 0.0
            d.original.touch(at)
            ecs.make_primary(service, d.original, at)
        if d.replacement is not None:
            d.replacement.traffic_weight = 0.0
            d.replacement.test_traffic_weight = 0.0
            d.replacement.frozen = True
            d.replacement.touch(at)

    def _end(self, d: EmuCodeDeployment, name: str, service: Any, at: float) -> None:
        if name == "AllowTraffic" and d.is_rollback and d.replacement is not None:
            self.ecs().drain_task_set(service, d.replacement, at)

    def _after(self, d: EmuCodeDeployment, name: str, at: float) -> None:
        """What comes between events: the Ready wait, the wait before the original task set
        is terminated, the end."""
        if name == "AfterAllowTestTraffic" and not d.is_rollback:
            waits, _ = d.ready_wait()
            if waits and d.ready_continued_at is None:
                d.phase = "ready_wait"
                d.wait_at = at
                d.status = "Ready"
                d.target_status = "Ready"
                d.touch(at)
                log(f"codedeploy: deployment {d.id} Ready (waiting for continue-deployment)")
        elif name == "AfterAllowTraffic":
            d.target_status = "Succeeded"
            d.touch(at)
            action, minutes = d.termination()
            if not d.is_rollback and action == "TERMINATE" and minutes > 0:
                d.phase = "termination_wait"
                d.wait_at = at
                d.termination_wait_started = True
                log(f"codedeploy: deployment {d.id} keeps the original task set for {minutes:g} minutes")
            else:
                self._succeed(d, at)

    def _succeed(self, d: EmuCodeDeployment, at: float) -> None:
        service = self._service_of(d)
        action, _ = d.termination()
        if not d.is_rollback and action == "TERMINATE" and service is not None and d.original is not None:
            self.ecs().drain_task_set(service, d.original, at)
        d.status = "Succeeded"
        d.target_status = "Succeeded"
        d.complete_time = at
        d.touch(at)
        if not d.is_rollback:
            d.group.emu_last_successful = d
        log(f"codedeploy: deployment {d.id} Succeeded")

    def _close_events(self, d: EmuCodeDeployment, at: float, failed: bool) -> None:
        for event in d.events:
            if event["status"] == "InProgress":
                if failed:
                    event["status"] = "Failed"
                    event["end"] = at
                else:
                    event["status"] = "Skipped"
                    event["end"] = at
            elif event["status"] == "Pending":
                event["status"] = "Skipped"

    def _fail(self, d: EmuCodeDeployment, at: float, code: str, message: str) -> None:
        at = max(at, d.start_time)
        self._close_events(d, at, failed=True)
        d.status = "Failed"
        d.target_status = "Failed"
        d.error = {"code": code, "message": message}
        d.complete_time = at
        d.touch(at)
        if d.replacement is not None:
            d.replacement.frozen = True
        log(f"codedeploy: deployment {d.id} Failed: {code}: {message}")
        if not d.is_rollback and d.rolls_back_on("DEPLOYMENT_FAILURE"):
            self._roll_back(d, at, f"Automatic rollback: deployment {d.id} failed ({code}).")

    def _stop(self, d: EmuCodeDeployment, at: float, code: str, message: str, roll_back: bool) -> None:
        at = max(at, d.start_time)
        self._close_events(d, at, failed=False)
        d.status = "Stopped"
        if d.target_status not in ("Succeeded",):
            d.target_status = "Skipped"
        d.error = {"code": code, "message": message}
        d.complete_time = at
        d.phase = "events"
        d.touch(at)
        log(f"codedeploy: deployment {d.id} Stopped: {code}")
        if roll_back:
            self._roll_back(d, at, f"Rollback of deployment {d.id}: it was stopped with rollback requested.")

    def _roll_back(self, d: EmuCodeDeployment, at: float, reason: str) -> None:
        """CodeDeploy's own rollback: a new deployment (creator codeDeployRollback) that puts
        production traffic back on the original task set and removes the replacement."""
        group = d.group
        last = getattr(group, "emu_last_successful", None)
        if last is not None:
            revision, appspec = last.revision, last.appspec
        else:
            task_definition = d.original.task_definition if d.original is not None else d.appspec.task_definition
            revision = synthesized_revision(task_definition, d.appspec.container_name, d.appspec.container_port)
            appspec = AppSpec.parse(revision["appSpecContent"]["content"])
        rollback = EmuCodeDeployment(
            self,
            group,
            revision,
            appspec,
            at,
            description=None,
            creator="codeDeployRollback",
            config_name=d.config_name,
            auto_rollback=d.auto_rollback,
            rollback_of=d,
        )
        rollback.previous_revision = d.revision
        rollback.original = d.original
        rollback.replacement = d.replacement
        d.rollback_info = {
            "rollbackDeploymentId": rollback.id,
            "rollbackMessage": f"Deployment {d.id} is rolled back by deployment {rollback.id}.",
        }
        rollback.rollback_info = {"rollbackTriggeringDeploymentId": d.id, "rollbackMessage": reason}
        self._register(rollback, at)
        log(f"codedeploy: deployment {rollback.id} rolls back {d.id}")
        self._drive(rollback, max(at, time.time()))


def epoch_of(value: Any) -> float | None:
    """A request timestamp (naive UTC datetime, or epoch seconds) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return float(value)


# moto finds a backend's URL table next to the module that defines its class
EmuCodeDeployBackend.__module__ = cd_models.__name__


# --------------------------------------------------------------------------------------
# Request handlers (JSON answers in the CodeDeploy API's shapes)
# --------------------------------------------------------------------------------------

Response = cd_responses.CodeDeployResponse


def _token(kind: str, offset: int) -> str:
    return base64.b64encode(json.dumps({"list": kind, "offset": offset}).encode()).decode()


def _page(response: Any, kind: str, items: list[Any]) -> tuple[list[Any], str | None]:
    """One page of `items` (--codedeploy-page-size of them) from the request's nextToken."""
    token = response._get_param("nextToken")
    offset = 0
    if token:
        try:
            decoded = json.loads(base64.b64decode(token.encode(), validate=True))
            offset = int(decoded["offset"])
            if decoded.get("list") != kind or offset < 0:
                raise ValueError(token)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise error("InvalidNextTokenException", "The next token was specified in an invalid format.") from None
    size = int(CONFIG["codedeploy_page_size"])
    page = items[offset : offset + size]
    following = _token(kind, offset + size) if offset + size < len(items) else None
    return page, following


def _backend(response: Any) -> EmuCodeDeployBackend:
    return response.codedeploy_backend


def _list_applications(self: Any) -> str:
    names = sorted(_backend(self).applications)
    page, following = _page(self, "applications", names)
    answer: dict[str, Any] = {"applications": page}
    if following:
        answer["nextToken"] = following
    return json.dumps(answer)


def _list_deployment_groups(self: Any) -> str:
    backend = _backend(self)
    name = self._get_param("applicationName")
    backend.application_of(name)
    groups = list(backend.deployment_groups.get(name, {}))
    page, following = _page(self, f"groups/{name}", groups)
    answer: dict[str, Any] = {"applicationName": name, "deploymentGroups": page}
    if following:
        answer["nextToken"] = following
    return json.dumps(answer)


def _get_deployment_group(self: Any) -> str:
    backend = _backend(self)
    group = backend.group_of(self._get_param("applicationName"), self._get_param("deploymentGroupName"))
    return json.dumps({"deploymentGroupInfo": backend.group_info(group)})


def _batch_get_deployment_groups(self: Any) -> str:
    backend = _backend(self)
    groups, message = backend.batch_get_deployment_groups(
        self._get_param("applicationName"), self._get_param("deploymentGroupNames")
    )
    answer: dict[str, Any] = {"deploymentGroupsInfo": [backend.group_info(g) for g in groups]}
    if message:
        answer["errorMessage"] = message
    return json.dumps(answer)


def _create_deployment(self: Any) -> str:
    backend = _backend(self)
    name = self._get_param("applicationName")
    application = backend.application_of(name)
    if application.compute_platform != "ECS":
        return _original_create_deployment(self)
    deployment_id = backend.create_ecs_deployment(
        name,
        self._get_param("deploymentGroupName"),
        self._get_param("revision"),
        self._get_param("deploymentConfigName"),
        self._get_param("description"),
        self._get_param("autoRollbackConfiguration"),
    )
    return json.dumps({"deploymentId": deployment_id})


_original_create_deployment = Response.create_deployment


def _get_deployment(self: Any) -> str:
    deployment = _backend(self).deployment_of(self._get_param("deploymentId"))
    return json.dumps({"deploymentInfo": deployment.info()})


def _batch_get_deployments(self: Any) -> str:
    backend = _backend(self)
    ids = self._get_param("deploymentIds") or []
    if not ids:
        raise error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if len(ids) > BATCH_GET_DEPLOYMENTS_LIMIT:
        raise error(
            "BatchLimitExceededException",
            f"The maximum number of deployment IDs allowed for this request ({BATCH_GET_DEPLOYMENTS_LIMIT}) was exceeded.",
        )
    found = []
    for deployment_id in ids:
        if not DEPLOYMENT_ID.match(deployment_id or ""):
            raise error("InvalidDeploymentIdException", f"The deployment ID {deployment_id} is not valid.")
        deployment = backend.emu_deployments.get(deployment_id)
        if deployment is not None:
            found.append(deployment.info())
    return json.dumps({"deploymentsInfo": found})


def _list_deployments(self: Any) -> str:
    ids = _backend(self).list_ecs_deployments(
        self._get_param("applicationName"),
        self._get_param("deploymentGroupName"),
        self._get_param("includeOnlyStatuses"),
        self._get_param("createTimeRange"),
    )
    page, following = _page(self, "deployments", ids)
    answer: dict[str, Any] = {"deployments": page}
    if following:
        answer["nextToken"] = following
    return json.dumps(answer)


def _list_deployment_targets(self: Any) -> str:
    deployment = _backend(self).deployment_of(self._get_param("deploymentId"))
    targets = [deployment.target_id]
    for name, values in (self._get_param("targetFilters") or {}).items():
        if name == "TargetStatus":
            for value in values:
                if value not in TARGET_STATUSES:
                    raise error("InvalidInstanceStatusException", f"The target status {value} is not valid.")
            if deployment.target_status not in values:
                targets = []
        elif name == "ServerInstanceLabel":
            targets = []  # an ECS target has no instance label
        else:
            raise error("InvalidTargetFilterNameException", f"The target filter name {name} is not valid.")
    page, following = _page(self, f"targets/{deployment.id}", targets)
    answer: dict[str, Any] = {"targetIds": page}
    if following:
        answer["nextToken"] = following
    return json.dumps(answer)


def _get_deployment_target(self: Any) -> str:
    target = _backend(self).target_of(self._get_param("deploymentId"), self._get_param("targetId"))
    return json.dumps({"deploymentTarget": target})


def _batch_get_deployment_targets(self: Any) -> str:
    backend = _backend(self)
    deployment = backend.deployment_of(self._get_param("deploymentId"))
    ids = self._get_param("targetIds") or []
    if not ids:
        raise error("DeploymentTargetIdRequiredException", "At least one deployment target ID must be specified.")
    if len(ids) > 1:
        raise error(
            "DeploymentTargetListSizeExceededException",
            "The target list of an Amazon ECS deployment must have exactly one item.",
        )
    return json.dumps({"deploymentTargets": [backend.target_of(deployment.id, ids[0])]})


def _stop_deployment(self: Any) -> str:
    answer = _backend(self).stop_ecs_deployment(
        self._get_param("deploymentId"), self._get_param("autoRollbackEnabled")
    )
    return json.dumps(answer)


def _continue_deployment(self: Any) -> str:
    _backend(self).continue_ecs_deployment(self._get_param("deploymentId"), self._get_param("deploymentWaitType"))
    return "{}"


def install() -> None:
    """Swap the emulator's CodeDeploy backend and handlers into moto."""
    cd_models.codedeploy_backends.backend = EmuCodeDeployBackend
    Response.list_applications = _list_applications
    Response.list_deployment_groups = _list_deployment_groups
    Response.get_deployment_group = _get_deployment_group
    Response.batch_get_deployment_groups = _batch_get_deployment_groups
    Response.create_deployment = _create_deployment
    Response.get_deployment = _get_deployment
    Response.batch_get_deployments = _batch_get_deployments
    Response.list_deployments = _list_deployments
    Response.list_deployment_targets = _list_deployment_targets
    Response.get_deployment_target = _get_deployment_target
    Response.batch_get_deployment_targets = _batch_get_deployment_targets
    Response.stop_deployment = _stop_deployment
    Response.continue_deployment = _continue_deployment
    TICKERS.append(tick)


def all_backends() -> list[EmuCodeDeployBackend]:
    found = []
    for account in list(dict.values(cd_models.codedeploy_backends)):
        for backend in list(dict.values(account)):
            if isinstance(backend, EmuCodeDeployBackend):
                found.append(backend)
    return found


def tick(now: float) -> None:
    for backend in all_backends():
        backend.tick(now)
