"""The audit log of contract 5.1, the same in every service: who (`sub`, scope) did what to which
member, when, within which trace. `record` writes in the caller's transaction, so a change and
its record commit or roll back together; `AuditedMemberRead` admits a member read and records it
when an operator made it; `router` lists the log at `GET /v1/audit-log`. What is recorded and why:
docs/architecture.md#the-audit-log."""

from __future__ import annotations

from loyalty_shared.audit_log.endpoints import router
from loyalty_shared.audit_log.reads import AuditedMemberRead
from loyalty_shared.audit_log.service import record, record_each, record_operator

__all__ = ["AuditedMemberRead", "record", "record_each", "record_operator", "router"]
