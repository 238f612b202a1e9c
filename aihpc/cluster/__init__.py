"""Operating the cluster: `aihpc cluster deploy | validate | status | drain | resume`.

The pure parts live here and are unit-tested on recorded data:

- `report`: the result model (check, node, result, measured, expected,
  basis), its table and JSON, and the verdict;
- `expected`: expected bandwidths derived from the inventory, with the formula;
- `measure`: parsers of what the validate playbook gathers on the nodes;
- `judge`: measurements.json (written by playbooks/validate.yml) -> report;
- `events`: ansible-runner events -> per-play/host progress and a failure summary;
- `nodeset`: hostlist expansion and node selection by state;
- `runner`: running a playbook through ansible-runner (imported lazily).

Standard library only, except `runner` (ansible-runner) and the progress
view (rich), which are imported when a command needs them.
"""
