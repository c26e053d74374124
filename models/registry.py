"""Imports every table module so that ``Base.metadata`` knows all tables (Alembic, upserts).

One line per module; modules added by later features append their line here.
"""

from __future__ import annotations

import models.tables  # noqa: F401
import models.lifecycle  # noqa: F401
import models.auth  # noqa: F401
import models.risk  # noqa: F401
