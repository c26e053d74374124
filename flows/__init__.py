"""Prefect flows: orchestration only (which task after which, retries, gates, artifacts)."""
