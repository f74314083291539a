"""The machine line of every result names the CPU and the vector extensions the models' speed depends on."""

from __future__ import annotations

import pytest

from benchmarks.machine import cpu_summary, machine_description

INTEL = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: fpu sse avx2 avx512f avx512_vnni amx_int8\n\n"
AMD = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\nmodel name\t: other\nflags\t\t: avx512f\n"


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        (INTEL, "Intel(R) Xeon(R) Platinum 8481C (avx2, avx512f, avx512_vnni, amx_int8)"),
        (AMD, "AMD EPYC (avx2)"),  # the first processor's block only
        ("processor\t: 0\nflags\t\t: sse sse2\n", "unknown CPU (no AVX2)"),
        ("", "unknown CPU (no AVX2)"),
        ("not a cpuinfo file\n\x00\x01", "unknown CPU (no AVX2)"),
    ],
    ids=["vnni", "avx2 only", "no model name", "empty", "malformed"],
)
def test_cpu_summary(cpuinfo: str, expected: str) -> None:
    assert cpu_summary(cpuinfo) == expected


def test_the_machine_line_names_cores_cpu_and_python() -> None:
    line = machine_description()
    assert " cores, " in line and "Python 3." in line and "(" in line
