"""GGML tensor types: float conversions, block quantizers and dequantizers.

Written from the GGUF/ggml block layout descriptions (all little endian):

  Q8_0  block of 32 : f16 d, int8 qs[32]                            34 bytes
        x = d * qs[i]
  Q4_0  block of 32 : f16 d, uint8 qs[16]                           18 bytes
        byte j = element j (low nibble) | element j+16 (high nibble)
        x = d * (nibble - 8)
  Q4_K  block of 256: f16 d, f16 dmin, uint8 scales[12], uint8 qs[128]  144 bytes
        8 sub-blocks of 32, each with a 6-bit scale sc and a 6-bit min m:
          j < 4 : sc = scales[j] & 63,   m = scales[j+4] & 63
          j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4
                  m  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
        qs: 4 groups of 64 elements, 32 bytes each; byte l of group g holds
        element 64g+l in the low nibble and element 64g+32+l in the high one;
        sub-block 2g uses the low nibbles, 2g+1 the high ones.
        x = d*sc*q - dmin*m
  Q6_K  block of 256: uint8 ql[128], uint8 qh[64], int8 scales[16], f16 d  210 bytes
        two halves of 128 elements (n = 0, 1), ql/qh/scales advance by 64/32/8:
          element 128n + l      : ql[64n+l]    low nibble,  qh[32n+l] bits 0-1
          element 128n + 32 + l : ql[64n+32+l] low nibble,  qh[32n+l] bits 2-3
          element 128n + 64 + l : ql[64n+l]    high nibble, qh[32n+l] bits 4-5
          element 128n + 96 + l : ql[64n+32+l] high nibble, qh[32n+l] bits 6-7
        (l = 0..31); element e uses scales[e // 16]; x = d * scale * (q - 32)

The Q8_0 and Q4_0 quantizers follow ggml's reference rounding exactly
(float32 arithmetic; Q8_0: q = roundf(x * (1/d)) with ties away from zero;
Q4_0: q = min(15, trunc(x * (1/d) + 8.5))), so a file or an emulation made
here agrees bit for bit with ggml's reference quantizer. The K-quant
quantizers are simple min/max fits of our own (any valid encoding is a valid
file; the reference always dequantizes the stored bytes).
"""
import numpy as np

# ggml type ids (ggml.h enum ggml_type)
F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16 = 0, 1, 2, 8, 12, 14, 30

# id -> (name, block elements, block bytes)
TYPES = {
    F32: ("F32", 1, 4),
    F16: ("F16", 1, 2),
    Q4_0: ("Q4_0", 32, 18),
    Q8_0: ("Q8_0", 32, 34),
    Q4_K: ("Q4_K", 256, 144),
    Q6_K: ("Q6_K", 256, 210),
    BF16: ("BF16", 1, 2),
}
BY_NAME = {v[0].lower(): k for k, v in TYPES.items()}


def type_name(t):
    return TYPES[t][0] if t in TYPES else "type%d" % t


def row_bytes(t, n):
    """Bytes of a row of n elements of type t (n must be a multiple of the block)."""
    _, blk, size = TYPES[t]
    if n % blk:
        raise ValueError("row length %d is not a multiple of %s's block size %d" % (n, type_name(t), blk))
    return n // blk * size


def tensor_bytes(t, shape):
    """shape in numpy order (rows..., row length last)."""
    n_rows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return n_rows * row_bytes(t, shape[-1])


# ---------------------------------------------------------------- floats

def f32_to_bf16_bits(x):
    """Round to nearest even (NaN kept quiet), as uint16 bit patterns."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    if nan.any():
        r = np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)
    return r


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def round_half_away(v):
    """C roundf(): nearest integer, ties away from zero (exact for any float)."""
    t = np.trunc(v)
    frac = v - t
    return t + np.where(np.abs(frac) >= 0.5, np.sign(v), 0).astype(v.dtype)


# ---------------------------------------------------------------- Q8_0

def quantize_q8_0(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    b = x.reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = round_half_away(b * idv[:, None]).astype(np.int8)
    out = np.empty((b.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.reshape(rows, n // 32 * 34)


def dequantize_q8_0(raw, n):
    b = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, 34)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = b[:, 2:].view(np.int8).astype(np.float32)
    return (d * q).reshape(-1, n)


# ---------------------------------------------------------------- Q4_0

def quantize_q4_0(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    b = x.reshape(-1, 32)
    idx = np.argmax(np.abs(b), axis=1)          # first element of largest magnitude
    mx = b[np.arange(b.shape[0]), idx]
    d = mx / np.float32(-8)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = b * idv[:, None] + np.float32(8.5)
    q = np.clip(np.trunc(v), 0, 15).astype(np.uint8)
    out = np.empty((b.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.reshape(rows, n // 32 * 18)


def dequantize_q4_0(raw, n):
    b = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, 18)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    qs = b[:, 2:]
    q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float32) - 8
    return (d * q).reshape(-1, n)


# ---------------------------------------------------------------- Q4_K

def _f16(v):
    return np.asarray(v, dtype=np.float32).astype(np.float16)


def quantize_q4_k(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    if n % 256:
        raise ValueError("Q4_K needs rows that are a multiple of 256 (got %d)" % n)
    s = x.reshape(-1, 8, 32)                       # super-blocks x sub-blocks x 32
    nb = s.shape[0]
    mn = np.minimum(s.min(axis=2), 0)              # offsets are subtracted: min <= 0
    mx = s.max(axis=2)
    scale = (mx - mn) / np.float32(15)             # >= 0
    mins = -mn                                     # >= 0
    d = scale.max(axis=1) / np.float32(63)
    dmin = mins.max(axis=1) / np.float32(63)
    d16, dmin16 = _f16(d), _f16(dmin)
    df, dminf = d16.astype(np.float32), dmin16.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(df[:, None] > 0, np.rint(scale / df[:, None]), 0)
        m = np.where(dminf[:, None] > 0, np.rint(mins / dminf[:, None]), 0)
    sc = np.clip(sc, 0, 63).astype(np.uint8)
    m = np.clip(m, 0, 63).astype(np.uint8)
    es = df[:, None] * sc.astype(np.float32)       # effective scale / min per sub-block
    em = dminf[:, None] * m.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(es[:, :, None] > 0, np.rint((s + em[:, :, None]) / es[:, :, None]), 0)
    q = np.clip(q, 0, 15).astype(np.uint8)         # nb x 8 x 32

    out = np.empty((nb, 144), dtype=np.uint8)
    out[:, 0:2] = d16.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = dmin16.view(np.uint8).reshape(-1, 2)
    scl = np.empty((nb, 12), dtype=np.uint8)
    scl[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    scl[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    scl[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    out[:, 4:16] = scl
    qg = q.reshape(nb, 4, 2, 32)                   # group g: sub-blocks 2g (low), 2g+1 (high)
    out[:, 16:] = (qg[:, :, 0, :] | (qg[:, :, 1, :] << 4)).reshape(nb, 128)
    return out.reshape(rows, n // 256 * 144)


def q4_k_scales(scl):
    """scl: (nb, 12) uint8 -> sc, m: (nb, 8) uint8."""
    sc = np.empty((scl.shape[0], 8), dtype=np.uint8)
    m = np.empty_like(sc)
    sc[:, 0:4] = scl[:, 0:4] & 63
    m[:, 0:4] = scl[:, 4:8] & 63
    sc[:, 4:8] = (scl[:, 8:12] & 15) | ((scl[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (scl[:, 8:12] >> 4) | ((scl[:, 4:8] >> 6) << 4)
    return sc, m


def dequantize_q4_k(raw, n):
    b = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, 144)
    nb = b.shape[0]
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)[:, 0]
    dmin = b[:, 2:4].copy().view(np.float16).astype(np.float32)[:, 0]
    sc, m = q4_k_scales(b[:, 4:16])
    qs = b[:, 16:].reshape(nb, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(nb, 8, 32).astype(np.float32)
    y = (d[:, None] * sc.astype(np.float32))[:, :, None] * q - (dmin[:, None] * m.astype(np.float32))[:, :, None]
    return y.reshape(-1, n)


# ---------------------------------------------------------------- Q6_K

def quantize_q6_k(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    if n % 256:
        raise ValueError("Q6_K needs rows that are a multiple of 256 (got %d)" % n)
    s = x.reshape(-1, 16, 16)                      # super-blocks x 16 sub-blocks x 16
    nb = s.shape[0]
    idx = np.argmax(np.abs(s), axis=2)
    mv = np.take_along_axis(s, idx[:, :, None], axis=2)[:, :, 0]
    scale = mv / np.float32(-32)                   # signed sub-block scale
    j = np.argmax(np.abs(scale), axis=1)
    smax = scale[np.arange(nb), j]
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(smax != 0, np.float32(-128) / smax, 0).astype(np.float32)
        d = np.where(iscale != 0, np.float32(1) / iscale, 0).astype(np.float32)
    sci = np.clip(np.rint(scale * iscale[:, None]), -128, 127).astype(np.int8)
    d16 = _f16(d)
    es = d16.astype(np.float32)[:, None] * sci.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(es[:, :, None] != 0, np.rint(s / es[:, :, None]), 0)
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(nb, 2, 4, 32)   # half n, quarter k, l
    out = np.empty((nb, 210), dtype=np.uint8)
    ql = np.empty((nb, 2, 2, 32), dtype=np.uint8)  # half, (k=0/2 -> 0, k=1/3 -> 1), l
    ql[:, :, 0, :] = (q[:, :, 0, :] & 15) | ((q[:, :, 2, :] & 15) << 4)
    ql[:, :, 1, :] = (q[:, :, 1, :] & 15) | ((q[:, :, 3, :] & 15) << 4)
    qh = ((q[:, :, 0, :] >> 4) | ((q[:, :, 1, :] >> 4) << 2) |
          ((q[:, :, 2, :] >> 4) << 4) | ((q[:, :, 3, :] >> 4) << 6)).astype(np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sci.view(np.uint8)
    out[:, 208:210] = d16.view(np.uint8).reshape(-1, 2)
    return out.reshape(rows, n // 256 * 210)


def dequantize_q6_k(raw, n):
    b = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1, 210)
    nb = b.shape[0]
    ql = b[:, 0:128].reshape(nb, 2, 2, 32)
    qh = b[:, 128:192].reshape(nb, 2, 32)
    sc = b[:, 192:208].copy().view(np.int8).astype(np.float32)
    d = b[:, 208:210].copy().view(np.float16).astype(np.float32)[:, 0]
    q = np.empty((nb, 2, 4, 32), dtype=np.int16)
    q[:, :, 0, :] = (ql[:, :, 0, :] & 15) | (((qh >> 0) & 3) << 4)
    q[:, :, 1, :] = (ql[:, :, 1, :] & 15) | (((qh >> 2) & 3) << 4)
    q[:, :, 2, :] = (ql[:, :, 0, :] >> 4) | (((qh >> 4) & 3) << 4)
    q[:, :, 3, :] = (ql[:, :, 1, :] >> 4) | (((qh >> 6) & 3) << 4)
    q = (q.reshape(nb, 16, 16) - 32).astype(np.float32)
    y = (d[:, None] * sc)[:, :, None] * q
    return y.reshape(-1, n)


# ---------------------------------------------------------------- dispatch

def quantize(t, x):
    """x: float32 array (..., n) -> uint8 array (rows, row_bytes) of type t."""
    x = np.asarray(x, dtype=np.float32)
    shape = x.shape
    x2 = x.reshape(-1, shape[-1]) if x.ndim != 1 else x.reshape(1, -1)
    if t == F32:
        out = np.ascontiguousarray(x2, dtype="<f4").view(np.uint8)
    elif t == F16:
        out = x2.astype("<f2").view(np.uint8)
    elif t == BF16:
        out = f32_to_bf16_bits(x2).astype("<u2").view(np.uint8)
    elif t == Q8_0:
        out = quantize_q8_0(x2)
    elif t == Q4_0:
        out = quantize_q4_0(x2)
    elif t == Q4_K:
        out = quantize_q4_k(x2)
    elif t == Q6_K:
        out = quantize_q6_k(x2)
    else:
        raise ValueError("cannot quantize to %s" % type_name(t))
    return out


def dequantize(t, raw, shape):
    """raw: uint8 buffer of a tensor of type t and numpy shape -> float32 array."""
    n = shape[-1]
    raw = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    raw = np.asarray(raw).reshape(-1)
    if raw.size != tensor_bytes(t, shape):
        raise ValueError("%s tensor of shape %s needs %d bytes, got %d" % (
            type_name(t), tuple(shape), tensor_bytes(t, shape), raw.size))
    if t == F32:
        y = raw.view("<f4").astype(np.float32)
    elif t == F16:
        y = raw.view("<f2").astype(np.float32)
    elif t == BF16:
        y = bf16_bits_to_f32(raw.view("<u2"))
    elif t == Q8_0:
        y = dequantize_q8_0(raw, n)
    elif t == Q4_0:
        y = dequantize_q4_0(raw, n)
    elif t == Q4_K:
        y = dequantize_q4_k(raw, n)
    elif t == Q6_K:
        y = dequantize_q6_k(raw, n)
    else:
        raise ValueError("cannot dequantize %s" % type_name(t))
    return y.reshape(shape)


def roundtrip(t, x):
    """quantize then dequantize (the weights a model in format t really has)."""
    x = np.asarray(x, dtype=np.float32)
    return dequantize(t, quantize(t, x), x.shape)
