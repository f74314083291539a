"""``manage.py purge``: apply every retention period now (beat does it hourly)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from classroom.retention import retention_apply


class Command(BaseCommand):
    help = "Delete what is past its retention period (RETENTION_*_DAYS) and print what was deleted, by table, as JSON."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(retention_apply()))
