"""The worker warm-up: a Celery worker process loads and runs its model once before it takes work.

Connected to ``worker_process_init`` when the Celery app loads (:mod:`project.celery`), so every worker process
warms up; the stack waits for :data:`WARM_MARKER` in a worker's log before it counts the worker ready.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_process_init

logger = logging.getLogger(__name__)
WARM_MARKER = "warm:"


@worker_process_init.connect
def warm_up(**_: Any) -> None:
    """Load the detector and/or the CNN when a worker process starts, so no frame pays for it.

    ``WORKER_WARMUP`` names what this worker serves (``ingest``, ``inference`` or both, comma-separated).
    """
    parts = {part.strip() for part in os.environ.get("WORKER_WARMUP", "").split(",") if part.strip()}
    if not parts:
        return
    # Imported here, not at the top: every process that loads the Celery app (the web server, manage.py) imports
    # this module, and only a worker needs the detector and the model.
    import cv2
    import numpy as np

    from inference.predictor import FACE_SIZE, get_predictor
    from ingest.vision.pipeline import get_pipeline

    # One thread per worker process: the stack runs more processes than cores, and OpenCV's helper threads would
    # only contend with the other processes for the same cores.
    cv2.setNumThreads(1)
    if "ingest" in parts:
        get_pipeline().process(np.zeros((96, 96, 3), np.uint8), tiles_mode="none")
        logger.info("%s ingest detector", WARM_MARKER)
    if "inference" in parts:
        predictor = get_predictor()
        predictor.predict(np.zeros((1, FACE_SIZE, FACE_SIZE), np.uint8))
        logger.info("%s inference model %s", WARM_MARKER, predictor.path.name)
