"""The operator console: the people who run the loyalty program see it and act on it."""
