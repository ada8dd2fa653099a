"""CloudWatch Logs: where a container's awslogs lines go, which lines it writes, and
GetLogEvents paging with tokens that are positions in the stream (moto's own otherwise)."""

from __future__ import annotations

from typing import Any

from moto.logs import models as logs_models
from moto.logs.exceptions import InvalidParameterException as LogsInvalidParameter
from moto.logs.exceptions import ResourceNotFoundException as LogsNotFound

from .config import CONFIG


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


def configured_log_lines(name: str | None, image: str | None) -> list[str] | None:
    """The lines set with --log-lines for this container: its name first, then its image."""
    table = CONFIG["log_lines"]
    if name in table:
        return list(table[name])
    for key, lines in table.items():
        if key and key in (image or ""):
            return list(lines)
    return None


# --------------------------------------------------------------------------------------
# GetLogEvents paging
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


def install() -> None:
    logs_models.LogStream.get_log_events = _stream_get_log_events
    logs_models.LogGroup.get_log_events = _group_get_log_events
