#!/usr/bin/python3
"""Builds a corpus of malformed model files from valid generated ones.

  make_hostile.py --gguf GOOD.gguf --hf GOOD_HF_DIR --out DIR

Each case is a file (GGUF, safetensors) or a folder (Hugging Face) named after
what is wrong with it; the lit tests next to this script check the one-line
error llmc gives for each. The GGUF cases are rebuilt from a parsed
description of the good file (written here from the GGUF layout, shared with
no other code), then damaged in exactly one way.
"""
import argparse
import json
import os
import shutil
import struct

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
          F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def value(self, t):
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et, n = self.take("<I"), self.take("<Q")
            return (et, [self.value(et) for _ in range(n)])
        return self.take(SCALAR[t])


def parse_gguf(data):
    r = Reader(data)
    assert r.take("<I") == 0x46554747
    version = r.take("<I")
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    kv = []
    for _ in range(n_kv):
        key = r.string()
        t = r.take("<I")
        kv.append([key, t, r.value(t)])
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        dims = r.take("<I")
        ne = [r.take("<Q") for _ in range(dims)]
        ttype, offset = r.take("<I"), r.take("<Q")
        tensors.append({"name": name, "ne": ne, "type": ttype, "offset": offset})
    align = next((v for k, t, v in kv if k == "general.alignment"), 32)
    start = (r.pos + align - 1) // align * align
    ends = sorted(t["offset"] for t in tensors) + [len(data) - start]
    for t in tensors:
        nxt = min(e for e in ends if e > t["offset"])
        t["data"] = data[start + t["offset"]:start + nxt]
    return {"version": version, "kv": kv, "tensors": tensors, "align": align}


def pack_value(t, v):
    if t == STRING:
        b = v.encode("utf-8")
        return struct.pack("<Q", len(b)) + b
    if t == ARRAY:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(pack_value(et, x) for x in items)
    return struct.pack(SCALAR[t], v)


def gguf_header(desc, tensor_count=None, kv_count=None):
    align = desc["align"]
    out = bytearray(struct.pack("<II", 0x46554747, desc["version"]))
    out += struct.pack("<QQ", len(desc["tensors"]) if tensor_count is None else tensor_count,
                       len(desc["kv"]) if kv_count is None else kv_count)
    for key, t, v in desc["kv"]:
        kb = key.encode()
        out += struct.pack("<Q", len(kb)) + kb + struct.pack("<I", t) + pack_value(t, v)
    for t in desc["tensors"]:
        nb = t["name"].encode()
        out += struct.pack("<Q", len(nb)) + nb + struct.pack("<I", len(t["ne"]))
        out += b"".join(struct.pack("<Q", n) for n in t["ne"])
        out += struct.pack("<IQ", t["type"], t["offset"])
    out += b"\0" * ((-len(out)) % align)
    return bytes(out)


def gguf_data(desc):
    data = bytearray()
    for t in desc["tensors"]:
        end = t["offset"] + len(t["data"])
        if len(data) < end:
            data += b"\0" * (end - len(data))
        data[t["offset"]:end] = t["data"]
    return bytes(data)


def write_gguf(desc, tensor_count=None, kv_count=None):
    return gguf_header(desc, tensor_count, kv_count) + gguf_data(desc)


def write_gguf_header_only(d, desc):
    """The header of `d` (only offsets changed) over the good file's data."""
    return gguf_header(d) + gguf_data(desc)


def copy_desc(desc):
    return {"version": desc["version"], "align": desc["align"],
            "kv": [list(x) for x in desc["kv"]],
            "tensors": [dict(t) for t in desc["tensors"]]}


def set_kv(desc, key, t, v):
    for item in desc["kv"]:
        if item[0] == key:
            item[1], item[2] = t, v
            return desc
    desc["kv"].append([key, t, v])
    return desc


def gguf_cases(good, out):
    desc = parse_gguf(good)
    arch = next(v for k, t, v in desc["kv"] if k == "general.architecture")
    cases = {}
    cases["empty"] = b""
    cases["bad-magic"] = b"GGUX" + good[4:]
    cases["version-1"] = good[:4] + struct.pack("<I", 1) + good[8:]
    cases["version-99"] = good[:4] + struct.pack("<I", 99) + good[8:]
    cases["truncated-header"] = good[:12]
    cases["absurd-tensor-count"] = write_gguf(desc, tensor_count=1 << 62)
    cases["absurd-kv-count"] = write_gguf(desc, kv_count=1 << 61)
    # The first key claims more bytes than the file holds.
    cases["long-key"] = good[:24] + struct.pack("<Q", 1 << 40) + good[32:]
    key_len = struct.unpack_from("<Q", good, 24)[0]
    type_at = 32 + key_len
    cases["unknown-value-type"] = good[:type_at] + struct.pack("<I", 42) + good[type_at + 4:]
    d = copy_desc(desc)
    key = next(i for i, x in enumerate(d["kv"]) if x[1] == ARRAY and x[2][0] == F32)
    blob = write_gguf(d)
    name = d["kv"][key][0].encode()
    pos = blob.index(struct.pack("<Q", len(name)) + name + struct.pack("<I", ARRAY))
    pos += 8 + len(name) + 4 + 4
    cases["array-too-long"] = blob[:pos] + struct.pack("<Q", 1 << 50) + blob[pos + 8:]
    d = copy_desc(desc)
    d["kv"].append(list(d["kv"][1]))
    cases["duplicate-key"] = write_gguf(d)
    d = copy_desc(desc)
    d["tensors"][0]["type"] = 99
    cases["unknown-tensor-type"] = write_gguf(d)
    d = copy_desc(desc)
    d["tensors"][-1]["offset"] += 1 << 40
    cases["offset-past-end"] = write_gguf_header_only(d, desc)
    d = copy_desc(desc)
    d["tensors"][1]["offset"] = d["tensors"][0]["offset"]
    cases["overlapping-tensors"] = write_gguf_header_only(d, desc)
    d = copy_desc(desc)
    d["tensors"][1]["offset"] += 4
    cases["misaligned-tensor"] = write_gguf_header_only(d, desc)
    d = copy_desc(desc)
    d["tensors"][0]["ne"] = [2, 2, 2, 2, 2]
    cases["five-dims"] = write_gguf(d)
    cases["truncated-data"] = good[:len(good) - 100]
    cases["unsupported-architecture"] = write_gguf(
        set_kv(copy_desc(desc), "general.architecture", STRING, "gpt2"))
    d = copy_desc(desc)
    for t in d["tensors"]:
        if t["name"] == "blk.1.ffn_up.weight":
            t["name"] = "blk.1.ffn_upp.weight"
    cases["missing-tensor"] = write_gguf(d)
    d = copy_desc(desc)
    for t in d["tensors"]:
        if t["name"] == "blk.0.attn_q.weight":
            t["ne"] = [t["ne"][0], t["ne"][1] // 2]
            t["data"] = t["data"][:len(t["data"]) // 2]
    cases["wrong-shape"] = write_gguf(d)
    d = copy_desc(desc)
    for t in d["tensors"]:
        if t["name"] == "blk.0.attn_norm.weight":
            t["type"] = 26  # I32: same size as F32, not a weight type
    cases["unsupported-tensor-type"] = write_gguf(d)
    d = copy_desc(desc)
    d["kv"] = [x for x in d["kv"] if x[0] != arch + ".embedding_length"]
    cases["missing-metadata"] = write_gguf(d)
    cases["metadata-wrong-type"] = write_gguf(
        set_kv(copy_desc(desc), arch + ".block_count", STRING, "two"))
    cases["bad-alignment"] = write_gguf(set_kv(copy_desc(desc), "general.alignment", U32, 3))
    cases["heads-not-divisible"] = write_gguf(
        set_kv(copy_desc(desc), arch + ".attention.head_count_kv", U32, 3))
    cases["absurd-layer-count"] = write_gguf(
        set_kv(copy_desc(desc), arch + ".block_count", U32, 100000))
    for name, blob in cases.items():
        with open(os.path.join(out, f"gguf-{name}.gguf"), "wb") as f:
            f.write(blob)


def safetensors_cases(hf, out):
    path = os.path.join(hf, "model.safetensors")
    good = open(path, "rb").read()
    n = struct.unpack("<Q", good[:8])[0]
    header = json.loads(good[8:8 + n])
    data = good[8 + n:]

    def folder(name, blob=None, header_obj=None, raw_header=None):
        d = os.path.join(out, "st-" + name)
        shutil.copytree(hf, d)
        if header_obj is not None or raw_header is not None:
            h = raw_header if raw_header is not None else json.dumps(header_obj).encode()
            blob = struct.pack("<Q", len(h)) + h + data
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(blob)

    def edit(fn):
        h = json.loads(json.dumps(header))
        fn(h)
        return h

    names = [k for k in header if k != "__metadata__"]
    first = names[0]
    norm = next(k for k in names if k.endswith("input_layernorm.weight"))
    q = next(k for k in names if k.endswith("q_proj.weight"))
    folder("too-short", blob=b"\x01\x02\x03")
    folder("header-past-end", blob=struct.pack("<Q", len(good) * 4) + good[8:])
    folder("header-not-json", raw_header=b"{not json" + b" " * 20)
    folder("header-not-object", raw_header=b"[1, 2, 3]")
    folder("missing-dtype", header_obj=edit(lambda h: h[first].pop("dtype")))
    folder("unknown-dtype", header_obj=edit(lambda h: h[first].update(dtype="F7")))
    folder("offsets-outside", header_obj=edit(
        lambda h: h[first].update(data_offsets=[0, len(data) + 64])))
    folder("size-mismatch", header_obj=edit(lambda h: h[first].update(
        data_offsets=[h[first]["data_offsets"][0], h[first]["data_offsets"][1] - 4])))

    def overlap(h):
        h[names[1]]["data_offsets"] = list(h[first]["data_offsets"])
        h[names[1]]["shape"] = list(h[first]["shape"])
        h[names[1]]["dtype"] = h[first]["dtype"]
    folder("overlapping", header_obj=edit(overlap))
    folder("negative-shape", header_obj=edit(lambda h: h[first].update(shape=[-1, 4])))

    def int_norm(h):
        h[norm]["dtype"] = "I32"  # same bytes as F32, not a weight type
    folder("int-weight", header_obj=edit(int_norm))

    def half_q(h):
        rows, cols = h[q]["shape"]
        h[q]["shape"] = [rows // 2, cols * 2]
    folder("wrong-shape", header_obj=edit(half_q))

    def drop(h):
        h.pop(norm)
    folder("missing-tensor", header_obj=edit(drop))


def config_cases(hf, out):
    config = json.load(open(os.path.join(hf, "config.json")))

    def folder(name, cfg=None, raw=None, remove=None, extra=None):
        d = os.path.join(out, "hf-" + name)
        shutil.copytree(hf, d)
        if remove:
            os.remove(os.path.join(d, remove))
        if cfg is not None or raw is not None:
            with open(os.path.join(d, "config.json"), "w") as f:
                f.write(raw if raw is not None else json.dumps(cfg))
        for fname, text in (extra or {}).items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
        return d

    def edit(**changes):
        c = dict(config)
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    folder("no-config", remove="config.json")
    folder("config-not-json", raw="{ hidden_size: 64")
    folder("unknown-architecture", cfg=edit(architectures=["GPT2LMHeadModel"]))
    folder("missing-hidden-size", cfg=edit(hidden_size=None))
    folder("hidden-size-string", cfg=edit(hidden_size="64"))
    folder("rope-yarn", cfg=edit(rope_scaling={"rope_type": "yarn", "factor": 4.0}))
    folder("absurd-layers", cfg=edit(num_hidden_layers=100000))
    folder("no-weights", remove="model.safetensors")
    d = folder("index-traversal", remove="model.safetensors", extra={
        "model.safetensors.index.json": json.dumps(
            {"weight_map": {"model.norm.weight": "../../etc/passwd"}})})
    folder("index-no-weight-map", remove="model.safetensors", extra={
        "model.safetensors.index.json": json.dumps({"metadata": {}})})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gguf_cases(open(args.gguf, "rb").read(), args.out)
    safetensors_cases(args.hf, args.out)
    config_cases(args.hf, args.out)


if __name__ == "__main__":
    main()
