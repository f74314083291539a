"""FER+ labels: reading the votes, mapping them onto our classes, training on them and scoring against their majority."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_shared
from training import cli, export, train
from training.architectures import get_architecture
from training.data import CLASS_NAMES, DataError, folder_items, load_folder
from training.ferplus import VOTE_COLUMNS, FerPlusLabels, ferplus_csv, label_targets, load_ferplus, majority_metrics, read_votes

HEADER = "file," + ",".join(VOTE_COLUMNS)
# One vote vector per case, VOTE_COLUMNS order: neutral happiness surprise sadness anger disgust fear contempt unknown NF
CLEAR_HAPPY = [1, 8, 0, 0, 0, 0, 0, 0, 1, 0]
MOSTLY_NOT_A_FACE = [2, 0, 0, 0, 0, 0, 0, 0, 2, 6]
TIED_WITH_NOT_A_FACE = [4, 0, 0, 0, 0, 0, 0, 0, 2, 4]
CONTEMPT_AND_UNKNOWN = [0, 0, 0, 0, 0, 0, 0, 6, 4, 0]
ANGER_SADNESS_TIE = [0, 0, 0, 4, 4, 0, 0, 2, 0, 0]
CONTEMPT_PLURALITY = [3, 0, 0, 0, 0, 0, 0, 5, 0, 2]


def labels_of(*votes: Sequence[int], has_row: Sequence[bool] | None = None) -> FerPlusLabels:
    return FerPlusLabels(votes=np.array(votes, dtype=np.int64), has_row=np.array(has_row or [True] * len(votes)))


def write_votes(path: Path, rows: dict[str, Sequence[int]], *, header: str = HEADER) -> Path:
    path.write_text(header + "\n" + "".join(f"{name},{','.join(map(str, votes))}\n" for name, votes in rows.items()))
    return path


def test_an_empty_csv_is_refused_and_a_header_alone_has_no_votes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")

    with pytest.raises(DataError, match=r"empty\.csv: empty file"):
        read_votes(empty)
    assert read_votes(write_votes(tmp_path / "header.csv", {})) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{HEADER}\ntrain/a.jpg,1,2,3\n", r"bad.csv:2: 4 fields, expected 11"),
        (f"{HEADER}\ntrain/a.jpg,0,8,0,0,0,0,0,0,0,2\ntrain/b.jpg,0,x,0,0,0,0,0,0,0,2\n", r"bad.csv:3: vote counts must be integers"),
        (f"{HEADER}\ntrain/a.jpg,0,8,0,0,0,0,0,0,0,-2\n", r"bad.csv:2: negative vote count"),
        (f"{HEADER}\ntrain/a.jpg,0,8,0,0,0,0,0,0,0,2\ntrain/a.jpg,0,8,0,0,0,0,0,0,0,2\n", r"bad.csv:3: train/a.jpg appears twice"),
        ("file,happy,sad\n", r"bad.csv: header must be file,neutral,happiness"),
    ],
    ids=["short_row", "not_an_integer", "negative", "repeated_file", "other_header"],
)
def test_a_malformed_csv_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)

    with pytest.raises(DataError, match=message):
        read_votes(bad)


def test_contempt_unknown_and_not_a_face_votes_are_dropped_and_the_rest_renormalised() -> None:
    labels = labels_of(CLEAR_HAPPY, [2, 0, 0, 0, 5, 0, 0, 1, 1, 1])

    happy, angry = labels.distributions
    assert happy[CLASS_NAMES.index("happy")] == pytest.approx(8 / 9) and happy[CLASS_NAMES.index("neutral")] == pytest.approx(1 / 9)
    assert angry[CLASS_NAMES.index("angry")] == pytest.approx(5 / 7) and angry.sum() == pytest.approx(1.0)


def test_faces_mostly_not_a_face_or_with_no_vote_in_our_classes_are_left_out() -> None:
    labels = labels_of(
        CLEAR_HAPPY, MOSTLY_NOT_A_FACE, TIED_WITH_NOT_A_FACE, CONTEMPT_AND_UNKNOWN, CLEAR_HAPPY, has_row=[True] * 4 + [False]
    )

    assert labels.usable.tolist() == [True, False, False, False, False]
    assert labels.distributions[1:].sum() == 0.0


def test_the_majority_is_the_plurality_of_all_ten_columns_and_ties_are_skipped() -> None:
    labels = labels_of(CLEAR_HAPPY, ANGER_SADNESS_TIE, CONTEMPT_PLURALITY, MOSTLY_NOT_A_FACE, [0, 0, 0, 0, 0, 0, 7, 0, 3, 0])

    assert labels.majority.tolist() == [CLASS_NAMES.index("happy"), -1, -1, -1, CLASS_NAMES.index("fear")]


def test_each_label_set_gives_its_targets_and_faces() -> None:
    fer2013 = np.array([CLASS_NAMES.index("sad"), CLASS_NAMES.index("sad"), CLASS_NAMES.index("angry")])
    votes = labels_of(CLEAR_HAPPY, MOSTLY_NOT_A_FACE, CLEAR_HAPPY, has_row=[True, True, False])
    happy, sad, angry = (np.eye(7)[CLASS_NAMES.index(name)] for name in ("happy", "sad", "angry"))

    one_hot, every_face = label_targets(fer2013, votes, label_set="fer2013")
    ferplus, ferplus_faces = label_targets(fer2013, votes, label_set="ferplus")
    both, both_faces = label_targets(fer2013, votes, label_set="both")

    assert np.array_equal(one_hot, np.stack([sad, sad, angry])) and every_face.all()
    assert np.allclose(ferplus[0], votes.distributions[0]) and ferplus_faces.tolist() == [True, False, False]
    # Both: the mean where FER+ can say; a face with no FER+ row keeps its FER2013 label; a non-face is left out.
    assert np.allclose(both[0], (sad + votes.distributions[0]) / 2) and np.array_equal(both[2], angry)
    assert both_faces.tolist() == [True, False, True] and happy @ both[0] > 0.4
    with pytest.raises(DataError, match="need FER\\+ votes"):
        label_targets(fer2013, None, label_set="ferplus")


def test_majority_metrics_score_only_faces_with_a_majority() -> None:
    labels = labels_of(CLEAR_HAPPY, CLEAR_HAPPY, [0, 0, 0, 0, 0, 0, 7, 0, 3, 0], ANGER_SADNESS_TIE)
    probs = np.eye(7)[[CLASS_NAMES.index(name) for name in ("happy", "sad", "fear", "angry")]]

    result = majority_metrics(labels, probs)

    assert result["samples"] == 3 and result["skipped"] == 1 and result["accuracy"] == pytest.approx(2 / 3)
    assert result["labels"] == "ferplus_majority" and result["per_class"]["happy"]["support"] == 2


def ferplus_fixture(root: Path, folder: Path, *, skip: int = 0) -> Path:
    """``root/<folder name>.csv`` with votes for the files of ``folder`` (but the first ``skip``): the class it sits in, 7 votes to 3.

    The three left over go to ``unknown``; every third face instead gets ``CONTEMPT_PLURALITY``, no majority in our classes.
    """
    rows = {}
    for i, (path, label) in enumerate(folder_items(folder)[skip:]):
        votes = [0] * len(VOTE_COLUMNS)
        votes[VOTE_COLUMNS.index(("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")[label])] = 7
        votes[VOTE_COLUMNS.index("unknown")] = 3
        rows[path.relative_to(folder.parent).as_posix()] = CONTEMPT_PLURALITY if i % 3 == 2 else votes
    root.mkdir(parents=True, exist_ok=True)
    return write_votes(ferplus_csv(root, folder), rows)


def test_load_ferplus_lines_the_votes_up_with_the_folder(face_folder: Callable[..., Path], tmp_path: Path) -> None:
    folder = face_folder("test", per_class=2)
    csv_path = ferplus_fixture(tmp_path / "ferplus", folder, skip=1)

    labels = load_ferplus(folder, csv_path, dataset=load_folder(folder))

    assert csv_path.name == "test.csv" and labels.has_row.tolist() == [False] + [True] * 13
    majority = labels.majority
    assert majority[0] == -1 and (majority[1:][np.arange(13) % 3 == 2] == -1).all()
    assert np.array_equal(majority[1:][np.arange(13) % 3 != 2], load_folder(folder).labels[1:][np.arange(13) % 3 != 2])
    with pytest.raises(DataError, match="does not line up"):
        load_ferplus(folder, csv_path, dataset=load_folder(face_folder("other", per_class=1)))
    with pytest.raises(DataError, match="no row names a file"):
        load_ferplus(folder, write_votes(tmp_path / "elsewhere.csv", {"train/angry/0.png": CLEAR_HAPPY}))


def test_evaluate_reports_the_ferplus_majority_beside_fer2013(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = face_folder("test", per_class=3)
    ferplus = ferplus_fixture(tmp_path / "ferplus", data).parent
    argv = ["evaluate", "--model", str(tiny_model_path), "--data", str(data), "--json", "--report", str(tmp_path / "r")]

    assert cli.main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.main([*argv, "--labels", "ferplus", "--ferplus", str(ferplus)]) == 0
    result = json.loads(capsys.readouterr().out)

    assert "ferplus" not in plain and all(result[key] == plain[key] for key in plain if key != "report")  # FER2013's figures unchanged
    assert result["ferplus"]["samples"] == 14 and result["ferplus"]["skipped"] == 7  # every third face has a contempt plurality
    # Where the majority is the FER2013 label, the FER+ confusion matrix is FER2013's less the skipped faces.
    assert np.asarray(result["ferplus"]["confusion_matrix"]).sum() == 14
    assert np.all(np.asarray(result["ferplus"]["confusion_matrix"]) <= np.asarray(result["confusion_matrix"]))


def test_train_fits_ferplus_distributions_and_selects_on_their_majority(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "CACHE_DIR", tmp_path / "cache")
    data, test = face_folder("train", per_class=4), face_folder("test", per_class=2, seed=1)
    ferplus = ferplus_fixture(tmp_path / "ferplus", data, skip=1).parent
    ferplus_fixture(ferplus, test)
    out, start = tmp_path / "run", tmp_path / "start.weights.h5"
    get_architecture("cnn4_dense1024").build((48, 48, 1), 7).save_weights(start)
    argv = ["train", "--arch", "cnn4_dense1024", "--train", str(data), "--test", str(test), "--out", str(out), "--epochs", "1"]

    assert cli.main([*argv, "--batch-size", "8", "--labels", "ferplus", "--ferplus", str(ferplus), "--init", str(start)]) == 0

    run = json.loads((out / "run.json").read_text())
    votes = load_ferplus(data, ferplus_csv(ferplus, data))
    held = train.validation_mask(load_folder(data).labels, share=0.1, seed=train.SEED)
    assert run["labels"] == "ferplus" and run["validation_selected_on"] == "ferplus" and run["validation"]["samples"] == 7
    assert run["fit_samples"] == int(votes.usable[~held].sum()) < 21  # the face without a row and the contempt ones are left out
    assert run["public_test_ferplus"]["samples"] == 10 and run["public_test_ferplus"]["skipped"] == 4
    assert "val_accuracy_ferplus" in (out / "log.csv").read_text().splitlines()[0]
    assert json.loads((out / "best.json").read_text())["selected_on"] == "ferplus" and run["initial_weights"] == str(start)


@pytest.mark.usefixtures("small_speed_runs")
def test_a_candidate_export_leaves_production_json_alone(tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "models"
    out.mkdir()
    (out / "production.json").write_text('{"file": "served.int8.tflite"}\n')

    card = export.export(
        tiny_model_path, out, "fer_tiny_candidate", train_data=face_folder("train"), val_data=face_folder("val"), write_production=False
    )

    assert (out / "production.json").read_text() == '{"file": "served.int8.tflite"}\n'
    assert (out / "fer_tiny_candidate.int8.tflite").exists() and card["production"]["file"].startswith("fer_tiny_candidate")


def test_the_ferplus_votes_of_publictest_match_their_readme() -> None:
    """The shared data: 3,577 of 3,589 PublicTest faces have votes; 3,370 have a majority in our classes (README's table)."""
    folder = require_shared("fer2013", "test")
    votes = load_ferplus(folder, ferplus_csv(require_shared("ferplus"), folder))

    majority = votes.majority
    assert votes.has_row.sum() == 3577 and (majority >= 0).sum() == 3370 and votes.usable.sum() == 3576
    assert np.bincount(majority[majority >= 0], minlength=7).tolist() == [310, 31, 73, 880, 395, 441, 1240]
    assert np.mean(majority[majority >= 0] == load_folder(folder).labels[majority >= 0]) == pytest.approx(0.654, abs=0.001)


@pytest.mark.usefixtures("small_speed_runs")
def test_a_run_on_ferplus_votes_is_calibrated_and_scored_against_their_majority(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path
) -> None:
    train, test = face_folder("train", per_class=4, seed=1), face_folder("test", per_class=3, seed=2)
    ferplus = ferplus_fixture(tmp_path / "ferplus", train).parent
    ferplus_fixture(ferplus, test)
    run = tmp_path / "run"
    run.mkdir()
    model = run / "best.keras"
    model.write_bytes(tiny_model_path.read_bytes())
    validation = {"share": 0.25, "samples": 7, "seed": 3}
    (run / "run.json").write_text(
        json.dumps({"architecture": "tiny", "labels": "ferplus", "ferplus": str(ferplus), "validation": validation})
    )

    card = export.export(model, tmp_path / "out", "fer_tiny", train_data=train, val_data=test, write_production=False)

    assert card["calibration"]["labels"] == "ferplus" and card["calibration"]["fitted_on"] == "validation"
    assert "PublicTest accuracy against the FER+ majority" in card["production"]["why"]
    # Every third face has a contempt plurality, no majority in our classes: scored only where the taggers agree.
    assert all(f["public_test_ferplus"]["samples"] == 14 and f["public_test_ferplus"]["skipped"] == 7 for f in card["files"])
    markdown = (tmp_path / "out" / "fer_tiny.md").read_text()
    assert "against the FER+ majority, the labels this model fitted" in markdown and "Against the FER+ majority of ten taggers" in markdown


@pytest.mark.usefixtures("small_speed_runs")
def test_a_run_on_ferplus_votes_without_its_folder_is_refused(
    tiny_model_path: Path, face_folder: Callable[..., Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    model = run / "best.keras"
    model.write_bytes(tiny_model_path.read_bytes())
    (run / "run.json").write_text(json.dumps({"architecture": "tiny", "labels": "both"}))

    with pytest.raises(DataError, match="fitted to both labels; give its FER"):
        export.export(model, tmp_path / "out", "x", train_data=face_folder("train"), val_data=face_folder("test"), write_production=False)
