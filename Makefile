# Entry points. Each target installs what it needs (Docker, debootstrap, the
# venv), so both work on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# The container harness settings (ansible.cfg is the one for real sites).
export ANSIBLE_CONFIG := $(CURDIR)/ansible-harness.cfg

.PHONY: help demo test test-fast test-kernel lint fix fix-format fix-docs fix-golden fix-templates unit cluster-test cluster-up cluster-down venv host-deps image bench-converge bench-cli bench-exporter bench-health bench-report test-torchrun

help:
	@echo "make demo         bring up the local container cluster with our roles and run a 2-node job"
	@echo "make test         lint + unit tests + the whole-cluster Molecule scenario (what CI runs)"
	@echo "make test-fast    lint + unit tests only (no containers)"
	@echo "make fix          regenerate everything generated: formatting, role READMEs, docs, golden files"
	@echo "make test-kernel  the kernel lane: md/XFS/NFS and Soft-RoCE on two qemu VMs (slow)"
	@echo "make cluster-up   bring up the local cluster (make cluster-down removes it)"
	@echo "make test-torchrun  the torchrun launcher with PyPI's torch in a venv on the shared volume (not in CI)"
	@echo "make bench-converge / bench-cli / bench-exporter / bench-health / bench-report   benchmarks (not part of CI)"

venv:
	@scripts/bootstrap-venv.sh

# Docker engine, debootstrap, the package cache and the base image.
host-deps:
	@scripts/ensure-host.sh

image: host-deps
	@images/trixie-systemd/build.sh

demo: venv image
	@scripts/demo.sh

cluster-up: venv image
	@scripts/cluster.sh up

cluster-down: venv
	@scripts/cluster.sh down

lint: venv
	@scripts/lint.sh

# Everything generated, regenerated; review `git diff` afterwards. Each step is
# its own target so pre-commit (and a person) can run one.
fix: fix-format fix-docs fix-templates fix-golden

fix-format: venv
	@ruff check --fix -q aihpc tests bench scripts roles collections
	@ruff format -q aihpc tests bench scripts roles collections

# Role README variable tables (meta/argument_specs.yml) and the train.yaml reference.
fix-docs: venv
	@python scripts/role_docs.py
	@python -m aihpc.spec.docgen

# The shipped job templates compiled to Python (aihpc/request/compiled_templates.py,
# what `aihpc submit` renders with), before the golden files are rewritten.
fix-templates: venv
	@python -m aihpc.request.tplcompile

# Golden files: rendered job scripts and role configs, rewritten from the code.
fix-golden: venv
	@AIHPC_UPDATE_GOLDEN=1 pytest -q -p no:cacheprovider tests/unit/test_golden.py tests/unit/test_validation.py tests/unit/test_rendered_config.py tests/unit/roles/test_gpu_render.py tests/unit/roles/test_infiniband_render.py tests/unit/roles/test_storage_render.py

unit: venv
	@scripts/ensure-promtool.sh >/dev/null  # promtool/amtool for the monitoring tests
	@pytest tests/unit -q -p no:cacheprovider

test-fast: lint unit

cluster-test: venv image
	@scripts/test-cluster.sh

test: lint unit cluster-test

# The kernel lane: storage and Soft-RoCE on two qemu VMs (slow; not in `make test`).
test-kernel: venv host-deps
	@scripts/test-kernel.sh

# Downloads PyPI's torch (about 3.8 GB, cached) for the nodes' Python.
test-torchrun: venv image
	@scripts/test-torchrun.sh

bench-converge: venv image
	@python bench/converge/bench_converge.py

bench-cli: venv
	@python bench/cli/bench_cli.py

bench-exporter: venv
	@python bench/exporter/bench_exporter.py

bench-health: venv
	@python bench/health/bench_health.py

bench-report: venv
	@python bench/report/bench_report.py
