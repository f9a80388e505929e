"""Damaged copies of a valid GGUF, for the fuzz tests (tests/fuzz_gguf.py).

``HeaderMap`` finds where each field of a GGUF header lies (written here on its own, so the
fuzzer does not share a blind spot with the reader it tests); ``mutate`` applies one seeded
mutation of a kind: truncations, flipped bits, huge lengths and counts, bad tensor offsets,
shapes and types, changed value types and hyper-parameters, damaged vocabulary strings, and
damaged or hostile chat templates (the same byte length, so the rest of the file stays valid).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

STRING, ARRAY = 8, 9
_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
HUGE = (2**64 - 1, 2**63, 2**63 - 1, 2**32 + 1, 2**32 - 1, 2**31, 10**12)
HOSTILE_TEMPLATES = (
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ raise_exception.__globals__['os'].system('touch /tmp/pwned') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}xx{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{{ 'x' * 10000000000 }}",
    "{{ 10 ** 100000000 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x'|center(1000000000) }}",
    "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
    "{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}",
    "{{ raise_exception('hostile template refuses') }}",
    "{% if %}",
    "{{ messages[0]['content'] + 1 }}",
    "{{ 1 / 0 }}",
    "{{ (((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))) }}",
    "{% for x in messages %}{{ x.content|wordwrap(999999999) }}{% endfor %}",
)


@dataclass
class KV:
    key: str
    key_off: int  # the key's length field
    type_off: int
    vtype: int
    value_off: int  # the value (a string's length field, an array's item type)
    end: int
    items: list[tuple[int, int]] = field(default_factory=list)  # string arrays: (length field, n)


@dataclass
class Tensor:
    name: str
    name_off: int
    ndims_off: int
    dim_offs: list[int]
    type_off: int
    offset_off: int


@dataclass
class HeaderMap:
    kvs: list[KV]
    tensors: list[Tensor]
    header_end: int  # end of the tensor table

    def kv(self, key: str) -> KV | None:
        return next((kv for kv in self.kvs if kv.key == key), None)


def header_map(data: bytes) -> HeaderMap:
    """Where each field of a valid little-endian GGUF header lies."""
    u32 = lambda pos: struct.unpack_from("<I", data, pos)[0]  # noqa: E731
    u64 = lambda pos: struct.unpack_from("<Q", data, pos)[0]  # noqa: E731
    n_tensors, n_kv = u64(8), u64(16)
    pos, kvs = 24, []
    for _ in range(n_kv):
        key_off = pos
        klen = u64(pos)
        key = data[pos + 8 : pos + 8 + klen].decode()
        pos += 8 + klen
        vtype = u32(pos)
        kv = KV(key, key_off, pos, vtype, pos + 4, 0)
        pos += 4
        if vtype == STRING:
            pos += 8 + u64(pos)
        elif vtype == ARRAY:
            itype, count = u32(pos), u64(pos + 4)
            pos += 12
            for _ in range(count):
                if itype == STRING:
                    kv.items.append((pos, u64(pos)))
                    pos += 8 + u64(pos)
                else:
                    pos += _SIZES[itype]
        else:
            pos += _SIZES[vtype]
        kv.end = pos
        kvs.append(kv)
    tensors = []
    for _ in range(n_tensors):
        name_off, nlen = pos, u64(pos)
        name = data[pos + 8 : pos + 8 + nlen].decode()
        pos += 8 + nlen
        ndims_off, ndims = pos, u32(pos)
        pos += 4
        dim_offs = [pos + 8 * i for i in range(ndims)]
        pos += 8 * ndims
        tensors.append(Tensor(name, name_off, ndims_off, dim_offs, pos, pos + 4))
        pos += 12
    return HeaderMap(kvs, tensors, pos)


KINDS = (
    "truncate",
    "flip",
    "huge-length",
    "huge-count",
    "tensor-offset",
    "tensor-shape",
    "tensor-type",
    "value-type",
    "hparam",
    "vocab-string",
    "vocab-duplicate",
    "special-id",
    "template-damage",
    "template-hostile",
)


def mutate(base: bytes, hmap: HeaderMap, rng: random.Random, kind: str) -> tuple[bytes, str]:
    """One mutation of ``kind`` applied to ``base``: (new bytes, what was done)."""
    data = bytearray(base)
    detail = _MUTATORS[kind](data, hmap, rng, len(base))
    return bytes(data), detail


def _put64(data: bytearray, pos: int, value: int) -> None:
    struct.pack_into("<Q", data, pos, value % 2**64)


def _put32(data: bytearray, pos: int, value: int) -> None:
    struct.pack_into("<I", data, pos, value % 2**32)


def _truncate(data, hmap, rng, size):
    cut = rng.randrange(hmap.header_end + 64) if rng.random() < 0.6 else rng.randrange(size)
    del data[cut:]
    return f"cut at byte {cut} of {size}"


def _flip(data, hmap, rng, size):
    done = []
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(hmap.header_end) if rng.random() < 0.7 else rng.randrange(size)
        bit = rng.randrange(8)
        data[pos] ^= 1 << bit
        done.append(f"{pos}.{bit}")
    return "flipped bits " + ", ".join(done)


def _length_fields(hmap: HeaderMap) -> list[tuple[int, str]]:
    fields = [(kv.key_off, f"key length of {kv.key}") for kv in hmap.kvs]
    fields += [(kv.value_off, f"string length of {kv.key}") for kv in hmap.kvs if kv.vtype == 8]
    fields += [(t.name_off, f"name length of {t.name}") for t in hmap.tensors]
    for kv in hmap.kvs:
        if kv.items:
            i = len(kv.items) // 2
            fields.append((kv.items[i][0], f"length of item {i} of {kv.key}"))
            fields.append((kv.items[-1][0], f"length of the last item of {kv.key}"))
    return fields


def _huge_length(data, hmap, rng, size):
    pos, what = rng.choice(_length_fields(hmap))
    old = struct.unpack_from("<Q", data, pos)[0]
    value = rng.choice((*HUGE, size, size * 2, old + 1, max(old - 1, 0), 0))
    _put64(data, pos, value)
    return f"{what}: {old} -> {value}"


def _huge_count(data, hmap, rng, size):
    choices = [(8, "tensor count", 8), (16, "key count", 8)]
    choices += [
        (kv.value_off + 4, f"item count of {kv.key}", 8) for kv in hmap.kvs if kv.vtype == 9
    ]
    choices += [(t.ndims_off, f"dimension count of {t.name}", 4) for t in hmap.tensors]
    pos, what, width = rng.choice(choices)
    fmt = "<Q" if width == 8 else "<I"
    old = struct.unpack_from(fmt, data, pos)[0]
    value = rng.choice((*HUGE, old + 1, max(old - 1, 0), 0, 5, 1000))
    (_put64 if width == 8 else _put32)(data, pos, value)
    return f"{what}: {old} -> {value % 2 ** (8 * width)}"


def _tensor_offset(data, hmap, rng, size):
    t = rng.choice(hmap.tensors)
    old = struct.unpack_from("<Q", data, t.offset_off)[0]
    value = rng.choice((*HUGE, old + 1, old + 32, old - 32, size, rng.randrange(size), 0))
    _put64(data, t.offset_off, value)
    return f"offset of {t.name}: {old} -> {value % 2**64}"


def _tensor_shape(data, hmap, rng, size):
    t = rng.choice([t for t in hmap.tensors if t.dim_offs])
    pos = rng.choice(t.dim_offs)
    old = struct.unpack_from("<Q", data, pos)[0]
    value = rng.choice((*HUGE, 0, old + 1, old * 2, old // 2, 1))
    _put64(data, pos, value)
    return f"a dimension of {t.name}: {old} -> {value % 2**64}"


def _tensor_type(data, hmap, rng, size):
    t = rng.choice(hmap.tensors)
    value = rng.choice((4, 5, 31, 36, 42, 43, 99, 2**31, 2**32 - 1, *range(0, 42)))
    _put32(data, t.type_off, value)
    return f"type of {t.name} -> {value}"


def _value_type(data, hmap, rng, size):
    kv = rng.choice(hmap.kvs)
    value = rng.choice((*range(0, 13), 13, 99, 2**31))
    _put32(data, kv.type_off, value)
    return f"value type of {kv.key}: {kv.vtype} -> {value}"


def _scalar_kvs(hmap: HeaderMap) -> list[KV]:
    return [kv for kv in hmap.kvs if kv.vtype in (4, 5, 10, 11)]


def _hparam(data, hmap, rng, size):
    kv = rng.choice(_scalar_kvs(hmap))
    value = rng.choice((0, 1, 3, 7, 513, 1025, 2**31, 2**32 - 1, rng.randrange(2**32)))
    width = 8 if kv.vtype in (10, 11) else 4
    (_put64 if width == 8 else _put32)(data, kv.value_off, value)
    return f"{kv.key} -> {value}"


def _special_id(data, hmap, rng, size):
    specials = [kv for kv in _scalar_kvs(hmap) if kv.key.endswith("_token_id")]
    kv = rng.choice(specials)
    value = rng.choice((2**32 - 1, 2**31, 10**6, 463, 462, 0, rng.randrange(2**32)))
    _put32(data, kv.value_off, value)
    return f"{kv.key} -> {value}"


def _token_items(hmap: HeaderMap) -> list[tuple[int, int]]:
    kv = hmap.kv("tokenizer.ggml.tokens")
    return kv.items if kv else []


def _vocab_string(data, hmap, rng, size):
    items = [(pos, n) for pos, n in _token_items(hmap) if n > 0]
    i = rng.randrange(len(items))
    pos, n = items[i]
    at = pos + 8 + rng.randrange(n)
    how = rng.choice(("flip", "0x00", "0xff", "0x80", "space"))
    if how == "flip":
        data[at] ^= 1 << rng.randrange(8)
    else:
        data[at] = {"0x00": 0, "0xff": 0xFF, "0x80": 0x80, "space": 0x20}[how]
    return f"token {i}: byte {at - pos - 8} {how}"


def _vocab_duplicate(data, hmap, rng, size):
    items = _token_items(hmap)
    by_len: dict[int, list[int]] = {}
    for i, (_pos, n) in enumerate(items):
        by_len.setdefault(n, []).append(i)
    groups = [ids for n, ids in by_len.items() if len(ids) > 1 and n > 0]
    a, b = rng.sample(rng.choice(groups), 2)
    (pa, n), (pb, _) = items[a], items[b]
    data[pb + 8 : pb + 8 + n] = data[pa + 8 : pa + 8 + n]
    return f"token {b} made equal to token {a}"


def _template_region(hmap: HeaderMap, data: bytearray) -> tuple[int, int] | None:
    kv = hmap.kv("tokenizer.chat_template")
    if kv is None:
        return None
    n = struct.unpack_from("<Q", data, kv.value_off)[0]
    return kv.value_off + 8, n


def _template_damage(data, hmap, rng, size):
    region = _template_region(hmap, data)
    if region is None:
        return _flip(data, hmap, rng, size)
    start, n = region
    done = []
    for _ in range(rng.randint(1, 3)):
        at = start + rng.randrange(n)
        if rng.random() < 0.5:
            data[at] ^= 1 << rng.randrange(8)
        else:
            data[at] = ord(rng.choice("{}%#()[]'\"|.~_ \\\n"))
        done.append(str(at - start))
    return "template bytes changed at " + ", ".join(done)


def _template_hostile(data, hmap, rng, size):
    region = _template_region(hmap, data)
    if region is None:
        return _flip(data, hmap, rng, size)
    start, n = region
    payload = rng.choice(HOSTILE_TEMPLATES).encode()[:n]
    pad = n - len(payload)
    filler = (b"{#" + b"-" * (pad - 4) + b"#}") if pad >= 4 else b" " * pad
    data[start : start + n] = payload + filler
    return f"template replaced by {payload[:60]!r}"


_MUTATORS = {
    "truncate": _truncate,
    "flip": _flip,
    "huge-length": _huge_length,
    "huge-count": _huge_count,
    "tensor-offset": _tensor_offset,
    "tensor-shape": _tensor_shape,
    "tensor-type": _tensor_type,
    "value-type": _value_type,
    "hparam": _hparam,
    "vocab-string": _vocab_string,
    "vocab-duplicate": _vocab_duplicate,
    "special-id": _special_id,
    "template-damage": _template_damage,
    "template-hostile": _template_hostile,
}
