"""Settings, all overridable from the environment (see README "Configuration")."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _secret_key(debug: bool) -> str:
    """``DJANGO_SECRET_KEY``, else the install's key file (``scripts/setup.sh`` writes it); never a known default.

    With DEBUG off and neither, refuse to start. With DEBUG on, a throw-away key: sign-ins last one run.
    """
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = Path(os.environ.get("DJANGO_SECRET_KEY_FILE", DATA_DIR / "secret_key"))
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    if debug:
        return secrets.token_urlsafe(50)
    raise ImproperlyConfigured(
        f"No secret key: set DJANGO_SECRET_KEY, or run scripts/setup.sh, which writes one to {path}. "
        "Refusing to start with DEBUG off and a known or empty key."
    )


DEBUG = _env_bool("DJANGO_DEBUG", False)
SECRET_KEY = _secret_key(DEBUG)

# Behind HTTPS (DJANGO_HTTPS=true): redirect to HTTPS, secure cookies, HSTS; a TLS-terminating proxy
# must set X-Forwarded-Proto.
HTTPS = _env_bool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 31_536_000)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "classroom",
    "ingest",
    "inference",
    "frontend",
    "project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontend.middleware.UserTimeZoneMiddleware",  # after authentication: it reads the signed-in user's zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: it answers locked-out sign-ins
]
# django-axes checks sign-in attempts before the password is even looked at.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

ROOT_URLCONF = "project.urls"
CSRF_FAILURE_VIEW = "frontend.views.csrf_failure"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's pages (login, password, error pages) win over the admin app's defaults.
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.time_zone",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _env_bool("DATABASE_POOL", False):
    # A pool of connections in the web process (psycopg's): without one, every upload opens a new connection, a new
    # server process each. Django closes a pooled connection back into the pool after each request; persistent
    # connections are no option under ASGI (Django's docs), so DATABASE_CONN_MAX_AGE then stays 0. Worker processes
    # drop the pool for one persistent connection each (project/worker_db.py).
    # Production on PostgreSQL should set DATABASE_POOL=1 (docker-compose.yml does; README "Configuration").
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_SIZE", 4)),
        "timeout": 10,
    }
# A Celery worker process keeps one connection this long instead of the pool (project/worker_db.py).
DATABASE_WORKER_CONN_MAX_AGE = int(os.environ.get("DATABASE_WORKER_CONN_MAX_AGE", "600"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; busy timeout rides out short write locks.
    # IMMEDIATE: a transaction takes the write lock when it begins, so one that read first cannot fail with
    # "database is locked" when it comes to write after another process did (SQLite does not wait then).
    # synchronous=NORMAL: in WAL mode a commit no longer waits for fsync; a crash of any process loses nothing,
    # a power cut may lose the last commits but never corrupts the file (SQLite's documented trade-off).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard-home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The zone for users who have not chosen one yet; each user's own (their profile) wins (frontend/middleware.py).
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, exactly channels-redis's blocking-pop
        # time: an idle dashboard socket would die after 5 s. Reads may block longer than the pop.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": os.environ.get("CHANNELS_PREFIX", "asgi")},
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "ingest.tasks.*": {"queue": "ingest"},
    "inference.tasks.*": {"queue": "inference"},
    "classroom.tasks.*": {"queue": "ingest"},
}
CELERY_BEAT_SCHEDULE = {
    "purge-old-observations": {"task": "classroom.tasks.purge_old_observations", "schedule": 3600.0},
    "expire-stuck-frames": {"task": "classroom.tasks.expire_stuck_frames", "schedule": 60.0},
    "check-uploads": {"task": "classroom.tasks.check_uploads", "schedule": 5.0},
    "publish-frame-counts": {"task": "classroom.tasks.publish_frame_counts", "schedule": 5.0},
    "refresh-rollups": {"task": "classroom.tasks.refresh_rollups", "schedule": 15.0},
}
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": os.environ.get("CELERY_KEY_PREFIX", "")}

# Ingest API limits (see README "Configuration").
INGEST_MAX_FRAME_BYTES = int(os.environ.get("INGEST_MAX_FRAME_BYTES", 4 * 1024 * 1024))
INGEST_MAX_PIXELS = int(os.environ.get("INGEST_MAX_PIXELS", 3840 * 2160))
INGEST_RATE_PER_SECOND = _env_float("INGEST_RATE_PER_SECOND", 5.0)
INGEST_RATE_BURST = int(os.environ.get("INGEST_RATE_BURST", 10))
INGEST_MAX_BACKLOG = int(os.environ.get("INGEST_MAX_BACKLOG", 8))  # per session: frames accepted, not yet through ingest
INGEST_MAX_QUEUED = int(os.environ.get("INGEST_MAX_QUEUED", 100))  # all sessions: frames waiting for an ingest worker
# The door (classroom/admission.py): while the slowest tenth of recent frames took longer than this from upload to stored,
# fewer frames are let in, shared fairly between classes; a frame that still waited INGEST_MAX_WAIT_SECONDS for a worker
# is dropped unread.
ADMISSION_TARGET_LATENCY_SECONDS = _env_float("ADMISSION_TARGET_LATENCY_SECONDS", 0.6)
INGEST_MAX_WAIT_SECONDS = _env_float("INGEST_MAX_WAIT_SECONDS", 2.0)
# Processes per Celery worker (runstack; compose sets the same). With the door keeping the queues short, two
# ingest processes beside the inference one on 2 cores: a third only time-slices the cores, every frame's stages
# take longer, and the door, holding frames to its target, lets fewer in (AVX2 CPU, benchmarks/load.py, runs in the
# same hour: 15 classes 58-67% processed with two against 50-51% with three, 10 classes 88% against 83%).
WORKER_CONCURRENCY = {
    "ingest": int(os.environ.get("INGEST_CONCURRENCY", 2)),
    "inference": int(os.environ.get("INFERENCE_CONCURRENCY", 1)),
}
# Messages a worker process reserves ahead: inference tasks are short, and fetching the next one only
# after acknowledging the last (acks_late) left the process idle about a sixth of the time at 10 frames/s.
# Ingest takes one at a time, so a free process never waits behind a busy one's reserved frame.
WORKER_PREFETCH = {"ingest": 1, "inference": 4}
INFERENCE_MAX_QUEUED = int(os.environ.get("INFERENCE_MAX_QUEUED", 50))  # frames waiting for inference; more are dropped
REDIS_MAXMEMORY = os.environ.get("REDIS_MAXMEMORY", "512mb")  # the Redis runstack starts: evicts frame bytes first (volatile-ttl)
INGEST_FRAME_TTL_SECONDS = int(os.environ.get("INGEST_FRAME_TTL_SECONDS", 60))
INGEST_MAX_TILES = int(os.environ.get("INGEST_MAX_TILES", 64))
INGEST_KEY_PREFIX = os.environ.get("INGEST_KEY_PREFIX", "ingest")
# Pairing the extension (classroom/pairing.py): one-time codes, and the wrong-code throttle per address.
PAIRING_CODE_SECONDS = int(os.environ.get("PAIRING_CODE_SECONDS", 600))
PAIRING_MAX_FAILURES = int(os.environ.get("PAIRING_MAX_FAILURES", 20))
PAIRING_FAILURE_WINDOW_SECONDS = int(os.environ.get("PAIRING_FAILURE_WINDOW_SECONDS", 600))
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_FRAME_BYTES + 256 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# Uploads stay in memory: a frame is never written to a temporary file (docs/architecture.md "Privacy and policy").
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# Engagement indicator (README "Engagement indicator"): attention x expression factor, both against
# the student's own baseline, banded.
ENGAGEMENT_EXPRESSION_WEIGHTS = {
    "neutral": 1.0,
    "happy": 1.0,
    "surprise": 0.9,
    "sad": 0.5,
    "fear": 0.5,
    "angry": 0.4,
    "disgust": 0.3,
}
ENGAGEMENT_BANDS = {"engaged": _env_float("ENGAGEMENT_ENGAGED_ABOVE", 0.65), "partly": _env_float("ENGAGEMENT_PARTLY_ABOVE", 0.25)}
ENGAGEMENT_FREE_DEGREES = _env_float("ENGAGEMENT_FREE_DEGREES", 15.0)
ENGAGEMENT_AWAY_YAW_DEGREES = _env_float("ENGAGEMENT_AWAY_YAW_DEGREES", 40.0)
ENGAGEMENT_AWAY_DOWN_DEGREES = _env_float("ENGAGEMENT_AWAY_DOWN_DEGREES", 20.0)
ENGAGEMENT_AWAY_UP_DEGREES = _env_float("ENGAGEMENT_AWAY_UP_DEGREES", 35.0)
ENGAGEMENT_EXPRESSION_INFLUENCE = _env_float("ENGAGEMENT_EXPRESSION_INFLUENCE", 0.6)
ENGAGEMENT_EXPRESSION_PRIOR = _env_float("ENGAGEMENT_EXPRESSION_PRIOR", 0.7)
ENGAGEMENT_BASELINE_SAMPLES = int(os.environ.get("ENGAGEMENT_BASELINE_SAMPLES", 30))
ENGAGEMENT_BASELINE_MIN_SAMPLES = int(os.environ.get("ENGAGEMENT_BASELINE_MIN_SAMPLES", 5))
ENGAGEMENT_BASELINE_MAX_YAW_DEGREES = _env_float("ENGAGEMENT_BASELINE_MAX_YAW_DEGREES", 15.0)
ENGAGEMENT_BASELINE_MAX_PITCH_DEGREES = _env_float("ENGAGEMENT_BASELINE_MAX_PITCH_DEGREES", 15.0)

# Privacy policy: full | aggregate | attention (docs/architecture.md "Privacy and policy").
PRIVACY_POLICY = os.environ.get("PRIVACY_POLICY", "full")
RETENTION_OBSERVATION_DAYS = int(os.environ.get("RETENTION_OBSERVATION_DAYS", 30))
RETENTION_SESSION_DAYS = int(os.environ.get("RETENTION_SESSION_DAYS", 365))  # then the session and its aggregates go too
RETENTION_AUDIT_DAYS = int(os.environ.get("RETENTION_AUDIT_DAYS", 730))  # reads stay accountable after the data is gone
SMOOTHING_SECONDS = _env_float("SMOOTHING_SECONDS", 3.0)  # dashboard smoothing time constant
# The shown expression (classroom/expressions.py), for the served, calibrated model (benchmarks/expressions.py, on
# FER2013 PublicTest against the FER+ majority): from 0.5 (the expression outweighs all others together) a shown
# (non-neutral) expression is right 85% of the time.
EXPRESSION_CLEAR_CONFIDENCE = _env_float("EXPRESSION_CLEAR_CONFIDENCE", 0.5)
# Before the resting face is known: 95% right, 2% of neutral faces shown an expression.
EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST = _env_float("EXPRESSION_CLEAR_CONFIDENCE_UNKNOWN_REST", 0.8)
EXPRESSION_CHANGE_MARGIN = _env_float("EXPRESSION_CHANGE_MARGIN", 0.25)  # an expression this far above rest is a change
EXPRESSION_REST_MARGIN = _env_float("EXPRESSION_REST_MARGIN", 0.1)  # none this far above rest: the face is at rest
EXPRESSION_HOLD_SECONDS = _env_float("EXPRESSION_HOLD_SECONDS", 3.0)  # an unclear frame keeps the card this long at most
# Before a student's resting face is known: the served model's mean mix on PublicTest faces whose FER+ majority is
# neutral (EXPRESSIONS order: angry, disgust, fear, happy, sad, surprise, neutral).
EXPRESSION_REST_PRIOR = (0.033, 0.005, 0.012, 0.037, 0.123, 0.032, 0.758)
DASHBOARD_HISTORY_SECONDS = int(os.environ.get("DASHBOARD_HISTORY_SECONDS", 600))

# Model served by inference/ (a .keras or .tflite file; default: the committed production model).
FER_MODEL_PATH = os.environ.get("FER_MODEL_PATH", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Alert defaults (classroom/alerts.py); each course's teacher may set their own.
ALERT_DEFAULTS = {
    "absent_seconds": int(os.environ.get("ALERT_ABSENT_SECONDS", 180)),
    "not_engaged_seconds": int(os.environ.get("ALERT_NOT_ENGAGED_SECONDS", 180)),
    "class_drop": _env_float("ALERT_CLASS_DROP", 0.2),
    "class_floor": _env_float("ALERT_CLASS_FLOOR", 0.4),
    "uploads_stopped_seconds": int(os.environ.get("ALERT_UPLOADS_STOPPED_SECONDS", 30)),
}

# Email (password links): printed to the console unless an SMTP host is configured.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if os.environ.get("EMAIL_HOST") else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "engagement-monitor@localhost")

# Sign-in throttling (django-axes): the attempt that makes this many failures for one username from one
# address, and every attempt after it, is refused until the window has passed since the last failure.
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", 5))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", 900))
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one address guessing one account; others sign in freely
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"  # counts in Redis, so no table of addresses to retain
AXES_LOCKOUT_CALLABLE = "frontend.views.login_locked_out"
AXES_VERBOSE = False
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "cache"),
    }
}

# Content-Security-Policy (django-csp): scripts only from this server, no inline script anywhere.
# Styles allow inline because plotly.js sets them on the elements it draws.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
