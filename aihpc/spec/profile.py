"""The cluster profile `/etc/aihpc/cluster.yaml`, written by the slurm role.

Format: docs/cluster-profile.md. We read it; we never write it. Unknown
extra keys are accepted (later roles add to it), an unknown `schema` is not.

Other roles (storage, infiniband) add their part as fragments in
`/etc/aihpc/cluster.d/*.yaml`, merged over the main file in name order: a
fragment may set `shared_dirs` and `network.env` only, so no role can
rewrite another's partitions.
"""

# spec_field is dataclasses.field plus the field's kind and description.

from __future__ import annotations

import os
from pathlib import Path

from aihpc.errors import ProfileError
from aihpc.spec import yamlsafe
from aihpc.spec.model import ENV_KEY_RE
from aihpc.spec.records import record
from aihpc.spec.typed import (
    Bool,
    Int,
    Invalid,
    Kind,
    ListOf,
    MapOf,
    Model,
    Nested,
    Optional,
    Problem,
    Str,
    spec_field,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PROFILE_PATH = "/etc/aihpc/cluster.yaml"
PROFILE_ENV = "AIHPC_CLUSTER_PROFILE"
KNOWN_SCHEMAS = frozenset({1})


class _Open(Model):
    extra_allowed = True  # later roles add keys; this aihpc ignores what it does not know


Count = Int(ge=0)


@record(frozen=True)
class Partition(_Open):
    nodes: int = spec_field(Count)
    gpus_per_node: int = spec_field(Count)
    gpu_types: list[str] = spec_field(ListOf(Str()))
    cpus_per_node: int = spec_field(Count)
    mem_per_node_mb: int = spec_field(Count)
    max_time: str = spec_field(Str())
    default: bool = spec_field(Bool(), False)


@record(frozen=True)
class Network(_Open):
    env: dict[str, str] = spec_field(MapOf(Str()), factory=dict)


@record(frozen=True)
class NullIsEmpty(Kind):
    """A section that may be absent, null or empty: null reads as the empty value,
    so a profile written before the section existed (or with nothing in it) loads."""

    inner: Kind
    empty: Any  # a callable making the empty value (dict, list, a model class)

    def check(self, value: Any, path: tuple[str | int, ...], out: list[Problem]) -> Any:
        return self.empty() if value is None else self.inner.check(value, path, out)

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return Optional(self.inner).schema(defs)


Names = NullIsEmpty(ListOf(Str()), list)


@record(frozen=True)
class QosPolicy(_Open):
    # Kept as written: a max_wall we cannot read is Slurm's business, not a reason
    # to refuse every submit (checks parse it and skip what they cannot read).
    max_wall: str | None = spec_field(Optional(Str()), None, description="null: no limit.")
    preemptible: bool = spec_field(Bool(), False)


@record(frozen=True)
class UserPolicy(_Open):
    default_account: str | None = spec_field(Optional(Str()), None)
    # account -> QOS allowed there; None (the whole map, or one account's list):
    # not managed here, Slurm decides.
    accounts: dict[str, list[str] | None] | None = spec_field(
        Optional(MapOf(Optional(ListOf(Str())))), None
    )


@record(frozen=True)
class PartitionPolicy(_Open):
    allow_accounts: list[str] = spec_field(Names, factory=list, description="[]: open to all.")
    allow_qos: list[str] = spec_field(Names, factory=list, description="[]: open to all.")
    qos: str | None = spec_field(Optional(Str()), None, description="The partition QOS.")


@record(frozen=True)
class Policy(_Open):
    """The accounting policy the slurm role wrote, for submit-time checks."""

    accounts: list[str] = spec_field(Names, factory=list)
    qos: dict[str, QosPolicy] = spec_field(
        NullIsEmpty(MapOf(NullIsEmpty(Nested(QosPolicy), QosPolicy)), dict), factory=dict
    )
    # A user listed as null is not checked, like a user who is not listed.
    users: dict[str, UserPolicy | None] = spec_field(
        NullIsEmpty(MapOf(Optional(Nested(UserPolicy))), dict), factory=dict
    )
    partitions: dict[str, PartitionPolicy] = spec_field(
        NullIsEmpty(MapOf(NullIsEmpty(Nested(PartitionPolicy), PartitionPolicy)), dict),
        factory=dict,
    )


@record(frozen=True)
class ClusterProfile(_Open):
    schema_: int = spec_field(Int(), alias="schema")
    cluster: str = spec_field(Str())
    login_host: str = spec_field(Str())
    default_partition: str = spec_field(Str())
    partitions: dict[str, Partition] = spec_field(MapOf(Nested(Partition)))
    shared_dirs: dict[str, str] = spec_field(MapOf(Str()), factory=dict)
    network: Network = spec_field(Nested(Network), factory=Network)
    # Absent in profiles written before the slurm role wrote it: then nothing is checked.
    policy: Policy = spec_field(NullIsEmpty(Nested(Policy), Policy), factory=Policy)
    path: str = spec_field(Str(), "", description="File this profile was read from.")


def profile_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(PROFILE_ENV) or DEFAULT_PROFILE_PATH)


FRAGMENT_KEYS = frozenset({"shared_dirs", "network"})


def fragment_dir(path: Path) -> Path:
    """/etc/aihpc/cluster.yaml -> /etc/aihpc/cluster.d"""
    return path.with_name(path.stem + ".d")


def _read_mapping(path: Path, what: str) -> yamlsafe.Located:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return yamlsafe.load_mapping(raw, str(path))
    except Exception as exc:  # a SpecError here is still the cluster's problem
        raise ProfileError(f"invalid {what}: {exc}") from None


def _merge_fragments(path: Path, data: dict[str, object]) -> dict[str, object]:
    """Merge cluster.d/*.yaml over the main profile (shared_dirs, network.env)."""
    directory = fragment_dir(path)
    if not directory.is_dir():
        return data
    shared = dict(_mapping(data.get("shared_dirs")))
    network = dict(_mapping(data.get("network")))
    env = dict(_mapping(network.get("env")))
    for fragment in sorted(directory.glob("*.yaml")):
        part = _read_mapping(fragment, "cluster profile fragment").data
        unknown = sorted(set(part) - FRAGMENT_KEYS - {"schema"})
        if unknown:
            raise ProfileError(
                f"{fragment}: a profile fragment may set only {sorted(FRAGMENT_KEYS)}, "
                f"not {unknown}"
            )
        if part.get("schema", 1) not in KNOWN_SCHEMAS:
            raise ProfileError(f"{fragment}: unknown cluster profile schema {part['schema']!r}")
        frag_network = _mapping(part.get("network"), fragment, "network")
        if set(frag_network) - {"env"}:
            raise ProfileError(f"{fragment}: network may set only env in a fragment")
        for field, target, value in (
            ("shared_dirs", shared, part.get("shared_dirs")),
            ("network.env", env, frag_network.get("env")),
        ):
            items = _mapping(value, fragment, field)
            wrong = sorted(k for k, v in items.items() if not isinstance(v, str))
            if wrong:
                raise ProfileError(f"{fragment}: {field} values must be strings: {wrong}")
            target.update(items)
    return {**data, "shared_dirs": shared, "network": {**network, "env": env}}


def _mapping(value: object, where: Path | None = None, field: str = "") -> dict[str, object]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if where is None:  # the main file: model validation reports it with line and column
        return {}
    raise ProfileError(f"{where}: {field} must be a mapping, not {type(value).__name__}")


def load_profile(path: Path) -> ClusterProfile:
    """Read and check a profile file; ProfileError names the file on any problem."""
    located = _read_mapping(path, "cluster profile")
    data = located.data
    schema = data.get("schema")
    if schema not in KNOWN_SCHEMAS:
        raise ProfileError(
            f"{path}: unknown cluster profile schema {schema!r} (this aihpc reads "
            f"{sorted(KNOWN_SCHEMAS)}); upgrade aihpc or re-run the slurm playbook"
        )
    merged = _merge_fragments(path, data)
    try:
        profile = ClusterProfile.model_validate({**merged, "path": str(path)})
    except Invalid as exc:
        first = exc.problems[0]
        where = ".".join(str(p) for p in first.path)
        origin = located.values.get(first.path)
        line = f":{origin.line}:{origin.column}" if origin else ""
        raise ProfileError(f"{path}{line}: cluster profile field {where}: {first.msg}") from None
    gloo = profile.network.env.get("GLOO_SOCKET_IFNAME", "")
    if any(item.startswith("^") for item in gloo.split(",")):
        raise ProfileError(
            f"{path}: network.env GLOO_SOCKET_IFNAME {gloo!r}: gloo cannot exclude "
            "interfaces ('^' is NCCL syntax); name the interface to use"
        )
    bad = [k for k in profile.network.env if not ENV_KEY_RE.fullmatch(k)]
    if bad:
        raise ProfileError(f"{path}: network.env keys must be shell variable names: {bad}")
    if profile.default_partition not in profile.partitions:
        raise ProfileError(
            f"{path}: default_partition {profile.default_partition!r} is not in partitions"
        )
    return profile


def find_profile(environ: dict[str, str] | None = None) -> ClusterProfile | None:
    """The profile if its file exists, else None (e.g. on a laptop for --dry-run)."""
    path = profile_path(environ)
    if not path.exists():
        return None
    return load_profile(path)
