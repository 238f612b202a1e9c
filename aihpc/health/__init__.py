"""`aihpc health`: one node's health checks, Slurm's HealthCheckProgram.

Standard library only (it runs every few minutes on every node):

- `model`: check results (ok / fail / unknown) and the run's report;
- `expect`: the node's expectations file, written by the aihpc role from the inventory;
- `context`: what a check may touch (a Runner, a root for /dev, /sys, /proc), per-run caches;
- `checks`: one module per kind of check;
- `engine`: runs the checks in parallel threads with per-check timeouts and a budget;
- `provenance`: drains on failure, resumes only a drain it set itself;
- `metrics`: the node_exporter textfile;
- `main`: the command (`python -m aihpc.health`, and `aihpc health` through click).
"""
