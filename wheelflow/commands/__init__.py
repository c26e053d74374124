"""Sub-commands of the ``wheelflow`` CLI: each module here defines ``register(subparsers)``."""
