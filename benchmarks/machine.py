"""The machine a benchmark ran on, as its results record it.

Figures compare only between runs on the same kind of CPU: the int8 CNN and detector run about three times faster
where the CPU has VNNI (int8 dot products) than where it has only AVX2, so the CPU's model and vector extensions are
part of every result.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")  # the ones the models' speed depends on


def cpu_summary(cpuinfo: str) -> str:
    """The first CPU's model name and which of :data:`VECTOR_FLAGS` it has, from ``/proc/cpuinfo`` text; "unknown
    CPU" when the text names no model."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if fields:
                break  # the first processor's block is enough: they are alike
            continue
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or "unknown CPU"
    flags = set(fields.get("flags", "").split())
    present = [flag for flag in VECTOR_FLAGS if flag in flags]
    return f"{model} ({', '.join(present) if present else 'no AVX2'})"


def machine_description() -> str:
    """One line for a result file: architecture, cores, the CPU and its vector extensions, Python."""
    try:
        cpu = cpu_summary(CPUINFO.read_text())
    except OSError:
        cpu = platform.processor() or "unknown CPU"
    return f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
