"""The one Slurm data layer: how aihpc runs Slurm's commands and reads their output.

The job backend and the operator commands (exporter, health, reports,
cluster) all read Slurm through these modules, so each Slurm output has
exactly one parser:

- `run`: running a Slurm command (argv, never a shell; a timeout each);
- `values`: Slurm's JSON envelopes (numbers, state lists, errors, versions);
- `jobs`: squeue/sacct/sbatch output as `JobInfo`/`SubmitResult`.

Nothing here imports the spec, request or backend layers, nor anything heavy.
"""
