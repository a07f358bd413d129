#!/usr/bin/python3
"""Checks llmc's decoding of model tensors against independent readers.

  check_weights.py --llmc LLMC --hf HF_DIR --gguf FILE.gguf [--exact-hf]

For every weight of the GGUF file, llmc's decoded values (llmc inspect
--dump-tensor, the C++ readers and dequantizers) must equal the numpy GGUF
reader's (tools/gen-model, written separately from the GGUF description). With
--exact-hf the GGUF holds the same f32 values as the HF folder: each GGUF
tensor must then equal the HF tensor, after llama.cpp's Q/K row permutation
for attn_q/attn_k (so rope can rotate adjacent pairs).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "gen-model"))
import gguf  # noqa: E402

HF_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}


def hf_name(name):
    if name.startswith("blk."):
        _, layer, rest = name.split(".", 2)
        return f"model.layers.{layer}.{HF_NAMES[rest]}"
    return HF_NAMES[name]


def permute_rows(w, heads):
    """llama.cpp's converter: rows of each head reordered so that rope's
    rotate-half pairs (i, i + d/2) become adjacent pairs (2i, 2i + 1)."""
    rows = w.shape[0]
    return (w.reshape(heads, 2, rows // heads // 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def llmc_tensor(llmc, model, name, tmp):
    out = os.path.join(tmp, "t.bin")
    subprocess.run([llmc, "inspect", model, "--dump-tensor", name, "--out", out],
                   check=True, capture_output=True)
    return np.fromfile(out, dtype="<f4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmc", default="llmc")
    ap.add_argument("--hf", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--exact-hf", action="store_true")
    args = ap.parse_args()

    reader = gguf.Reader(args.gguf)
    cfg = json.load(open(os.path.join(args.hf, "config.json")))
    heads, kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hf = {}
    if args.exact_hf:
        sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "gen-model"))
        import safetensors_io
        st = safetensors_io.Reader(os.path.join(args.hf, "model.safetensors"))
        hf = {n: st.get(n) for n in st.names()}
    checked, types = 0, set()
    with tempfile.TemporaryDirectory() as tmp:
        for name in reader.order:
            ours = llmc_tensor(args.llmc, args.gguf, name, tmp)
            theirs = np.asarray(reader.get(name), dtype=np.float32).reshape(-1)
            types.add(reader.type_of(name))
            if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
                print(f"FAIL: {name}: llmc's decoding differs from numpy's "
                      f"(max diff {np.max(np.abs(ours - theirs)):.3g})")
                sys.exit(1)
            if args.exact_hf:
                ref = np.asarray(hf[hf_name(name)], dtype=np.float32)
                if name.endswith("attn_q.weight"):
                    ref = permute_rows(ref, heads)
                elif name.endswith("attn_k.weight"):
                    ref = permute_rows(ref, kv_heads)
                if not np.array_equal(ours, ref.reshape(-1)):
                    print(f"FAIL: {name} differs from HF's {hf_name(name)} after the permutation")
                    sys.exit(1)
            checked += 1
    print(f"OK: {checked} tensors decoded identically"
          + (" and equal to the HF folder after the Q/K permutation" if args.exact_hf else "")
          + f"; GGUF types {sorted(gguf_type_names(types))}")


def gguf_type_names(types):
    names = {0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 30: "BF16"}
    return [names.get(t, str(t)) for t in types]


if __name__ == "__main__":
    main()
