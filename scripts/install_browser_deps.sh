#!/usr/bin/env bash
# Install the system packages the tests need on Debian (CI runs this as root): Chromium, its
# WebDriver, a CJK font (Debian's chromium has none, so Chinese would render as boxes; the PDF
# tests embed it), and the libraries of OpenCV for the OCR extra.
# Idempotent: packages already installed are skipped, and nothing is fetched when all are present.
set -euo pipefail

# libgl1 and libglib2.0-0: OpenCV, which the OCR extra's recognizer needs (docs/ocr.md).
PACKAGES=(chromium chromium-driver fonts-wqy-microhei libgl1 libglib2.0-0)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        echo "already installed: $pkg"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "browser dependencies present: /usr/bin/chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y "${missing[@]}"
test -x /usr/bin/chromium || { echo "/usr/bin/chromium missing after install" >&2; exit 1; }
echo "done: /usr/bin/chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
