"""Meeting gallery layouts: the grid the server finds, and the faces it reads, on layouts tuned on and held out.

    python -m benchmarks.layouts [--out benchmarks/results/layouts.json]

For each layout of :data:`ingest.vision.layouts.LAYOUTS` (registry-shipped faces, JPEG round trip, no
client tiles): true tiles matched by a found one (IoU ≥ 0.85, a name strip counted with its tile),
faces read against faces shown (camera-off tiles show none), faces refused as too small, faces in a
tile that is not theirs or that holds another face, and faces read at low resolution. Held-out
layouts were not looked at while the grid finder was tuned.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.tables import markdown_table, pct, table
from ingest.vision.layouts import LAYOUTS, Layout
from ingest.vision.pipeline import get_pipeline
from ingest.vision.scenes import jpeg
from ingest.vision.self_view import find_layout
from ingest.vision.tiles import Tile
from project.demo_media import registry_faces


def _iou(a: Tile, b: Tile) -> float:
    inter = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x)) * max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return inter / (a.w * a.h + b.w * b.h - inter)


def measure(layout: Layout, faces: list[Any]) -> dict[str, Any]:
    """The figures of one layout."""
    frame, truth = layout.compose(faces)
    image = jpeg(frame)
    strip = max(14, layout.tile_size[1] // 8) if layout.name_strip else 0
    seen = [Tile(t.name, t.x, t.y, t.w, t.h + strip) for t in truth]
    found_grid, _ = find_layout(image)
    matched = sum(1 for true in seen if found_grid and max(_iou(true, tile) for tile in found_grid) >= 0.85)
    found = get_pipeline().process(image)
    grid = {tile.name: tile for tile in found.layout}
    shown = [tile for index, tile in enumerate(seen) if index not in layout.camera_off]
    misplaced = 0
    for box, name in zip(found.boxes, found.tile, strict=True):
        cx, cy = box[:2] + box[2:] / 2
        owner = next((t for t in shown if t.x <= cx < t.x + t.w and t.y <= cy < t.y + t.h), None)
        tile = grid.get(name) if name else None
        if owner is None or tile is None or max(seen, key=lambda other: _iou(other, tile)).name != owner.name:
            misplaced += 1
    misplaced += len(found.tile) - len(set(found.tile))
    return {
        "layout": layout.name,
        "held_out": layout.held_out,
        "tiles": len(truth),
        "tiles_matched": matched,
        "faces_shown": len(shown),
        "faces_read": len(found),
        "too_small": sum(1 for r in found.rejected if r.reason == "too_small"),
        "misplaced": misplaced,
        "low_resolution": int(found.low_resolution.sum()) if found.low_resolution is not None else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/layouts.json"))
    args = parser.parse_args()
    faces = registry_faces()
    results = [measure(layout, faces) for layout in LAYOUTS]
    headers = ["layout", "set", "tiles found", "faces read", "too small", "in a wrong tile", "low resolution"]
    rows = [
        [
            r["layout"],
            "held out" if r["held_out"] else "tuned",
            f"{r['tiles_matched']}/{r['tiles']}",
            f"{r['faces_read']}/{r['faces_shown']} ({pct(r['faces_read'] / r['faces_shown'], 0)})",
            r["too_small"],
            r["misplaced"],
            r["low_resolution"],
        ]
        for r in results
    ]
    print(table(headers, rows))
    print()
    print(markdown_table(headers, rows))
    args.out.write_text(
        json.dumps({"layouts": results, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n"
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
