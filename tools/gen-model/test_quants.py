#!/usr/bin/python3
"""Unit tests of quants.py, gguf.py and safetensors_io.py (run by
test/gen-model/quants.test). The vectorized dequantizers are checked against
plain-loop decoders written straight from the block layouts, on random
bytes; the quantizers against error bounds and re-quantization stability."""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import gguf  # noqa: E402
import quants as Q  # noqa: E402
import safetensors_io  # noqa: E402

FAILS = []
PINNED = [-0.6246758, -0.61109126, -0.4641196]


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILS.append(msg)


def f16(b, off):
    return float(np.frombuffer(bytes(b[off:off + 2]), dtype="<f2")[0])


# ---------------------------------------------------------------- loop decoders

def loop_q8_0(b):
    out = []
    for blk in range(len(b) // 34):
        o = blk * 34
        d = f16(b, o)
        out += [d * struct.unpack("b", bytes([b[o + 2 + j]]))[0] for j in range(32)]
    return out


def loop_q4_0(b):
    out = []
    for blk in range(len(b) // 18):
        o = blk * 18
        d = f16(b, o)
        y = [0.0] * 32
        for j in range(16):
            y[j] = d * ((b[o + 2 + j] & 15) - 8)
            y[j + 16] = d * ((b[o + 2 + j] >> 4) - 8)
        out += y
    return out


def scale_min_k4(j, q):
    if j < 4:
        return q[j] & 63, q[j + 4] & 63
    return (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)


def loop_q4_k(b):
    out = []
    for blk in range(len(b) // 144):
        o = blk * 144
        d, dmin = f16(b, o), f16(b, o + 2)
        sc = b[o + 4:o + 16]
        q = b[o + 16:o + 144]
        for g in range(4):
            s0, m0 = scale_min_k4(2 * g, sc)
            s1, m1 = scale_min_k4(2 * g + 1, sc)
            out += [np.float32(d * s0) * (q[32 * g + l] & 15) - np.float32(dmin * m0) for l in range(32)]
            out += [np.float32(d * s1) * (q[32 * g + l] >> 4) - np.float32(dmin * m1) for l in range(32)]
    return out


def loop_q6_k(b):
    out = []
    for blk in range(len(b) // 210):
        o = blk * 210
        ql, qh = b[o:o + 128], b[o + 128:o + 192]
        sc = [struct.unpack("b", bytes([x]))[0] for x in b[o + 192:o + 208]]
        d = f16(b, o + 208)
        y = [0.0] * 256
        for n in range(2):
            for l in range(32):
                h = qh[32 * n + l]
                q1 = ((ql[64 * n + l] & 15) | (((h >> 0) & 3) << 4)) - 32
                q2 = ((ql[64 * n + 32 + l] & 15) | (((h >> 2) & 3) << 4)) - 32
                q3 = ((ql[64 * n + l] >> 4) | (((h >> 4) & 3) << 4)) - 32
                q4 = ((ql[64 * n + 32 + l] >> 4) | (((h >> 6) & 3) << 4)) - 32
                base = 128 * n
                y[base + l] = d * sc[8 * n + l // 16] * q1
                y[base + 32 + l] = d * sc[8 * n + 2 + l // 16] * q2
                y[base + 64 + l] = d * sc[8 * n + 4 + l // 16] * q3
                y[base + 96 + l] = d * sc[8 * n + 6 + l // 16] * q4
        out += y
    return out


def random_blocks(rng, t, nblocks):
    _, _, size = Q.TYPES[t]
    b = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    scale_offsets = {Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_K: [0, 2], Q.Q6_K: [208]}[t]
    for off in scale_offsets:   # finite, moderate f16 scales
        b[:, off:off + 2] = rng.uniform(-0.05, 0.05, nblocks).astype("<f2").view(np.uint8).reshape(-1, 2)
    return b.reshape(-1)


def test_layouts():
    rng = np.random.default_rng(7)
    for t, fn in ((Q.Q8_0, loop_q8_0), (Q.Q4_0, loop_q4_0), (Q.Q4_K, loop_q4_k), (Q.Q6_K, loop_q6_k)):
        blk = Q.TYPES[t][1]
        raw = random_blocks(rng, t, 24)
        n = 24 * blk
        vec = Q.dequantize(t, raw, (2, n // 2)).reshape(-1)
        ref = np.array(fn(bytes(raw)), dtype=np.float64)
        err = np.abs(vec.astype(np.float64) - ref).max()
        check(err <= 1e-6 * max(1.0, np.abs(ref).max()), "%s dequantize == loop decoder on random blocks (max err %.2g)"
              % (Q.type_name(t), err))


def test_known_blocks():
    # Q4_0: the element of largest magnitude (-8 * d) decides the scale
    x = np.array([[(i % 16) - 8 for i in range(32)]], dtype=np.float32) * np.float32(0.25)
    raw = Q.quantize(Q.Q4_0, x)
    d = np.frombuffer(raw[0, 0:2].tobytes(), dtype="<f2")[0]
    check(float(d) == 0.25, "Q4_0 scale of [-8..7]*0.25 is 0.25 (got %r)" % float(d))
    check(raw[0, 2] == (0 | (0 << 4)) and raw[0, 3] == (1 | (1 << 4)),
          "Q4_0 byte j = element j low | element j+16 high")
    check(np.array_equal(Q.dequantize(Q.Q4_0, raw, x.shape), x), "Q4_0 exact on representable values")
    # Q8_0: integers times a power of two round-trip exactly
    x = (np.arange(-16, 16, dtype=np.float32) * np.float32(127 / 16)).round().reshape(1, 32) / 8
    x[0, 0] = -127 / 8
    check(np.array_equal(Q.roundtrip(Q.Q8_0, x), x.astype(np.float32)), "Q8_0 exact on d*int values")
    # ties: C roundf rounds half away from zero
    check(list(Q.round_half_away(np.array([0.5, 1.5, -0.5, -2.5, 2.4999998], dtype=np.float32))) ==
          [1.0, 2.0, -1.0, -3.0, 2.0], "round_half_away matches roundf")
    # bf16: round to nearest even
    v = np.array([1.0, 1.00390625, 1.01171875, -3.0e38, np.inf], dtype=np.float32)
    bits = Q.f32_to_bf16_bits(v)
    check(list(bits[:3]) == [0x3F80, 0x3F80, 0x3F82], "bf16 ties to even (got %s)" % [hex(b) for b in bits[:3]])
    check(np.isinf(Q.bf16_bits_to_f32(bits[4:5]))[0], "bf16 keeps inf")


def test_roundtrips():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 512)).astype(np.float32) * np.float32(0.05)
    x[2] = 0.0
    x[3, :256] = np.abs(x[3, :256])
    x[4, 100] = 3.0           # an outlier
    bounds = {Q.F32: 0.0, Q.F16: 1e-3, Q.BF16: 8e-3, Q.Q8_0: 0.01, Q.Q6_K: 0.04, Q.Q4_0: 0.15, Q.Q4_K: 0.15}
    for t, bound in bounds.items():
        raw = Q.quantize(t, x)
        check(raw.shape == (16, Q.row_bytes(t, 512)), "%s quantized size" % Q.type_name(t))
        y = Q.dequantize(t, raw, x.shape)
        rel = np.sqrt(((y - x) ** 2).mean() / (x ** 2).mean())
        check(rel <= bound, "%s round trip rel rms error %.4f <= %g" % (Q.type_name(t), rel, bound))
        check(np.all(y[2] == 0), "%s keeps an all-zero row zero" % Q.type_name(t))
        if t in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0):   # K-quants re-fit their scales
            y2 = Q.dequantize(t, Q.quantize(t, y), x.shape)
            check(np.array_equal(y, y2), "%s re-quantizing dequantized values is stable" % Q.type_name(t))
    # Q8_0 per-element bound: |x - y| <= d/2 (+ f16 rounding of d)
    b = x.reshape(-1, 32)
    y = Q.roundtrip(Q.Q8_0, x).reshape(-1, 32)
    d = np.abs(b).max(axis=1, keepdims=True) / 127
    check(np.all(np.abs(b - y) <= d * 0.5 + np.abs(b) * 1e-3 + 1e-12), "Q8_0 error <= d/2 per element")
    for t in (Q.Q4_K, Q.Q6_K):
        try:
            Q.quantize(t, np.zeros((2, 96), np.float32))
            check(False, "%s rejects rows that are not multiples of 256" % Q.type_name(t))
        except ValueError:
            check(True, "%s rejects rows that are not multiples of 256" % Q.type_name(t))


def test_gguf_io():
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as tmp:
        for version, align in ((3, 32), (2, 32), (3, 64)):
            p = os.path.join(tmp, "x%d_%d.gguf" % (version, align))
            w = gguf.Writer(p, version=version, alignment=align)
            w.add("general.architecture", gguf.STRING, "llama")
            if align != 32:
                w.add("general.alignment", gguf.UINT32, align)
            w.add("a.u32", gguf.UINT32, 7)
            w.add("a.f32", gguf.FLOAT32, 0.5)
            w.add("a.bool", gguf.BOOL, True)
            w.add("a.i64", gguf.INT64, -3)
            w.add("a.strs", gguf.ARRAY, ["x", "\u2581y", ""], gguf.STRING)
            w.add("a.i32s", gguf.ARRAY, [1, -2, 3], gguf.INT32)
            tensors = {"t.f32": (Q.F32, (3, 5)), "t.q8": (Q.Q8_0, (2, 64)), "t.q4k": (Q.Q4_K, (2, 256)),
                       "t.1d": (Q.F32, (7,))}
            data = {}
            for name, (t, shape) in tensors.items():
                w.add_tensor_info(name, shape, t)
                data[name] = rng.standard_normal(shape).astype(np.float32)
            w.write_header()
            for name, (t, shape) in tensors.items():
                w.write_tensor(name, Q.quantize(t, data[name]))
            w.close()
            r = gguf.Reader(p)
            ok = (r.version == version and r.meta["a.u32"] == 7 and r.meta_types["a.u32"] == gguf.UINT32 and
                  r.meta["a.f32"] == 0.5 and r.meta["a.bool"] is True and r.meta["a.i64"] == -3 and
                  r.meta["a.strs"] == ["x", "\u2581y", ""] and list(r.meta["a.i32s"]) == [1, -2, 3])
            check(ok, "GGUF v%d align %d metadata round trip" % (version, align))
            ok = all(np.array_equal(r.get(n), Q.roundtrip(t, data[n])) and r.shape_of(n) == shape
                     for n, (t, shape) in tensors.items())
            check(ok, "GGUF v%d align %d tensors round trip" % (version, align))
            check(all((r.data_start + r.tensors[n][2]) % align == 0 for n in tensors),
                  "GGUF v%d tensor data aligned to %d" % (version, align))
            with open(p, "rb") as f:
                head = f.read(24)
            check(head[:4] == b"GGUF" and struct.unpack("<IQQ", head[4:24]) == (version, 4, 7 if align == 32 else 8),
                  "GGUF v%d header fields" % version)
        # ne[0] is the row length
        r = gguf.Reader(os.path.join(tmp, "x3_32.gguf"))
        check(r.tensors["t.f32"][0] == (3, 5), "GGUF ne[0] = row length (shape (3,5) stored as ne=[5,3])")
        bad = os.path.join(tmp, "bad.gguf")
        with open(bad, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, 1, 0))
        try:
            gguf.Reader(bad)
            check(False, "truncated GGUF is rejected")
        except gguf.GGUFError as e:
            check("truncated" in str(e), "truncated GGUF is rejected: %s" % e)


def test_safetensors_io():
    rng = np.random.default_rng(9)
    with tempfile.TemporaryDirectory() as tmp:
        for dt in ("F32", "F16", "BF16"):
            p = os.path.join(tmp, "m.safetensors")
            w = safetensors_io.Writer(p)
            xs = {"a.weight": rng.standard_normal((4, 6)).astype(np.float32),
                  "b": rng.standard_normal((5,)).astype(np.float32)}
            for k, v in xs.items():
                w.add(k, v.shape, dt)
            w.write_header()
            for k, v in xs.items():
                w.write_tensor(k, v)
            w.close()
            r = safetensors_io.Reader(p)
            with open(p, "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
            ok = all(np.array_equal(r.get(k), safetensors_io.decode(dt, safetensors_io.encode(dt, v), v.shape))
                     for k, v in xs.items())
            check(ok and n % 8 == 0 and r.dtype_of("b") == dt, "safetensors %s round trip, 8-aligned header" % dt)


def test_generator():
    import model_gen
    spec = model_gen.Spec("tiny")
    g = model_gen.Generator(spec, 4)
    shape = (320, 64)
    whole = g.tensor("lm_head.weight", shape)
    parts = np.concatenate([r for _, r in g.chunks("lm_head.weight", shape, max_elems=1000)])
    check(np.array_equal(whole, parts), "generator: row chunks concatenate to the whole tensor")
    again = model_gen.Generator(spec, 4).tensor("lm_head.weight", shape)
    other = model_gen.Generator(spec, 5).tensor("lm_head.weight", shape)
    check(np.array_equal(whole, again) and not np.array_equal(whole, other), "generator: seeded per tensor")
    z = model_gen._normal(model_gen._stream(0, "x"), 200000)
    check(abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01 and np.abs(z).max() < 3.47,
          "generator: normal-ish values (mean %.4f std %.4f)" % (z.mean(), z.std()))
    # the pinned first values of a stream: a change here changes every model
    check(np.allclose(model_gen._normal(model_gen._stream(1, "model.norm.weight"), 3),
                      PINNED, atol=1e-6), "generator: stream values pinned (%s)"
          % model_gen._normal(model_gen._stream(1, "model.norm.weight"), 3))


if __name__ == "__main__":
    test_generator()
    test_layouts()
    test_known_blocks()
    test_roundtrips()
    test_gguf_io()
    test_safetensors_io()
    print("%d failure(s)" % len(FAILS))
    sys.exit(1 if FAILS else 0)
