"""Deployment settings: no known secret key, and a clean ``check --deploy`` behind HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

DEPLOY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**clean, **env}, capture_output=True, text=True, check=False
    )


def secret_of(data_dir: Path, **env: str) -> str:
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env={"DATA_DIR": str(data_dir), **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_without_a_configured_key_each_install_makes_its_own_and_keeps_it(tmp_path: Path) -> None:
    first = secret_of(tmp_path / "a")
    assert len(first) >= 50 and first == secret_of(tmp_path / "a")  # every process of one install agrees
    assert first != secret_of(tmp_path / "b")  # no two installs share a key
    assert oct((tmp_path / "a" / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert secret_of(tmp_path / "c", DJANGO_SECRET_KEY="from-the-environment") == "from-the-environment"


def test_check_deploy_is_clean_behind_https(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "DJANGO_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "engagement.example.edu"}
    result = run_manage("check", "--deploy", env=env)
    assert not any(code in result.stdout + result.stderr for code in DEPLOY_WARNINGS), result.stdout + result.stderr
    plain = run_manage("check", "--deploy", env={"DATA_DIR": str(tmp_path)})
    assert "security.W008" in plain.stdout + plain.stderr  # without HTTPS the check says so
