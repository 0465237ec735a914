"""Benchmarks: scripts that print figures (latency, load, reader accuracy, scale); never timed tests."""
