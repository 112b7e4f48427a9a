# The two Quick start commands: `make demo` (the main job) and `make test` (the whole suite).
# Both set up what they need themselves: .venv, the Python packages, the npm MicroPython
# runtime and the MicroPython type stubs (tools/scripts/bootstrap.sh).
.PHONY: demo test setup lint clean

setup:
	@bash tools/scripts/bootstrap.sh

demo: setup
	.venv/bin/lorafield demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

clean:
	rm -rf .venv node_modules build *.egg-info
