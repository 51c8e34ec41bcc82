#!/usr/bin/env bash
# Installs what the product (and, with --test, the test suite) needs on Debian 12, idempotently:
# Debian packages, a virtualenv in .venv and the pinned Python requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

APT_RUNTIME=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld
             tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-osd poppler-utils fonts-dejavu-core)
APT_TEST=(chromium dovecot-imapd dovecot-lmtpd postgresql redis-server)

wanted=("${APT_RUNTIME[@]}")
[ "$WITH_TEST" = 1 ] && wanted+=("${APT_TEST[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo ">> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packaged services are not used: tests start their own instances on 127.0.0.1.
  for svc in dovecot postgresql redis-server; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi

req=requirements.txt
[ "$WITH_TEST" = 1 ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt "$req" constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo ">> installing Python packages from $req"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -r "$req" -c constraints.txt
  touch "$stamp"
fi
