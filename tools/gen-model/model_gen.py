"""Model specification, presets and the deterministic weight generator.

Every tensor is generated from its own random stream, seeded from
(seed, Hugging Face tensor name), so tensors can be produced in any order,
one at a time and in row chunks, and the same seed always gives the same
float32 "master" weights whatever the output format. Values come from the raw
64-bit PCG64 stream (a fixed algorithm, stable across numpy versions) turned
into approximately normal numbers by the sum of four 16-bit uniforms
(Irwin-Hall, variance 1, tails bounded at +-3.46).

Scaling (chosen so that a forward pass has peaked next-token distributions and
well-conditioned activations; see README.md):
  embedding       N(0,1) per entry (untied); the residual stream has rms ~1
  norm weights    1 + 0.1 N(0,1)
  q, k            N(0,1) / sqrt(hidden)         attention logits std ~1
  v, gate, up     N(0,1) / sqrt(hidden)
  o, down         N(0,1) / sqrt(fan_in) * BRANCH / sqrt(2 * layers)
                  (down also divided by the rms of silu(g)*u, ~0.6)
  lm_head         r_i * N(0,1) * LOGIT_SCALE / sqrt(hidden), with per-row
                  log-normal factors r_i = exp(0.5 N(0,1)) (normalized to rms 1):
                  heavy-tailed logits -> clear top-1/top-2 margins
  tied models     the embedding is the output matrix (rows scaled as lm_head)
  biases          q, k: 0.3 N(0,1); v: 0.1 N(0,1); o (llama only): 0.05 N(0,1)
"""
import hashlib
import math

import numpy as np

BRANCH = 2.0
LOGIT_SCALE = 5.0
ROW_SIGMA = 0.6
SILU_GLU_RMS = 0.6    # approximate rms of silu(g) * u for g, u ~ N(0, 1)
# Tied models read the output matrix as their input embedding, so the last
# hidden state keeps a component along its own token's row: larger branches
# and milder row factors keep greedy decoding from repeating the last token.
TIED_BRANCH = 4.0
TIED_ROW_SIGMA = 0.4
TIED_LOGIT_SCALE = 5.0
QK_SCALE = 1.4        # q, k entries ~ QK_SCALE / sqrt(hidden): attention logits std ~2
ATTN_GAIN = 2.0       # o_proj gain: attention averages values, which shrinks them

PRESETS = {
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, ffn=160, vocab=320, ctx=512,
                 rope_theta=10000.0),
    "tiny-mha": dict(hidden=64, layers=2, heads=4, kv_heads=4, ffn=160, vocab=320, ctx=512,
                     rope_theta=10000.0),
    "small": dict(hidden=256, layers=4, heads=8, kv_heads=2, ffn=512, vocab=1024, ctx=1024,
                  rope_theta=10000.0),
    "tinyllama": dict(hidden=2048, layers=22, heads=32, kv_heads=4, ffn=5632, vocab=32000, ctx=2048,
                      rope_theta=10000.0),
    "7b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, ffn=14336, vocab=32000, ctx=4096,
               rope_theta=500000.0),
}


class Spec:
    def __init__(self, preset="tiny", **kw):
        if preset not in PRESETS:
            raise ValueError("unknown preset %r (have: %s)" % (preset, ", ".join(PRESETS)))
        p = dict(PRESETS[preset])
        self.preset = preset
        self.arch = "llama"
        self.hidden = p["hidden"]
        self.layers = p["layers"]
        self.heads = p["heads"]
        self.kv_heads = p["kv_heads"]
        self.head_dim = None
        self.ffn = p["ffn"]
        self.vocab = p["vocab"]
        self.ctx = p["ctx"]
        self.rope_theta = p["rope_theta"]
        self.rms_eps = 1e-5
        self.tied = False
        self.bias = False
        self.rope_scaling = None      # None | dict(type=linear, factor) | dict(type=llama3, ...)
        for k, v in kw.items():
            if v is not None:
                setattr(self, k, v)
        if self.arch == "qwen2":
            self.bias = True
        if self.head_dim is None:
            if self.hidden % self.heads:
                raise ValueError("hidden %d is not a multiple of heads %d; give --head-dim" % (self.hidden, self.heads))
            self.head_dim = self.hidden // self.heads
        if self.heads % self.kv_heads:
            raise ValueError("heads %d is not a multiple of kv heads %d" % (self.heads, self.kv_heads))
        if self.head_dim % 2:
            raise ValueError("head_dim must be even")
        if self.arch not in ("llama", "qwen2"):
            raise ValueError("arch must be llama or qwen2")

    # -------------------------------------------------- tensors (HF names, numpy shapes)
    def tensors(self):
        H, D, F, V = self.hidden, self.head_dim, self.ffn, self.vocab
        q, kv = self.heads * D, self.kv_heads * D
        out = [("model.embed_tokens.weight", (V, H))]
        for i in range(self.layers):
            p = "model.layers.%d." % i
            out.append((p + "input_layernorm.weight", (H,)))
            out.append((p + "self_attn.q_proj.weight", (q, H)))
            if self.bias:
                out.append((p + "self_attn.q_proj.bias", (q,)))
            out.append((p + "self_attn.k_proj.weight", (kv, H)))
            if self.bias:
                out.append((p + "self_attn.k_proj.bias", (kv,)))
            out.append((p + "self_attn.v_proj.weight", (kv, H)))
            if self.bias:
                out.append((p + "self_attn.v_proj.bias", (kv,)))
            out.append((p + "self_attn.o_proj.weight", (H, q)))
            if self.bias and self.arch == "llama":
                out.append((p + "self_attn.o_proj.bias", (H,)))
            out.append((p + "post_attention_layernorm.weight", (H,)))
            out.append((p + "mlp.gate_proj.weight", (F, H)))
            out.append((p + "mlp.up_proj.weight", (F, H)))
            out.append((p + "mlp.down_proj.weight", (H, F)))
        out.append(("model.norm.weight", (H,)))
        if not self.tied:
            out.append(("lm_head.weight", (V, H)))
        return out

    def param_count(self):
        return sum(int(np.prod(s)) for _, s in self.tensors())

    # -------------------------------------------------- rope
    def rope_freq_factors(self):
        """llama3 scaling as per-frequency divisors of the inverse frequency
        (what a GGUF rope_freqs tensor holds), or None."""
        rs = self.rope_scaling
        if not rs or rs["type"] != "llama3":
            return None
        d = self.head_dim
        inv = 1.0 / (self.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
        factor, lo, hi, orig = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        low_wl, high_wl = orig / lo, orig / hi
        out = []
        for f in inv:
            wl = 2 * math.pi / f
            if wl < high_wl:
                out.append(1.0)
            elif wl > low_wl:
                out.append(factor)
            else:
                s = (orig / wl - lo) / (hi - lo)
                out.append(1.0 / ((1 - s) / factor + s))
        return np.array(out, dtype=np.float32)


def _stream(seed, name):
    h = hashlib.sha256(("llmc-gen-model:%d:%s" % (seed, name)).encode()).digest()
    return np.random.PCG64(np.random.SeedSequence(int.from_bytes(h[:16], "little")))


def _normal(bitgen, n):
    """n approximately standard normal float32 values from the raw stream:
    each 64-bit word gives four 16-bit uniforms, summed (Irwin-Hall)."""
    r = bitgen.random_raw(n)
    a = r.view("<u2").reshape(n, 4) if r.dtype.byteorder in "=<" else r.astype("<u8").view("<u2").reshape(n, 4)
    s = a[:, 0].astype(np.int32)
    s += a[:, 1]
    s += a[:, 2]
    s += a[:, 3]
    x = s.astype(np.float32)
    # ((s + 2) / 65536 - 2) * sqrt(3): four uniforms on (0, 1) centred, variance 1
    x += np.float32(2.0 - 2.0 * 65536)
    x *= np.float32(math.sqrt(3.0) / 65536)
    return x


def _row_factors(seed, name, rows, sigma):
    z = _normal(_stream(seed, name + "#rows"), rows).astype(np.float64)
    r = np.exp(sigma * z)
    r /= np.sqrt(np.mean(r * r))
    return r.astype(np.float32)


class Generator:
    def __init__(self, spec, seed, zero_branches=False):
        self.spec, self.seed, self.zero_branches = spec, seed, zero_branches

    def scale(self, name, shape):
        """(per-entry scale, offset, per-row factors name or None)."""
        s = self.spec
        L = s.layers
        branch = (TIED_BRANCH if s.tied else BRANCH) / math.sqrt(2 * L)
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            return 0.1, 1.0, None
        if name == "model.embed_tokens.weight":
            if s.tied:
                return TIED_LOGIT_SCALE / math.sqrt(s.hidden), 0.0, "model.embed_tokens.weight"
            return 1.0, 0.0, None
        if name == "lm_head.weight":
            return LOGIT_SCALE / math.sqrt(s.hidden), 0.0, "lm_head.weight"
        if name.endswith("q_proj.bias") or name.endswith("k_proj.bias"):
            return 0.3, 0.0, None
        if name.endswith("v_proj.bias"):
            return 0.1, 0.0, None
        if name.endswith("o_proj.bias"):
            return 0.05, 0.0, None
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            return QK_SCALE / math.sqrt(shape[1]), 0.0, None
        if name.endswith(("v_proj.weight", "gate_proj.weight", "up_proj.weight")):
            return 1.0 / math.sqrt(shape[1]), 0.0, None
        if name.endswith("o_proj.weight"):
            return ATTN_GAIN * branch / math.sqrt(shape[1]), 0.0, None
        if name.endswith("down_proj.weight"):
            return branch / SILU_GLU_RMS / math.sqrt(shape[1]), 0.0, None
        raise KeyError(name)

    def rows(self, name, shape, start, stop):
        """Rows [start, stop) of tensor `name` (float32, HF layout). 1-D
        tensors are one row. Chunks concatenate to the whole tensor."""
        cols = shape[-1] if len(shape) == 2 else shape[0]
        if len(shape) == 1:
            assert (start, stop) == (0, 1)
        bg = _stream(self.seed, name)
        if start:
            bg.advance(start * cols)
        x = _normal(bg, (stop - start) * cols).reshape(stop - start, cols)
        sc, off, rowf = self.scale(name, shape)
        if self.zero_branches and name.endswith(("o_proj.weight", "down_proj.weight", "o_proj.bias")):
            sc = 0.0
        x *= np.float32(sc)
        if rowf:
            sigma = TIED_ROW_SIGMA if self.spec.tied else ROW_SIGMA
            x *= _row_factors(self.seed, rowf, shape[0], sigma)[start:stop, None]
        if off:
            x += np.float32(off)
        return x if len(shape) == 2 else x.reshape(cols)

    def tensor(self, name, shape):
        return self.rows(name, shape, 0, shape[0] if len(shape) == 2 else 1)

    def chunks(self, name, shape, max_elems=1 << 24):
        """Yields (start, rows) chunks of at most ~max_elems values."""
        if len(shape) == 1:
            yield 0, self.tensor(name, shape)
            return
        step = max(1, max_elems // shape[1])
        for a in range(0, shape[0], step):
            b = min(shape[0], a + step)
            yield a, self.rows(name, shape, a, b)
