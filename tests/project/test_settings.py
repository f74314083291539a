"""Deployment settings: no known secret key, and a clean ``check --deploy`` behind HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

DEPLOY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**clean, **env}, capture_output=True, text=True, check=False
    )


def secret_of(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env={"DATA_DIR": str(data_dir), **env})


def test_with_debug_off_and_no_key_the_server_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    result = secret_of(tmp_path)
    assert result.returncode != 0
    assert (
        f"No secret key: set DJANGO_SECRET_KEY, or run scripts/setup.sh, which writes one to {tmp_path / 'secret_key'}. "
        "Refusing to start with DEBUG off and a known or empty key." in result.stderr
    )
    (tmp_path / "secret_key").write_text("\n")  # an empty file is no key either
    assert secret_of(tmp_path).returncode != 0


@pytest.mark.parametrize(
    ("file_key", "env", "expected"),
    [
        ("from-the-file", {}, "from-the-file"),
        ("from-the-file", {"DJANGO_SECRET_KEY": "from-the-environment"}, "from-the-environment"),
        ("", {"DJANGO_SECRET_KEY": "from-the-environment"}, "from-the-environment"),
    ],
)
def test_the_key_comes_from_the_environment_else_the_install_file(
    tmp_path: Path, file_key: str, env: dict[str, str], expected: str
) -> None:
    if file_key:
        (tmp_path / "secret_key").write_text(file_key + "\n")
    result = secret_of(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_setup_writes_a_private_key_once(tmp_path: Path) -> None:
    script = (Path(settings.BASE_DIR) / "scripts" / "setup.sh").read_text()
    key_lines = [line for line in script.splitlines() if "secret_key" in line and "umask 077" in line]
    assert len(key_lines) == 1  # written only when missing ([ -s … ] ||), readable by its owner only
    command = key_lines[0].replace(".venv/bin/python", sys.executable).replace('"$data_dir', f'"{tmp_path}')
    subprocess.run(["bash", "-c", command], check=True)
    first = (tmp_path / "secret_key").read_text()
    subprocess.run(["bash", "-c", command], check=True)
    assert len(first.strip()) >= 50 and (tmp_path / "secret_key").read_text() == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_debug_runs_with_a_throwaway_key(tmp_path: Path) -> None:
    result = secret_of(tmp_path, DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()[-1]) >= 50


def test_check_deploy_is_clean_behind_https(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "DJANGO_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "engagement.example.edu"}
    (tmp_path / "secret_key").write_text("k" * 20 + "-a-long-random-key-for-the-check-only-0123456789")
    result = run_manage("check", "--deploy", env=env)
    assert not any(code in result.stdout + result.stderr for code in DEPLOY_WARNINGS), result.stdout + result.stderr
    plain = run_manage("check", "--deploy", env={"DATA_DIR": str(tmp_path)})
    assert "security.W008" in plain.stdout + plain.stderr  # without HTTPS the check says so
