"""The Markdown tables built from run summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import cli
from training.tables import architecture_table, card_section, read_digits, read_end_to_end, read_results, recipe_table, update_card


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
    assert "## Recipes (vggnet_s)" in out and "| – | vggnet_s | 1,242,919 | – | 10 | 74 | 59.0% | 58.0% | – | 0.530 | – |" in out


def test_architecture_rows_name_the_budget_and_say_a_seed_figure_was_never_given() -> None:
    seed = summary("arch-dcnn_elu", "own", 0.5, description="seed: DCNN", budget_seconds=600, public_test_flip_tta={"accuracy": 0.52})
    ours = summary("arch-vggnet_s", "own", 0.55, description="ours: compact VGG", budget_seconds=600)
    digits = {
        "architecture": "seed",
        "parameters": 225034,
        "epochs": 3,
        "train_seconds": 105.2,
        "test_accuracy": 0.9892,
        "test_macro_f1": 0.989,
        "seed_reported_accuracy": 0.9795,
    }
    lines = architecture_table([seed, ours], digits).strip().splitlines()
    assert lines[2:] == [
        "| seed | vggnet_s | 1,242,919 | 600 s | 10 | 74 | 51.0% | 50.0% | 52.0% | 0.450 | not given to us |",
        "| ours | vggnet_s | 1,242,919 | 600 s | 10 | 74 | 56.0% | 55.0% | – | 0.500 | – |",
        "| seed 000 (MNIST digits) | digits_seed | 225,034 | – | 3 | 2 (wall) | – | 98.92% (MNIST test) | – | 0.989 | 97.95% |",
    ]


def test_the_mnist_row_is_read_from_its_own_folder(tmp_path: Path) -> None:
    assert read_digits(tmp_path) is None
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "seed.json").write_text(json.dumps({"test_accuracy": 0.99}))
    assert read_digits(tmp_path) == {"test_accuracy": 0.99}
    assert read_results(tmp_path) == []  # not a run of the FER tables


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ("# Card\n\nfacts\n", "# Card\n\nfacts\n\n{section}"),  # none yet: appended
        ("# Card\n\n## The runs behind this model\n\nold\n", "# Card\n\n{section}"),  # the last section: replaced
        ("# Card\n\n## The runs behind this model\n\nold\n\n## Later\n\nkept\n", "# Card\n\n{section}\n## Later\n\nkept\n"),  # in between
        ("", "\n\n{section}"),  # empty
    ],
    ids=["appended", "replaced at the end", "replaced in between", "empty card"],
)
def test_the_card_gets_both_tables_in_place_of_its_old_ones(tmp_path: Path, card: str, expected: str) -> None:
    path = tmp_path / "card.md"
    path.write_text(card)
    results = [summary("recipe-baseline", "baseline", 0.6), summary("arch-vggnet_s", "own", 0.55)]
    section = card_section(results, None)

    update_card(path, results, None)
    assert path.read_text() == expected.format(section=section)
    update_card(path, results, None)
    assert path.read_text() == expected.format(section=section)  # again: nothing changes


def test_the_committed_card_carries_the_committed_runs() -> None:
    models = Path(__file__).resolve().parents[2] / "inference" / "models"
    card = models / json.loads((models / "production.json").read_text())["card"].replace(".json", ".md")
    assert card_section(read_results(), read_digits(), read_end_to_end()) in card.read_text(), (
        "run `python -m training tables --card " + str(card) + "`"
    )
