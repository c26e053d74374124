"""The wheelflow HTTP API (Litestar 2): ``create_app`` in ``api.app``."""
