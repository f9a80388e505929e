"""Read-only access to a GGUF file's metadata and tensors (via gguf.GGUFReader, memory-mapped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np

from ..errors import GGUFInputError
from .thresholds import file_type_name


class GGUFFile:
    """Metadata values by key and tensors by name; tensor data stays on disk until indexed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise GGUFInputError(f"{self.path} does not exist")
        try:
            self.reader = gguf.GGUFReader(self.path)
        except Exception as exc:
            raise GGUFInputError(f"{self.path} is not a readable GGUF file: {exc}") from exc
        self.tensors = {t.name: t for t in self.reader.tensors}

    def value(self, key: str, default: Any = None) -> Any:
        field = self.reader.fields.get(key)
        return default if field is None else field.contents()

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
        return tuple(int(d) for d in reversed(self.tensors[name].shape.tolist()))

    def rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Selected rows of a tensor dequantised to float32, shape (len(rows), row length)."""
        tensor = self.tensors[name]
        data = tensor.data
        if data.ndim == 1:  # a 1-D tensor is a single row
            data = data.reshape(1, -1)
        else:
            data = data.reshape(data.shape[0] if data.ndim == 2 else -1, data.shape[-1])
        picked = np.ascontiguousarray(data[rows])
        qtype = tensor.tensor_type
        if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            return picked.astype(np.float32)
        return gguf.quants.dequantize(picked, qtype).astype(np.float32)
