"""The command table and top-level help text. No imports: read on every start."""

SUMMARY = "Train multi-node PyTorch on Slurm from one YAML file."

# name -> (module, attribute, one-line help shown by `aihpc --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "submit": ("aihpc.cli.cmd_submit", "submit", "Submit a training job described by train.yaml."),
    "status": ("aihpc.cli.cmd_status", "status", "Show one job (all its array tasks)."),
    "list": ("aihpc.cli.cmd_list", "list_", "List your jobs: queued, running, last 24 h."),
    "logs": ("aihpc.cli.cmd_logs", "logs", "Print or follow a job's logs, per rank."),
    "cancel": ("aihpc.cli.cmd_cancel", "cancel", "Cancel a job or one array task."),
    "shell": ("aihpc.cli.cmd_shell", "shell", "Open an interactive shell on a compute node."),
    "jupyter": ("aihpc.cli.cmd_jupyter", "jupyter", "Start JupyterLab in a job, print the tunnel."),
    "health": ("aihpc.cli.cmd_health", "health_", "Check this node (Slurm's HealthCheckProgram)."),
    "exporter": ("aihpc.cli.cmd_exporter", "exporter", "Serve Slurm metrics to Prometheus."),
    "cluster": ("aihpc.cli.cmd_cluster", "cluster", "Deploy, validate and operate the cluster."),
    "stats": ("aihpc.cli.cmd_stats", "stats", "One job's efficiency: GPUs, CPU, memory, wait."),
    "report": ("aihpc.cli.cmd_report", "report", "GPU utilisation, GPU-hours and money report."),
}

EPILOG = """\b
Examples:
  aihpc submit train.yaml --dry-run     # show the script and sbatch argv
  aihpc submit train.yaml -o nodes=2    # override any key
  aihpc logs -f 1234 --rank 0           # follow rank 0
  aihpc list

\b
Shell completion (bash; zsh: zsh_source, fish: fish_source):
  eval "$(_AIHPC_COMPLETE=bash_source aihpc)"

Exit codes: 0 ok, 1 job or cluster failure, 2 usage or validation error.
"""
