"""Log lines (failover/daemon/logs.py): key=value fields in text, one object in JSON."""

from __future__ import annotations

import json
import logging

from failover.daemon.logs import JsonFormatter, TextFormatter, fields, logfmt


def record(message: str, *args: object, **values: object) -> logging.LogRecord:
    r = logging.LogRecord("failover", logging.INFO, __file__, 1, message, args, None)
    r.__dict__.update(fields(**values))
    return r


def test_logfmt_quotes_what_would_split_and_joins_lists() -> None:
    assert logfmt({"a": 1, "b": "two words", "c": 'q"', "d": "", "e": None}) == (
        'a=1 b="two words" c="q\\"" d="" e=""'
    )
    assert logfmt({"added": ["VR_1", "VR_2"], "k": "x=y"}) == 'added=VR_1,VR_2 k="x=y"'


def test_text_line_is_the_message_then_the_fields() -> None:
    line = TextFormatter().format(record("%s up", "VR_1", event="state", new="MASTER"))
    assert line.endswith(" INFO VR_1 up event=state new=MASTER")
    plain = TextFormatter().format(logging.LogRecord("failover", 30, "", 1, "x", (), None))
    assert plain.endswith(" WARNING x")


def test_json_line_is_one_object_with_the_fields_as_they_are() -> None:
    out = json.loads(JsonFormatter().format(record("%s up", "VR_1", vrid=51, added=["a"])))
    assert out["level"] == "INFO" and out["message"] == "VR_1 up"
    assert out["vrid"] == 51 and out["added"] == ["a"]
    assert out["time"].endswith("+00:00")
