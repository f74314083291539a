"""``manage.py replay <video-or-image>... --session <id>``: post frames as the extension would."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.replay import ReplayError, UploadRefused, replay


class Command(BaseCommand):
    help = "Post frames of videos/images to a session's ingest API at the video's pace (several inputs become a named gallery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", type=Path, help="videos or images; several are tiled into a gallery")
        parser.add_argument("--session", type=int, required=True, help="class session id")
        parser.add_argument("--token", default=os.environ.get("INGEST_TOKEN"), help="session ingest token (or env INGEST_TOKEN)")
        parser.add_argument("--url", default=os.environ.get("INGEST_BASE_URL", "http://127.0.0.1:8000"), help="server base URL")
        parser.add_argument("--fps", type=float, default=None, help="frames per second (default: the video's own)")
        parser.add_argument("--names", default=None, help="comma-separated participant names, one per input")
        parser.add_argument("--loop", action="store_true", help="restart videos when they end (run until interrupted)")
        parser.add_argument("--max-frames", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["token"]:
            raise CommandError("an ingest token is required: --token or env INGEST_TOKEN")
        if options["fps"] is not None and options["fps"] <= 0:
            raise CommandError("--fps must be positive")
        names = [n.strip() for n in options["names"].split(",")] if options["names"] else None
        try:
            stats = replay(
                options["inputs"],
                base_url=options["url"],
                session_id=options["session"],
                token=options["token"],
                fps=options["fps"],
                names=names,
                loop=options["loop"],
                max_frames=options["max_frames"],
                on_name=lambda tile, name: self.stdout.write(f"tile {tile}: {name!r} (read from the picture)"),
            )
        except UploadRefused as error:
            # The session ended or its token was rotated: the replay's work is over, which is not an error.
            self.stderr.write(f"{error}; stopping")
            self.stdout.write(json.dumps({"stopped": error.code}))
            return
        except ReplayError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(stats.as_dict()))
