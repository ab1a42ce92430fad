# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint bench

run:  ## set up and start the app with the demo campaign on http://127.0.0.1:5000/
	bash scripts/run.sh

test:  ## set up and run the whole test suite (SQLite and PostgreSQL)
	bash scripts/test.sh

lint:  ## ruff (lint and format) and mypy, as CI runs them
	bash scripts/setup-venv.sh test
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench:
	bash scripts/setup-venv.sh test
	for script in bench/bench_*.py; do .venv/bin/python "$$script" || exit 1; done
