"""JSON logs (structlog + orjson), one pipeline for every line a service writes: its own
structlog calls and the stdlib records of its libraries (uvicorn, aiokafka, asyncpg), which
structlog's `ProcessorFormatter` renders with the same processors. The consumer binds `event_id`
and `member_id` to the context, so every line written while an event is applied carries them;
a line written inside a span carries its `trace_id` and `span_id`."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

#: Probe and scrape requests: a line each every few seconds that says nothing.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The active span's ids (W3C hex), as the trace backend shows them."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


#: A path segment kept in an access line: a word of a route (`v1`, `members`, `points`), never
#: an identifier, which has digits or other characters (a member id, a survey link's token).
_ROUTE_WORD = re.compile(r"v\d{1,2}|[a-z][a-z_-]{0,30}")


def route_shape(path: str) -> str:
    """The path without its query string (a search can carry an email address) and with every
    segment that is not a route's word as `{}`: `/v1/members/{}/points`."""
    segments = path.partition("?")[0].split("/")
    return "/".join(s if not s or _ROUTE_WORD.fullmatch(s) else "{}" for s in segments)


def access_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """A uvicorn access record as fields: method, the path's shape (`route_shape`), status. The
    client's address is left out too."""
    record = event_dict.get("_record")
    args = event_dict.pop("positional_args", None)
    if record is None or record.name != "uvicorn.access" or not isinstance(args, tuple):
        return event_dict
    if len(args) == 5:  # uvicorn's '%s - "%s %s HTTP/%s" %d'
        _client, method, path, http_version, status = args
        event_dict.update(
            event="request",
            method=method,
            path=route_shape(str(path)),
            http_version=http_version,
            status=status,
        )
    else:  # a format this code does not know: say nothing of what it held
        event_dict["event"] = "request"
    return event_dict


class _QuietProbes(logging.Filter):
    """Drops the access lines of probes and scrapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            return str(args[2]).partition("?")[0] not in QUIET_PATHS
        return True


def _orjson_text(value: Any, **kwargs: Any) -> str:
    return orjson.dumps(value, **kwargs).decode()


class _LoyaltyHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler `configure_logging` installs (and replaces when called again)."""


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
    ]
    # Tracebacks as data, without the frames' local variables (structlog's default shows
    # them): a handler's locals hold members' emails and phones, the token verifier's the JWT
    # secret.
    exceptions = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    renderer: Processor
    text_renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        text_renderer = structlog.processors.JSONRenderer(serializer=_orjson_text)
        factory: structlog.typing.WrappedLogger = structlog.BytesLoggerFactory(sys.stdout.buffer)
    else:
        renderer = text_renderer = structlog.dev.ConsoleRenderer()
        factory = structlog.PrintLoggerFactory(sys.stdout)
    structlog.configure(
        processors=[*shared, exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)

    # The libraries' stdlib records: the same processors, then the same renderer, on stdout.
    handler = _LoyaltyHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, access_fields],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                exceptions,
                text_renderer,
            ],
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LoyaltyHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _QuietProbes) for f in access.filters):
        access.addFilter(_QuietProbes())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
