"""Pure image code of ingest: face detection (tiled), crop/align, head pose, participant tracking.

Nothing here imports Django, so it runs in tests, benchmarks and the replay client as it is.
"""
