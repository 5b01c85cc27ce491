"""Cellpass settings, read from environment variables.

Every setting has an embedded default that needs no server (SQLite, a filesystem
Celery broker, an in-process cache) so ``make demo`` works on a bare machine;
production points the same variables at PostgreSQL, Redis or RabbitMQ.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CELLPASS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("CELLPASS_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("SECRET_KEY must be set in production")
    SECRET_KEY = "cellpass-insecure-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

# Stable identifiers (battery, passport, organisation IRIs) are minted under this URL.
CELLPASS_BASE_URL = os.environ.get("CELLPASS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Largest number of rows accepted in one bulk registration request.
CELLPASS_BULK_MAX_ROWS = int(os.environ.get("CELLPASS_BULK_MAX_ROWS", "10000"))
CELLPASS_PASSPORT_CACHE_SECONDS = int(os.environ.get("CELLPASS_PASSPORT_CACHE_SECONDS", "300"))
# --- semantic layer (ontology app) ---
# The RDF projection's Oxigraph store: a directory (kept across restarts), or ":memory:".
CELLPASS_RDF_STORE = os.environ.get("CELLPASS_RDF_STORE", "")  # default: <CELLPASS_VAR_DIR>/rdf-store
CELLPASS_SPARQL_TIMEOUT_SECONDS = float(os.environ.get("CELLPASS_SPARQL_TIMEOUT_SECONDS", "10"))
CELLPASS_SPARQL_MAX_RESULTS = int(os.environ.get("CELLPASS_SPARQL_MAX_RESULTS", "10000"))
# An on-disk Oxigraph store is opened by one process only (RocksDB holds a lock; pyoxigraph has no
# secondary readers). "inline": the web process owns it, re-projects its own writes after commit
# and scans every CELLPASS_RDF_CATCHUP_SECONDS for the rest (bulk writes, Celery workers' writes);
# workers never open it. "celery": one dedicated worker owns it (ontology.sync_* tasks). "off".
CELLPASS_RDF_SYNC = os.environ.get("CELLPASS_RDF_SYNC", "inline")
CELLPASS_RDF_CATCHUP_SECONDS = float(os.environ.get("CELLPASS_RDF_CATCHUP_SECONDS", "10"))
# In-memory query replicas of economic operators' graphs (ontology.rdf.store.Replicated), the most
# recently querying ones; each costs about as much memory as the authority's replica at most.
CELLPASS_RDF_OPERATOR_REPLICAS = int(os.environ.get("CELLPASS_RDF_OPERATOR_REPLICAS", "2"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "passport",
    "lifecycle",
    "twins",
    "ontology",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cellpass.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: our queries are short, and compiling one costs more than it saves (a fleet
    # sweep's batched read took 27-325 ms to compile for ~80 ms of execution, docs/twins.md). An
    # ``options`` in DATABASE_URL (?options=-c%20jit%3Don) takes precedence.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file-backed test database so that a separate Celery worker process can open it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-cellpass.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cellpass"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "passport.api.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cellpass API",
    "DESCRIPTION": "Battery passports per EU Regulation 2023/1542 and the Battery Pass Data Model v1.2.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: the registration schemas come from pydantic, whose optional members are `type: "null"`.
    "OAS_VERSION": "3.1.0",
    "ENUM_NAME_OVERRIDES": {"JobStateEnum": "passport.choices.JobState"},
}

# Celery. The embedded default is kombu's filesystem transport: no server, but still a
# separate worker process reading the same spool directory.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _spool = VAR_DIR / "celery-spool"
    for _sub in ("queue", "processed", "control"):
        (_spool / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_spool / "queue"),
        "data_folder_out": str(_spool / "queue"),
        "processed_folder": str(_spool / "processed"),
        "control_folder": str(_spool / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis has no acknowledgements of its own: kombu parks a delivered message in an "unacked" set and
# hands it out again once it is older than the visibility timeout (kombu's default: 1 h). With
# acks_late, a task whose pool process dies is put back at once by its worker (reject_on_worker_lost);
# a task of a worker that dies whole (SIGKILL, lost machine) comes back after the visibility
# timeout. The timeout must exceed the longest a message may stay unacknowledged while all is well
# (the hard time limit, 30 min, plus the longest retry countdown, 10 min) or a running task would be
# handed out twice; CELERY_VISIBILITY_TIMEOUT overrides it (benchmarks/fleet_sweep.py sets 20 s for
# its short tasks). Abandoned messages are looked for every tenth of the timeout (1 to 10 s).
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "sentinel://")):
    _visibility_timeout = int(
        os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(CELERY_TASK_TIME_LIMIT + 10 * 60))
    )
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- provenance -------------------------------------------------------------------------------
# Ed25519 key that signs the Merkle log's tree heads: base64 of the 32-byte seed or a PEM file's text.
# Empty: a key is generated once under CELLPASS_VAR_DIR (fine for the demo, not for production).
CELLPASS_LOG_SIGNING_KEY = os.environ.get("CELLPASS_LOG_SIGNING_KEY", "")
if not CELLPASS_LOG_SIGNING_KEY and os.environ.get("CELLPASS_LOG_SIGNING_KEY_FILE"):
    CELLPASS_LOG_SIGNING_KEY = Path(os.environ["CELLPASS_LOG_SIGNING_KEY_FILE"]).read_text().strip()
# Empty: eth-tester's in-process EVM. Otherwise any JSON-RPC endpoint, with the key that pays for anchors.
CELLPASS_CHAIN_RPC_URL = os.environ.get("CELLPASS_CHAIN_RPC_URL", "")
CELLPASS_CHAIN_PRIVATE_KEY = os.environ.get("CELLPASS_CHAIN_PRIVATE_KEY", "")
CELLPASS_CHAIN_TIMEOUT = int(os.environ.get("CELLPASS_CHAIN_TIMEOUT", "120"))
CELLPASS_ANCHOR_INTERVAL_SECONDS = int(os.environ.get("CELLPASS_ANCHOR_INTERVAL_SECONDS", "60"))
CELLPASS_TELEMETRY_MAX_UPLOAD_BYTES = int(os.environ.get("CELLPASS_TELEMETRY_MAX_UPLOAD_BYTES", str(2 << 30)))
CELERY_BEAT_SCHEDULE = {
    "anchor-tree-head": {
        "task": "lifecycle.anchor_tree_head",
        "schedule": float(CELLPASS_ANCHOR_INTERVAL_SECONDS),
    },
    "twins-fleet-sweep": {
        "task": "twins.fleet_sweep",
        "schedule": float(os.environ.get("CELLPASS_TWIN_SWEEP_SECONDS", "3600")),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
