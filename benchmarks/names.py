"""Names from the picture: the name labels meeting apps paint on tiles, read by OCR.

    python -m benchmarks.names [--out benchmarks/results/names.json]

"Roster" columns: what the reading names once matched to the class's roster (the real course case, see
:func:`classroom.roster.roster_match`): right when it finds the student whose label it is, wrong when another.

Labels are painted by :mod:`ingest.vision.label_styles` (DejaVu Sans) over galleries of registry-shipped
faces (JPEG round trip) and read by :func:`ingest.vision.labels.label_read` with the true tiles. A name
is right when the reading equals the text shown exactly (a name too wide for its tile is shown cut
with an ellipsis, and that cut text is the truth), wrong when it reads something else, unread when
the reader returns None.

Wrong readings that differ from the name only in accents or case are counted apart (the roster match
forgives those). Three parts:

- styles: a 5×5 class at 1280×720 in each style, at 10, 12, 14 and 16 px (720p), over natural, light
  and dark video (the strip light on light video, dark otherwise);
- layouts: :data:`ingest.vision.layouts.LAYOUTS` in their platform's style at 13 px (720p; scaled
  with the frame's height), a name strip where the layout has one;
- caching: a 25-tile class for 60 frames at 1 frame/s from moving video, through
  :class:`ingest.vision.labels.TileLabels`: OCR reads made, the amortised cost per frame, and the
  settled names at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
import unicodedata
from pathlib import Path
from typing import Any, Literal

import cv2
import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from benchmarks.tables import markdown_table, pct, table  # noqa: E402
from classroom.models import Student  # noqa: E402
from classroom.roster import roster_match  # noqa: E402
from ingest.vision.gallery import compose_gallery, iter_video_frames  # noqa: E402
from ingest.vision.label_styles import SAMPLE_NAMES, STYLES, Style, paint_labels, video_tone  # noqa: E402
from ingest.vision.labels import TileLabels, label_read  # noqa: E402
from ingest.vision.layouts import LAYOUTS, Layout  # noqa: E402
from ingest.vision.scenes import jpeg  # noqa: E402
from ingest.vision.tiles import Tile  # noqa: E402
from project.demo_media import carphone_video, pyfeat_media, registry_faces  # noqa: E402

SIZES = (10, 12, 14, 16)
Tone = Literal["natural", "light", "dark"]
TONES: tuple[Tone, ...] = ("natural", "light", "dark")
CLASS_SIZE, FRAMES = 25, 60


def _score(image: np.ndarray, tiles: list[Tile], shown: list[str], counts: dict[str, Any], *, names: list[str]) -> None:
    """Read every tile whose label shows something; add right / wrong / unread and the milliseconds to ``counts``,
    and what the reading names once matched to a roster of the class's ``names`` (its full names)."""
    roster = [Student(name=name) for name in dict.fromkeys(SAMPLE_NAMES)]
    for tile, text, full in zip(tiles, shown, names, strict=False):
        if not text:
            continue
        start = time.perf_counter()
        reading = label_read(image=image, tile=tile).text
        counts["ms"].append(1000 * (time.perf_counter() - start))
        counts["right" if reading == text else "unread" if reading is None else "wrong"] += 1
        student = roster_match(name=reading, students=roster) if reading is not None else None
        counts["roster_right"] += student is not None and student.name == full
        counts["roster_wrong"] += student is not None and student.name != full
        counts["accents_only"] += reading not in (None, text) and _folded(reading) == _folded(text)
        if reading not in (None, text) and len(counts["examples"]) < 8:
            counts["examples"].append({"shown": text, "read": reading})


def _folded(name: str) -> str:
    """The name without accents and case: a reading wrong only in these still finds its student in the roster."""
    return "".join(char for char in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(char))


def _empty() -> dict[str, Any]:
    return {"right": 0, "wrong": 0, "accents_only": 0, "unread": 0, "roster_right": 0, "roster_wrong": 0, "ms": [], "examples": []}


def _class_gallery(faces: list[np.ndarray], *, style: Style, tone: Tone) -> tuple[np.ndarray, list[Tile]]:
    """A 5×5 class at 1280×720 of ``faces`` (cycled) in ``tone``, with room for a name strip in the strip style."""
    return _five_by_five([video_tone(faces[k % len(faces)], tone=tone) for k in range(CLASS_SIZE)], style=style)


def _five_by_five(sources: list[np.ndarray], *, style: Style) -> tuple[np.ndarray, list[Tile]]:
    """A 5×5 gallery at 1280×720 of ``sources``, unlabelled, with room for a name strip under each tile in the strip style."""
    strip = style == "strip"
    return compose_gallery(
        sources,
        names=[""] * CLASS_SIZE,
        cols=5,
        tile_size=(236, 118) if strip else (240, 135),
        gap=8,
        frame_size=(1280, 720),
        name_strip=strip,
    )


def by_style(faces: list[np.ndarray]) -> list[dict[str, Any]]:
    """Right / wrong / unread per style, size and tone."""
    results = []
    for style in STYLES:
        for tone in TONES:
            frame, tiles = _class_gallery(faces, style=style, tone=tone)
            for size in SIZES:
                counts = _empty()
                painted, shown = paint_labels(
                    frame, tiles=tiles, names=SAMPLE_NAMES, style=style, size_at_720p=size, light_strip=tone == "light"
                )
                _score(jpeg(painted), tiles, shown, counts, names=list(SAMPLE_NAMES[: len(tiles)]))
                results.append({"style": style, "tone": tone, "size_at_720p": size, **counts})
    return results


def _layout_style(layout: Layout) -> Style:
    """The layout's platform's style (its name starts with the platform), or a strip where it has name strips."""
    platforms: dict[str, Style] = {"zoom": "zoom", "meet": "meet", "teams": "teams"}
    return "strip" if layout.name_strip else platforms[layout.name.split()[0]]


def by_layout(faces: list[np.ndarray]) -> list[dict[str, Any]]:
    """Right / wrong / unread per layout of LAYOUTS, in its platform's style."""
    results = []
    for layout in LAYOUTS:
        style = _layout_style(layout)
        names = [SAMPLE_NAMES[k % len(SAMPLE_NAMES)] for k in range(layout.count)]
        frame, tiles = dataclasses.replace(layout, name_overlay=False).compose(faces, names=[""] * layout.count)
        painted, shown = paint_labels(frame, tiles=tiles, names=names, style=style, size_at_720p=13)
        counts = _empty()
        _score(jpeg(painted), tiles, shown, counts, names=names)
        results.append({"layout": layout.name, "style": style, "held_out": layout.held_out, "labels": sum(map(bool, shown)), **counts})
    return results


def _clips() -> list[list[np.ndarray]]:
    """One frame a second (up to FRAMES) of each registry clip with a face, shrunk to tile size."""
    media = pyfeat_media()
    paths = [carphone_video(), media["single_face.mp4"], media["WolfgangLanger_Pexels.mp4"], media["face_noface.mov"]]
    clips = []
    for path in paths:
        fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
        frames = [cv2.resize(frame.image, (320, 180)) for frame in iter_video_frames(path, every=round(fps), limit=FRAMES)]
        clips.append(frames)
    return clips


def caching(style: Style) -> dict[str, Any]:
    """A 25-tile class for FRAMES frames at 1 frame/s through TileLabels: reads, cost per frame, settled names."""
    clips = _clips()
    labels = TileLabels()
    spent = 0.0
    settled: list[str | None] = [None] * CLASS_SIZE
    frames_to_settle: list[int | None] = [None] * CLASS_SIZE
    shown: list[str] = []
    for second in range(FRAMES):
        # Each tile its own clip and moment: clip k % 4, starting k seconds in, looping.
        sources = [clips[k % len(clips)][(second + k) % len(clips[k % len(clips)])] for k in range(CLASS_SIZE)]
        frame, tiles = _five_by_five(sources, style=style)
        painted, shown = paint_labels(frame, tiles=tiles, names=SAMPLE_NAMES, style=style, size_at_720p=13)
        image = jpeg(painted)
        start = time.perf_counter()
        names = [labels.name_for(stream=1, image=image, tile=tile, now=float(second)) for tile in tiles]
        spent += time.perf_counter() - start
        for k, name in enumerate(names):
            if name is not None and frames_to_settle[k] is None:
                frames_to_settle[k] = second + 1
        settled = names
    final = list(zip(shown, settled, strict=True))
    waits = [n for n in frames_to_settle if n is not None]
    return {
        "style": style,
        "frames": FRAMES,
        "tiles": CLASS_SIZE,
        "ocr_reads": labels.reads,
        "reads_per_frame": round(labels.reads / FRAMES, 2),
        "ms_per_frame": round(1000 * spent / FRAMES, 2),
        "settled_right": sum(1 for text, name in final if name == text),
        "settled_wrong": sum(1 for text, name in final if name not in (None, text)),
        "unsettled": sum(1 for _, name in final if name is None),
        "median_frames_to_settle": float(np.median(waits)) if waits else None,
    }


def _summary(rows: list[dict[str, Any]], key: str) -> list[list[object]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row[key], _empty())
        for field in ("right", "wrong", "accents_only", "unread", "roster_right", "roster_wrong"):
            group[field] += row[field]
        group["ms"] += row["ms"]
    out = []
    for name, group in groups.items():
        total = group["right"] + group["wrong"] + group["unread"]
        out.append(
            [
                name,
                total,
                f"{group['right']} ({pct(group['right'] / total, 0)})",
                f"{group['wrong']} ({pct(group['wrong'] / total, 0)})",
                group["accents_only"],
                f"{group['unread']} ({pct(group['unread'] / total, 0)})",
                f"{group['roster_right']} ({pct(group['roster_right'] / total, 0)})",
                f"{group['roster_wrong']} ({pct(group['roster_wrong'] / total, 0)})",
                f"{np.median(group['ms']):.1f}",
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/names.json"))
    args = parser.parse_args()
    faces = registry_faces()
    label_read(image=faces[0], tile=Tile("warm-up", 0, 0, 64, 64))  # loads the OCR model outside the timings
    styles = by_style(faces)
    layouts = by_layout(faces)
    cached = [caching(style) for style in STYLES]
    headers = ["", "labels", "right", "wrong", "of which accents only", "unread", "roster: right", "roster: wrong", "ms/read (median)"]
    for title, column, rows in (
        ("per style", "style", _summary(styles, "style")),
        ("per font size", "px at 720p", _summary(styles, "size_at_720p")),
        ("per video tone", "tone", _summary(styles, "tone")),
        ("per layout", "layout", _summary(layouts, "layout")),
    ):
        print(f"\n{title}\n" + table([column, *headers[1:]], rows))
    all_rows = styles + layouts
    ms = [value for row in all_rows for value in row["ms"]]
    right, total = sum(r["right"] for r in all_rows), sum(r["right"] + r["wrong"] + r["unread"] for r in all_rows)
    wrong = sum(r["wrong"] for r in all_rows)
    roster_right, roster_wrong = sum(r["roster_right"] for r in all_rows), sum(r["roster_wrong"] for r in all_rows)
    print(
        f"\nall: {right}/{total} exact ({pct(right / total)}), {wrong} wrong ({pct(wrong / total)}); with a roster {roster_right} "
        f"({pct(roster_right / total)}) named right, {roster_wrong} ({pct(roster_wrong / total)}) wrong; "
        f"OCR {np.median(ms):.1f} ms median, {np.percentile(ms, 95):.1f} ms p95"
    )
    cache_headers = ["style", "OCR reads", "reads/frame", "ms/frame", "settled right", "wrong", "unsettled", "frames to settle"]
    cache_rows = [
        [
            c["style"],
            c["ocr_reads"],
            c["reads_per_frame"],
            c["ms_per_frame"],
            c["settled_right"],
            c["settled_wrong"],
            c["unsettled"],
            c["median_frames_to_settle"],
        ]
        for c in cached
    ]
    print(f"\n{CLASS_SIZE}-tile class, {FRAMES} frames at 1 frame/s through TileLabels\n" + table(cache_headers, cache_rows))
    print()
    print(markdown_table(["style", *headers[1:]], _summary(styles, "style")))
    print()
    print(markdown_table(cache_headers, cache_rows))
    for row in all_rows:
        timings = row.pop("ms")
        row["ms_median"] = round(float(np.median(timings)), 2) if timings else None
    args.out.write_text(
        json.dumps(
            {
                "overall": {
                    "exact": right,
                    "wrong": wrong,
                    "labels": total,
                    "roster_right": roster_right,
                    "roster_wrong": roster_wrong,
                    "ms_per_read_median": round(float(np.median(ms)), 2),
                    "ms_per_read_p95": round(float(np.percentile(ms, 95)), 2),
                },
                "styles": styles,
                "layouts": layouts,
                "caching": cached,
                "machine": {
                    "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(),
                    "load_average": [round(v, 2) for v in os.getloadavg()],
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
