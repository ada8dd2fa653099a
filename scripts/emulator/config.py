"""Settings, shared state and small helpers of the emulator: the failure and timing
settings (CONFIG, set from the command line and /_emulator/config), the one lock every
request and tick holds, the clock's ticker registry, and helpers used by every service.

Nothing here imports moto, so the entry point can install its signal handlers first."""

from __future__ import annotations

import datetime
import random
import sys
import threading
import time
from typing import Any, Callable

# Stop requests that arrive while moto is still being imported are honoured too.
STOP = threading.Event()


def request_stop(_signum: int, _frame: Any) -> None:
    STOP.set()


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
    # CodeDeploy: the lifecycle event whose hook fails, and the page size of its lists
    "codedeploy_fail_hook": "",
    "codedeploy_page_size": 100,
    # container name (or text of its image) -> the lines its awslogs stream gets
    "log_lines": {},
    # Lambda function (name, NAME:QUALIFIER or ARN) -> what its lifecycle hook runs return
    "hook_results": {},
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
# CodeDeploy's ECS lifecycle events that run hooks
HOOK_EVENTS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
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


def crash_cause() -> str:
    return f"the image matches --fail-image {CONFIG['fail_image']!r}"


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


def parse_hook_event(value: Any) -> str:
    """--codedeploy-fail-hook: a lifecycle event that runs a hook, or "" for none."""
    text = str(value or "").strip()
    if text and text not in HOOK_EVENTS:
        raise ValueError(f"{text!r} is not a lifecycle event with a hook (one of {', '.join(HOOK_EVENTS)})")
    return text


def parse_page_size(value: Any) -> int:
    """--codedeploy-page-size: at least 1."""
    if isinstance(value, bool):
        raise ValueError("the CodeDeploy page size must be a number")
    size = int(value)
    if size < 1:
        raise ValueError("the CodeDeploy page size must be at least 1")
    return size
HOOK_RESULT_VALUES = ("SUCCEEDED", "FAILED", "TIMED_OUT")


def parse_hook_results(entries: Any) -> dict[str, str]:
    """FUNCTION=RESULT entries, or a JSON object of FUNCTION -> RESULT (SUCCEEDED, FAILED or
    TIMED_OUT); FUNCTION is a Lambda function's name, NAME:QUALIFIER or its ARN."""
    if isinstance(entries, dict):
        items = list(entries.items())
    else:
        items = []
        for entry in entries or []:
            if not isinstance(entry, str) or "=" not in entry:
                raise ValueError(f"hook result {entry!r}: expected FUNCTION=SUCCEEDED|FAILED|TIMED_OUT")
            items.append(tuple(entry.rsplit("=", 1)))
    table: dict[str, str] = {}
    for key, value in items:
        result = str(value).upper()
        if not key or result not in HOOK_RESULT_VALUES:
            raise ValueError(f"hook result {key}={value}: expected FUNCTION=SUCCEEDED|FAILED|TIMED_OUT")
        table[str(key)] = result
    return table


# --------------------------------------------------------------------------------------
# The clock: every service's state is computed from it, under LOCK
# --------------------------------------------------------------------------------------

# functions of the current time that bring a service's state up to date, in order
TICKERS: list[Callable[[float], None]] = []


def tick_all() -> None:
    with LOCK:
        now = time.time()
        for tick in TICKERS:
            tick(now)


# the settings /_emulator/config reads and changes (the flags' names with underscores)
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
    "codedeploy_fail_hook": parse_hook_event,
    "codedeploy_page_size": parse_page_size,
    "hook_results": parse_hook_results,
}
