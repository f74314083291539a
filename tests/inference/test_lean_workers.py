"""Lean workers: a worker process, warmed as the stack warms it, imports no TensorFlow (nor matplotlib) and stays under 300 MB."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

import pytest
from django.conf import settings

from project.stack import worker_environment

MAX_RSS_MB = 300
# What a worker does at start (project.warmup.warm_up), then what it reports about itself.
WORKER = """
import json, os, sys
import django
django.setup()
import numpy as np
import classroom.tasks, project.warmup
from inference.predictor import FACE_SIZE, get_predictor
from ingest.vision.pipeline import get_pipeline
if sys.argv[1] == "inference":
    get_predictor().predict(np.zeros((25, FACE_SIZE, FACE_SIZE), np.uint8))
else:
    get_pipeline().process(np.zeros((720, 1280, 3), np.uint8), tiles_mode="none")
# VmHWM: this process's own peak; ru_maxrss would carry over the peak of the test process that started it.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"unused": sorted(set(sys.modules) & {"tensorflow", "keras", "matplotlib"}), "rss_mb": peak_kb / 1024}))
"""


@pytest.mark.parametrize("queue", ["ingest", "inference"])
def test_a_warm_worker_imports_no_tensorflow_nor_matplotlib_and_stays_small(queue: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, queue],
        cwd=settings.BASE_DIR,
        env={
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "PATH": "/usr/bin:/bin",
            "DJANGO_SECRET_KEY": "test-only",
            **worker_environment(queue=queue),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["unused"] == []
    assert report["rss_mb"] <= MAX_RSS_MB, report


def test_cv2_is_the_headless_build_at_the_version_mediapipe_gets() -> None:
    # mediapipe's opencv-contrib-python and our opencv-python-headless write the same cv2/ files; a newer
    # contrib release once won and put Qt in every worker (311 MB, over the limit above).
    import cv2

    assert metadata.version("opencv-contrib-python") == metadata.version("opencv-python-headless")
    assert re.search(r"GUI:\s+NONE", cv2.getBuildInformation())
