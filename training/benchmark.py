"""Inference speed of exported model files on this machine, through the predictor production uses.

Each file is measured in a fresh process (so its peak resident memory is its own, and one model's
warm caches do not help the next): load, warm up, then call ``predict`` on random faces for a fixed
time at batch 1 and at a batched size, recording faces per second and latency per batch.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.data import IMAGE_SIZE

MODEL_SUFFIXES = (".keras", ".tflite")
MIN_CALLS = 10
SEED = 1337


def default_models(models_dir: Path) -> list[Path]:
    """The exported model files in ``models_dir``."""
    return sorted(p for p in Path(models_dir).iterdir() if p.suffix in MODEL_SUFFIXES)


def measure_speed(predict: Any, batch_size: int, *, seconds: float) -> dict[str, Any]:
    """Call ``predict`` on random ``batch_size`` faces for ``seconds`` (at least :data:`MIN_CALLS` calls), after one warm-up call."""
    faces = np.random.default_rng(SEED).integers(0, 256, size=(batch_size, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    predict(faces)
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < MIN_CALLS or time.perf_counter() - started < seconds:
        call = time.perf_counter()
        predict(faces)
        latencies.append(time.perf_counter() - call)
    ms = np.asarray(latencies) * 1000
    return {
        "batch_size": batch_size,
        "calls": len(latencies),
        "faces_per_second": round(batch_size * len(latencies) / float(np.sum(latencies)), 1),
        "ms_per_batch_median": round(float(np.median(ms)), 3),
        "ms_per_batch_p95": round(float(np.percentile(ms, 95)), 3),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux ``VmHWM``; unlike ``ru_maxrss`` it is not inherited across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise OSError("/proc/self/status has no VmHWM line")


def _measure_file(path: Path, batch_sizes: tuple[int, ...], seconds: float, threads: int | None) -> dict[str, Any]:
    """Run in a child process: load ``path`` with the production loader and time it at each batch size."""
    if threads is not None:
        os.environ["FER_THREADS"] = str(threads)
    from inference.predictor import load_predictor

    started = time.perf_counter()
    predictor = load_predictor(path)
    load_seconds = time.perf_counter() - started
    speeds = [measure_speed(predictor.predict, batch_size, seconds=seconds) for batch_size in batch_sizes]
    return {
        "model": str(path),
        "file": path.name,
        "bytes": path.stat().st_size,
        "load_seconds": round(load_seconds, 2),
        "speed": speeds,
        "peak_rss_mb": peak_rss_mb(),
    }


def benchmark(models: list[Path], *, batch_size: int = 64, seconds: float = 5.0, threads: int | None = None) -> dict[str, Any]:
    """Speed of each model file at batch 1 and ``batch_size``, each measured in its own fresh process."""
    from training.cost import machine

    if not models:
        raise ValueError("no model files to benchmark")
    for path in models:
        if not Path(path).is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
    results = []
    context = multiprocessing.get_context("spawn")
    for path in models:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            results.append(pool.submit(_measure_file, Path(path), (1, batch_size), seconds, threads).result())
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "fer_threads": threads if threads is not None else os.environ.get("FER_THREADS", "predictor default"),
        "seconds_per_measurement": seconds,
        "models": results,
    }


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of a :func:`benchmark` result."""
    lines = [f"{'model':<34} {'batch':>5} {'faces/s':>9} {'ms/batch p50':>13} {'p95':>9} {'peak RSS MB':>12}"]
    for model in result["models"]:
        for speed in model["speed"]:
            lines.append(
                f"{model['file']:<34} {speed['batch_size']:>5} {speed['faces_per_second']:>9.1f} "
                f"{speed['ms_per_batch_median']:>13.2f} {speed['ms_per_batch_p95']:>9.2f} {model['peak_rss_mb']:>12.0f}"
            )
    return "\n".join(lines)
