"""The API's entry: its route table per host and its rate limits (Kubernetes' HTTPRoutes and
rate-limit policy are generated from them) and the local gateway `loyalty run` starts on :8000."""
