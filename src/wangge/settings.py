"""Settings for Wangge, driven by environment variables (see docs/operations.md).

SQLite in ./var/ by default; PostgreSQL when DATABASE_URL is set.
"""

import base64
import os
import secrets
from pathlib import Path

import dj_database_url

SRC_DIR = Path(__file__).resolve().parent
BASE_DIR = SRC_DIR.parent.parent
VAR_DIR = Path(os.environ.get("WANGGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _generated_secret(env_name: str, file_name: str, make) -> str:
    """A secret from the environment, else one generated on first start and kept in var/ (never git).

    The file is created exclusively, so processes starting together (test workers, web server and
    worker) all end up with the one secret that was written first.
    """
    if value := os.environ.get(env_name):
        return value
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / file_name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def _secret_key() -> str:
    return _generated_secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "wangge.core.admin_apps.WanggeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "treebeard",
    "wangge.core",
    "wangge.people",
    "wangge.units",
    "wangge.ledger",
    "wangge.fieldwork",
    "wangge.teams",
    "wangge.meetings",
    "wangge.appraisal",
    "wangge.dashboard",
    "wangge.annual",
    "wangge.ratings",
    "wangge.payroll",
    "wangge.points",
    "wangge.workdays",
    "wangge.cases",
    "wangge.notices",
    "wangge.api",
    "wangge.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "wangge.core.middleware.RequestIdMiddleware",
]

ROOT_URLCONF = "wangge.urls"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wangge.core.context_processors.wangge",
                "wangge.workdays.context_processors.calendar_warning",
                "wangge.notices.context_processors.unread_notifications",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'wangge.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue instead of failing mid-transaction with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "people.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [SRC_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static_root"))
NODE_MODULES = BASE_DIR / "node_modules"
# Third-party front-end files come from npm (package.json), never from the repository.
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
    ("vendor/leaflet-heat", NODE_MODULES / "leaflet.heat" / "dist"),
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Map tiles are off unless a tile server is configured: the map must work with no internet.
WANGGE_TILE_URL = os.environ.get("WANGGE_TILE_URL", "")
WANGGE_TILE_ATTRIBUTION = os.environ.get("WANGGE_TILE_ATTRIBUTION", "")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", *([WANGGE_TILE_URL.split("/{")[0]] if WANGGE_TILE_URL else [])],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF answers 401 with a WWW-Authenticate header from the first class.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["wangge.api.permissions.HasActivePost"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # How many reverse proxies stand in front (their X-Forwarded-For entries are trusted for rate limits).
    # 0 uses the connecting address, so a client cannot dodge a limit by sending the header itself.
    "NUM_PROXIES": int(os.environ.get("WANGGE_NUM_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wangge API",
    "DESCRIPTION": "网格化管理平台 REST API. Every list is limited to what the caller's posts may see.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # ReDoc's files come from the sidecar package, so the API docs page works with no internet.
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "wangge.people.roles.Role.choices"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Geometry checks: overlaps and gaps smaller than this (square metres) are rounding, not errors.
WANGGE_GEOMETRY_TOLERANCE_M2 = float(os.environ.get("WANGGE_GEOMETRY_TOLERANCE_M2", "1.0"))

# Uploaded files (case photos). They are served only through views that check scope, never as static files.
MEDIA_ROOT = Path(os.environ.get("WANGGE_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
WANGGE_MAX_UPLOAD_BYTES = int(os.environ.get("WANGGE_MAX_UPLOAD_MB", "10")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = WANGGE_MAX_UPLOAD_BYTES + 1024 * 1024
# A ledger file of a whole township (100,000 rows) is ~8 MB as .xlsx and ~15 MB as .csv.
WANGGE_MAX_IMPORT_BYTES = int(os.environ.get("WANGGE_MAX_IMPORT_MB", "50")) * 1024 * 1024
# An uploaded ledger file that was checked but never imported is deleted after this many hours.
WANGGE_IMPORT_KEEP_HOURS = int(os.environ.get("WANGGE_IMPORT_KEEP_HOURS", "72"))
# 一格一档 (INFO-2): a household record unchanged for this many months is due for a review (核查).
WANGGE_REVIEW_MONTHS = int(os.environ.get("WANGGE_REVIEW_MONTHS", "12"))
# Photos per step (staff) and per report (residents, no account), and pixels per photo: a small file
# can still decode into a huge image.
WANGGE_MAX_PHOTOS_PER_STEP = int(os.environ.get("WANGGE_MAX_PHOTOS_PER_STEP", "9"))
WANGGE_MAX_PUBLIC_PHOTOS = int(os.environ.get("WANGGE_MAX_PUBLIC_PHOTOS", "3"))
WANGGE_MAX_IMAGE_PIXELS = int(os.environ.get("WANGGE_MAX_IMAGE_PIXELS", str(40_000_000)))
DATA_UPLOAD_MAX_NUMBER_FILES = WANGGE_MAX_PHOTOS_PER_STEP + 1

# Office hours on a working day, for limits counted in working hours ("08:30-12:00,14:00-17:30").
WANGGE_OFFICE_HOURS = os.environ.get("WANGGE_OFFICE_HOURS", "08:30-12:00,14:00-17:30")

# Rate limits of the public (no account) resident pages and endpoints, in DRF's "N/period" form.
# They count in the default cache: a deployment with several app servers configures a shared one.
WANGGE_PUBLIC_REPORT_RATE = os.environ.get("WANGGE_PUBLIC_REPORT_RATE", "10/hour")
WANGGE_PUBLIC_TRACK_RATE = os.environ.get("WANGGE_PUBLIC_TRACK_RATE", "60/hour")

# Annual appraisal (EVAL-2, seed 002): 优秀 may be at most this share of a round, rounded down.
WANGGE_EXCELLENT_SHARE_PERCENT = int(os.environ.get("WANGGE_EXCELLENT_SHARE_PERCENT", "15"))

# Resident points (EVAL-5): a deed's points may be recorded up to this many days after it; goods at or
# below this stock show as running low in the points shop.
WANGGE_POINTS_BACKDATE_DAYS = int(os.environ.get("WANGGE_POINTS_BACKDATE_DAYS", "31"))
WANGGE_POINTS_LOW_STOCK = int(os.environ.get("WANGGE_POINTS_LOW_STOCK", "5"))

# 以下看上 (EVAL-3): a rating of a department on a case can be changed for this many days, and a department's
# finished work can be rated for this many days after it finished; a department or provider with fewer
# ratings than the minimum in a period gets no rank.
WANGGE_RATING_EDIT_DAYS = int(os.environ.get("WANGGE_RATING_EDIT_DAYS", "7"))
WANGGE_RATING_OPEN_DAYS = int(os.environ.get("WANGGE_RATING_OPEN_DAYS", "30"))
WANGGE_RATING_RANK_MIN_COUNT = int(os.environ.get("WANGGE_RATING_RANK_MIN_COUNT", "5"))
# Residents' ratings of public service companies, per IP ("N/period"; empty: no limit).
WANGGE_PUBLIC_RATING_RATE = os.environ.get("WANGGE_PUBLIC_RATING_RATE", "20/hour")

# What `wangge worker` runs on each pass (dotted paths to callables taking `now`).
WANGGE_WORKER_SWEEPS = [
    "wangge.cases.sweeps.sweep_overdue",
    "wangge.cases.sweeps.sweep_due_soon",
    "wangge.ledger.sweeps.discard_stale_uploads",
    "wangge.appraisal.services.score_last_month",
    "wangge.dashboard.rollup.refresh_rollup",
    "wangge.dashboard.reports.issue_monthly_reports",  # after the rollup, so it reads a fresh one
]
# The command centre's daily rollup (decision 0014): the worker rebuilds the last this many days every
# this many minutes, and everything once every this many days.
WANGGE_ROLLUP_WINDOW_DAYS = int(os.environ.get("WANGGE_ROLLUP_WINDOW_DAYS", "92"))
WANGGE_ROLLUP_INTERVAL_MINUTES = int(os.environ.get("WANGGE_ROLLUP_INTERVAL_MINUTES", "10"))
WANGGE_ROLLUP_FULL_EVERY_DAYS = int(os.environ.get("WANGGE_ROLLUP_FULL_EVERY_DAYS", "7"))
# The dashboard's map shows at most this many case markers (the newest of the range); a browser clusters
# a few thousand smoothly.
WANGGE_DASHBOARD_MAP_POINTS = int(os.environ.get("WANGGE_DASHBOARD_MAP_POINTS", "5000"))
# The monthly report (通报) lists at most this many overdue cases and this many notable (较大/重大) cases;
# the worker issues at most this many reports a pass (a county's few hundred take several passes, so the
# deadline sweeps are never held up).
WANGGE_REPORT_OVERDUE_LIMIT = int(os.environ.get("WANGGE_REPORT_OVERDUE_LIMIT", "50"))
WANGGE_REPORT_NOTABLE_LIMIT = int(os.environ.get("WANGGE_REPORT_NOTABLE_LIMIT", "100"))
WANGGE_REPORT_SWEEP_BATCH = int(os.environ.get("WANGGE_REPORT_SWEEP_BATCH", "50"))
# The longest range a dashboard, its map or the API counts over, in days (ten years).
WANGGE_DASHBOARD_MAX_DAYS = int(os.environ.get("WANGGE_DASHBOARD_MAX_DAYS", "3660"))
# The wall screen (大屏) reloads its figures this often, in seconds.
WANGGE_WALL_REFRESH_SECONDS = int(os.environ.get("WANGGE_WALL_REFRESH_SECONDS", "60"))
# A stage deadline within this many working days shows yellow (临期) and triggers one reminder.
WANGGE_DUE_SOON_WORKING_DAYS = float(os.environ.get("WANGGE_DUE_SOON_WORKING_DAYS", "1"))
# A daily work log (民情日志), visit, patrol or publicity record may be written or corrected up to this
# many calendar days after its day.
WANGGE_WORK_LOG_EDIT_DAYS = int(os.environ.get("WANGGE_WORK_LOG_EDIT_DAYS", "7"))
# Meetings (周例会, 联席会议) may be corrected up to this many days after they were held.
WANGGE_MEETING_EDIT_DAYS = int(os.environ.get("WANGGE_MEETING_EDIT_DAYS", "30"))
# The most household contact cards (民情联系卡) one grid's PDF holds; larger grids print part by part.
WANGGE_CONTACT_CARDS_MAX = int(os.environ.get("WANGGE_CONTACT_CARDS_MAX", "600"))
# The address printed on notice boards and contact cards and encoded in their QR codes, e.g.
# https://wangge.example.gov.cn; empty: the address of the request that makes them.
WANGGE_PUBLIC_BASE_URL = os.environ.get("WANGGE_PUBLIC_BASE_URL", "")
# "1+n+N" (seed 002): one full- or part-time grid worker per this many households.
WANGGE_HOUSEHOLDS_PER_GRID_WORKER = int(os.environ.get("WANGGE_HOUSEHOLDS_PER_GRID_WORKER", "100"))
# Trained before posted (TEAM-8): a grid post needs a training attended within this many months before it.
WANGGE_TRAINING_VALID_MONTHS = int(os.environ.get("WANGGE_TRAINING_VALID_MONTHS", "12"))
# Cases in long-term management need a follow-up note at least this often (natural days).
WANGGE_LONG_TERM_FOLLOW_UP_DAYS = int(os.environ.get("WANGGE_LONG_TERM_FOLLOW_UP_DAYS", "30"))

# Personal data (PIPL): ID and phone numbers are encrypted with AES-GCM under WANGGE_PII_KEYS
# ("id:base64 key" entries, comma-separated, the first encrypts, all decrypt, so keys can rotate) and
# found by exact value through an HMAC blind index under WANGGE_PII_INDEX_KEY. Both are generated into
# var/ on first start when the environment does not set them; production sets them (see operations).
WANGGE_PII_KEYS = _generated_secret(
    "WANGGE_PII_KEYS", "pii_keys", lambda: "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
)
WANGGE_PII_INDEX_KEY = _generated_secret(
    "WANGGE_PII_INDEX_KEY", "pii_index_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
)
