"""Settings for the AP workbench.

Every value can be set from the environment; the defaults are the embedded local set-up
(SQLite, django-q2's ORM broker, files under ``var/``). ``config.settings.production`` tightens
security on top of this module and ``config.settings.test`` makes tasks synchronous.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from config.settings.env import env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = env_path("AP_VAR_DIR", BASE_DIR / "var")

# Local-only default; production refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me-0123456789")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "auditlog",
    "rules.apps.AutodiscoverRulesConfig",
    "apinvoices",
    "approvals",
    "erp_integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apinvoices.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "apinvoices.context_processors.navigation",
            ],
        },
    },
]

# SQLite by default; DATABASE_URL (e.g. postgres://user:pass@127.0.0.1:5432/ap) for scale-out.
# The timeout lets the web process and the django-q2 worker share one SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "apinvoices:inbox"
LOGOUT_REDIRECT_URL = "login"

# Failed logins: at most LOGIN_MAX_FAILURES per username and per client address within
# LOGIN_FAILURE_WINDOW seconds; further attempts are refused until the window passes.
LOGIN_MAX_FAILURES = env_int("AP_LOGIN_MAX_FAILURES", 5)
LOGIN_FAILURE_WINDOW = env_int("AP_LOGIN_FAILURE_WINDOW", 15 * 60)
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (direct) uses
# REMOTE_ADDR; behind one nginx set 1, or every user shares the proxy's address and one
# person's typos would throttle everybody.
AP_TRUSTED_PROXY_COUNT = env_int("AP_TRUSTED_PROXY_COUNT", 0)

SESSION_COOKIE_AGE = env_int("AP_SESSION_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No page may be framed; the one view the review screen frames (the original document) opts
# in with @xframe_options_sameorigin, and the CSP's frame-ancestors follows the same choice.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("AP_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("AP_STATIC_ROOT", VAR_DIR / "static")

# Originals are private: MEDIA_URL is never routed; files are served by permission-checking
# views only.
MEDIA_ROOT = env_path("AP_MEDIA_ROOT", VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env_str("AP_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AP_S3_BUCKET"),
            "endpoint_url": env_str("AP_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- Uploads and ingestion -----------------------------------------------------------------
AP_MAX_UPLOAD_BYTES = env_int("AP_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
AP_MAX_PDF_PAGES = env_int("AP_MAX_PDF_PAGES", 500)
AP_MAX_IMAGE_PIXELS = env_int("AP_MAX_IMAGE_PIXELS", 80_000_000)
# Django holds uploads up to this size in memory; anything bigger streams to a temp file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
AP_DROP_FOLDER = env_str("AP_DROP_FOLDER", "")
AP_DROP_FOLDER_STABLE_SECONDS = env_int("AP_DROP_FOLDER_STABLE_SECONDS", 5)
AP_IMAP_HOST = env_str("AP_IMAP_HOST", "")
AP_IMAP_PORT = env_int("AP_IMAP_PORT", 993)
AP_IMAP_SECURITY = env_str("AP_IMAP_SECURITY", "tls")  # tls | starttls | plain (localhost only)
AP_IMAP_USER = env_str("AP_IMAP_USER", "")
AP_IMAP_PASSWORD = env_str("AP_IMAP_PASSWORD", "")
AP_IMAP_FOLDER = env_str("AP_IMAP_FOLDER", "INBOX")
AP_IMAP_PROCESSED_FOLDER = env_str("AP_IMAP_PROCESSED_FOLDER", "Processed")
AP_IMAP_FAILED_FOLDER = env_str("AP_IMAP_FAILED_FOLDER", "Failed")
AP_IMAP_TIMEOUT_SECONDS = env_int("AP_IMAP_TIMEOUT_SECONDS", 60)
# Attachments smaller than this that are images (logos, signatures) are skipped with a note.
AP_MAIL_MIN_IMAGE_BYTES = env_int("AP_MAIL_MIN_IMAGE_BYTES", 20 * 1024)
# Queue extraction as soon as a new invoice document is committed (tests of ingestion alone
# turn it off).
AP_EXTRACT_ON_INGEST = env_bool("AP_EXTRACT_ON_INGEST", True)
AP_EXTRACT_TASK = "apinvoices.tasks.extract_invoice"
# How often the scheduled tasks poll the mailbox and the drop folder (minutes).
AP_POLL_MINUTES = env_int("AP_POLL_MINUTES", 1)
# Drop in front of Django's own parser: uploads are refused past AP_MAX_UPLOAD_BYTES while they
# stream in (see apinvoices.ingestion.uploads).
FILE_UPLOAD_HANDLERS = [
    "apinvoices.ingestion.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Extraction ------------------------------------------------------------------------------
AP_OCR_LANGUAGES = env_str("AP_OCR_LANGUAGES", "eng+deu+fra+nld+spa+ita")
# After OCR, the worker reads the word boxes of this many pages ahead for the review screen's
# "click a word" (0: read them when the clerk first opens the page).
AP_PREFETCH_WORD_PAGES = env_int("AP_PREFETCH_WORD_PAGES", 3)
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "") or None
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 30)

# --- Approvals and ERP ----------------------------------------------------------------------
# apinvoices hands a checked invoice to this callable; it creates the approval steps.
AP_APPROVAL_ROUTER = env_str("AP_APPROVAL_ROUTER", "approvals.services.routing.invoice_route")
# Called as f(invoice, actor, reason=...) when a clerk edits an invoice in approval or approved.
AP_APPROVAL_REROUTE = "approvals.services.decisions.invoice_reroute_after_edit"
AP_BASE_URL = env_str("AP_BASE_URL", "http://127.0.0.1:8000")
AP_APPROVAL_LINK_MAX_AGE_DAYS = env_int("AP_APPROVAL_LINK_MAX_AGE_DAYS", 7)
# A pending step is reminded once after this many hours and escalated to the rule's escalation
# user after this many days.
AP_APPROVAL_REMIND_AFTER_HOURS = env_int("AP_APPROVAL_REMIND_AFTER_HOURS", 24)
AP_APPROVAL_ESCALATE_AFTER_DAYS = env_int("AP_APPROVAL_ESCALATE_AFTER_DAYS", 3)
# Slack/Teams webhooks are best effort: a slow chat service must not hold a worker for long.
AP_WEBHOOK_TIMEOUT_SECONDS = env_int("AP_WEBHOOK_TIMEOUT_SECONDS", 5)
AP_ERP_BACKEND = env_str("AP_ERP_BACKEND", "file")  # file | tryton | quickbooks | xero
# A posting being sent is leased for this long: longer than any ERP client's timeout (30 s),
# and the time after which a posting whose worker died is sent again.
AP_ERP_SEND_LEASE_SECONDS = env_int("AP_ERP_SEND_LEASE_SECONDS", 600)
# A worker keeps its ERP session (and the configuration read at login) this long between
# postings; a failure drops it at once.
AP_ERP_SESSION_SECONDS = env_int("AP_ERP_SESSION_SECONDS", 300)
AP_ERP_EXPORT_DIR = env_path("AP_ERP_EXPORT_DIR", VAR_DIR / "erp-export")
# How often vendors and open purchase orders are pulled from the ERP, and how often paid status
# is read back (minutes; 0 switches the schedule off). Both are idempotent.
AP_ERP_SYNC_MINUTES = env_int("AP_ERP_SYNC_MINUTES", 60)
AP_ERP_PAYMENT_STATUS_MINUTES = env_int("AP_ERP_PAYMENT_STATUS_MINUTES", 60)
# Payment files: who we are to the bank (pain.001 debtor; NACHA originator and its bank).
AP_COMPANY_NAME = env_str("AP_COMPANY_NAME", "AP Workbench")
AP_COMPANY_BIC = env_str("AP_COMPANY_BIC", "")
AP_NACHA_ODFI_ROUTING = env_str("AP_NACHA_ODFI_ROUTING", "")
AP_NACHA_BANK_NAME = env_str("AP_NACHA_BANK_NAME", "")
AP_NACHA_COMPANY_ID = env_str("AP_NACHA_COMPANY_ID", "")
TRYTON_URL = env_str("TRYTON_URL", "")
TRYTON_DATABASE = env_str("TRYTON_DATABASE", "")
TRYTON_USER = env_str("TRYTON_USER", "")
TRYTON_PASSWORD = env_str("TRYTON_PASSWORD", "")
QBO_BASE_URL = env_str("QBO_BASE_URL", "https://quickbooks.api.intuit.com")
QBO_REALM_ID = env_str("QBO_REALM_ID", "")
QBO_ACCESS_TOKEN = env_str("QBO_ACCESS_TOKEN", "")
QBO_EXPENSE_ACCOUNT_ID = env_str("QBO_EXPENSE_ACCOUNT_ID", "")
QBO_TAX_ACCOUNT_ID = env_str("QBO_TAX_ACCOUNT_ID", "")
QBO_MINOR_VERSION = env_str("QBO_MINOR_VERSION", "75")
QBO_TIMEOUT_SECONDS = env_int("QBO_TIMEOUT_SECONDS", 30)
XERO_BASE_URL = env_str("XERO_BASE_URL", "https://api.xero.com/api.xro/2.0")
XERO_TENANT_ID = env_str("XERO_TENANT_ID", "")
XERO_ACCESS_TOKEN = env_str("XERO_ACCESS_TOKEN", "")
XERO_ACCOUNT_CODE = env_str("XERO_ACCOUNT_CODE", "")
XERO_TIMEOUT_SECONDS = env_int("XERO_TIMEOUT_SECONDS", 30)

# --- E-mail ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AP Workbench <ap@localhost>")

# --- Background work -------------------------------------------------------------------------
# ORM broker by default (one machine, no extra service). REDIS_URL switches to Redis so that
# several qcluster workers on several machines share one queue.
# A drop-folder scan or a mailbox poll stops taking new items after this many seconds and
# leaves the rest to the next run, so one big batch never reaches the task timeout (which kills
# the task mid-item). Default: a third of the task timeout.
AP_INGEST_BATCH_SECONDS = env_int("AP_INGEST_BATCH_SECONDS", max(10, env_int("AP_Q_TIMEOUT", 600) // 3))

Q_CLUSTER = {
    "name": "apworkbench",
    "workers": env_int("AP_Q_WORKERS", 2),
    "timeout": env_int("AP_Q_TIMEOUT", 600),
    "retry": env_int("AP_Q_RETRY", 720),
    "max_attempts": env_int("AP_Q_MAX_ATTEMPTS", 3),
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}
if env_str("REDIS_URL"):
    Q_CLUSTER["redis"] = env_str("REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL")}
        if env_str("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUDITLOG_INCLUDE_ALL_MODELS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("AP_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
