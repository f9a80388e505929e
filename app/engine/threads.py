"""Choose llama.cpp thread counts that do not starve the GUI thread.

llama.cpp's worker threads spin-wait on each other at every layer. When one of them shares a core
with a busy GUI thread, every layer waits for the slowest thread: on a 2-core machine, 2
threads next to a busy Qt thread decoded more than 10x slower than 1 thread. So leave the GUI
a core.
"""

from __future__ import annotations

from dataclasses import dataclass

# Decoding is memory-bound: past ~8 threads, more rarely helps and costs the rest of the desktop.
MAX_DECODE_THREADS = 8
SMALL_MACHINE_CORES = 4


@dataclass(frozen=True)
class ThreadPlan:
    n_threads: int  # decoding one token at a time
    n_threads_batch: int  # prompt processing (compute-bound, short bursts)


def choose_threads(physical_cores: int, *, for_gui: bool = True) -> ThreadPlan:
    """Threads for decode and prompt processing on ``physical_cores`` cores.

    With a GUI, one core is left free for the GUI thread (1 thread on 1-2 cores). Without a GUI
    (terminal chat) all physical cores are used on machines with more than four.
    """
    cores = max(1, physical_cores)
    # Without a GUI, small machines still keep a core spare: anything else that wakes up (a
    # browser tab, the terminal) would otherwise stall every layer for all threads.
    spare = 1 if for_gui or cores <= SMALL_MACHINE_CORES else 0
    decode = max(1, min(MAX_DECODE_THREADS, cores - spare))
    batch = max(1, cores - spare)
    return ThreadPlan(n_threads=decode, n_threads_batch=batch)
