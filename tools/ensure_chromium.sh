#!/bin/sh
# `make test` needs a headless Chromium for the report's browser test. Present: nothing to do.
# Missing: install Debian's `chromium` where we may (root, or sudo without a password); otherwise stop
# before any test with one line saying what to install.
for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && exit 0
done
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        SUDO=none
    fi
    if [ "$SUDO" != none ]; then
        echo "make test: installing Debian's chromium (headless browser for the report test) ..."
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null && exit 0
        echo "make test: installing chromium failed (see above); install Debian's package 'chromium' and rerun" >&2
        exit 1
    fi
fi
echo "make test: no chromium on PATH; install it first (Debian/Ubuntu: sudo apt-get install chromium; or put chromium, chromium-browser or google-chrome on PATH)" >&2
exit 1
