"""Settings for the rule-authoring product, read from the environment (12-factor).

Every variable is documented in `.env.example` and the README. `ENV_FILE` names a `.env` file to
read (default: `.env` in the project root); variables already set in the environment win.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from ruleengine.database import database_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    env.read_env(str(ENV_FILE))
elif "ENV_FILE" in os.environ:
    raise ImproperlyConfigured(f"ENV_FILE={ENV_FILE} does not exist")

DEBUG = env.bool("DEBUG", default=False)

# A development key is only acceptable while DEBUG is on; production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "simple_history",
    "rules",
    "executions",
]

MIDDLEWARE = [
    "ruleengine.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "ruleengine.middleware.StaticCSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# The evaluate endpoints' own stack (ruleengine/wsgi.py): token-authenticated JSON only.
EVALUATE_MIDDLEWARE = [
    "ruleengine.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ruleengine.middleware.StaticCSPMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses logins from locked-out users and addresses before checking passwords.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ruleengine.urls"
WSGI_APPLICATION = "ruleengine.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -------------------------------------------------------------------------------
DATABASE_CONFIG, DATABASE_SOURCE = database_from_environment(
    os.environ, sqlite_path=Path(env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")))
)
DATABASE_CONFIG.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASE_CONFIG.setdefault("CONN_HEALTH_CHECKS", True)
DATABASES = {"default": DATABASE_CONFIG}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds rate-limit counters: per process by default; CACHE_URL=redis://host:6379/0
# shares them across nodes (Django's own Redis backend).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed files made by `collectstatic`; development and tests
# serve straight from the apps (STATIC_MANIFEST=false).
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security (production defaults; DEBUG relaxes them for local development) --------------
# Behind a TLS-terminating proxy, a request is HTTPS when this header says "https". The proxy
# must set it on every request (overwriting what clients send) and be the only way in; empty
# turns it off (nodes reached directly over TLS). Without it, SECURE_SSL_REDIRECT behind such a
# proxy redirects every request to itself, forever.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="X-Forwarded-Proto").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and Docker's HEALTHCHECK probe a node over plain HTTP on its own address:
# /healthz answers them instead of redirecting (ruleengine/wsgi.py also skips the Host check).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HSTS preload is a commitment for the whole domain that an operator makes knowingly
# (SECURE_HSTS_PRELOAD=true); the README lists this as the one accepted deploy warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Admin login throttling (django-axes): after AXES_FAILURE_LIMIT failures of one username from
# one client address, that pair is locked out for AXES_COOLOFF_MINUTES. By the pair, not by the
# username alone: otherwise anyone could lock the superuser out from anywhere with five bad
# passwords. Behind a load balancer, set AXES_IPWARE_PROXY_COUNT to the number of proxies so the
# client address is the real one (else every client shares the proxy's address).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Masked in the recorded attempts: `next` can be an invitation link, whose token is a secret.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "next"]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None
# X-Forwarded-For is read only behind a counted proxy chain: without one, any client could send a
# new address with every attempt and never be locked out.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Content-Security-Policy (django-csp): no inline or third-party scripts anywhere, the admin
# and its dashboard included; inline style attributes are allowed (Django's admin uses them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = False  # the admin's and DRF's JavaScript read it from the cookie
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions live in the database and the browser holds only their key; admin messages are kept
# in the session, not in Django's default signed (readable, unencrypted) `messages` cookie.
# Secrets (API tokens, invitation links) are never messages: they are rendered once on the page
# that created them.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Invitations to join a tenant: the link works for INVITATION_EXPIRY_DAYS days and goes out by
# e-mail through EMAIL_URL (console: printed by the server; smtp://user:password@host:587 or
# smtp+tls://...), from DEFAULT_FROM_EMAIL. The inviting admin sees the link once as well.
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ... (django-environ's way)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="rules@localhost")
# A mail server that never answers must not hold the request past gunicorn's timeout.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Product settings ------------------------------------------------------------------------
# Four-eyes rule: when on, the last editor of a version cannot activate it.
RULESET_FOUR_EYES = env.bool("RULESET_FOUR_EYES", default=False)

# Try-it runs in the admin are logged with source "admin" (kept out of API statistics), or not.
TRY_IT_LOG = env.bool("TRY_IT_LOG", default=True)
# Backtests replay logged inputs of one version through another; never more than this many.
BACKTEST_MAX_INPUTS = env.int("BACKTEST_MAX_INPUTS", default=100_000)
BACKTEST_DEFAULT_DAYS = env.int("BACKTEST_DEFAULT_DAYS", default=7)

# --- Non-production work: dry runs, try-it, test runs, backtests (docs/operations.md) --------
# Each has a throttle scope of its own per API client or admin user (REST_FRAMEWORK below), and
# runs in one of NON_PRODUCTION_CONCURRENCY worker slots per node (ruleengine/worker_slots.py),
# so it never occupies the workers production evaluations need. 0 turns the slots off.
NON_PRODUCTION_RATE_LIMIT = env.str("NON_PRODUCTION_RATE_LIMIT", default="60/min")
NON_PRODUCTION_CONCURRENCY = env.int("NON_PRODUCTION_CONCURRENCY", default=1)
# One request per node may wait this long for a slot, any other is refused at once (503). A
# waiting sync worker serves nobody else: under pressure the wait costs one more worker.
NON_PRODUCTION_SLOT_WAIT_SECONDS = env.float("NON_PRODUCTION_SLOT_WAIT_SECONDS", default=0.0)
# The slots' lock files; gunicorn.conf.py makes one per master (RULEENGINE_WORKER_SLOT_DIR).
# Name one to share a pool between masters of one machine; empty: one per process.
NON_PRODUCTION_SLOT_DIR = env.str(
    "NON_PRODUCTION_SLOT_DIR", default=env.str("RULEENGINE_WORKER_SLOT_DIR", default="")
)
if NON_PRODUCTION_CONCURRENCY < 0 or NON_PRODUCTION_SLOT_WAIT_SECONDS < 0:
    raise ImproperlyConfigured(
        "NON_PRODUCTION_CONCURRENCY and NON_PRODUCTION_SLOT_WAIT_SECONDS must be 0 or more "
        f"(got {NON_PRODUCTION_CONCURRENCY} and {NON_PRODUCTION_SLOT_WAIT_SECONDS})"
    )

# --- Execution log on TimescaleDB (skipped with a log line on other databases) ---------------
# Chunks older than this are compressed, segmented by tenant and ruleset (0: no compression).
EXECUTION_LOG_COMPRESS_AFTER_DAYS = env.int("EXECUTION_LOG_COMPRESS_AFTER_DAYS", default=7)
# Chunks older than this are dropped (0: keep forever).
EXECUTION_LOG_RETENTION_DAYS = env.int("EXECUTION_LOG_RETENTION_DAYS", default=90)
# An hourly continuous aggregate feeds /api/v1/stats and the admin dashboard.
EXECUTION_LOG_HOURLY_AGGREGATE = env.bool("EXECUTION_LOG_HOURLY_AGGREGATE", default=True)

# --- Storage and snapshots -------------------------------------------------------------------
# S3 (or an S3-compatible store via AWS_S3_ENDPOINT_URL) holds published snapshots when S3_BUCKET
# is set; otherwise they go to the local folder SNAPSHOT_ROOT. Credentials are never settings:
# boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or a role) from the environment.
S3_BUCKET = env.str("S3_BUCKET", default="")
S3_PREFIX = env.str("S3_PREFIX", default="").strip("/")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
# AWS_REGION is the original system's name for it.
AWS_S3_REGION_NAME = (
    env.str("AWS_S3_REGION_NAME", default="") or env.str("AWS_REGION", default="") or None
)
SNAPSHOT_ROOT = Path(env.str("SNAPSHOT_ROOT", default=str(BASE_DIR / "snapshots")))
# The original system's switch: false serves active versions from snapshots (S3_BUCKET, else
# files under RULES_CONFIG_PATH) instead of the database; execution logs still go to the database.
USE_DATABASE = env.bool("USE_DATABASE", default=True)
RULES_CONFIG_PATH = Path(env.str("RULES_CONFIG_PATH", default=str(SNAPSHOT_ROOT)))
# RULES_CONFIG_PATH naming a .json file: the original's rules file (and its conditions catalog),
# served with semantics=original to one tenant under one name, as the tenant's default; object
# keys in S3_BUCKET when a bucket is set (rules/services/original_files.py).
CONDITIONS_CONFIG_PATH = env.str("CONDITIONS_CONFIG_PATH", default="")
RULES_CONFIG_TENANT = env.str("RULES_CONFIG_TENANT", default="")
RULES_CONFIG_RULESET_NAME = env.str("RULES_CONFIG_RULESET_NAME", default="")  # default: file stem
# A served file is checked for changes (a stat, or a HEAD per object) at most this often.
RULES_CONFIG_CHECK_SECONDS = env.float("RULES_CONFIG_CHECK_SECONDS", default=1.0)
if RULES_CONFIG_CHECK_SECONDS < 0:
    raise ImproperlyConfigured(
        f"RULES_CONFIG_CHECK_SECONDS must be 0 or more, not {RULES_CONFIG_CHECK_SECONDS}"
    )
if (
    not USE_DATABASE
    and str(RULES_CONFIG_PATH).lower().endswith(".json")
    and not RULES_CONFIG_TENANT
):
    raise ImproperlyConfigured(
        f"USE_DATABASE=false serves RULES_CONFIG_PATH={RULES_CONFIG_PATH} to one tenant: set "
        "RULES_CONFIG_TENANT to its slug"
    )
# --- End of storage and snapshots ------------------------------------------------------------

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ruleengine.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "ruleengine.api.rendering.OrjsonRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bodies only, so every operation of the schema declares one content type: generated
    # clients sent multipart otherwise, which doubles lists and cannot carry objects or null.
    "DEFAULT_PARSER_CLASSES": ["ruleengine.api.rendering.OrjsonParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "ruleengine.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "ruleengine.api.errors.api_exception_handler",
    # Per user (API client or admin user), in fixed windows (ruleengine/throttling.py).
    "DEFAULT_THROTTLE_RATES": {
        "evaluate": env.str("EVALUATE_RATE_LIMIT", default="3000/s"),
        "dry_run": env.str("DRY_RUN_RATE_LIMIT", default=NON_PRODUCTION_RATE_LIMIT),
        "try_it": env.str("TRY_IT_RATE_LIMIT", default=NON_PRODUCTION_RATE_LIMIT),
        "test_run": env.str("TEST_RUN_RATE_LIMIT", default=NON_PRODUCTION_RATE_LIMIT),
        "backtest": env.str("BACKTEST_RATE_LIMIT", default="30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A rate DRF cannot read would fail every request of its scope: refuse it at start, by name.
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        _shared = _scope in ("dry_run", "try_it", "test_run")
        raise ImproperlyConfigured(
            f"{_scope.upper()}_RATE_LIMIT{' (or NON_PRODUCTION_RATE_LIMIT)' if _shared else ''}: "
            f"{_rate!r} is not a rate; write requests/period, e.g. 60/min (s, min, hour, day)"
        )
SPECTACULAR_SETTINGS = {
    "TITLE": "Rule engine API",
    "DESCRIPTION": "Evaluate inputs against a tenant's active ruleset and manage rulesets. "
    "Authenticate with `Authorization: Token <key>` (an API client's key); callers in several "
    "tenants name one with `X-Tenant`. Bodies are JSON; every error is "
    '`{"error": {"code", "message", "details"}}`.',
    # In this order in Swagger UI; operations are tagged by the path after /api/v1.
    "TAGS": [
        {"name": "evaluate", "description": "Decisions: one input, or a batch"},
        {"name": "execution-logs", "description": "Every evaluation, newest first"},
        {"name": "stats", "description": "Counts and timings per time bucket"},
        {"name": "rulesets", "description": "Versions, their lifecycle, import and export"},
        {"name": "rules", "description": "Rules of draft versions"},
        {"name": "patterns", "description": "Pattern keys and the recommendation of each"},
        {"name": "conditions", "description": "The tenant's catalog of conditions"},
        {"name": "actions", "description": "The tenant's catalog of actions"},
        {"name": "attributes", "description": "The tenant's catalog of input attributes"},
        {"name": "test-cases", "description": "Inputs and the outcomes they must have"},
        {"name": "backtest", "description": "Replay logged traffic through a version"},
        {"name": "api-clients", "description": "Applications' tokens (tenant admins)"},
        {"name": "health", "description": "For load balancers"},
        {
            "name": "original system",
            "description": "The original rule engine's endpoints and shapes, for its clients "
            "(X-API-Key or Authorization: Token)",
        },
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files are served from this app (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # OpenAPI 3.1: a nullable object is `oneOf: [{$ref}, {type: "null"}]`, valid JSON Schema
    # (3.0's `allOf` + `nullable` without a type is rejected by strict validators).
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operationIds from the path after /api/v1: `rulesets`, `rulesets_list`.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ruleengine.api.schema.openapi_31_fix",
        "ruleengine.api.schema.health_path_add",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RulesetStatusEnum": "rules.choices.RulesetStatus",
        "ItemStatusEnum": "rules.choices.ItemStatus",
        "TraceReasonEnum": "executions.api.evaluate_schema.TRACE_REASONS",
        "RulesetKindEnum": "rules.choices.RulesetKind",
        "PatternMatchKindEnum": "executions.api.evaluate_schema.PATTERN_MATCH_KINDS",
    },
}
# API tokens (django-rest-knox): only a SHA-512 digest is stored; `Authorization: Token <key>`.
REST_KNOX = {
    "TOKEN_TTL": None,  # expiry is chosen per client: create_api_client --expires-days
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Body size limit for every request (413 above it); the evaluate input lives in the body.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
EVALUATE_BATCH_LIMIT = env.int("EVALUATE_BATCH_LIMIT", default=1000)
# Imports (POST /api/v1/rulesets/import, manage.py import_rules) run inside one request or
# command; larger documents are refused (413) until a job queue takes them (docs/operations.md).
IMPORT_MAX_RULES = env.int("IMPORT_MAX_RULES", default=10_000)
IMPORT_MAX_DOCUMENT_BYTES = env.int("IMPORT_MAX_DOCUMENT_BYTES", default=8 * 1024 * 1024)
# How long an evaluate request may wait for its log row to commit (database outages included)
# before it answers 503 with Retry-After; a 2xx always means the row is committed.
EVALUATE_LOG_BUDGET_SECONDS = env.float("EVALUATE_LOG_BUDGET_SECONDS", default=5.0)
# How long an Idempotency-Key on evaluate and batch replays its first answer; after that the key
# may be used again (manage.py purge_idempotency_keys deletes expired keys).
IDEMPOTENCY_KEY_TTL_HOURS = env.float("IDEMPOTENCY_KEY_TTL_HOURS", default=24.0)
if not IDEMPOTENCY_KEY_TTL_HOURS > 0:
    raise ImproperlyConfigured(
        f"IDEMPOTENCY_KEY_TTL_HOURS must be above 0, not {IDEMPOTENCY_KEY_TTL_HOURS}"
    )
# Engine (CPU) time one evaluation may use (per batch item, per backtest input) before it stops
# and fails (422 evaluation_budget_exceeded, a failed log row); typical ones take 5-50 µs.
EVALUATION_BUDGET_MS = env.float("EVALUATION_BUDGET_MS", default=5.0)
if not EVALUATION_BUDGET_MS > 0:
    raise ImproperlyConfigured(f"EVALUATION_BUDGET_MS must be above 0, not {EVALUATION_BUDGET_MS}")
# "group": a writer thread per process commits the rows of concurrent requests together (COPY);
# "inline": each request inserts its own row on its Django connection (SQLite, the
# single-session TimescaleDB test server).
_database_vendor_is_postgresql = "postgresql" in DATABASES["default"]["ENGINE"]
# "direct": the request's own thread commits on a per-process log connection (single-threaded
# sync workers: gunicorn.conf.py sets RULEENGINE_WORKER_THREADS=1).
_worker_threads = env.int("RULEENGINE_WORKER_THREADS", default=0)
EXECUTION_LOG_WRITER = env.str(
    "EXECUTION_LOG_WRITER",
    default=(
        "inline"
        if not _database_vendor_is_postgresql
        else "direct"
        if _worker_threads == 1
        else "group"
    ),
)
# "notify": caches of API tokens and active versions are trusted until PostgreSQL LISTEN/NOTIFY
# reports a change (every node sees a commit within milliseconds); "query": every request checks
# the active version's revision and tokens are cached API_AUTH_CACHE_SECONDS.
CACHE_INVALIDATION = env.str(
    "CACHE_INVALIDATION", default="notify" if _database_vendor_is_postgresql else "query"
)
API_AUTH_CACHE_SECONDS = env.float("API_AUTH_CACHE_SECONDS", default=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
