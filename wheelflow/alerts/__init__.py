"""Alert rules, channels and de-duplication."""
