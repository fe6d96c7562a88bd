"""Differential tests: command scripts run against redis-server and trioredis (see runner.py)."""
