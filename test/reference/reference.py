#!/usr/bin/python3
"""Independent numpy reference forward pass for Llama / Qwen2 models.

  reference.py MODEL --tokens 1,2,3 [-n N] [--dump-logits FILE] [--json]
               [--quantize q8_0|q4_0] [--quant-output q8_0|f32] [--precision f64|f32]
               [--f16-attention | --emulate-llamacpp]
  reference.py MODEL --text-file F --perplexity --ctx N [--second-half]

MODEL is a Hugging Face folder (config.json + model.safetensors, single or
sharded, F32/F16/BF16) or a .gguf file (F32, F16, BF16, Q8_0, Q4_0, Q4_K,
Q6_K tensors, dequantized to float32). It shares only the file readers and
dequantizers with tools/gen-model (numpy, written from the format
descriptions), nothing with llmc's C++.

Arithmetic is float64 by default (weights are held as the exact float32
values of the file, activations, attention and norms in float64), so the
reference is as close to the exact maths as numpy gets and its own rounding
error (~1e-12 relative) is far below any implementation under test.
--precision f32 computes in float32 instead (for the large presets).
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "gen-model"))

import numpy as np  # noqa: E402

import gguf  # noqa: E402
import quants as Q  # noqa: E402
import safetensors_io  # noqa: E402


class Model:
    """cfg: dict; w: dict of float32 arrays with internal names:
    embed, out, norm, and per layer l: attn_norm, wq, wk, wv, wo, bq, bk, bv,
    bo, ffn_norm, w_gate, w_up, w_down (missing biases absent)."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w


def _layer_key(l, k):
    return "%d.%s" % (l, k)


# ---------------------------------------------------------------- loading HF

HF_LAYER = {
    "input_layernorm.weight": "attn_norm",
    "self_attn.q_proj.weight": "wq", "self_attn.q_proj.bias": "bq",
    "self_attn.k_proj.weight": "wk", "self_attn.k_proj.bias": "bk",
    "self_attn.v_proj.weight": "wv", "self_attn.v_proj.bias": "bv",
    "self_attn.o_proj.weight": "wo", "self_attn.o_proj.bias": "bo",
    "post_attention_layernorm.weight": "ffn_norm",
    "mlp.gate_proj.weight": "w_gate", "mlp.up_proj.weight": "w_up", "mlp.down_proj.weight": "w_down",
}


def load_hf(path):
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    mt = c.get("model_type", "llama")
    if mt not in ("llama", "qwen2"):
        raise SystemExit("reference: unsupported model_type %r" % mt)
    H, nh = c["hidden_size"], c["num_attention_heads"]
    cfg = {
        "arch": mt,
        "hidden": H, "layers": c["num_hidden_layers"], "heads": nh,
        "kv_heads": c.get("num_key_value_heads", nh),
        "head_dim": c.get("head_dim") or H // nh,
        "ffn": c["intermediate_size"], "vocab": c["vocab_size"],
        "eps": float(c.get("rms_norm_eps", 1e-6)), "theta": float(c.get("rope_theta", 10000.0)),
        "tied": bool(c.get("tie_word_embeddings", False)),
        "rope_style": "neox",              # HF rotate_half: pairs (i, i + d/2)
        "rope_scaling": None, "freq_factors": None,
    }
    rs = c.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "linear":
            cfg["rope_scaling"] = ("linear", float(rs["factor"]))
        elif kind == "llama3":
            cfg["rope_scaling"] = ("llama3", float(rs["factor"]), float(rs.get("low_freq_factor", 1.0)),
                                   float(rs.get("high_freq_factor", 4.0)),
                                   float(rs.get("original_max_position_embeddings", 8192)))
        elif kind not in (None, "default"):
            raise SystemExit("reference: unsupported rope scaling %r" % kind)
    idx = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx, encoding="utf-8") as f:
            wm = json.load(f)["weight_map"]
        files = sorted(set(wm.values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for fn in files:
        r = safetensors_io.Reader(os.path.join(path, fn))
        for name in r.names():
            x = r.get(name)
            if name == "model.embed_tokens.weight":
                w["embed"] = x
            elif name == "lm_head.weight":
                w["out"] = x
            elif name == "model.norm.weight":
                w["norm"] = x
            elif name.startswith("model.layers."):
                parts = name.split(".")
                key = HF_LAYER.get(".".join(parts[3:]))
                if key is None:
                    raise SystemExit("reference: unexpected tensor %s" % name)
                w[_layer_key(int(parts[2]), key)] = x
            else:
                raise SystemExit("reference: unexpected tensor %s" % name)
    if cfg["tied"] or "out" not in w:
        w["out"] = w["embed"]
        cfg["tied"] = True
    return Model(cfg, w)


# ---------------------------------------------------------------- loading GGUF

GGUF_LAYER = {
    "attn_norm.weight": "attn_norm",
    "attn_q.weight": "wq", "attn_q.bias": "bq", "attn_k.weight": "wk", "attn_k.bias": "bk",
    "attn_v.weight": "wv", "attn_v.bias": "bv", "attn_output.weight": "wo", "attn_output.bias": "bo",
    "ffn_norm.weight": "ffn_norm",
    "ffn_gate.weight": "w_gate", "ffn_up.weight": "w_up", "ffn_down.weight": "w_down",
}


def gguf_py_tensors(path, gguf_py_dir):
    """Every tensor of a GGUF file dequantized by llama.cpp's own gguf-py
    package (from the llama.cpp source tree), as float32 arrays: a dequantizer
    that shares nothing with llmc or tools/gen-model."""
    # Both are named `gguf`: set this module's aside while llama.cpp's is read.
    ours = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "gguf" or k.startswith("gguf.")}
    sys.path.insert(0, gguf_py_dir)
    try:
        import gguf as gguf_py  # llama.cpp's package, not tools/gen-model/gguf.py
        import gguf.quants as gguf_py_quants
        out = {}
        for t in gguf_py.GGUFReader(path).tensors:
            x = gguf_py_quants.dequantize(t.data, t.tensor_type)
            shape = [int(d) for d in reversed(t.shape)]
            out[t.name] = np.asarray(x, dtype=np.float32).reshape(shape)
    finally:
        sys.path.remove(gguf_py_dir)
        for k in [k for k in sys.modules if k == "gguf" or k.startswith("gguf.")]:
            del sys.modules[k]
        sys.modules.update(ours)
    return out


def load_gguf(path, gguf_py_dir=None):
    try:
        r = gguf.Reader(path)
    except gguf.GGUFError as e:
        raise SystemExit("reference: %s" % e)
    dequantized = gguf_py_tensors(path, gguf_py_dir) if gguf_py_dir else None
    m = r.meta
    arch = m["general.architecture"]
    if arch not in ("llama", "qwen2"):
        raise SystemExit("reference: unsupported architecture %r" % arch)

    def g(k, default=None):
        return m.get(arch + "." + k, default)
    H, nh = int(g("embedding_length")), int(g("attention.head_count"))
    hd = int(g("attention.key_length", H // nh))
    emb_shape = r.shape_of("token_embd.weight")
    cfg = {
        "arch": arch, "hidden": H, "layers": int(g("block_count")), "heads": nh,
        "kv_heads": int(g("attention.head_count_kv", nh)), "head_dim": hd,
        "ffn": int(g("feed_forward_length")), "vocab": emb_shape[0],
        "eps": float(g("attention.layer_norm_rms_epsilon")), "theta": float(g("rope.freq_base", 10000.0)),
        "tied": "output.weight" not in r.tensors,
        # llama.cpp: llama uses "normal" rope (adjacent pairs; the converter
        # permuted Q/K rows), qwen2 uses NEOX rope (pairs (i, i + d/2)).
        "rope_style": "normal" if arch == "llama" else "neox",
        "rope_scaling": None, "freq_factors": None,
    }
    if int(g("rope.dimension_count", hd)) != hd:
        raise SystemExit("reference: partial rope is not supported")
    st = g("rope.scaling.type")
    if st == "linear":
        cfg["rope_scaling"] = ("linear", float(g("rope.scaling.factor")))
    elif st not in (None, "none"):
        raise SystemExit("reference: unsupported rope scaling %r" % st)
    w = {}
    for name in r.order:
        x = dequantized[name] if dequantized is not None else r.get(name)
        if name == "token_embd.weight":
            w["embed"] = x
        elif name == "output.weight":
            w["out"] = x
        elif name == "output_norm.weight":
            w["norm"] = x
        elif name == "rope_freqs.weight":
            cfg["freq_factors"] = x.astype(np.float64)
        elif name.startswith("blk."):
            parts = name.split(".")
            key = GGUF_LAYER.get(".".join(parts[2:]))
            if key is None:
                raise SystemExit("reference: unexpected tensor %s" % name)
            w[_layer_key(int(parts[1]), key)] = x
        else:
            raise SystemExit("reference: unexpected tensor %s" % name)
    if cfg["tied"]:
        w["out"] = w["embed"]
    model = Model(cfg, w)
    model.gguf_types = {n: r.type_of(n) for n in r.order}
    return model


def load(path, gguf_py_dir=None):
    if os.path.isdir(path):
        return load_hf(path)
    return load_gguf(path, gguf_py_dir)


# ---------------------------------------------------------------- quantization emulation

def emulate_quant(model, mode, out_mode):
    """llmc's compile-time quantization of a float model: every 2-D weight goes
    through quantize+dequantize in `mode`; the embedding and the output matrix
    use `out_mode` (q8_0 by default, f32 = keep float). 1-D weights stay."""
    t = {"q8_0": Q.Q8_0, "q4_0": Q.Q4_0}[mode]
    to = {"q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "f32": None}[out_mode]
    w = model.w
    for k in list(w):
        if w[k].ndim != 2:
            continue
        if k in ("embed", "out"):
            if to is not None and not (k == "out" and model.cfg["tied"]):
                w[k] = Q.roundtrip(to, w[k])
        else:
            w[k] = Q.roundtrip(t, w[k])
    if model.cfg["tied"]:
        w["out"] = w["embed"]


# ---------------------------------------------------------------- forward

def rms_norm(x, g, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g


def silu(x):
    return x / (1.0 + np.exp(-x))


def inv_freq(cfg, dt):
    d = cfg["head_dim"]
    f = 1.0 / (cfg["theta"] ** (np.arange(0, d, 2, dtype=np.float64) / d))
    rs = cfg["rope_scaling"]
    if rs and rs[0] == "linear":
        f = f / rs[1]
    elif rs and rs[0] == "llama3":
        # Hugging Face's llama3 frequency smoothing
        factor, lo, hi, orig = rs[1:]
        low_wl, high_wl = orig / lo, orig / hi
        wl = 2 * math.pi / f
        f2 = np.where(wl > low_wl, f / factor, f)
        smooth = (orig / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * f2 / factor + smooth * f2
        medium = ~(wl < high_wl) & ~(wl > low_wl)
        f = np.where(medium, smoothed, f2)
    if cfg["freq_factors"] is not None:
        f = f / cfg["freq_factors"]       # GGUF rope_freqs: theta_i / factor_i
    return f.astype(dt)


def rope(x, pos, cfg, dt):
    """x: (T, n_heads, d); pos: (T,)"""
    ang = pos.astype(dt)[:, None] * inv_freq(cfg, dt)[None, :]      # (T, d/2)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    d = x.shape[-1]
    out = np.empty_like(x)
    if cfg["rope_style"] == "neox":
        a, b = x[..., :d // 2], x[..., d // 2:]
        out[..., :d // 2] = a * cos - b * sin
        out[..., d // 2:] = b * cos + a * sin
    else:
        a, b = x[..., 0::2], x[..., 1::2]
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
    return out


# ---------------------------------------------------------------- llama.cpp emulation
#
# llama.cpp's CPU matmuls do not multiply by the float weights: they convert
# the activations to the weight type's "vec_dot" partner first (F16 -> F16,
# BF16 -> BF16, Q8_0/Q4_0 -> Q8_0 blocks of 32 with an F16 scale, Q4_K/Q6_K ->
# Q8_K blocks of 256 with an F32 scale) and multiply the integer codes. With
# --emulate-llamacpp the reference rounds its activations the same way
# (x86 rounding: Q8_0 uses id = 127/amax and round-half-even, Q8_K
# iscale = -127/max and round-half-even), so what is left between the two is
# float32 accumulation order. This is only a tool to check that llama.cpp
# and the reference read the same weights; the plain reference is the truth.

def act_q8_0(x):
    shp = x.shape
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        idv = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(b * idv[:, None])
    d16 = d.astype(np.float16).astype(np.float64)
    return (q.astype(np.float64) * d16[:, None]).reshape(shp)


def act_q8_f32(x):
    """llmc's activation quantization (its documented semantics, for
    --act-quant): blocks of 32, scale amax/127 kept in f32, codes rounded
    half to even."""
    shp = x.shape
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = np.rint(b * inv[:, None])
    return (q.astype(np.float64) * d.astype(np.float64)[:, None]).reshape(shp)


def act_q8_k(x):
    shp = x.shape
    b = x.astype(np.float32).reshape(-1, 256)
    idx = np.argmax(np.abs(b), axis=1)
    mx = b[np.arange(b.shape[0]), idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(mx != 0, np.float32(-127) / mx, np.float32(0)).astype(np.float32)
        d = np.where(iscale != 0, np.float32(1) / iscale, np.float32(0)).astype(np.float32)
    q = np.minimum(np.rint(b * iscale[:, None]), 127)
    return (q.astype(np.float64) * d.astype(np.float64)[:, None]).reshape(shp)


def act_round(x, t):
    if t == Q.F32:
        return x
    if t == Q.F16:
        return x.astype(np.float16).astype(x.dtype)
    if t == Q.BF16:
        return Q.bf16_bits_to_f32(Q.f32_to_bf16_bits(x)).astype(x.dtype)
    if t in (Q.Q8_0, Q.Q4_0):
        return act_q8_0(x).astype(x.dtype)
    if t in (Q.Q4_K, Q.Q6_K):
        return act_q8_k(x).astype(x.dtype)
    raise ValueError(t)


GGUF_OF = {v: k for k, v in GGUF_LAYER.items()}


def weight_type(model, key):
    types = getattr(model, "gguf_types", None)
    if types is None:
        return Q.F32
    if key == "out":
        return types.get("output.weight", types["token_embd.weight"])
    l, k = key.split(".", 1)
    return types["blk.%s.%s" % (l, GGUF_OF[k])]


class Runner:
    def __init__(self, model, dt=np.float64, kv_f16=False, act_quant=False):
        self.m, self.dt, self.kv_f16, self.act_quant = model, dt, kv_f16, act_quant
        c = model.cfg
        self.k_cache = [np.zeros((0, c["kv_heads"], c["head_dim"]), dt) for _ in range(c["layers"])]
        self.v_cache = [np.zeros((0, c["kv_heads"], c["head_dim"]), dt) for _ in range(c["layers"])]
        self.n_past = 0
        self.ties = None

    def lin(self, x, key, bias=None):
        if self.act_quant == "q8":
            self._record_ties(x, key)
            x = act_q8_f32(x).astype(x.dtype)
        elif self.act_quant is True:  # --emulate-llamacpp
            x = act_round(x, weight_type(self.m, key))
        wt = self.m.w[key]
        if self.act_quant == "f16-products":
            # CUDA's tensor-core prefill: both operands staged as f16
            x = x.astype(np.float16).astype(x.dtype)
            wt = wt.astype(np.float16)
        y = x @ wt.T.astype(self.dt, copy=False)
        if bias is not None and bias in self.m.w:
            y = y + self.m.w[bias].astype(self.dt)
        return y

    def _record_ties(self, x, key):
        """How close each row's int8 codes came to a rounding boundary (in code
        units): a code within float32 error of x.5 may round the other way in
        an implementation that computed x in another order."""
        b = x.astype(np.float32).reshape(x.shape[0], -1, 32)
        amax = np.abs(b).max(axis=2)
        d = (amax / np.float32(127)).astype(np.float32)
        with np.errstate(divide="ignore"):
            inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
        v = (b * inv[:, :, None]).astype(np.float64)
        dist = np.abs(np.abs(v - np.floor(v)) - 0.5).reshape(x.shape[0], -1).min(axis=1)
        # A flip before the last layer's attention reaches later positions
        # through the KV cache; after it, only its own row.
        last = "%d." % (self.m.cfg["layers"] - 1)
        local = key == "out" or (key.startswith(last) and key[len(last):] in
                                 ("wo", "w_gate", "w_up", "w_down"))
        if not local:
            dist = np.minimum.accumulate(dist)
        self.ties = dist if self.ties is None else np.minimum(self.ties, dist)

    def forward(self, tokens):
        """Appends tokens at positions n_past.. and returns their logits (T, vocab)."""
        self.ties = None
        c, w, dt = self.m.cfg, self.m.w, self.dt
        T = len(tokens)
        nh, nkv, hd = c["heads"], c["kv_heads"], c["head_dim"]
        pos = np.arange(self.n_past, self.n_past + T)
        x = w["embed"][np.asarray(tokens)].astype(dt)
        for l in range(c["layers"]):
            k_ = lambda s: _layer_key(l, s)  # noqa: E731
            h = rms_norm(x, w[k_("attn_norm")].astype(dt), c["eps"])
            q = self.lin(h, k_("wq"), k_("bq")).reshape(T, nh, hd)
            k = self.lin(h, k_("wk"), k_("bk")).reshape(T, nkv, hd)
            v = self.lin(h, k_("wv"), k_("bv")).reshape(T, nkv, hd)
            q, k = rope(q, pos, c, dt), rope(k, pos, c, dt)
            if self.kv_f16:
                # llama.cpp on CPU: F16 KV cache, and the K*Q and V*P matmuls
                # convert their other operand (Q, softmax P) to F16 as well
                k, v, q = (a.astype(np.float16).astype(dt) for a in (k, v, q))
            K = self.k_cache[l] = np.concatenate([self.k_cache[l], k])
            V = self.v_cache[l] = np.concatenate([self.v_cache[l], v])
            S = K.shape[0]
            group = nh // nkv
            Kh = np.repeat(K, group, axis=1)                 # (S, nh, hd): head j uses kv head j // group
            Vh = np.repeat(V, group, axis=1)
            scores = np.einsum("thd,shd->hts", q, Kh) / math.sqrt(hd)
            mask = np.arange(S)[None, :] > pos[:, None]      # causal: key position > query position
            scores = np.where(mask[None], -np.inf, scores)
            scores = scores - scores.max(axis=-1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=-1, keepdims=True)
            if self.kv_f16:
                p = p.astype(np.float16).astype(dt)
            att = np.einsum("hts,shd->thd", p, Vh).reshape(T, nh * hd)
            x = x + self.lin(att, k_("wo"), k_("bo"))
            h = rms_norm(x, w[k_("ffn_norm")].astype(dt), c["eps"])
            x = x + self.lin(silu(self.lin(h, k_("w_gate"))) * self.lin(h, k_("w_up")), k_("w_down"))
        self.n_past += T
        return self.lin(rms_norm(x, w["norm"].astype(dt), c["eps"]), "out")


def margin(row):
    top2 = np.partition(row, -2)[-2:]
    return float(top2[1] - top2[0])


def run(model, tokens, n, dt=np.float64, kv_f16=False, act_quant=False):
    r = Runner(model, dt, kv_f16, act_quant)
    logits = r.forward(tokens)
    run.ties = r.ties
    gen, margins = [], []
    last = logits[-1]
    for i in range(n):
        t = int(np.argmax(last))
        gen.append(t)
        margins.append(margin(last))
        if i + 1 < n:
            last = r.forward([t])[-1]
    return logits, gen, margins


def perplexity(model, tokens, bos, ctx, second_half, dt, kv_f16, act_quant):
    """Same windows as bench/llamacpp/oracle.mjs perplexity: consecutive
    non-overlapping windows of ctx tokens (BOS + ctx-1 text tokens when the
    model adds BOS), each evaluated from an empty cache; every position but
    the last predicts the next token (--second-half: only the second half)."""
    body = ctx - 1 if bos is not None else ctx
    n_win = len(tokens) // body
    if n_win < 1:
        raise SystemExit("reference: text has %d tokens, fewer than one window of %d" % (len(tokens), body))
    nll, count, per = 0.0, 0, []
    for c in range(n_win):
        win = tokens[c * body:(c + 1) * body]
        inp = ([bos] if bos is not None else []) + win
        logits = Runner(model, dt, kv_f16, act_quant).forward(inp).astype(np.float64)
        first = len(inp) // 2 if second_half else 0
        lp = logits[first:-1]
        mx = lp.max(axis=1, keepdims=True)
        lse = (mx[:, 0] + np.log(np.exp(lp - mx).sum(axis=1)))
        tgt = np.asarray(inp[first + 1:])
        w_nll = float((lse - lp[np.arange(len(tgt)), tgt]).sum())
        nll += w_nll
        count += len(tgt)
        per.append(math.exp(w_nll / len(tgt)))
    return {"ppl": math.exp(nll / count), "nll_mean": nll / count, "tokens_scored": count,
            "windows": n_win, "ctx": ctx, "bos": bos is not None, "window_ppl": per}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokens", help="comma-separated prompt token ids")
    ap.add_argument("--text-file", help="with --perplexity: text tokenized by tools/gen-model/tokenize_ref.py")
    ap.add_argument("--perplexity", action="store_true")
    ap.add_argument("--ctx", type=int, default=128, help="--perplexity window length")
    ap.add_argument("--second-half", action="store_true", help="--perplexity: score the second half of each window")
    ap.add_argument("-n", type=int, default=0, help="greedy tokens to generate")
    ap.add_argument("--dump-logits", help="write the prompt's logits as raw little-endian float32 [T x vocab]")
    ap.add_argument("--dump-ties", help="with --act-quant: write, per prompt row, how close (in int8 "
                    "code units) an activation that row depends on came to a rounding boundary, "
                    "as little-endian float64 [T]")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quantize", choices=["q8_0", "q4_0"])
    ap.add_argument("--gguf-py", metavar="DIR",
                    help="dequantize a GGUF file's tensors with llama.cpp's gguf-py package in DIR "
                         "instead of tools/gen-model's reader (any type gguf-py knows)")
    ap.add_argument("--quant-output", choices=["q8_0", "f32"], default="q8_0")
    ap.add_argument("--precision", choices=["f64", "f32"], default="f64")
    ap.add_argument("--f16-attention", dest="kv_f16", action="store_true",
                    help="emulate llama.cpp's CPU attention precision: K, V, Q and the softmax "
                         "probabilities rounded to float16 (F16 KV cache)")
    ap.add_argument("--act-quant", choices=["q8", "f16-products"],
                    help="q8: round the input of every linear layer to int8 blocks of 32 with an "
                         "f32 scale (amax/127, round half to even), as llmc's integer matmuls on "
                         "Q8_0/Q4_0 weights do; f16-products: round both operands of every linear "
                         "layer to f16 (f32 accumulation), as CUDA's tensor-core prefill does")
    ap.add_argument("--emulate-llamacpp", action="store_true",
                    help="--f16-attention, and round activations before each matmul as llama.cpp's "
                         "CPU kernels do for the weight's type (Q8_0 / Q8_K / F16 / BF16)")
    args = ap.parse_args(argv)
    if args.perplexity:
        if not args.text_file:
            raise SystemExit("reference: --perplexity needs --text-file")
        import tokenize_ref
        tk = tokenize_ref.load(args.model)
        with open(args.text_file, encoding="utf-8") as f:
            text = f.read()
        import tokenizer_gen
        toks = tokenizer_gen.Encoder(tk).encode(text, add_bos=False)
        model = load(args.model)
        bos = tk["bos"] if tk["add_bos"] else None
        dt = np.float64 if args.precision == "f64" else np.float32
        print(json.dumps(perplexity(model, toks, bos, args.ctx, args.second_half, dt,
                                    args.kv_f16 or args.emulate_llamacpp,
                                    args.act_quant or args.emulate_llamacpp)))
        return
    if not args.tokens:
        raise SystemExit("reference: give --tokens (or --perplexity --text-file)")
    try:
        tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    except ValueError:
        raise SystemExit("reference: --tokens wants comma-separated integers")
    if not tokens:
        raise SystemExit("reference: empty prompt")
    model = load(args.model, args.gguf_py)
    V = model.w["embed"].shape[0]
    bad = [t for t in tokens if t < 0 or t >= V]
    if bad:
        raise SystemExit("reference: token ids out of range [0, %d): %s" % (V, bad))
    if args.quantize:
        if os.path.isdir(args.model) is False:
            raise SystemExit("reference: --quantize applies to float (Hugging Face) models")
        emulate_quant(model, args.quantize, args.quant_output)
    dt = np.float64 if args.precision == "f64" else np.float32
    logits, gen, margins = run(model, tokens, args.n, dt, args.kv_f16 or args.emulate_llamacpp,
                               args.act_quant or args.emulate_llamacpp)
    if args.dump_logits:
        logits.astype("<f4").tofile(args.dump_logits)
    if args.dump_ties:
        if run.ties is None:
            raise SystemExit("reference: --dump-ties needs --act-quant")
        run.ties.astype("<f8").tofile(args.dump_ties)
    if args.json:
        print(json.dumps({"prompt": tokens, "generated": gen, "margins": [round(m, 6) for m in margins]}))
    else:
        if args.n:
            print("generated:", ",".join(map(str, gen)))
            print("margins:", " ".join("%.3f" % m for m in margins))
        last = logits[-1]
        top = np.argsort(-last)[:5]
        print("last position top-5:", " ".join("%d:%.4f" % (t, last[t]) for t in top))


if __name__ == "__main__":
    main()
