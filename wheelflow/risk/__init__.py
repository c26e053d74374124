"""Portfolio risk metrics and limits."""
