"""safetensors writer and reader, from the format description:

  uint64 little-endian N | N bytes of JSON header | data
  header: {"__metadata__": {str: str}, NAME: {"dtype": "F32"|"F16"|"BF16"|...,
           "shape": [...], "data_offsets": [begin, end]}, ...}
  offsets are relative to the first byte after the header; tensors are
  row-major, little endian. The header is padded with spaces so the data
  starts 8-byte aligned.
"""
import json
import os
import struct
import numpy as np

import quants as Q

DTYPES = {"F32": 4, "F16": 2, "BF16": 2}


def encode(dtype, x):
    x = np.asarray(x, dtype=np.float32)
    if dtype == "F32":
        return np.ascontiguousarray(x, dtype="<f4").view(np.uint8).reshape(-1)
    if dtype == "F16":
        return np.ascontiguousarray(x.astype("<f2")).view(np.uint8).reshape(-1)
    if dtype == "BF16":
        return Q.f32_to_bf16_bits(x).astype("<u2").view(np.uint8).reshape(-1)
    raise ValueError("unsupported dtype " + dtype)


def decode(dtype, raw, shape):
    raw = np.asarray(raw)
    if dtype == "F32":
        y = raw.view("<f4").astype(np.float32)
    elif dtype == "F16":
        y = raw.view("<f2").astype(np.float32)
    elif dtype == "BF16":
        y = Q.bf16_bits_to_f32(raw.view("<u2"))
    else:
        raise ValueError("unsupported safetensors dtype " + dtype)
    return y.reshape(shape)


class Writer:
    """Declare (name, shape, dtype) for every tensor, then write data in order."""

    def __init__(self, path, metadata=None):
        self.path = path
        self.metadata = metadata or {"format": "pt"}
        self.entries = []
        self.size = 0

    def add(self, name, shape, dtype):
        n = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype]
        self.entries.append((name, tuple(int(s) for s in shape), dtype, self.size, self.size + n))
        self.size += n

    def write_header(self):
        h = {"__metadata__": self.metadata}
        for name, shape, dtype, b, e in self.entries:
            h[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [b, e]}
        js = json.dumps(h, separators=(",", ":"), sort_keys=True).encode("utf-8")
        js += b" " * ((8 - len(js) % 8) % 8)
        self.f = open(self.path, "wb")
        self.f.write(struct.pack("<Q", len(js)))
        self.f.write(js)
        self._i = 0

    def write_tensor(self, name, x):
        ename, shape, dtype, b, e = self.entries[self._i]
        if ename != name:
            raise ValueError("tensor %s written out of order (expected %s)" % (name, ename))
        buf = encode(dtype, x)
        if buf.size != e - b:
            raise ValueError("tensor %s: wrong size" % name)
        self.f.write(memoryview(buf))
        self._i += 1

    def close(self):
        if self._i != len(self.entries):
            raise ValueError("not all tensors written")
        self.f.close()


class Reader:
    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("%s: too short for a safetensors file" % path)
            n = struct.unpack("<Q", head)[0]
            if n > size - 8:
                raise ValueError("%s: header length %d exceeds the file" % (path, n))
            self.header = json.loads(f.read(n).decode("utf-8"))
        self.data_start = 8 + n
        self.metadata = self.header.pop("__metadata__", {})
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        for name, e in self.header.items():
            b, t = e["data_offsets"]
            need = int(np.prod(e["shape"], dtype=np.int64)) * DTYPES.get(e["dtype"], 0)
            if e["dtype"] not in DTYPES or t - b != need or self.data_start + t > size:
                raise ValueError("%s: bad entry for %s" % (path, name))

    def names(self):
        return list(self.header.keys())

    def get(self, name):
        e = self.header[name]
        b, t = e["data_offsets"]
        return decode(e["dtype"], self.mm[self.data_start + b:self.data_start + t], e["shape"])

    def dtype_of(self, name):
        return self.header[name]["dtype"]
