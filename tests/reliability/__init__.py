"""Reliability: load with retries, database faults, graceful shutdown, fuzzing, security probes."""
