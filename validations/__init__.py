"""Great Expectations suites between pipeline stages, and the gate that splits good rows from
quarantined ones. ``from validations.gate import run_gate``."""
