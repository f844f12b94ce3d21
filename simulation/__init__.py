"""Deterministic simulation of the whole engine: workers, store, API and faults in one loop."""
