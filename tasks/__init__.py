"""Prefect tasks: thin wrappers over ``wheelflow`` stage functions (batches, never contracts).

Tasks that touch a network (the provider) retry with exponential backoff and jitter and have a
timeout; tasks that only compute or write to our database do not retry (a failure there is a
bug or a gate refusal, and retrying would not change it). Frames are passed in memory:
``NO_CACHE`` avoids hashing them for cache keys.
"""
