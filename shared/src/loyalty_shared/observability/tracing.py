"""OpenTelemetry traces that follow an event across services in the Kafka record headers: a
tracer provider per service, a `process` span per batch, a `publish` span per caused event
(docs/architecture.md#observability). Tests add an in-memory exporter with `add_span_processor`
before the apps start."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, NoOpTracerProvider, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord

Headers = Sequence[tuple[str, bytes]]

PROPAGATOR = TraceContextTextMapPropagator()
TRACE_HEADERS = frozenset(PROPAGATOR.fields)  # traceparent, tracestate
MAX_LINKS = 128  # the SDK's default span link limit
REMEMBERED = 10_000

#: Span processors every service's provider gets as well (tests: an in-memory exporter).
_EXTRA_PROCESSORS: list[SpanProcessor] = []


def add_span_processor(processor: SpanProcessor) -> None:
    """Every service provider created from now on sends its spans to `processor` too."""
    _EXTRA_PROCESSORS.append(processor)


def remove_span_processor(processor: SpanProcessor) -> None:
    if processor in _EXTRA_PROCESSORS:
        _EXTRA_PROCESSORS.remove(processor)


def _exporting() -> bool:
    return (
        bool(
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        )
        and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true"
    )


@dataclass
class Tracing:
    """One service's tracer and its memory of incoming trace contexts by event id."""

    service: str
    provider: trace.TracerProvider
    _remembered: OrderedDict[str, Context] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.tracer = self.provider.get_tracer("loyalty_shared", schema_url=None)

    @classmethod
    def for_service(cls, service: str) -> Tracing:
        provider: trace.TracerProvider
        if _exporting() or _EXTRA_PROCESSORS:
            sdk = TracerProvider(resource=Resource.create({"service.name": f"loyalty-{service}"}))
            if _exporting():
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                sdk.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            for processor in _EXTRA_PROCESSORS:
                sdk.add_span_processor(processor)
            provider = sdk
        else:
            provider = NoOpTracerProvider()
        return cls(service=service, provider=provider)

    @property
    def recording(self) -> bool:
        """Spans are kept (exported or handed to a test's processor), not only passed on."""
        return isinstance(self.provider, TracerProvider)

    def shutdown(self) -> None:
        """Flush what is buffered (the last batch's spans) and stop exporting."""
        if isinstance(self.provider, TracerProvider):
            self.provider.force_flush(timeout_millis=5000)
            if _exporting():
                self.provider.shutdown()

    # -- consuming ---------------------------------------------------------------------------

    def contexts_of(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[int, Context]:
        """The trace context each record carried, by `id(record)` (records without one: none)."""
        found: dict[int, Context] = {}
        for record in records:
            carrier = _carrier(record.headers or ())
            if carrier:
                context = PROPAGATOR.extract(carrier)
                if trace.get_current_span(context).get_span_context().is_valid:
                    found[id(record)] = context
        return found

    @contextmanager
    def batch_span(
        self, topics: Sequence[str], contexts: Mapping[int, Context], size: int
    ) -> Iterator[None]:
        links = [
            Link(trace.get_current_span(c).get_span_context())
            for c in list(contexts.values())[:MAX_LINKS]
        ]
        with self.tracer.start_as_current_span(
            f"{','.join(sorted(set(topics)))} process",
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.batch.message_count": size,
                "messaging.consumer.group.name": f"loyalty-{self.service}",
                "loyalty.service": self.service,
            },
        ):
            yield

    def remember(self, event_id: str, context: Context) -> None:
        """The context of an incoming event, for the events it causes."""
        self._remembered[event_id] = context
        self._remembered.move_to_end(event_id)
        while len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)

    # -- emitting ----------------------------------------------------------------------------

    def headers_for(self, topic: str, event_id: str, event_type: str, cause: str | None) -> Headers:
        """`traceparent` (and `tracestate`) for an outgoing event: a `publish` span, child of
        its cause's context if that came with a trace, else of the current span; none when
        neither exists."""
        parent = self._remembered.get(cause) if cause else None
        if parent is None and not trace.get_current_span().get_span_context().is_valid:
            return ()
        span = self.tracer.start_span(
            f"{topic} publish",
            context=parent,  # None: the current context
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": event_id,
                "cloudevents.event_type": event_type,
                "loyalty.service": self.service,
                **({"loyalty.causation_id": cause} if cause else {}),
            },
        )
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        span.end()
        return [(name, value.encode()) for name, value in carrier.items()]


def _carrier(headers: Headers) -> dict[str, str]:
    return {
        name: value.decode("latin-1")
        for name, value in headers
        if name in TRACE_HEADERS and value is not None
    }


def context_of_request(headers: Sequence[tuple[bytes, bytes]]) -> Context | None:
    """The caller's trace context from an ASGI request's `traceparent` (and `tracestate`)."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name.decode("latin-1") in TRACE_HEADERS
    }
    return PROPAGATOR.extract(carrier) if carrier else None


def without_trace_headers(headers: Headers) -> list[tuple[str, bytes]]:
    return [(name, value) for name, value in headers if name not in TRACE_HEADERS]


#: The service whose code is running: set by the app's lifespan (its loops inherit it) and by
#: the HTTP middleware for a request.
CURRENT: ContextVar[Tracing | None] = ContextVar("loyalty_tracing", default=None)


def current() -> Tracing | None:
    return CURRENT.get()


def current_trace_id() -> str | None:
    """The trace the running code is in (a request's, from its `traceparent` or its server span),
    as 32 hex digits; None outside any trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
