"""roles/storage/library/storage_device_probe.py: the data-loss guard.

Parsers and decisions on recorded `blkid -p -o export`, `wipefs --no-act
--json` and `mdadm --examine --export` output (tests/fixtures/storage).
"""

from __future__ import annotations

import pytest

from tests.modload import load_source
from tests.unit.conftest import FIXTURES, REPO

MODULE = REPO / "roles" / "storage" / "library" / "storage_device_probe.py"
FX = FIXTURES / "storage"


sdp = load_source("storage_device_probe", MODULE, register=True)


def probe(
    device: str,
    blkid: str = "blank",
    wipefs: str = "blank",
    md: str = "none",
    *,
    rc: int | None = None,
    **extra: object,
) -> object:
    text = (FX / f"blkid-{blkid}.txt").read_text()
    md_text = (FX / f"mdadm-examine-{md}.txt").read_text()
    return sdp.Probe(
        device=device,
        blkid=sdp.parse_export(text),
        blkid_rc=rc if rc is not None else (0 if text.strip() else 2),
        wipefs=sdp.parse_wipefs_json((FX / f"wipefs-{wipefs}.json").read_text()),
        md=sdp.parse_export(md_text) if "MD_UUID=" in md_text else {},
        **extra,
    )


def fs(p: object, force: set[str] | None = None, **kw: object) -> tuple[str, list[list[str]]]:
    args: dict[str, object] = {
        "fstype": "xfs",
        "label": "aihpc-scr",
        "force": force or set(),
        "fresh": False,
        "mount_path": "/scratch",
        "extra": ["-m", "reflink=1"],
        "stripe": None,
    }
    args.update(kw)
    result: tuple[str, list[list[str]]] = sdp.decide_filesystem(p, **args)
    return result


def array(probes: list[object], force: set[str] | None = None, active: object = None) -> object:
    return sdp.decide_array(
        probes,
        name="aihpc-export",
        level="0",
        chunk_kib=512,
        metadata="1.2",
        force=force or set(),
        active=active,
    )


# --- parsers ---------------------------------------------------------------------


def test_blkid_export_of_an_xfs_device() -> None:
    got = sdp.parse_export((FX / "blkid-xfs.txt").read_text())
    assert got["TYPE"] == "xfs"
    assert got["LABEL"] == "precious"
    assert got["UUID"] == "c0ec8503-ae18-446c-a30f-bfbdc51e32ca"
    assert sdp.parse_export((FX / "blkid-blank.txt").read_text()) == {}


def test_wipefs_json_drops_nulls_and_device() -> None:
    sigs = sdp.parse_wipefs_json((FX / "wipefs-gpt-over-xfs.json").read_text())
    assert [s["type"] for s in sigs] == ["xfs", "gpt", "gpt", "PMBR"]
    assert sigs[1] == {"offset": "0x200", "type": "gpt"}
    assert sdp.parse_wipefs_json((FX / "wipefs-blank.json").read_text()) == []


def test_mdadm_examine_export_of_a_member() -> None:
    got = sdp.parse_export((FX / "mdadm-examine-member-1.txt").read_text())
    assert got["MD_NAME"] == "stor01:aihpc-export"
    assert got["MD_DEVICES"] == "2"
    assert got["MD_UUID"] == "3b1c8a6e:54f24d1e:9a0b7c2d:5e8f1a23"


# --- filesystem decisions ------------------------------------------------------------


def test_blank_device_gets_mkfs_without_force() -> None:
    action, cmds = fs(probe("/dev/nvme1n1"))
    assert action == "mkfs"
    assert cmds == [["mkfs.xfs", "-L", "aihpc-scr", "-m", "reflink=1", "/dev/nvme1n1"]]


def test_xfs_is_refused_naming_device_type_uuid_and_label() -> None:
    with pytest.raises(sdp.Refused) as info:
        fs(probe("/dev/nvme1n1", "xfs", "xfs"))
    msg = str(info.value)
    assert msg.startswith(
        "/dev/nvme1n1 holds xfs (UUID c0ec8503-ae18-446c-a30f-bfbdc51e32ca, LABEL precious)"
    )
    assert "force_format: true for /dev/nvme1n1" in msg


def test_force_for_another_device_does_not_count() -> None:
    with pytest.raises(sdp.Refused, match="/dev/nvme1n1 holds xfs"):
        fs(probe("/dev/nvme1n1", "xfs", "xfs"), force={"/dev/nvme2n1"})


def test_forced_device_is_wiped_then_formatted() -> None:
    action, cmds = fs(probe("/dev/nvme1n1", "xfs", "xfs"), force={"/dev/nvme1n1"})
    assert action == "mkfs"
    assert cmds == [
        ["wipefs", "--all", "/dev/nvme1n1"],
        ["mkfs.xfs", "-L", "aihpc-scr", "-m", "reflink=1", "-f", "/dev/nvme1n1"],
    ]


def test_own_filesystem_is_adopted() -> None:
    p = probe("/dev/nvme1n1", "xfs", "xfs")
    action, cmds = fs(p, label="precious")
    assert (action, cmds) == ("adopt", [])
    # ...also when it is already mounted where the role mounts it
    p.mounted_at = ["/scratch"]  # type: ignore[attr-defined]
    assert fs(p, label="precious")[0] == "adopt"


def test_own_label_mounted_elsewhere_is_refused() -> None:
    p = probe("/dev/nvme1n1", "xfs", "xfs", mounted_at=["/data"])
    with pytest.raises(sdp.Refused, match="/dev/nvme1n1 is mounted at /data"):
        fs(p, label="precious", force={"/dev/nvme1n1"})


def test_partition_table_is_refused() -> None:
    with pytest.raises(sdp.Refused) as info:
        fs(probe("/dev/nvme2n1", "gpt", "gpt", "gpt", partitions=["nvme2n1p1"]))
    msg = str(info.value)
    assert "/dev/nvme2n1 holds a gpt partition table" in msg
    assert "partitions nvme2n1p1" in msg
    assert "PMBR" not in msg  # the protective MBR is part of the GPT


def test_xfs_hidden_under_a_gpt_is_named_even_though_blkid_shows_only_the_gpt() -> None:
    p = probe("/dev/nvme2n1", "gpt-over-xfs", "gpt-over-xfs")
    assert p.blkid.get("TYPE") is None  # type: ignore[attr-defined]
    with pytest.raises(sdp.Refused) as info:
        fs(p)
    assert "a gpt partition table" in str(info.value)
    assert "xfs (UUID ebff6e63-c617-4fac-bc45-8c9499a2a90b)" in str(info.value)


def test_ambivalent_blkid_result_is_not_blank() -> None:
    p = probe("/dev/nvme1n1", rc=8)
    assert not p.is_blank()  # type: ignore[attr-defined]
    with pytest.raises(sdp.Refused, match="ambivalent"):
        fs(p)


def test_md_member_is_refused_as_filesystem_target() -> None:
    # blkid alone (no mdadm installed yet) still names it
    with pytest.raises(sdp.Refused, match=r"holds an md superblock \(UUID 3b1c8a6e-54f2"):
        fs(probe("/dev/nvme1n1", "md-member", "blank"))
    with pytest.raises(sdp.Refused) as info:
        fs(probe("/dev/nvme1n1", "md-member", "blank", "member-1"))
    assert "/dev/nvme1n1 holds an md superblock (array stor01:aihpc-export, UUID 3b1c8a6e:" in str(
        info.value
    )


def test_device_held_by_md_is_refused_even_when_forced() -> None:
    p = probe("/dev/nvme1n1", holders=["md127"])
    with pytest.raises(sdp.Refused, match="in use by md127"):
        fs(p, force={"/dev/nvme1n1"})


def test_fresh_array_gets_forced_mkfs_with_stripe_geometry() -> None:
    p = probe("/dev/md/aihpc-export", "gpt-over-xfs", "gpt-over-xfs")
    action, cmds = fs(
        p, label="aihpc-export", fresh=True, stripe={"chunk_kib": 512, "data_disks": 4}
    )
    assert action == "mkfs"
    assert cmds == [
        [
            "mkfs.xfs",
            "-L",
            "aihpc-export",
            "-m",
            "reflink=1",
            "-d",
            "su=512k,sw=4",
            "-f",
            "/dev/md/aihpc-export",
        ]
    ]


# --- md array decisions ---------------------------------------------------------------


def test_two_blank_members_get_mdadm_create() -> None:
    action, cmds = array([probe("/dev/nvme1n1"), probe("/dev/nvme2n1")])
    assert action == "create"
    assert cmds == [
        [
            "mdadm",
            "--create",
            "/dev/md/aihpc-export",
            "--run",
            "--metadata=1.2",
            "--level=0",
            "--chunk=512K",
            "--raid-devices=2",
            "--name=aihpc-export",
            "/dev/nvme1n1",
            "/dev/nvme2n1",
        ]
    ]


def test_members_of_our_array_are_assembled_not_recreated() -> None:
    members = [
        probe("/dev/nvme1n1", "md-member", "blank", "member-1"),
        probe("/dev/nvme2n1", "md-member", "blank", "member-2"),
    ]
    action, cmds = array(members)
    assert action == "assemble"
    assert cmds == [["mdadm", "--assemble", "/dev/md/aihpc-export", "/dev/nvme1n1", "/dev/nvme2n1"]]


def test_running_array_with_expected_members_is_adopted() -> None:
    members = [
        probe("/dev/nvme1n1", "md-member", "blank", "member-1", holders=["md127"]),
        probe("/dev/nvme2n1", "md-member", "blank", "member-2", holders=["md127"]),
    ]
    active = {"members": [(259, 1), (259, 2)], "expected": [(259, 2), (259, 1)], "member_paths": []}
    assert array(members, active=active) == ("adopt", [])


def test_running_array_with_other_members_is_refused() -> None:
    active = {
        "members": [(259, 1), (259, 3)],
        "expected": [(259, 1), (259, 2)],
        "member_paths": ["/dev/nvme1n1", "/dev/nvme3n1"],
    }
    with pytest.raises(sdp.Refused, match="running with members /dev/nvme1n1, /dev/nvme3n1"):
        array([probe("/dev/nvme1n1"), probe("/dev/nvme2n1")], active=active)


def test_member_of_a_foreign_array_is_refused_by_name() -> None:
    members = [
        probe("/dev/nvme1n1", "md-member", "blank", "foreign"),
        probe("/dev/nvme2n1"),
    ]
    with pytest.raises(sdp.Refused) as info:
        array(members)
    msg = str(info.value)
    assert msg.startswith("/dev/nvme1n1 holds an md superblock")
    assert "an md superblock (array oldhost:data, UUID aa11bb22:cc33dd44:ee55ff66:77889900)" in msg
    assert "/dev/nvme2n1" not in msg.split("force_format")[0]


def test_one_member_of_our_array_and_one_blank_is_not_assembled() -> None:
    members = [probe("/dev/nvme1n1", "md-member", "blank", "member-1"), probe("/dev/nvme2n1")]
    with pytest.raises(sdp.Refused, match="/dev/nvme1n1 holds"):
        array(members)


def test_every_refused_member_is_named() -> None:
    members = [probe("/dev/nvme1n1", "xfs", "xfs"), probe("/dev/nvme2n1", "gpt", "gpt")]
    with pytest.raises(sdp.Refused) as info:
        array(members, force={"/dev/nvme3n1"})
    assert "/dev/nvme1n1 holds xfs" in str(info.value)
    assert "/dev/nvme2n1 holds a gpt partition table" in str(info.value)


def test_forced_members_are_wiped_before_create() -> None:
    members = [probe("/dev/nvme1n1", "md-member", "blank", "foreign"), probe("/dev/nvme2n1")]
    action, cmds = array(members, force={"/dev/nvme1n1"})
    assert action == "create"
    assert cmds[:2] == [
        ["mdadm", "--zero-superblock", "/dev/nvme1n1"],
        ["wipefs", "--all", "/dev/nvme1n1"],
    ]
    assert cmds[2][:3] == ["mdadm", "--create", "/dev/md/aihpc-export"]


def test_member_in_use_by_another_array_is_refused_even_when_forced() -> None:
    members = [probe("/dev/nvme1n1", holders=["md5"]), probe("/dev/nvme2n1")]
    with pytest.raises(sdp.Refused, match="/dev/nvme1n1 is in use by md5"):
        array(members, force={"/dev/nvme1n1", "/dev/nvme2n1"})


@pytest.mark.parametrize(
    ("level", "members", "disks"),
    [("0", 4, 4), ("raid0", 2, 2), ("5", 4, 3), ("6", 6, 4), ("10", 4, 2), ("1", 2, 1)],
)
def test_stripe_width(level: str, members: int, disks: int) -> None:
    assert sdp.data_disks(level, members) == disks


def test_raid1_has_no_chunk() -> None:
    argv = sdp.mdadm_create_argv("/dev/md/m", "m", "1", 512, "1.2", ["/dev/a", "/dev/b"])
    assert "--level=1" in argv
    assert not any(a.startswith("--chunk") for a in argv)


def test_mounted_member_is_refused_even_when_forced() -> None:
    members = [probe("/dev/nvme1n1", "xfs", "xfs", mounted_at=["/scratch"]), probe("/dev/nvme2n1")]
    with pytest.raises(sdp.Refused, match="/dev/nvme1n1 is mounted at /scratch"):
        array(members, force={"/dev/nvme1n1", "/dev/nvme2n1"})
