"""aihpc: Slurm clusters for AI, and multi-node PyTorch training from one YAML file.

This module must stay import-free: `aihpc.runtime` is imported from training
code on compute nodes, and `aihpc --help` must start fast.
"""

__version__ = "0.1.0"
