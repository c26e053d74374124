"""Screening and ranking rules, the wheel state machine, position sizing."""
