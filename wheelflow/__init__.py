"""wheelflow: the options wheel strategy as observable, retryable data pipelines.

The domain core. Nothing in this package imports Prefect, Litestar, ``flows``, ``tasks`` or
``api``: arrows point inward (see shared STYLE).
"""

from __future__ import annotations

__version__ = "0.1.0"
