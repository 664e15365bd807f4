"""The dead letters a service keeps (contract 1, "Invalid input"), the same in every service:
each record it refused, written beside its copy on `<topic>.dlq` in the same transaction,
listed at `GET /v1/dead-letters` (admin) by topic and reason, and replayed into this service
after a fix. Why here and not a republish to the topic: docs/operations.md#dead-letters."""
