"""The classroom domain: models, services, selectors, events, engagement, policy, alerts, rollups, retention.

The ground floor: it imports nothing from the packages above it (``ingest``, ``inference``, ``frontend``,
``project``); tests/classroom/test_layering.py checks that.
"""
