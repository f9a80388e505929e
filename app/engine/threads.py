"""Choose llama.cpp thread counts: the GUI keeps a core for itself, the terminal chat uses all.

llama.cpp's worker threads wait for each other at every layer, so one that loses its core to
another busy thread stalls them all. Measured in the real app on 2 cores (docs/performance.md,
"threads"; benchmarks/bench_threads.py), with the window streaming the reply, 1 thread decoded
faster than 2 in every round, and kept the GUI's event loop more punctual. Without a GUI
(terminal chat, the local server) nothing of ours competes for the cores, so all of them decode:
on an otherwise idle 2-core machine 2 threads decoded the Gemma GGUF at 31-33 tokens/s against
17-19 with 1 (issue 11). On a machine already busy with other work 2 threads collapse (4 against
18 tokens/s in the same table, measured on a shared machine): ``--threads`` sets fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

# Decoding is memory-bound: past ~8 threads, more rarely helps and costs the rest of the desktop.
MAX_DECODE_THREADS = 8


@dataclass(frozen=True)
class ThreadPlan:
    n_threads: int  # decoding one token at a time
    n_threads_batch: int  # prompt processing (compute-bound, short bursts)


def choose_threads(physical_cores: int, *, for_gui: bool = True) -> ThreadPlan:
    """Threads for decode and prompt processing on ``physical_cores`` cores: with a GUI one
    core fewer (at least one), without one every core (decode at most ``MAX_DECODE_THREADS``)."""
    cores = max(1, physical_cores)
    usable = max(1, cores - 1) if for_gui else cores
    return ThreadPlan(n_threads=min(MAX_DECODE_THREADS, usable), n_threads_batch=usable)
