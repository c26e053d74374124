"""The access log never holds a secret: values of secret-like query parameters are masked.

uvicorn's access logger formats ``'%s - "%s %s HTTP/%s" %d'`` with the full path and query as its
third argument; this filter rewrites that argument before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:secret|token|password|api_key|apikey|key|refresh_token|access_token)=)[^&#\s]*"
)


def mask_query_secrets(path: str) -> str:
    return _SECRET_PARAMS.sub(r"\1***", path)


class MaskQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            if isinstance(args[2], str):
                args[2] = mask_query_secrets(args[2])
                record.args = tuple(args)
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger (call before serving)."""
    logging.getLogger("uvicorn.access").addFilter(MaskQuerySecrets())
