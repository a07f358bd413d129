"""GGUF writer and reader (versions 2 and 3, little endian), from the format
description:

  header : magic "GGUF" | uint32 version | uint64 n_tensors | uint64 n_kv
  kv     : string key | uint32 value type | value
           (string = uint64 length + UTF-8 bytes; array = uint32 element type,
            uint64 count, elements)
  infos  : string name | uint32 n_dims | uint64 ne[n_dims] | uint32 ggml type
           | uint64 offset (relative to the data section, aligned)
           ne[0] is the fastest-varying dimension (the row length).
  padding to general.alignment (default 32), then the data section; every
  tensor's offset is a multiple of the alignment.

Version 2 and 3 have the same little-endian layout (version 3 only allows a
big-endian variant, which is not written or read here).
"""
import struct
import numpy as np

import quants as Q

MAGIC = b"GGUF"
# value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
           FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}
_NP = {UINT8: "<u1", INT8: "<i1", UINT16: "<u2", INT16: "<i2", UINT32: "<u4", INT32: "<i4",
       FLOAT32: "<f4", BOOL: "<u1", UINT64: "<u8", INT64: "<i8", FLOAT64: "<f8"}


class KV:
    """A typed metadata value: KV(type, value) or KV(ARRAY, values, elem_type)."""
    __slots__ = ("type", "value", "elem")

    def __init__(self, type_, value, elem=None):
        self.type, self.value, self.elem = type_, value, elem


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(type_, v, elem=None):
    if type_ == STRING:
        return _str(v)
    if type_ == ARRAY:
        out = [struct.pack("<IQ", elem, len(v))]
        if elem == STRING:
            out.extend(_str(s) for s in v)
        elif elem == ARRAY:
            raise ValueError("nested arrays are not written")
        else:
            out.append(np.asarray(v, dtype=_NP[elem]).tobytes())
        return b"".join(out)
    return struct.pack(_SCALAR[type_], v)


class Writer:
    """Streams a GGUF file: declare every tensor (name, numpy shape, type)
    first, then write their data in the same order, one at a time."""

    def __init__(self, path, version=3, alignment=32):
        self.path, self.version, self.alignment = path, version, alignment
        self.kv = []                 # (key, KV)
        self.tensors = []            # (name, shape, type, offset, nbytes)
        self.f = None
        self.next_data = 0

    def add(self, key, type_, value, elem=None):
        self.kv.append((key, KV(type_, value, elem)))

    def add_tensor_info(self, name, shape, type_):
        nbytes = Q.tensor_bytes(type_, shape)
        off = self.next_data
        self.tensors.append((name, tuple(shape), type_, off, nbytes))
        self.next_data = _align(off + nbytes, self.alignment)

    def write_header(self):
        self.f = open(self.path, "wb")
        h = [MAGIC, struct.pack("<IQQ", self.version, len(self.tensors), len(self.kv))]
        for key, kv in self.kv:
            h.append(_str(key) + struct.pack("<I", kv.type) + _value(kv.type, kv.value, kv.elem))
        for name, shape, t, off, _ in self.tensors:
            ne = list(reversed(shape))          # ne[0] = row length
            h.append(_str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne) +
                     struct.pack("<IQ", t, off))
        head = b"".join(h)
        self.f.write(head)
        self.f.write(b"\0" * (_align(len(head), self.alignment) - len(head)))
        self._i = 0
        self._pos = 0

    def write_tensor(self, name, data):
        """data: uint8 array / bytes already in the tensor's type."""
        tname, shape, t, off, nbytes = self.tensors[self._i]
        if tname != name:
            raise ValueError("tensor %s written out of order (expected %s)" % (name, tname))
        buf = memoryview(np.ascontiguousarray(data)).cast("B")
        if len(buf) != nbytes:
            raise ValueError("tensor %s: %d bytes, expected %d" % (name, len(buf), nbytes))
        if self._pos != off:
            self.f.write(b"\0" * (off - self._pos))
        self.f.write(buf)
        self._pos = off + nbytes
        self._i += 1

    def close(self):
        if self._i != len(self.tensors):
            raise ValueError("only %d of %d tensors written" % (self._i, len(self.tensors)))
        end = _align(self._pos, self.alignment)
        if end != self._pos and self.tensors:
            self.f.write(b"\0" * (end - self._pos))
        self.f.close()


def _align(x, a):
    return (x + a - 1) // a * a


# ---------------------------------------------------------------- reader

class GGUFError(Exception):
    pass


class Reader:
    """Parses a GGUF file; tensor data is memory-mapped and dequantized on demand."""

    def __init__(self, path):
        self.path = path
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        self.pos = 0
        if bytes(self.mm[:4]) != MAGIC:
            raise GGUFError("%s: not a GGUF file (bad magic)" % path)
        self.pos = 4
        self.version = self._u32()
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported GGUF version %d" % (path, self.version))
        n_t, n_kv = self._u64(), self._u64()
        self.meta = {}
        self.meta_types = {}
        for _ in range(n_kv):
            key = self._str()
            t = self._u32()
            self.meta_types[key] = t
            self.meta[key] = self._read_value(t)
        self.tensors = {}
        self.order = []
        for _ in range(n_t):
            name = self._str()
            nd = self._u32()
            ne = [self._u64() for _ in range(nd)]
            t = self._u32()
            off = self._u64()
            shape = tuple(reversed(ne))
            self.tensors[name] = (shape, t, off)
            self.order.append(name)
        align = int(self.meta.get("general.alignment", 32))
        self.data_start = _align(self.pos, align)
        for name, (shape, t, off) in self.tensors.items():
            if t not in Q.TYPES:
                raise GGUFError("%s: tensor %s has unsupported type %d" % (path, name, t))
            end = self.data_start + off + Q.tensor_bytes(t, shape)
            if end > len(self.mm):
                raise GGUFError("%s: tensor %s runs past the end of the file" % (path, name))

    def _need(self, n):
        if self.pos + n > len(self.mm):
            raise GGUFError("%s: truncated header" % self.path)

    def _u32(self):
        self._need(4)
        v = struct.unpack_from("<I", self.mm, self.pos)[0]
        self.pos += 4
        return v

    def _u64(self):
        self._need(8)
        v = struct.unpack_from("<Q", self.mm, self.pos)[0]
        self.pos += 8
        return v

    def _str(self):
        n = self._u64()
        self._need(n)
        s = bytes(self.mm[self.pos:self.pos + n]).decode("utf-8", errors="surrogateescape")
        self.pos += n
        return s

    def _read_value(self, t):
        if t == STRING:
            return self._str()
        if t == ARRAY:
            et = self._u32()
            n = self._u64()
            if et == STRING:
                return [self._str() for _ in range(n)]
            if et == ARRAY:
                return [self._read_value(ARRAY) for _ in range(n)]
            if et not in _NP:
                raise GGUFError("%s: bad array element type %d" % (self.path, et))
            size = np.dtype(_NP[et]).itemsize * n
            self._need(size)
            a = np.frombuffer(self.mm, dtype=_NP[et], count=n, offset=self.pos).copy()
            self.pos += size
            return a.astype(bool) if et == BOOL else a
        if t not in _SCALAR:
            raise GGUFError("%s: bad value type %d" % (self.path, t))
        fmt = _SCALAR[t]
        size = struct.calcsize(fmt)
        self._need(size)
        v = struct.unpack_from(fmt, self.mm, self.pos)[0]
        self.pos += size
        return v

    def raw(self, name):
        shape, t, off = self.tensors[name]
        start = self.data_start + off
        return self.mm[start:start + Q.tensor_bytes(t, shape)]

    def type_of(self, name):
        return self.tensors[name][1]

    def shape_of(self, name):
        return self.tensors[name][0]

    def get(self, name):
        """float32 numpy array in numpy order (rows, row length)."""
        shape, t, _ = self.tensors[name]
        return Q.dequantize(t, self.raw(name), shape)


def dump(path, arrays=False):
    """Human-readable listing: metadata (arrays summarized) and tensor infos."""
    r = Reader(path)
    names = {v: k for k, v in globals().items() if isinstance(v, int) and k.isupper() and 0 <= v <= 12
             and k in ("UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING",
                       "ARRAY", "UINT64", "INT64", "FLOAT64")}
    out = ["GGUF v%d, %d tensors, %d metadata keys, data at %d" % (r.version, len(r.tensors), len(r.meta), r.data_start)]
    for k, v in r.meta.items():
        t = names[r.meta_types[k]]
        if isinstance(v, (list, np.ndarray)):
            head = list(v[:4]) if not arrays else list(v)
            head = [x.item() if hasattr(x, "item") else x for x in head]
            out.append("%s: %s[%d] %s%s" % (k, t, len(v), head, "" if arrays or len(v) <= 4 else " ..."))
        else:
            out.append("%s: %s %r" % (k, t, v))
    for n in r.order:
        shape, t, off = r.tensors[n]
        out.append("tensor %s: %s ne=%s offset=%d" % (n, Q.type_name(t), list(reversed(shape)), off))
    return "\n".join(out)


if __name__ == "__main__":
    import sys
    if len(sys.argv) < 2:
        sys.exit("usage: gguf.py FILE.gguf [--arrays]   (prints metadata and tensor infos)")
    try:
        print(dump(sys.argv[1], "--arrays" in sys.argv[2:]))
    except GGUFError as e:
        sys.exit(str(e))
