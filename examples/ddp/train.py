"""A tiny DDP training job that checkpoints, resumes and proves it.

Runs anywhere torch runs: CPU + gloo when there is no GPU (gpus_per_node: 0),
CUDA + NCCL otherwise. Every process joins through env:// (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT, set by aihpc's srun launcher or by
torchrun).

Deterministic by construction, so an interrupted and resumed run ends with
exactly the weights of an uninterrupted one:
  * the data is synthetic, generated from --seed identically on every rank;
  * the batch of step s is a pure function of (seed, s), not of an iterator
    whose position would have to be saved;
  * the checkpoint holds model, optimizer (momentum buffers), step, the
    first loss and every rank's RNG state;
  * DDP's gradient buckets are settled before the first counted step (see
    settle_buckets), so all_reduce adds the ranks' gradients in the same
    order in a resumed run as in an uninterrupted one.

Interruptions: near the time limit the batch script creates the checkpoint
flag; on preemption Slurm may instead send SIGTERM to every rank
(runtime.stop_on_sigterm() turns it into the same request). Either way all
ranks agree, save at the end of the current step and exit 0; the job is
requeued and resumes here. Every save goes through runtime.atomic_path, so a
node dying mid-save leaves the previous checkpoint whole.

Rank 0 prints one machine-readable line at the end:
  AIHPC_RESULT {"world_size": 4, "hosts": [...], "loss_first": ..., ...}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from aihpc import runtime

FEATURES = 16
SAMPLES = 2048
CKPT_NAME = "ckpt.pt"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16, help="samples per rank per step")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--step-sleep", type=float, default=0.0, help="slow down (tests)")
    parser.add_argument("--log-every", type=int, default=10, help="print the loss every N steps")
    parser.add_argument(
        "--collective-timeout",
        type=float,
        default=120.0,
        help="seconds a collective may hang (a peer gone silently) before the rank fails",
    )
    parser.add_argument(
        "--raise-at-step",
        type=int,
        default=-1,
        help="test hook: the last rank raises ValueError at this step (a program error)",
    )
    parser.add_argument(
        "--request-checkpoint-at",
        type=int,
        default=-1,
        help="test hook: rank 0 creates the checkpoint flag at this step, as the "
        "batch script does when Slurm sends USR1",
    )
    return parser.parse_args(argv)


def make_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(SAMPLES, FEATURES, generator=gen)
    true_w = torch.randn(FEATURES, 1, generator=gen)
    y = x @ true_w + 0.1 * torch.randn(SAMPLES, 1, generator=gen)
    return x, y


def batch_indices(seed: int, step: int, world: int, rank: int, per_rank: int) -> torch.Tensor:
    """The indices of `rank`'s slice of the global batch of `step`."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    chosen = torch.randperm(SAMPLES, generator=gen)[: world * per_rank]
    return chosen[rank * per_rank : (rank + 1) * per_rank]


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, 32), nn.Tanh(), nn.Linear(32, 1))


def settle_buckets(ddp: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """One discarded backward pass, so every training step sums gradients alike.

    DDP packs gradients into buckets in parameter order, then, after its
    first backward, repacks them in the order they became ready. With more
    than two ranks the repacking changes the order in which all_reduce adds
    the ranks' values, so the first step after a resume would round
    differently from the same step in an uninterrupted run (with 4 ranks the
    final weights differed). After this pass every counted step, resumed or
    not, uses the repacked layout. The gradients are thrown away.
    """
    loss_fn(ddp(x), y).backward()
    ddp.zero_grad(set_to_none=True)


def weights_sha256(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        values = tensor.detach().cpu().flatten().tolist()
        digest.update(name.encode())
        digest.update(struct.pack(f"<{len(values)}d", *values))
    return digest.hexdigest()


def agree(flag: bool, device: torch.device) -> bool:
    """True on every rank if it is True on any: all ranks stop at the same step."""
    tensor = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def gather_bytes(payload: bytes, device: torch.device) -> list[bytes]:
    """all_gather of a byte string from every rank, with plain tensors.

    (dist.all_gather_object needs numpy, which a bare torch install lacks.)
    """
    world = dist.get_world_size()
    length = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    lengths = [torch.zeros_like(length) for _ in range(world)]
    dist.all_gather(lengths, length)
    size = max(1, max(int(n.item()) for n in lengths))
    buffer = torch.zeros(size, dtype=torch.uint8, device=device)
    if payload:
        buffer[: len(payload)] = torch.tensor(list(payload), dtype=torch.uint8, device=device)
    gathered = [torch.zeros_like(buffer) for _ in range(world)]
    dist.all_gather(gathered, buffer)
    return [bytes(b[: int(n.item())].tolist()) for b, n in zip(gathered, lengths, strict=True)]


def save(path: str, state: dict[str, object]) -> None:
    with runtime.atomic_path(path) as tmp:
        torch.save(state, tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = runtime.rank_info()
    use_cuda = torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES", "") != ""
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
        device = torch.device("cuda", info.local_rank)
    else:
        device = torch.device("cpu")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    # SIGTERM (preemption, requeue, cancel) -> save at the end of this step.
    runtime.stop_on_sigterm()
    dist.init_process_group(
        backend, init_method="env://", timeout=timedelta(seconds=args.collective_timeout)
    )
    rank, world = dist.get_rank(), dist.get_world_size()

    x_all, y_all = make_data(args.seed)
    model = make_model(args.seed).to(device)
    ddp = nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if use_cuda else None
    )
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.MSELoss()
    settle_buckets(ddp, loss_fn, x_all[:1].to(device), y_all[:1].to(device))
    torch.manual_seed(args.seed + 1000 + rank)  # per-rank stream, restored on resume

    ckpt_path = os.path.join(runtime.checkpoint_dir(), CKPT_NAME)
    step, loss_first, resumed_from = 0, None, None
    loss_value = float("nan")
    if os.path.exists(ckpt_path):
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        loss_first = state["loss_first"]
        loss_value = state["loss_last"]
        torch.set_rng_state(torch.tensor(list(state["rng"][rank]), dtype=torch.uint8))
        resumed_from = step
        if rank == 0:
            print(f"resumed from step {step} (restart {runtime.restart_count()})", flush=True)

    def checkpoint(at_step: int) -> None:
        rng_states = gather_bytes(bytes(torch.get_rng_state().tolist()), device)
        if rank == 0:
            save(
                ckpt_path,
                {
                    "step": at_step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "loss_first": loss_first,
                    "loss_last": loss_value,
                    "rng": rng_states,
                },
            )
        dist.barrier()

    while step < args.steps:
        if rank == 0 and step == args.request_checkpoint_at:
            flag = os.environ.get("AIHPC_CHECKPOINT_FLAG")
            if flag:
                open(flag, "w").close()
        if agree(runtime.checkpoint_requested(), device):
            checkpoint(step)
            if rank == 0:
                print(f"AIHPC_CHECKPOINTED step={step}", flush=True)
            dist.destroy_process_group()
            return 0
        if step == args.raise_at_step and rank == world - 1:
            raise ValueError(f"--raise-at-step {step}: a deliberate program error")
        idx = batch_indices(args.seed, step, world, rank, args.batch)
        optimizer.zero_grad()
        loss = loss_fn(ddp(x_all[idx].to(device)), y_all[idx].to(device))
        loss.backward()
        optimizer.step()
        # The global loss of this step, the same number on every rank.
        global_loss = loss.detach().clone()
        dist.all_reduce(global_loss)
        loss_value = global_loss.item() / world
        if loss_first is None:
            loss_first = loss_value
        step += 1
        if rank == 0 and (step % max(1, args.log_every) == 0 or step == args.steps):
            print(f"step {step} loss {loss_value:.6f}", flush=True)
        if args.save_every and step % args.save_every == 0:
            checkpoint(step)
        if args.step_sleep:
            time.sleep(args.step_sleep)

    hosts = [h.decode() for h in gather_bytes(socket.gethostname().encode(), device)]
    if rank == 0:
        result = {
            "world_size": world,
            "hosts": sorted(set(hosts)),
            "rank_hosts": hosts,
            "loss_first": loss_first,
            "loss_last": loss_value,
            "steps": step,
            "resumed_from": resumed_from,
            "restart_count": runtime.restart_count(),
            "weights_sha256": weights_sha256(model),
            "torch": torch.__version__,
            "launcher": "torchrun" if "TORCHELASTIC_RUN_ID" in os.environ else "srun",
        }
        print("AIHPC_RESULT " + json.dumps(result), flush=True)
        # A checkpoint request arriving now must not requeue a finished job.
        runtime.mark_complete()
    # No rank tears down while another is still in a collective.
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    code = main()
    # Leave without the interpreter's finalizers. With Debian's torch 2.6 and
    # gloo across 2 nodes, a rank sometimes aborted there, after
    # destroy_process_group() had returned ("terminate called without an
    # active exception"), failing a finished job: 2 of 4 runs before this
    # change, 0 of 12 after. Everything worth keeping is saved and flushed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
