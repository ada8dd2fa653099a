"""Deployment lifecycle hooks (deploymentConfiguration.lifecycleHooks) of the staged
strategies: their validation, the hook runs a service deployment makes as it walks its
lifecycle stages (AWS_LAMBDA hooks that succeed, fail or time out as --hook-result says,
PAUSE hooks that wait for ContinueServiceDeployment or their timeout), the
lifecycleHookDetails of DescribeServiceDeployments and the ContinueServiceDeployment
handler.

ecs.py calls in at a few places: validate_lifecycle_hooks (with the rest of a
deploymentConfiguration), gate (the end of a hookable stage), production_shift (the
steps of PRODUCTION_TRAFFIC_SHIFT, with PRE_PRODUCTION_TRAFFIC_SHIFT before each),
rollback_runs (the hook runs of a rollback) and describe_into (the describe answer)."""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import ECSException, InvalidParameterException

from .config import CONFIG, as_datetime, log

if TYPE_CHECKING:
    from .ecs import EmulatorBackend, EmuServiceDeployment

INFINITY = float("inf")

TARGET_TYPES = ("AWS_LAMBDA", "PAUSE")
ACTIONS = ("ROLLBACK", "CONTINUE")
# the stages a hook can be configured at (DeploymentLifecycleHookStage), in walk order;
# PRE_PRODUCTION_TRAFFIC_SHIFT is not a lifecycleStage of its own: it runs inside
# PRODUCTION_TRAFFIC_SHIFT before every traffic step
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
# pause hooks would also pause a rollback (which runs these stages again): ECS refuses them
NO_PAUSE_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
# the stages whose Lambda hooks ECS invokes again while it rolls a deployment back
ROLLBACK_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
MAX_HOOKS_PER_TYPE = 10
# timeoutConfiguration: ECS's default, and the largest value per target type
DEFAULT_TIMEOUT_MINUTES = 1440
MAX_TIMEOUT_MINUTES = {"AWS_LAMBDA": 1440, "PAUSE": 20160}
DEFAULT_TIMEOUT_ACTION = "ROLLBACK"
HOOK_RESULTS = ("SUCCEEDED", "FAILED", "TIMED_OUT")
LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$")


# --------------------------------------------------------------------------------------
# Validation (create-service / update-service --deployment-configuration)
# --------------------------------------------------------------------------------------


def validate_lifecycle_hooks(hooks: Any) -> None:
    """Refuse lifecycleHooks that ECS refuses (InvalidParameterException)."""
    if hooks is None:
        return
    if not isinstance(hooks, list):
        raise InvalidParameterException("lifecycleHooks must be a list.")
    counts = {kind: 0 for kind in TARGET_TYPES}
    for index, hook in enumerate(hooks):
        where = f"lifecycleHooks[{index}]"
        if not isinstance(hook, dict):
            raise InvalidParameterException(f"{where} must be an object.")
        kind = hook.get("targetType") or "AWS_LAMBDA"
        if kind not in TARGET_TYPES:
            raise InvalidParameterException(
                f"Invalid targetType '{kind}' in {where}. Valid values: {', '.join(TARGET_TYPES)}."
            )
        counts[kind] += 1
        stages = hook.get("lifecycleStages")
        if not isinstance(stages, list) or not stages:
            raise InvalidParameterException(f"{where}: lifecycleStages must list at least one lifecycle stage.")
        for stage in stages:
            if stage not in HOOK_STAGES:
                raise InvalidParameterException(
                    f"Invalid lifecycle stage '{stage}' in {where}. Valid values: {', '.join(HOOK_STAGES)}."
                )
            if kind == "PAUSE" and stage in NO_PAUSE_STAGES:
                raise InvalidParameterException(
                    f"{where}: PAUSE hooks cannot be configured at the {stage} stage "
                    "(only AWS_LAMBDA hooks can run at TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT)."
                )
        if len(set(stages)) != len(stages):
            raise InvalidParameterException(f"{where}: lifecycleStages lists a stage twice.")
        target = hook.get("hookTargetArn")
        if kind == "AWS_LAMBDA":
            if not target:
                raise InvalidParameterException(f"{where}: hookTargetArn is required for an AWS_LAMBDA lifecycle hook.")
            if not LAMBDA_ARN.match(str(target)):
                raise InvalidParameterException(
                    f"{where}: hookTargetArn '{target}' is not a Lambda function ARN."
                )
        else:
            for member in ("hookTargetArn", "roleArn"):
                if hook.get(member):
                    raise InvalidParameterException(
                        f"{where}: {member} cannot be set for a PAUSE lifecycle hook."
                    )
        details = hook.get("hookDetails")
        if details is not None and kind == "AWS_LAMBDA" and not isinstance(details, dict):
            raise InvalidParameterException(f"{where}: hookDetails must be a JSON object.")
        timeout = hook.get("timeoutConfiguration")
        if timeout is not None:
            if not isinstance(timeout, dict):
                raise InvalidParameterException(f"{where}: timeoutConfiguration must be an object.")
            minutes = timeout.get("timeoutInMinutes")
            highest = MAX_TIMEOUT_MINUTES[kind]
            if minutes is not None and not 1 <= int(minutes) <= highest:
                raise InvalidParameterException(
                    f"{where}: timeoutConfiguration.timeoutInMinutes must be between 1 and {highest} for {kind} hooks."
                )
            action = timeout.get("action")
            if action is not None and action not in ACTIONS:
                raise InvalidParameterException(
                    f"Invalid timeoutConfiguration.action '{action}' in {where}. Valid values: {', '.join(ACTIONS)}."
                )
    for kind, count in counts.items():
        if count > MAX_HOOKS_PER_TYPE:
            raise InvalidParameterException(
                f"A service can have at most {MAX_HOOKS_PER_TYPE} {kind} lifecycle hooks ({count} given)."
            )


# --------------------------------------------------------------------------------------
# Hook runs
# --------------------------------------------------------------------------------------


def function_result(arn: str) -> str:
    """What --hook-result says the Lambda function of this ARN returns (SUCCEEDED unless set):
    keyed by the full ARN, NAME:QUALIFIER or the function's NAME."""
    table = CONFIG.get("hook_results") or {}
    qualified = arn.split(":function:", 1)[-1]
    for key in (arn, qualified, qualified.split(":", 1)[0]):
        if key in table:
            return table[key]
    return "SUCCEEDED"


class HookRun:
    """One run of one configured hook at one stage (and traffic step) of a service
    deployment; lifecycleHookDetails lists these."""

    def __init__(self, hook: dict[str, Any], index: int, stage: str, step: int | None, started: float, rollback: bool = False):
        self.index = index
        self.stage = stage
        self.step = step
        self.target_type = hook.get("targetType") or "AWS_LAMBDA"
        self.target_arn = hook.get("hookTargetArn") if self.target_type == "AWS_LAMBDA" else None
        prefix = "ecs-pause-" if self.target_type == "PAUSE" else "ecs-lambda-"
        self.hook_id = prefix + secrets.token_urlsafe(32)
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = float(timeout.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES)
        self.timeout_action = timeout.get("action") or DEFAULT_TIMEOUT_ACTION
        self.started_at = started
        self.expires_at = started + minutes * CONFIG["seconds_per_minute"]
        # a re-invocation while the deployment rolls back: always succeeds, holds nothing
        self.rollback = rollback
        if self.target_type == "PAUSE":
            self.status = "AWAITING_ACTION"
            self.result = None
            self.returns_at = INFINITY
        else:
            self.status = "IN_PROGRESS"
            self.result = "SUCCEEDED" if rollback else function_result(self.target_arn or "")
            # the function answers after one stage; one that "times out" never answers
            self.returns_at = INFINITY if self.result == "TIMED_OUT" else started + CONFIG["stage_seconds"]
        self.done_at: float | None = None

    @property
    def pending(self) -> bool:
        return self.status in ("IN_PROGRESS", "AWAITING_ACTION")

    def resolve(self, status: str, when: float) -> None:
        self.status = status
        self.done_at = when

    def advance(self, now: float, live: bool) -> None:
        """Bring the run to `now`: a Lambda function answers (or times out) on its own; a
        pause times out only while its service deployment is still going on."""
        if not self.pending:
            return
        if self.target_type == "AWS_LAMBDA":
            if self.returns_at <= self.expires_at and now >= self.returns_at:
                self.resolve(self.result or "SUCCEEDED", self.returns_at)
            elif self.expires_at < self.returns_at and now >= self.expires_at:
                self.resolve("TIMED_OUT", self.expires_at)
        elif live and now >= self.expires_at:
            self.resolve("TIMED_OUT", self.expires_at)

    @property
    def wants_rollback(self) -> bool:
        return self.status == "FAILED" or (self.status == "TIMED_OUT" and self.timeout_action == "ROLLBACK")

    def name(self) -> str:
        if self.target_type == "PAUSE":
            return f"pause hook {self.hook_id}"
        return f"lifecycle hook {self.target_arn}"

    def detail(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"hookId": self.hook_id, "targetType": self.target_type}
        if self.target_arn:
            answer["targetArn"] = self.target_arn
        answer["status"] = self.status
        answer["expiresAt"] = as_datetime(self.expires_at)
        answer["timeoutAction"] = self.timeout_action
        return answer


def _runs(sd: "EmuServiceDeployment") -> list[HookRun]:
    return sd.hook_runs


def _hooks_at(sd: "EmuServiceDeployment", stage: str) -> list[tuple[int, dict[str, Any]]]:
    hooks = sd.configuration.get("lifecycleHooks") or []
    return [(i, h) for i, h in enumerate(hooks) if isinstance(h, dict) and stage in (h.get("lifecycleStages") or [])]


def _failure_reasons(run: HookRun) -> tuple[str, str]:
    """(statusReason of the service deployment, rolloutStateReason of its deployment)."""
    if run.status == "TIMED_OUT":
        what = f"the {run.name()} timed out at {run.stage} (timeout action ROLLBACK)"
    elif run.target_type == "PAUSE":
        what = f"the {run.name()} at {run.stage} was continued with action ROLLBACK"
    else:
        what = f"the {run.name()} failed at {run.stage}"
    return f"Service deployment rolled back because {what}.", what


def _roll_back_for(backend: "EmulatorBackend", sd: "EmuServiceDeployment", run: HookRun, now: float) -> None:
    reason, what = _failure_reasons(run)
    target = sd.target
    backend._request_rollback(sd.service, sd, now, reason, f"ECS deployment {target.id} failed: {what}.")


def gate(backend: "EmulatorBackend", sd: "EmuServiceDeployment", stage: str, start: float, now: float,
         step: int | None = None) -> float:
    """Run the hooks configured at `stage` (started at `start`, once per stage and traffic
    step): the time they were all done (`start` when there are none), INFINITY while one
    is pending or when one failed (the deployment is then being rolled back)."""
    configured = _hooks_at(sd, stage)
    if not configured:
        return start
    runs = []
    for index, hook in configured:
        run = next((r for r in _runs(sd) if not r.rollback and (r.index, r.stage, r.step) == (index, stage, step)), None)
        if run is None:
            run = HookRun(hook, index, stage, step, start)
            _runs(sd).append(run)
            sd.touch(start)
            where = stage if step is None else f"{stage} (traffic step {step + 1})"
            log(f"service {sd.service.name}: service deployment {sd.id}: {run.name()} {run.status} at {where}")
        runs.append(run)
    for run in runs:
        before = run.status
        run.advance(now, live=True)
        if run.status != before:
            sd.touch(run.done_at or now)
            log(f"service {sd.service.name}: service deployment {sd.id}: {run.name()} {run.status}")
    failed = next((r for r in runs if r.wants_rollback), None)
    if failed is not None:
        if sd.status == "IN_PROGRESS":
            _roll_back_for(backend, sd, failed, now)
        return INFINITY
    if any(r.pending for r in runs):
        return INFINITY
    return max([start] + [r.done_at or start for r in runs])


def production_shift(backend: "EmulatorBackend", sd: "EmuServiceDeployment", now: float) -> float:
    """Walk PRODUCTION_TRAFFIC_SHIFT: for each step, the PRE_PRODUCTION_TRAFFIC_SHIFT hooks,
    then the step's weight, held for its time and while its PRODUCTION_TRAFFIC_SHIFT hooks
    run. The time the stage ends, or INFINITY while that is not known yet."""
    shift = sd.shift
    if shift is None:
        shift = sd.shift = {"step": 0, "at": sd.stage_at, "applied": None}
    while shift["step"] < len(sd.steps):
        step = shift["step"]
        weight, held = sd.steps[step]
        if shift["applied"] is None:
            ready = gate(backend, sd, "PRE_PRODUCTION_TRAFFIC_SHIFT", shift["at"], now, step)
            if now < ready:
                return INFINITY
            shift["applied"] = ready
            if weight != sd.production_weight:
                sd.production_weight = weight
                sd.touch(ready)
                log(f"service {sd.service.name}: production traffic {weight:g}% on {sd.target.id}")
        applied = shift["applied"]
        done = max(applied + held, gate(backend, sd, "PRODUCTION_TRAFFIC_SHIFT", applied, now, step))
        if now < done:
            return INFINITY
        shift.update(step=step + 1, at=done, applied=None)
    return shift["at"]


def rollback_runs(sd: "EmuServiceDeployment", now: float) -> None:
    """A rollback shifts traffic back: ECS invokes the Lambda hooks of the traffic stages the
    deployment had reached again (they succeed after one stage; the rollback does not wait)."""
    if not sd.staged:
        return
    reached = {"TEST_TRAFFIC_SHIFT": sd.test_weight > 0, "PRODUCTION_TRAFFIC_SHIFT": sd.production_weight > 0}
    for stage in ROLLBACK_STAGES:
        if not reached[stage]:
            continue
        for index, hook in _hooks_at(sd, stage):
            if (hook.get("targetType") or "AWS_LAMBDA") == "AWS_LAMBDA":
                _runs(sd).append(HookRun(hook, index, stage, None, now, rollback=True))


def describe_into(sd: "EmuServiceDeployment", answer: dict[str, Any]) -> None:
    """lifecycleHookDetails: every hook run so far, oldest first."""
    if not _runs(sd):
        return
    now = time.time()
    for run in _runs(sd):
        run.advance(now, live=sd.status == "IN_PROGRESS")
    answer["lifecycleHookDetails"] = [run.detail() for run in _runs(sd)]


# --------------------------------------------------------------------------------------
# ContinueServiceDeployment
# --------------------------------------------------------------------------------------


def continue_service_deployment(backend: "EmulatorBackend", arn: str, hook_id: str | None, action: str | None) -> str:
    action = action or "CONTINUE"
    if action not in ACTIONS:
        raise InvalidParameterException(f"Invalid action '{action}'. Valid values: {', '.join(ACTIONS)}.")
    if not hook_id:
        raise InvalidParameterException("hookId cannot be empty.")
    sd = backend.service_deployments.get(arn)
    if sd is None:
        raise ECSException("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")
    now = time.time()
    backend.tick(now)
    if sd.status != "IN_PROGRESS":
        raise InvalidParameterException(
            f"The service deployment {arn} is {sd.status}: only an IN_PROGRESS service deployment can be continued."
        )
    run = next((r for r in _runs(sd) if r.hook_id == hook_id), None)
    if run is None:
        raise InvalidParameterException(f"The lifecycle hook {hook_id} was not found in the service deployment {arn}.")
    if run.target_type != "PAUSE" or run.status != "AWAITING_ACTION":
        raise InvalidParameterException(
            f"The lifecycle hook {hook_id} is a {run.target_type} hook in status {run.status}: "
            "only a PAUSE hook that is AWAITING_ACTION can be continued."
        )
    sd.touch(now)
    if action == "CONTINUE":
        run.resolve("SUCCEEDED", now)
        log(f"service {sd.service.name}: service deployment {sd.id}: {run.name()} continued")
    else:
        run.resolve("FAILED", now)
        log(f"service {sd.service.name}: service deployment {sd.id}: {run.name()} rolled back")
        _roll_back_for(backend, sd, run, now)
    backend._reconcile(sd.service, now)
    return arn


def _continue_service_deployment(self: Any) -> Any:
    arn = self._get_param("serviceDeploymentArn")
    if not arn:
        raise InvalidParameterException("serviceDeploymentArn cannot be empty.")
    continued = continue_service_deployment(
        self.ecs_backend, arn, self._get_param("hookId"), self._get_param("action")
    )
    return ecs_responses.ActionResult({"serviceDeploymentArn": continued})


def install() -> None:
    ecs_responses.EC2ContainerServiceResponse.continue_service_deployment = _continue_service_deployment
