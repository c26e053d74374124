"""Litestar controllers: thin handlers over ``wheelflow.queries`` and ``wheelflow.security``."""
