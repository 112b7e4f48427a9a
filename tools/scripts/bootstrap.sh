#!/usr/bin/env bash
# Sets up everything the README commands need, idempotently:
#   .venv with lorafield[dev] (editable), node_modules from package-lock.json (the real
#   MicroPython WebAssembly VM and pyright), and the MicroPython stubs per port, each in
#   its own folder so they pollute neither the host environment nor each other.
set -euo pipefail
cd "$(dirname "$0")/../.."

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "lorafield: '$1' is required but not installed. $2" >&2
        exit 1
    }
}

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PYTHON=$candidate
            break
        fi
    done
fi
[ -n "$PYTHON" ] || { echo "lorafield: Python 3.11 or newer is required (set PYTHON=...)." >&2; exit 1; }
need node "Install Node.js 18+ (Debian: apt-get install nodejs npm)."
need npm "Install npm (Debian: apt-get install npm)."

stamp=.venv/.lorafield-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi

if [ -f package-lock.json ]; then
    npm_stamp=node_modules/.lorafield-installed
    if [ ! -f "$npm_stamp" ] || [ package-lock.json -nt "$npm_stamp" ]; then
        npm ci --no-audit --no-fund --loglevel=error
        touch "$npm_stamp"
    fi
fi

if [ -d tools/stubs ]; then
    for req in tools/stubs/*.txt; do
        port=$(basename "$req" .txt)
        dest=.venv/stubs/$port
        if [ ! -f "$dest/.installed" ] || [ "$req" -nt "$dest/.installed" ]; then
            rm -rf "$dest"
            .venv/bin/python -m pip install -q --no-compile --target "$dest" -r "$req"
            touch "$dest/.installed"
        fi
    done
fi
