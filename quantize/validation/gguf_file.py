"""Read-only access to a GGUF file's metadata and tensors (fast header reader, memory-mapped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np

from ..gguf_reader import GGUFHeader
from .thresholds import file_type_name


class GGUFFile:
    """Metadata values by key and tensors by name; tensor data stays on disk until indexed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.header = GGUFHeader(self.path)  # GGUFInputError if missing or unreadable
        self.tensors = self.header.tensors

    def value(self, key: str, default: Any = None) -> Any:
        return self.header.value(key, default)

    @property
    def architecture(self) -> str | None:
        return self.value("general.architecture")

    def arch_value(self, suffix: str, default: Any = None) -> Any:
        return self.value(f"{self.architecture}.{suffix}", default)

    @property
    def type_name(self) -> str:
        return file_type_name(self.value("general.file_type"))

    def shape(self, name: str) -> tuple[int, ...]:
        """Row-major (numpy-order) shape of a tensor; GGUF stores dimensions reversed."""
        return self.tensors[name].shape

    def rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Selected rows of a tensor dequantised to float32, shape (len(rows), row length)."""
        data = self.header.tensor_data(name)
        data = data.reshape(-1, data.shape[-1])  # a 1-D tensor is a single row
        picked = np.ascontiguousarray(data[rows])
        qtype = self.tensors[name].tensor_type
        if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            return picked.astype(np.float32)
        return gguf.quants.dequantize(picked, qtype).astype(np.float32)
