"""`aihpc exporter`: Slurm state as Prometheus metrics, gentle on slurmctld.

Interface (the monitoring role's systemd unit and scrape config rely on it):

    aihpc exporter [--listen ADDR:PORT] [--interval SECONDS]
                   [--command-timeout SECONDS] [--squeue lean|json] [--once]

- `--listen` (default `0.0.0.0:9341`; `[::]:9341` for IPv6) serves the text
  exposition on `/metrics` (any path answers the same).
- `--interval` (default 30 s): Slurm is asked at most once per interval per
  command, however many scrapers there are; concurrent scrapes wait for and
  share one refresh. Set it to the Prometheus scrape interval.
- `--command-timeout` (default 8 s): each Slurm command's own timeout. The
  commands of one refresh run in parallel, so a scrape takes at most about
  this long: keep Prometheus' scrape_timeout above it (10 s default).
- `--squeue lean` (default) reads jobs from `squeue -O` text, about 50x less
  data than `--squeue json` at 10,000 jobs (bench/exporter measures both).
- `--once`: refresh once, print the exposition to stdout and exit (1 if a
  Slurm command failed), for debugging and cluster tests.
- Runs as an unprivileged user: it needs only Slurm's client commands
  (`scontrol`, `squeue`, `sdiag`, `sshare`; the lean squeue call goes through
  `env SLURM_TIME_FORMAT=%s`) and a readable slurm.conf.
  No state on disk, no root, no slurmrestd.
- Exit 2 with a one-line message on a bad option; exit 1 when it cannot
  listen (address in use) or prometheus-client is missing.

A failing Slurm command is a metric (`aihpc_slurm_command_up{command}` = 0,
`aihpc_slurm_command_errors_total{command,reason}` + 1), never a crash: the
families that command feeds are left out of that scrape, all others are
served. Family names and labels: docs/exporter.md (generated from
`aihpc.exporter.families.FAMILIES`).

Both squeue paths give the same values for the same jobs, queue-wait
histograms included (pending jobs' age from EligibleTime, the wait of jobs
started in the last 10 minutes): docs/exporter.md, "Queue wait".

Modules: `sources` (the Slurm commands and how each is parsed), `cache`
(one shared refresh per interval), `aggregate` (counts from nodes and jobs),
`families` (metric names, labels, values), `server` (prometheus-client and
HTTP; the only module importing prometheus_client).
"""

DEFAULT_LISTEN = "0.0.0.0:9341"
DEFAULT_INTERVAL = 30.0
DEFAULT_COMMAND_TIMEOUT = 8.0
