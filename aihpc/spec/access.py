"""The request against the profile's accounting policy: account, QOS, partition
access and the QOS wall limit, refused before sbatch with a hint each.

What the profile does not say is not checked: a user who is not listed (or
is null), an account whose QOS list is null. Slurm then decides, as it would
without aihpc. Format: docs/cluster-profile.md, section `policy`.
"""

from __future__ import annotations

from aihpc.errors import SpecIssue
from aihpc.spec import slurmtime
from aihpc.spec.locate import Locator
from aihpc.spec.profile import ClusterProfile, Policy
from aihpc.spec.records import record


@record(frozen=True)
class Access:
    """Who asks, and for what: the fields a policy judges."""

    user: str
    partition: str
    account: str | None = None  # None: the user's default account
    qos: str | None = None  # None: no QOS is checked
    time: str | None = None


def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _minutes(value: str) -> int | None:
    try:
        return slurmtime.parse_minutes(value)
    except ValueError:
        return None  # unreadable (in the profile) or refused by the model (in the spec)


def _account_issues(
    req: Access, account: str, allowed: dict[str, list[str] | None], locate: Locator
) -> list[SpecIssue]:
    if account not in allowed:
        if req.account is None:
            return []  # a default account the profile does not list: Slurm decides
        import difflib  # for a hint only: ~1 ms of every submit otherwise

        guess = difflib.get_close_matches(account, list(allowed), n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else ""
        hint = hint or f"your accounts: {_listing(sorted(allowed))}"
        return [locate.issue(("account",), f"user {req.user!r} has no account {account!r}", hint)]
    qos_list = allowed[account]
    if req.qos is not None and qos_list is not None and req.qos not in qos_list:
        return [
            locate.issue(
                ("qos",),
                f"QOS {req.qos!r} is not allowed on account {account!r}",
                f"allowed there: {_listing(qos_list)}",
            )
        ]
    return []


def _partition_issues(
    req: Access, account: str | None, policy: Policy, locate: Locator
) -> list[SpecIssue]:
    part = policy.partitions.get(req.partition)
    if part is None:
        return []
    issues = []
    if account is not None and part.allow_accounts and account not in part.allow_accounts:
        # A default account was not written in the spec: point at the partition.
        path = ("account",) if req.account is not None else ("partition",)
        issues.append(
            locate.issue(
                path,
                f"partition {req.partition!r} does not allow account {account!r}",
                f"allowed accounts: {_listing(part.allow_accounts)}",
            )
        )
    if req.qos is not None and part.allow_qos and req.qos not in part.allow_qos:
        issues.append(
            locate.issue(
                ("qos",),
                f"partition {req.partition!r} does not allow QOS {req.qos!r}",
                f"allowed QOS: {_listing(part.allow_qos)}",
            )
        )
    return issues


def _wall_issues(req: Access, policy: Policy, locate: Locator) -> list[SpecIssue]:
    if req.qos is None or req.time is None:
        return []
    qos = policy.qos.get(req.qos)
    if qos is None or qos.max_wall is None:
        return []
    limit = _minutes(qos.max_wall)
    wanted = _minutes(req.time)
    if limit is None or wanted is None or wanted <= limit:
        return []
    return [
        locate.issue(
            ("time",),
            f"time {req.time} exceeds QOS {req.qos!r} MaxWall {qos.max_wall}",
            "ask for less time or another QOS",
        )
    ]


def check_access(req: Access, profile: ClusterProfile, locate: Locator) -> list[SpecIssue]:
    """Every policy rule the profile can answer; [] when it has no policy."""
    policy = profile.policy
    user = policy.users.get(req.user)
    account = req.account
    if account is None and user is not None:
        account = user.default_account
    issues: list[SpecIssue] = []
    if user is not None and user.accounts is not None and account is not None:
        issues.extend(_account_issues(req, account, user.accounts, locate))
        if account not in user.accounts:
            return issues  # the rest would judge an account the user does not have
    issues.extend(_partition_issues(req, account, policy, locate))
    issues.extend(_wall_issues(req, policy, locate))
    return issues
