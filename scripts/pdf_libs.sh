#!/usr/bin/env bash
# WeasyPrint (PDF invoices and statements) needs Pango, HarfBuzz and a font from the
# system. Install Debian's packages when they are missing; say what to do otherwise.
set -euo pipefail

have() { ldconfig -p 2>/dev/null | grep -q "$1"; }
if have libpango-1.0.so.0 && have libpangoft2-1.0.so.0 && have libharfbuzz-subset.so.0 \
  && fc-list 2>/dev/null | grep -qi dejavu; then
  exit 0
fi
PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing WeasyPrint's libraries from Debian's packages: $PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $PACKAGES >/dev/null
else
  echo "!! PDFs need Pango and a font: sudo apt-get install $PACKAGES" >&2
  exit 1
fi
