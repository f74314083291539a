"""The Markdown tables built from run summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import cli
from training.tables import architecture_table, read_results, recipe_table


def summary(run: str, recipe: str, accuracy: float, **extra: object) -> dict[str, object]:
    metrics = {"accuracy": accuracy, "macro_f1": accuracy - 0.05}
    return {
        "run": run,
        "planned_recipe": recipe,
        "architecture": "vggnet_s",
        "parameters": 1242919,
        "epochs": 10,
        "cpu_hours": 1.234,
        "validation_accuracy": accuracy + 0.01,
        "public_test": metrics,
        **extra,
    }


def test_recipe_rows_carry_every_figure_and_mark_what_is_missing() -> None:
    results = [
        summary(
            "recipe-baseline",
            "baseline",
            0.6,
            public_test_flip_tta={"accuracy": 0.61},
            public_test_ten_crop_tta={"accuracy": 0.615},
            trained_on=["x86_64 2 cpu, keras tensorflow on cpu", "x86_64 16 cpu, keras jax on NVIDIA H100 80GB HBM3"],
        ),
        summary("recipe-mixup", "mixup", 0.62),  # an older run without test-time figures
        summary("arch-dcnn_elu", "own", 0.5),
    ]
    lines = recipe_table(results).strip().splitlines()
    assert len(lines) == 4  # header, rule, two recipe rows
    assert lines[2] == (
        "| baseline | AdamW, warm-up + cosine, label smoothing 0.1, flip/rotate/zoom/shift/contrast, random erasing | 10 "
        "| 2 CPU cores (tensorflow); NVIDIA H100 80GB HBM3 (jax) | 1.23 | 61.0% | 60.0% | 61.0% | 61.5% | 0.550 |"
    )
    assert lines[3].endswith("| 10 | – | 1.23 | 63.0% | 62.0% | – | – | 0.570 |")  # nor where it trained


@pytest.mark.parametrize("results", [[], [summary("recipe-baseline", "baseline", 0.6)]], ids=["none", "no architecture runs"])
def test_an_architecture_table_without_runs_is_only_its_header(results: list[dict[str, object]]) -> None:
    assert len(architecture_table(results).strip().splitlines()) == 2


def test_the_command_prints_both_tables_from_the_results_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "arch-vggnet_s.json").write_text(json.dumps(summary("arch-vggnet_s", "own", 0.58)))
    assert [r["run"] for r in read_results(tmp_path)] == ["arch-vggnet_s"]

    assert cli.main(["tables", "--results", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert "## Recipes (vggnet_s)" in out and "| vggnet_s | 1,242,919 | 10 | – | 1.23 | 59.0% | 58.0% | 0.530 |" in out
