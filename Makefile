# The two commands: `make demo` (build the demo corpus) and `make test` (run the suite).
.PHONY: demo test lock demo-card

demo:
	@scripts/bootstrap.sh
	.venv/bin/mt-aug build configs/demo.yaml

test:
	@scripts/bootstrap.sh
	.venv/bin/python -m pytest -q -n 2 --dist loadgroup

# Re-pin the full dependency tree (needs the registry; run after editing pyproject.toml).
lock:
	@test -x .venv/bin/uv || (python3 -m venv .venv && .venv/bin/pip install -q uv==0.9.5)
	.venv/bin/uv pip compile pyproject.toml --extra test --extra train --find-links /opt/wheels \
	  --python-version 3.11 --no-header -o requirements.lock

# Regenerate data_cards/demo-build.md: the demo's card, run-specific values replaced
# (a test checks it is current). Builds into a temporary folder with a fresh cache.
demo-card:
	@scripts/bootstrap.sh
	@tmp=$$(mktemp -d) && .venv/bin/mt-aug build configs/demo.yaml --executor local --output $$tmp/out --cache-dir $$tmp/cache >/dev/null \
	  && .venv/bin/mt-aug card $$tmp/out/current --stable data_cards/demo-build.md && rm -rf $$tmp
