"""Data-parallel training on torch.distributed, launched with torchrun: the launch, the group, the collectives.

`torchrun --nproc_per_node N` (on each of `--nnodes` machines) starts one process per rank and sets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. `setup()` reads them, joins the process group (gloo
on CPU, NCCL on CUDA, each rank on `cuda:LOCAL_RANK`) and returns the `Group` the trainer talks through;
without them, or with a single process, it returns None and training runs as usual. The trainer then

    shards the data by rows      rank r gets its own rows of every global batch (`rnnkit.training.sharding`);
                                 for a contiguous stream its own streams, so the TBPTT state stays local
    starts from rank 0's weights broadcast once, then each rank reseeds its RNGs with seed + rank
    reduces every update         `reduce_update`: each rank's gradient weighted by its share of the batch's
                                 targets, summed across ranks (see below), and the loss and counts with it
    agrees on stopping           a signal received by any rank stops every rank at the same update
    writes from rank 0 only      logs, and checkpoints holding every rank's carried state and RNGs

Why not DistributedDataParallel: DDP reduces gradients from hooks that fire when autograd accumulates
into `p.grad` during `loss.backward()`, once per forward. TBPTT runs several forward pieces per update
and back-propagates link by link with `torch.autograd.grad` (tbptt.py), so under DDP the hooks never fire
and each rank silently keeps its own gradient. The trainer reduces the gradients explicitly instead, one
all-reduce of a flat buffer per dtype after the stepper has finished: the same arithmetic as DDP's
averaging; what is lost is DDP's overlap of communication with backward, which recurrent networks
barely have (every recurrent weight's gradient is complete only when BPTT reaches the first step).

The reduction is exact for any split of the targets. A stepper leaves g_r = (1 / n_r) * dS_r/dθ on rank
r, with S_r the summed loss of its n_r targets; the single-process gradient of the global batch is
(1 / n) * sum_r dS_r/dθ with n = sum_r n_r, so each rank sends (n_r / n) * g_r and the all-reduce sums
them. Equal shares make this DDP's plain average; unequal ones (targets ignored at document starts,
a last batch that does not split evenly) stay exact, where an average would not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnnkit.training import errors
from rnnkit.training.bptt import UpdateResult
from rnnkit.training.errors import CheckpointError, ConfigError, DistributedError, RnnkitError
from rnnkit.training.runtime import resolve_device

RENDEZVOUS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")   # what torchrun sets
T = TypeVar("T")


@dataclass(frozen=True)
class Launch:
    """Where this process sits in a torchrun launch, read from its environment."""

    rank: int               # 0 .. world_size - 1, over all machines
    world_size: int         # processes in all
    local_rank: int         # index on this machine: picks the GPU
    master_addr: str        # host of the rendezvous store
    master_port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Launch | None:
        """None when no rendezvous variable is set; a ConfigError when only some are, or one is invalid."""
        env = os.environ if env is None else env
        present = [k for k in RENDEZVOUS if env.get(k, "") != ""]
        if not present:
            return None
        missing = [k for k in RENDEZVOUS if k not in present]
        if missing:
            raise ConfigError(f"incomplete torchrun environment: {', '.join(present)} set but {', '.join(missing)} "
                              "not; launch with `torchrun --nproc_per_node N -m rnnkit train ...`, or unset "
                              f"{', '.join(present)} to train in one process")
        try:
            rank, world, local, port = (int(env[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"))
        except ValueError:
            got = ", ".join(f"{k}={env[k]!r}" for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"))
            raise ConfigError(f"torchrun environment: RANK, WORLD_SIZE, LOCAL_RANK and MASTER_PORT must be integers, "
                              f"got {got}") from None
        if world < 1 or not 0 <= rank < world or local < 0 or not 0 < port < 65536:
            raise ConfigError(f"torchrun environment: expected 0 <= RANK < WORLD_SIZE, LOCAL_RANK >= 0 and a port "
                              f"in 1..65535, got RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}, "
                              f"MASTER_PORT={port}")
        return cls(rank, world, local, env["MASTER_ADDR"], port)


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank r's RNGs (dropout masks differ between ranks; rank 0 keeps `seed`)."""
    return seed + rank


# ---- the group ------------------------------------------------------------------------------------------
class Group:
    """This process's rank in the data-parallel group and the few collectives the trainer uses.

    Every collective turns a communication failure (a rank died, the network broke) into one
    `DistributedError` line naming this rank and what it was doing.
    """

    def __init__(self, launch: Launch, device: torch.device, backend: str) -> None:
        self.launch, self.device, self.backend = launch, device, backend
        self.rank, self.world_size = launch.rank, launch.world_size

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that logs and writes checkpoints."""
        return self.rank == 0

    def __repr__(self) -> str:
        return f"Group(rank {self.rank} of {self.world_size}, {self.backend} on {self.device})"

    @contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        try:
            yield
        except RuntimeError as e:      # gloo: "Connection closed by peer"; NCCL: watchdog/abort errors
            raise DistributedError(f"rank {self.rank} of {self.world_size} lost contact with the other ranks during "
                                   f"{what}: another process died or the network failed ({_first_line(e)})") from None

    # ---- the update -----------------------------------------------------------------------------------
    def reduce_update(self, params: list[Tensor], result: UpdateResult) -> UpdateResult:
        """Replace every `p.grad` by the global batch's gradient; return the global objective.

        See the module docstring: rank r's gradient is weighted by n_r / n, its share of the targets. A
        parameter that no rank has a gradient for keeps `grad = None` (as in one process); the state is
        finite only if it is on every rank.
        """
        stats = torch.tensor([result.loss * result.count, result.count, float(not result.state_finite),
                              *(float(p.grad is not None) for p in params)], dtype=torch.float64, device=self.device)
        with self._talking("the loss all-reduce"):
            dist.all_reduce(stats)
        stats = stats.tolist()
        total, has_grad = stats[1], [h > 0 for h in stats[3:]]
        weight = result.count / total if total else 0.0
        live = [p for p, h in zip(params, has_grad, strict=True) if h]
        for p, h in zip(params, has_grad, strict=True):
            if not h:
                p.grad = None
        for group in _by_dtype(live):
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in group])
            flat.mul_(weight)
            with self._talking("the gradient all-reduce"):
                dist.all_reduce(flat)
            offset = 0
            for p in group:
                p.grad = flat[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
        loss = stats[0] / total if total else 0.0
        return UpdateResult(loss, round(total), stats[2] == 0)

    def agree_signal(self, received: int | None) -> int | None:
        """The signal any rank received (the largest number), so that all ranks stop at the same update."""
        flag = torch.tensor([received or 0], dtype=torch.int64, device=self.device)
        with self._talking("the stop check"):
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    # ---- objects ---------------------------------------------------------------------------------------
    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank (once, before training)."""
        with self._talking("the initial weight broadcast"), torch.no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t.data, src=0)

    def broadcast(self, obj: T) -> T:
        """Rank 0's `obj` on every rank (any picklable value)."""
        box = [obj if self.is_main else None]
        with self._talking("a broadcast from rank 0"):
            dist.broadcast_object_list(box, src=0, device=self._object_device)
        return box[0]

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's `obj`, in rank order, on rank 0 (None elsewhere). Tensors should be on the CPU."""
        out = [None] * self.world_size if self.is_main else None
        with self._talking("gathering the ranks' state on rank 0"):
            dist.gather_object(obj, out, dst=0)
        return out

    def check_same(self, value: Any, problem: Callable[[list[Any]], str], error: type[RnnkitError]) -> None:
        """Raise `error(problem(values))` on every rank unless all ranks hold an equal `value`."""
        values: list[Any] = [None] * self.world_size
        with self._talking("a consistency check"):
            dist.all_gather_object(values, value)
        if any(v != values[0] for v in values):
            raise error(problem(values))

    def run_on_main(self, fn: Callable[[], T], what: str) -> T | None:
        """Run `fn` on rank 0 only; if it fails, every rank raises (the others the same error class, one line)."""
        result, failure = None, None
        if self.is_main:
            try:
                result = fn()
            except Exception as e:
                failure = (type(e).__name__, str(e))
                self.broadcast(failure)
                raise
        failure = self.broadcast(failure)
        if failure is not None:
            kind = getattr(errors, failure[0], None)
            kind = kind if isinstance(kind, type) and issubclass(kind, RnnkitError) else DistributedError
            raise kind(f"rank 0 failed to {what}: {failure[1]}")
        return result

    @property
    def _object_device(self) -> torch.device | None:
        return self.device if self.backend == "nccl" else None


def _by_dtype(params: list[Tensor]) -> list[list[Tensor]]:
    groups: dict[tuple, list[Tensor]] = {}
    for p in params:
        groups.setdefault((p.dtype, p.device), []).append(p)
    return list(groups.values())


def _first_line(e: BaseException) -> str:
    """The gist of a backend error: its first line without gloo's source location and advice."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    text = re.sub(r"^\[[^\]]*\]\s*", "", lines[0]) if lines else type(e).__name__
    return text.split(". This is typically")[0][:300]


# ---- joining and leaving ---------------------------------------------------------------------------
_GROUP: Group | None = None


def current() -> Group | None:
    """The group `setup` joined, or None in a single-process run."""
    return _GROUP


def setup(device: str = "auto", env: Mapping[str, str] | None = None) -> Group | None:
    """Join the process group when launched by torchrun with several processes; None otherwise.

    Idempotent. `device` is the trainer's setting: `auto` or `cuda` put rank r on `cuda:LOCAL_RANK` with
    NCCL, `cpu` uses gloo. An explicit `cuda:N` is refused (every rank would share one GPU).
    """
    global _GROUP
    launch = Launch.from_env(env)
    if launch is None or launch.world_size == 1:
        return None
    if _GROUP is not None:
        if _GROUP.launch != launch:
            raise DistributedError(f"this process already joined {_GROUP}, not rank {launch.rank} of "
                                   f"{launch.world_size}")
        return _GROUP
    dev = _rank_device(device, launch)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dist.is_initialized():          # the caller joined the group itself: use it
        if (dist.get_rank(), dist.get_world_size()) != (launch.rank, launch.world_size):
            raise DistributedError(f"the process group was initialised as rank {dist.get_rank()} of "
                                   f"{dist.get_world_size()}, but the environment says rank {launch.rank} of "
                                   f"{launch.world_size}")
        backend = dist.get_backend()
    else:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        try:
            dist.init_process_group(backend, rank=launch.rank, world_size=launch.world_size,
                                    device_id=dev if dev.type == "cuda" else None)
        except (RuntimeError, ValueError, TimeoutError) as e:
            raise DistributedError(f"rank {launch.rank} of {launch.world_size} could not join the process group "
                                   f"at {launch.master_addr}:{launch.master_port} ({_first_line(e)}); check that "
                                   "every machine runs torchrun with the same --nnodes and --rdzv-endpoint") from None
    group = Group(launch, dev, backend)
    group.check_same(backend, lambda got: "the ranks disagree on the device: " + ", ".join(
        f"rank {r} uses {b}" for r, b in enumerate(got)) + "; give every machine the same --device (and GPUs, "
        "or none)", ConfigError)
    _GROUP = group
    return group


def shutdown(wait: bool = False) -> None:
    """Leave the process group (a no-op when none was joined).

    `wait=True` is the normal end of a job: every rank first meets the others at a barrier, so no rank
    tears its connections down while another still talks to it. Leave it False on an error path, where
    another rank may be stuck in a different collective (or dead) and a barrier would hang or mismatch.
    """
    global _GROUP
    group, _GROUP = _GROUP, None
    if group is None or not dist.is_initialized():
        return
    try:
        if wait:
            with group._talking("the final barrier"):
                dist.barrier()
    finally:
        dist.destroy_process_group()


def _rank_device(device: str, launch: Launch) -> torch.device:
    if device == "cpu":
        return torch.device("cpu")
    if device not in ("auto", "cuda"):
        raise ConfigError(f"--device {device} under torchrun would put every rank on one GPU; use --device cuda "
                          "(rank r takes cuda:LOCAL_RANK) or cpu")
    if device == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    resolve_device("cuda")             # a clear error when CUDA is missing
    count = torch.cuda.device_count()
    if launch.local_rank >= count:
        raise ConfigError(f"LOCAL_RANK {launch.local_rank} needs cuda:{launch.local_rank}, but this machine has "
                          f"{count} GPU(s): use --nproc_per_node {count} or fewer")
    return torch.device("cuda", launch.local_rank)


# ---- checkpoints: one file, every rank's part ------------------------------------------------------
def pack_ranks(parts: list[tuple[dict[str, Tensor], dict[str, Any]]]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Every rank's (tensors, meta) in one checkpoint: tensors as `rank{r}.NAME`, meta as `ranks[r]`."""
    tensors = {f"rank{r}.{k}": v for r, (t, _) in enumerate(parts) for k, v in t.items()}
    return tensors, {"world_size": len(parts), "ranks": [m for _, m in parts]}


def unpack_rank(tensors: dict[str, Tensor], meta: dict[str, Any], rank: int, world_size: int,
                where: Any) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """This rank's (tensors, meta) from a checkpoint; refuses one written by another number of processes."""
    saved = int(meta.get("world_size", 1))
    if saved != world_size:
        how = "in one process" if saved == 1 else f"with {saved} processes (e.g. torchrun --nproc_per_node {saved})"
        raise CheckpointError(f"{where} was written by a run of {saved} process(es) and this run has {world_size}: "
                              f"resume it {how}, since each rank carries its own streams' state and RNGs")
    if world_size == 1:
        return tensors, meta
    prefix = f"rank{rank}."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, meta["ranks"][rank]


def on_main(fn: Callable[[], T], what: str) -> T | None:
    """Run `fn` once: in this process when it trains alone, else on rank 0 (a failure stops every rank)."""
    return fn() if _GROUP is None else _GROUP.run_on_main(fn, what)
