# The two Quick start commands: `make demo` (the main job) and `make test` (the whole suite).
# Both set up what they need themselves (tools/scripts/bootstrap.sh): `make demo` only the
# Python side (.venv), `make test` also the npm MicroPython runtime and the type stubs.
.PHONY: demo test setup lint clean

ACTIVATE_HINT = @echo "To run the lorafield commands above yourself: . .venv/bin/activate"

setup:
	@bash tools/scripts/bootstrap.sh test

demo:
	@bash tools/scripts/bootstrap.sh demo
	.venv/bin/lorafield demo
	$(ACTIVATE_HINT)

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

clean:
	rm -rf .venv node_modules build *.egg-info
