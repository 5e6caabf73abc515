"""The daemon's log lines: one per event on stderr, text or JSON (`--log-format`).

Lines about a state change, a drop summary, a reload (and start-up) carry fields:
`log.info(message, *args, extra=fields(router=..., ...))`. In text they follow the
message as `key=value` (values with spaces, quotes or `=` in JSON string quoting), so
journald keeps one line per event and log shippers can split it; in JSON each line is
one object: `time`, `level`, `message` and the fields as they are. Nothing secret goes
in a field (the auth password never does).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(message)s"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: structured fields of the line."""
    return {"fields": values}


def logfmt(values: dict[str, Any]) -> str:
    """`key=value ...`; a value that would split (space, quote, `=`, empty) is quoted."""
    out = []
    for key, value in values.items():
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        text = "" if value is None else str(value)
        if not text or any(c in text for c in ' "=\\\n\t'):
            text = json.dumps(text)
        out.append(f"{key}={text}")
    return " ".join(out)


class TextFormatter(logging.Formatter):
    """`2026-11-30 16:00:00.123 INFO message key=value ...`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        values = getattr(record, "fields", None)
        if not values:
            return line
        head, sep, tail = line.partition("\n")  # a traceback stays after the fields
        return f"{head} {logfmt(values)}{sep}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, message, the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """One line per event on stderr (journald adds its own metadata).

    `level` applies to failover's own logger; libraries (pyroute2, asyncio) log
    warnings and errors only.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("failover").setLevel(level.upper())
