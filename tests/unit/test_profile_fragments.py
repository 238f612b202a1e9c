"""Profile fragments: cluster.d/*.yaml from the storage and infiniband roles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aihpc.errors import ProfileError
from aihpc.spec.profile import fragment_dir, load_profile

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "golden-profile.yaml"


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    shutil.copy(FIXTURE, path)
    return path


def write_fragment(profile: Path, name: str, text: str) -> Path:
    directory = fragment_dir(profile)
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def test_fragment_dir_sits_beside_the_profile() -> None:
    assert fragment_dir(Path("/etc/aihpc/cluster.yaml")) == Path("/etc/aihpc/cluster.d")


def test_fragments_merge_in_name_order_over_the_main_file(profile_path: Path) -> None:
    base = load_profile(profile_path)
    write_fragment(
        profile_path,
        "40-storage.yaml",
        "shared_dirs: {shared: /nfs/shared, scratch: /scratch}\n",
    )
    write_fragment(
        profile_path,
        "50-fabric.yaml",
        "network:\n  env: {NCCL_IB_HCA: '=mlx5_0,mlx5_1', NCCL_SOCKET_IFNAME: '=ib0'}\n",
    )
    write_fragment(profile_path, "60-site.yaml", "shared_dirs: {scratch: /local}\n")
    merged = load_profile(profile_path)
    assert merged.shared_dirs["shared"] == "/nfs/shared"
    assert merged.shared_dirs["scratch"] == "/local"  # the later file wins
    assert merged.network.env["NCCL_IB_HCA"] == "=mlx5_0,mlx5_1"
    assert merged.network.env["NCCL_SOCKET_IFNAME"] == "=ib0"
    # Everything the fragments do not name stays as the main file says.
    assert merged.partitions == base.partitions
    for key, value in base.network.env.items():
        if key not in ("NCCL_IB_HCA", "NCCL_SOCKET_IFNAME"):
            assert merged.network.env[key] == value


def test_other_files_in_the_directory_are_ignored(profile_path: Path) -> None:
    write_fragment(profile_path, "README", "partitions: {}\n")
    write_fragment(profile_path, "old.yaml.dpkg-old", "partitions: {}\n")
    assert load_profile(profile_path).partitions == load_profile(FIXTURE).partitions


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("partitions: {gpu: {}}\n", "may set only"),
        ("network: {env: {A: 1}}\n", "values must be strings"),
        ("network: {foo: {}}\n", "network may set only env"),
        ("shared_dirs: [a, b]\n", "shared_dirs must be a mapping"),
        ("schema: 7\nshared_dirs: {}\n", "unknown cluster profile schema"),
        ("shared_dirs: {a: [\n", "invalid cluster profile fragment"),
    ],
)
def test_a_bad_fragment_is_refused_by_name(profile_path: Path, text: str, reason: str) -> None:
    fragment = write_fragment(profile_path, "50-bad.yaml", text)
    with pytest.raises(ProfileError) as info:
        load_profile(profile_path)
    assert reason in str(info.value)
    assert str(fragment) in str(info.value)


def test_a_bad_fragment_env_key_is_refused(profile_path: Path) -> None:
    write_fragment(profile_path, "50-fabric.yaml", "network: {env: {'1BAD': x}}\n")
    with pytest.raises(ProfileError, match="shell variable names"):
        load_profile(profile_path)
