"""Prefect tasks: thin wrappers over ``wheelflow`` stage functions (batches, never contracts).

Tasks that call a provider re-run a whole batch only for what the HTTP client's own retries
cannot cover (``wheelflow.providers.http.retry_whole_batch``; WHEELFLOW_TASK_RETRIES); tasks
that only compute or write to our database do not retry (a failure there is a bug or a gate
refusal, and retrying would not change it). Frames are passed in memory:
``NO_CACHE`` avoids hashing them for cache keys.
"""
