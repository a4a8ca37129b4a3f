# Longer runs of what CI runs bounded (see docs/operations.md and docs/performance.md).
# Use the virtual environment of the README's "Test it" command.

.PHONY: test fuzz fuzz-long bench bench-quick

test:
	pytest

# schemathesis against the GraphQL API: CI sends 50 examples per operation.
fuzz:
	PARTNERBOOK_FUZZ_EXAMPLES=300 pytest tests/test_fuzz.py -n 0 --timeout=0

fuzz-long:
	PARTNERBOOK_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py -n 0 --timeout=0

bench:
	python -m bench

bench-quick:
	python -m bench --quick
