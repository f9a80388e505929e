"""Convert a Hugging Face safetensors checkpoint into a GGUF file, streaming.

Nothing is loaded whole: the plan (names, shapes, types) comes from the shard headers, the GGUF
header and tensor table are written from the plan, and then each tensor is copied block by block
from memory-mapped shards into the output. Peak memory is one block (``chunk_bytes``) plus the
tokenizer, whatever the model size. The output appears under its final name only when complete;
a set ``cancel`` event stops the conversion after the current block (RunCancelled), and the
temporary file is removed.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import gguf
import numpy as np

from .architectures import (
    F32_TENSORS,
    IGNORED_SUFFIXES,
    HParams,
    add_hparams,
    encoder_pooling,
    expected_tensors,
    gguf_name,
    gguf_name_map,
    hparams_from_config,
    llama3_rope_factors,
    load_config,
    qk_row_order,
    rope_scaling_type,
)
from .atomic import atomic_path
from .checkpoint import (
    RAW_DTYPES,
    SINGLE_NAME,
    Checkpoint,
    TensorRef,
    copy_rows,
    gather_rows,
    read_header,
    read_rows,
)
from .errors import InsufficientDiskError, ModelRepoError
from .run_control import RunCancelled
from .sizes import format_bytes
from .vocab import build_vocab

OUT_TYPES = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
}
# How each output type is held in numpy (bf16 as its raw 16 bits).
STORAGE_DTYPES = {
    gguf.GGMLQuantizationType.F32: np.float32,
    gguf.GGMLQuantizationType.F16: np.float16,
    gguf.GGMLQuantizationType.BF16: np.uint16,
}
DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
# Where the Hugging Face folder was, relative to the GGUF's own folder (absolute only when no
# relative path exists, e.g. another drive on Windows): lets validate find tokenizer.json.
SOURCE_DIR_KEY = "qwq_quantize.source_dir"
ProgressFn = Callable[[int, int, str], None]  # (bytes done, bytes total, tensor name)


@dataclass
class TensorPlan:
    """One GGUF tensor: where its data comes from and how it is stored."""

    name: str
    shape: tuple[int, ...]
    qtype: gguf.GGMLQuantizationType
    source: TensorRef | None  # None for tensors computed from the config (rope_freqs)
    row_order: np.ndarray | None = None
    constant: np.ndarray | None = None

    @property
    def row_bytes(self) -> int:
        row_elems = math.prod(self.shape[1:]) if len(self.shape) > 1 else math.prod(self.shape)
        return row_elems * np.dtype(STORAGE_DTYPES[self.qtype]).itemsize

    @property
    def nbytes(self) -> int:
        return self.row_bytes * (self.shape[0] if len(self.shape) > 1 else 1)


@dataclass
class ConvertResult:
    path: Path
    architecture: str
    outtype: str
    n_tensors: int
    bytes_read: int
    bytes_written: int
    seconds: float


def plan_conversion(ckpt: Checkpoint, hp: HParams, outtype: str) -> list[TensorPlan]:
    """Map every checkpoint tensor to its GGUF tensor and check the set against config.json."""
    if outtype not in OUT_TYPES:
        raise ValueError(f"outtype must be one of {', '.join(OUT_TYPES)}")
    qtype = OUT_TYPES[outtype][0]
    name_map = gguf_name_map(hp)
    expected = expected_tensors(hp)
    plans: dict[str, TensorPlan] = {}
    for hf_name, ref in ckpt.tensors.items():
        if hf_name.endswith(IGNORED_SUFFIXES):
            continue
        name = gguf_name(name_map, hf_name)
        if name == "output.weight" and hp.tie_embeddings:
            continue  # tied: llama.cpp reuses token_embd
        if name is None or name not in expected:
            raise ModelRepoError(
                f"checkpoint tensor {hf_name} has no place in a {hp.hf_arch} GGUF",
                "The checkpoint does not match config.json's architecture.",
            )
        if ref.shape != expected[name]:
            raise ModelRepoError(
                f"{hf_name} has shape {list(ref.shape)} but config.json implies "
                f"{list(expected[name])}",
                "config.json and the weights come from different models.",
            )
        # llama.cpp wants 1-D tensors (norms, biases) and look-up tables in F32.
        as_f32 = len(ref.shape) == 1 or name in F32_TENSORS
        plans[name] = TensorPlan(
            name=name,
            shape=ref.shape,
            qtype=gguf.GGMLQuantizationType.F32 if as_f32 else qtype,
            source=ref,
            row_order=qk_row_order(hp, name),  # for a 1-D bias: its elements
        )
    if rope_scaling_type(hp) == "llama3":
        factors = llama3_rope_factors(hp)
        plans["rope_freqs.weight"] = TensorPlan(
            "rope_freqs.weight",
            factors.shape,
            gguf.GGMLQuantizationType.F32,
            None,
            constant=factors,
        )
    missing = sorted(set(expected) - set(plans))
    if missing:
        raise ModelRepoError(
            f"the checkpoint lacks {len(missing)} tensor(s) config.json implies: "
            f"{', '.join(missing[:5])}",
            "Download the model again; a shard may be missing from the index.",
        )
    return sorted(
        plans.values(),
        key=lambda p: (str(p.source.path), p.source.offset) if p.source else ("", 0),
    )


class _StreamedTensor:
    """Duck-types the part of a numpy array GGUFWriter.write_tensor_data uses (nbytes, tofile)
    and writes the tensor block by block instead of from memory."""

    def __init__(self, plan: TensorPlan, chunk_bytes: int, on_block: Callable[[int, str], None]):
        self.plan = plan
        self.nbytes = plan.nbytes
        self.chunk_bytes = chunk_bytes
        self.on_block = on_block

    def tofile(self, fout: BinaryIO) -> None:
        plan = self.plan
        if plan.constant is not None:
            fout.write(plan.constant.astype(np.float32).tobytes())
            return
        ref = plan.source
        assert ref is not None
        if len(plan.shape) == 1:  # 1-D: one block, elements possibly permuted
            data = read_rows(ref, 0, 1).reshape(-1)
            if plan.row_order is not None:
                data = data[plan.row_order]
            fout.write(np.ascontiguousarray(data, np.float32).tobytes())
            self.on_block(ref.nbytes, plan.name)
            return
        rows = ref.n_rows
        step = max(1, self.chunk_bytes // max(plan.row_bytes, ref.nbytes // rows))
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            self._write_block(ref, start, stop, fout)
            self.on_block((stop - start) * (ref.nbytes // rows), plan.name)

    def _write_block(self, ref: TensorRef, start: int, stop: int, fout: BinaryIO) -> None:
        qtype = self.plan.qtype
        order = self.plan.row_order
        if order is None and qtype == gguf.GGMLQuantizationType.BF16 and ref.dtype == "BF16":
            copy_rows(ref, start, stop, fout)  # same bits: straight from the mapping
            return
        data = read_rows(ref, start, stop) if order is None else gather_rows(ref, order[start:stop])
        if qtype == gguf.GGMLQuantizationType.F16:
            data = data.astype(np.float16)
        elif qtype == gguf.GGMLQuantizationType.BF16:
            data = float32_to_bf16_bits(data)
        fout.write(memoryview(np.ascontiguousarray(data)).cast("B"))


def float32_to_bf16_bits(data: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (nearest, ties to even), returned as raw uint16 bits."""
    bits = data.view(np.uint32)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded = np.where(np.isnan(data), (bits >> 16) | 0x40, rounded)  # keep NaN a NaN
    return rounded.astype(np.uint16)


def check_disk_space(folder: Path, needed: int) -> None:
    """Raise InsufficientDiskError unless ``folder`` has ``needed`` bytes free (plus 1%)."""
    free = shutil.disk_usage(folder).free
    if free < needed * 1.01:
        raise InsufficientDiskError(
            f"{folder} has {format_bytes(free)} free but the output needs {format_bytes(needed)}",
            "Free some space or write the output to another disk with -o.",
        )


def convert(
    model_dir: str | os.PathLike[str],
    output: str | os.PathLike[str],
    outtype: str = "bf16",
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> ConvertResult:
    """Convert the Hugging Face model in ``model_dir`` into the GGUF file ``output``; a set
    ``cancel`` stops it at the next block boundary with RunCancelled."""
    started = time.perf_counter()
    model_dir, output = Path(model_dir), Path(output)
    hp = hparams_from_config(load_config(model_dir))
    ckpt = open_checkpoint(model_dir)
    vocab = build_vocab(model_dir, hp.vocab_size)
    plans = plan_conversion(ckpt, hp, outtype)
    total_out = sum(p.nbytes for p in plans)
    output.parent.mkdir(parents=True, exist_ok=True)
    check_disk_space(output.parent, total_out)

    total_in = sum(p.source.nbytes for p in plans if p.source)
    done = 0

    def on_block(n: int, name: str) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total_in, name)
        if cancel is not None and cancel.is_set():
            raise RunCancelled("convert")

    with (
        atomic_path(output) as tmp,
        contextlib.closing(gguf.GGUFWriter(tmp, hp.spec.name)) as writer,
    ):
        _add_metadata(writer, model_dir, hp, outtype, plans)
        writer.add_string(SOURCE_DIR_KEY, source_dir_record(model_dir, output))
        vocab.add_to(writer)
        for p in plans:
            raw_dtype = p.qtype if p.qtype == gguf.GGMLQuantizationType.BF16 else None
            storage = np.dtype(STORAGE_DTYPES[p.qtype])
            writer.add_tensor_info(p.name, p.shape, storage, p.nbytes, raw_dtype=raw_dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for p in plans:
            writer.write_tensor_data(_StreamedTensor(p, chunk_bytes, on_block))  # type: ignore[arg-type]
    return ConvertResult(
        path=output,
        architecture=hp.spec.name,
        outtype=outtype,
        n_tensors=len(plans),
        bytes_read=total_in,
        bytes_written=output.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def open_checkpoint(model_dir: Path) -> Checkpoint:
    """The checkpoint of ``model_dir``. A single-file BERT checkpoint also stores its integer
    ``position_ids`` buffer, which the reader refuses (it takes floats only) and the conversion
    ignores: such a file is read without those buffers, all other checks kept."""
    single = model_dir / SINGLE_NAME
    if not single.is_file():
        return Checkpoint(model_dir)
    header, _ = read_header(single)
    buffers = {
        name
        for name, entry in header.items()
        if entry.get("dtype") not in RAW_DTYPES and name.endswith(IGNORED_SUFFIXES)
    }
    if not buffers:
        return Checkpoint(model_dir)
    return _CheckpointWithoutBuffers(model_dir, buffers)


class _CheckpointWithoutBuffers(Checkpoint):
    """A single-file checkpoint read without the named non-float buffers."""

    def __init__(self, folder: Path, buffers: set[str]) -> None:
        self.folder = folder
        path = folder / SINGLE_NAME
        header, data_start = read_header(path)
        size = path.stat().st_size
        self.tensors = {}
        for name, entry in header.items():
            if name in buffers:
                continue
            dtype, shape = entry.get("dtype"), tuple(entry.get("shape", ()))
            begin, end = entry.get("data_offsets", (0, 0))
            nbytes = math.prod(shape) * RAW_DTYPES[dtype].itemsize if dtype in RAW_DTYPES else -1
            if nbytes != end - begin or data_start + end > size:
                raise ModelRepoError(
                    f"tensor {name} in {path.name} has dtype {dtype} or spans bytes its shape "
                    "does not explain, or the file is truncated",
                    "Download the model again; only BF16, F16 and F32 weights are supported.",
                )
            self.tensors[name] = TensorRef(name, dtype, shape, path, data_start + begin, nbytes)


def source_dir_record(model_dir: Path, output: Path) -> str:
    """``model_dir`` as recorded in the GGUF written to ``output`` (see SOURCE_DIR_KEY)."""
    source, folder = model_dir.resolve(), output.parent.resolve()
    try:
        return Path(os.path.relpath(source, folder)).as_posix()
    except ValueError:  # no relative path between them
        return source.as_posix()


def _add_metadata(
    writer: gguf.GGUFWriter, model_dir: Path, hp: HParams, outtype: str, plans: list[TensorPlan]
) -> None:
    total_params = sum(math.prod(p.shape) for p in plans)
    meta = gguf.Metadata.load(None, model_dir, None, total_params)
    meta.name = meta.name or model_dir.name
    if meta.size_label is None:
        meta.size_label = gguf.size_label(total_params, total_params, 0, 0)
    meta.set_gguf_meta_model(writer)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_file_type(OUT_TYPES[outtype][1])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_hparams(writer, hp)
    if hp.spec.encoder:
        writer.add_pooling_type(encoder_pooling(model_dir))
