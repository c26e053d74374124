"""Imports every table module so that ``Base.metadata`` knows all tables (Alembic, upserts).

One line per module; modules added by later features append their line here.
"""

from __future__ import annotations

import models.alerting
import models.auth
import models.lifecycle
import models.risk
import models.tables  # noqa: F401
