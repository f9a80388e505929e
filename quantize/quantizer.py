"""Quantise a GGUF through llama.cpp's own quantizer (llama_model_quantize).

Using llama.cpp's code means the Q4_K_M recipe (which tensors get Q6_K, which Q4_K) is exactly the
one the official GGUFs use. The output is written beside the target and renamed into place only
when llama.cpp reports success.

llama.cpp offers no way to abort a quantisation. With a ``cancel`` event the call runs on a helper
thread; once the event is set, that thread is parked for good at the next tensor boundary (in
llama.cpp's per-tensor log line) and the temporary file is removed (on Windows, where an open
file cannot be deleted, the next run's start removes it). The process is expected to exit soon
after a cancelled quantisation: the parked thread holds llama.cpp's output file until then.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gguf

from .atomic import atomic_path
from .convert import check_disk_space
from .errors import GGUFInputError, QuantizationError
from .gguf_reader import GGUFHeader
from .imatrix import ImportanceMatrix, load_imatrix
from .llama_log import captured_llama_log, error_lines
from .llama_runtime import load_llama_backends
from .run_control import RunCancelled

# Supported target types: llama_ftype value and approximate bits per weight of a dense model.
QUANT_TYPES = {
    "Q4_K_M": (15, 4.85),
    "Q5_K_M": (17, 5.69),
    "Q6_K": (18, 6.56),
    "Q8_0": (7, 8.50),
}
DEFAULT_TYPE = "Q4_K_M"
ProgressFn = Callable[[int, int, str], None]  # (tensor index, tensor count, tensor name)
_PROGRESS_RE = re.compile(r"\[\s*(\d+)/\s*(\d+)\]\s+(\S+)")


@dataclass
class QuantizeResult:
    path: Path
    qtype: str
    input_bytes: int
    output_bytes: int
    seconds: float
    imatrix_entries: int = 0


def estimate_quantized_bytes(n_params: int, qtype: str) -> int:
    """Rough size of a dense model quantised to ``qtype``."""
    return int(n_params * QUANT_TYPES[qtype][1] / 8)


UNQUANTISED_FILE_TYPES = {
    gguf.LlamaFileType.ALL_F32,
    gguf.LlamaFileType.MOSTLY_F16,
    gguf.LlamaFileType.MOSTLY_BF16,
}


def inspect_source(path: Path) -> int:
    """Parameter count of an unquantised GGUF; GGUFInputError for anything else."""
    header = GGUFHeader(path)  # GGUFInputError if unreadable
    file_type = header.value("general.file_type")
    if file_type not in UNQUANTISED_FILE_TYPES:
        name = gguf.LlamaFileType(file_type).name if file_type is not None else "unknown"
        raise GGUFInputError(
            f"{path.name} is already quantised (file type {name})",
            "Quantise from the unquantised bf16/f16/f32 GGUF that convert produced; "
            "re-quantising loses quality.",
        )
    return sum(t.n_elements for t in header.tensors.values())


def quantize(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    qtype: str = DEFAULT_TYPE,
    *,
    threads: int | None = None,
    imatrix: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> QuantizeResult:
    """Quantise the GGUF ``source`` to ``qtype`` and write it atomically to ``output``; a set
    ``cancel`` stops it at the next tensor boundary with RunCancelled."""
    import llama_cpp

    load_llama_backends()
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if qtype not in QUANT_TYPES:
        raise QuantizationError(f"unknown type {qtype}", f"Choose one of {', '.join(QUANT_TYPES)}.")
    if not source.is_file():
        raise GGUFInputError(
            f"{source} does not exist", "Convert the model first (qwq-quantize convert)."
        )
    if source.resolve() == output.resolve():
        raise QuantizationError("input and output are the same file", "Give another -o path.")
    n_params = inspect_source(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    check_disk_space(output.parent, estimate_quantized_bytes(n_params, qtype))
    matrix = load_imatrix(imatrix) if imatrix else None

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[qtype][0]
    params.nthread = threads or 0
    parked = threading.Event()
    with (
        _imatrix_attached(params, matrix),
        atomic_path(output) as tmp,
        captured_llama_log(_progress_parser(progress, cancel, parked)) as log,
    ):

        def run() -> int:
            return llama_cpp.llama_model_quantize(
                str(source).encode(), str(tmp).encode(), ctypes.byref(params)
            )

        status = run() if cancel is None else _cancellable(run, cancel, parked)
        if status != 0:
            raise QuantizationError(
                f"llama.cpp could not quantise {source.name}: "
                + (error_lines(log) or f"status {status}"),
                "Quantise from the unquantised (bf16/f16/f32) GGUF that convert produced.",
            )
    return QuantizeResult(
        path=output,
        qtype=qtype,
        input_bytes=source.stat().st_size,
        output_bytes=output.stat().st_size,
        seconds=time.perf_counter() - started,
        imatrix_entries=len(matrix.entries) if matrix else 0,
    )


@contextlib.contextmanager
def _imatrix_attached(params, matrix: ImportanceMatrix | None) -> Iterator[None]:
    """Point ``params`` at C views of the importance matrix, kept alive for the block."""
    import llama_cpp

    if matrix is None:
        yield
        return
    if not hasattr(llama_cpp, "llama_model_imatrix_data"):
        raise QuantizationError(
            "this llama-cpp-python cannot pass an importance matrix to llama.cpp",
            "Upgrade llama-cpp-python (0.3.36 or later), or quantise without --imatrix.",
        )

    names = list(matrix.entries)
    arrays = [matrix.entries[n] for n in names]
    table = (llama_cpp.llama_model_imatrix_data * (len(names) + 1))()
    encoded = [n.encode() for n in names]
    for slot, name, values in zip(table, encoded, arrays, strict=False):
        slot.name = name
        slot.data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        slot.size = values.size
    params.imatrix = ctypes.cast(table, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))

    overrides = (llama_cpp.llama_model_kv_override * 4)()
    _set_override(overrides[0], "quantize.imatrix.file", str(matrix.path.name))
    _set_override(overrides[1], "quantize.imatrix.entries_count", len(names))
    _set_override(overrides[2], "quantize.imatrix.chunks_count", matrix.chunk_count)
    params.kv_overrides = ctypes.cast(overrides, ctypes.POINTER(llama_cpp.llama_model_kv_override))
    try:
        yield  # table, encoded, arrays and overrides stay referenced until the block ends
    finally:
        params.imatrix = None
        params.kv_overrides = None


def _set_override(slot, key: str, value: int | str) -> None:
    import llama_cpp

    slot.key = key.encode()
    if isinstance(value, str):
        slot.tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR
        slot.value.val_str = value.encode()[:127]
    else:
        slot.tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_INT
        slot.value.val_i64 = value


def _cancellable(run: Callable[[], int], cancel: threading.Event, parked: threading.Event) -> int:
    """``run()`` on a helper thread; RunCancelled once it is parked after a cancel request."""
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(run()), name="quantize", daemon=True)
    worker.start()
    while worker.is_alive():
        if parked.wait(0.1):
            raise RunCancelled("quantize")
    if not outcome:
        raise QuantizationError("llama.cpp's quantisation ended without a status", "")
    return outcome[0]


def _progress_parser(
    progress: ProgressFn | None, cancel: threading.Event | None, parked: threading.Event
):
    """Turn llama.cpp's per-tensor "[ 12/ 339] blk.0.attn_q.weight" lines into progress calls;
    park the quantising thread at such a line (a tensor boundary) once ``cancel`` is set."""
    if progress is None and cancel is None:
        return None

    def on_line(line: str) -> None:
        match = _PROGRESS_RE.match(line)
        if not match:
            return
        if cancel is not None and cancel.is_set():
            parked.set()
            threading.Event().wait()  # never returns: llama.cpp cannot be aborted
        if progress is not None:
            progress(int(match.group(1)), int(match.group(2)), match.group(3))

    return on_line
