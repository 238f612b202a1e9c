"""Backends: the stage that talks to Slurm. `select.get_backend()` picks one."""
