"""The access-log filter masks secret-like query parameters in uvicorn's request lines."""

from __future__ import annotations

import logging

import pytest

from api.access_log import MaskQuerySecrets, mask_query_secrets


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/webhooks/tradingview?secret=tv-shared", "/webhooks/tradingview?secret=***"),
        ("/x?a=1&SECRET=s3&b=2", "/x?a=1&SECRET=***&b=2"),
        ("/x?token=abc&password=p", "/x?token=***&password=***"),
        ("/rankings?limit=5&symbol=AAPL", "/rankings?limit=5&symbol=AAPL"),
        ("/x?secretive=1", "/x?secretive=1"),
    ],
)
def test_secret_like_query_values_are_masked(path, masked):
    assert mask_query_secrets(path) == masked


def test_the_filter_rewrites_uvicorns_access_record():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/webhooks/tradingview?secret=tv-shared", "1.1", 400),
        None,
    )
    assert MaskQuerySecrets().filter(record)
    assert "tv-shared" not in record.getMessage()
    assert "secret=***" in record.getMessage()
