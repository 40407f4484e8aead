"""Structured logs: JSON lines when not on a terminal, readable lines on one."""

from __future__ import annotations

import json
import logging
import sys
import time

_FIELDS = ("connector", "event_id", "correlation_id", "route")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": f"{record.created:.3f}", "level": record.levelname.lower(), "logger": record.name,
                 "msg": record.getMessage()}
        entry |= {f: getattr(record, f) for f in _FIELDS if hasattr(record, f)}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        extra = " ".join(f"{f}={getattr(record, f)}" for f in _FIELDS if hasattr(record, f))
        line = f"{clock} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f"  [{extra}]" if extra else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "INFO", json_logs: bool | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if json_logs is None else json_logs
    handler.setFormatter(JsonFormatter() if use_json else TerminalFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "asyncio", "httpx", "zeep", "paramiko", "asyncssh", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
