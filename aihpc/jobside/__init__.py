"""Scripts that run inside jobs with the nodes' python3: stdlib only."""
