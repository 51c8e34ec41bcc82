"""Test settings: tasks run inline, fast password hashing, files under a temp folder."""

import atexit
import shutil
import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
# One scratch folder per test process, removed when the process ends.
_SCRATCH = Path(tempfile.mkdtemp(prefix="ap-test-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
MEDIA_ROOT = _SCRATCH / "media"
AP_ERP_EXPORT_DIR = _SCRATCH / "erp-export"
# Per process even on the Redis tier: tests must not see each other's cache entries.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

# A file, not SQLite's shared-cache memory database: tests where threads race for one row
# (ingestion, polling) need writers to wait on the lock (timeout 20 s), and the shared-cache
# database fails at once with "database table is locked". A fresh folder per process, so
# parallel runs (xdist workers, other worktrees) never share a file.
# With DATABASE_URL pointing at PostgreSQL (scripts/test_pg_redis.sh), pytest-django creates
# test_<name> (test_<name>_gwN under xdist) itself; the role needs CREATEDB.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(_SCRATCH / "test.sqlite3")}  # noqa: F405
AP_PREFETCH_WORD_PAGES = 0  # tests that want it turn it on; it doubles OCR time otherwise
