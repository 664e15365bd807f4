"""The public API's one entry: its route table (Kubernetes' HTTPRoute is generated from it) and
the local gateway `loyalty run` starts on :8000 from the same table."""
