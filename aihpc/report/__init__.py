"""`aihpc report` and `aihpc stats`: accounting read once, streamed, and aggregated.

- `window`: the time window (--since/--until) and its parsing;
- `prices`: the price table of the cluster profile (price and cost per GPU-hour);
- `capacity`: GPUs present per node, and when they were down, drained,
  in maintenance or reserved (node events and reservations);
- `accumulate`: one pass over the sacct rows, nothing per job kept but the top N;
- `build`: the report as one JSON-ready dict; `public`: its aggregated view;
- `render_*`: table (rich), csv, html (matplotlib, imported only there);
- `gpu_metrics`: Prometheus (dcgm-exporter series) over the HTTP API;
- `stats`: one job, seff-like, with GPUs.
"""
