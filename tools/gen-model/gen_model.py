#!/usr/bin/python3
"""llmc's synthetic model generator: deterministic Llama / Qwen2 models with
peaked logits, written as a Hugging Face folder or a GGUF file.

  gen_model.py --preset tiny --seed 1 --format hf --out DIR
  gen_model.py --preset small --seed 1 --format gguf --gguf-type q4_k_m --out M.gguf

See README.md next to this file.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import gguf  # noqa: E402
import model_gen  # noqa: E402
import quants as Q  # noqa: E402
import safetensors_io  # noqa: E402
import tokenizer_gen  # noqa: E402

# HF name -> GGUF name
def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    i, rest = parts[2], ".".join(parts[3:])
    m = {
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.o_proj.weight": "attn_output.weight", "self_attn.o_proj.bias": "attn_output.bias",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    }[rest]
    return "blk.%s.%s" % (i, m)


def permute_qk(w, n_head):
    """llama.cpp's convert_hf_to_gguf permutation of llama Q/K rows (and
    biases): per head, rows (2, head_dim/2) -> (head_dim/2, 2), so that the
    rotate_half pairs (i, i + d/2) of HF become adjacent pairs (2i, 2i+1)."""
    shape = w.shape
    return (w.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:])
             .swapaxes(1, 2).reshape(shape))


def add_shape_metadata(w, arch, *, vocab, ctx, hidden, layers, ffn, heads, kv_heads,
                       head_dim, rope_theta, rms_eps):
    """The ARCH.* keys llama.cpp reads for a Llama/Qwen2 model's shape."""
    U32, F32 = gguf.UINT32, gguf.FLOAT32
    w.add(arch + ".vocab_size", U32, vocab)
    w.add(arch + ".context_length", U32, ctx)
    w.add(arch + ".embedding_length", U32, hidden)
    w.add(arch + ".block_count", U32, layers)
    w.add(arch + ".feed_forward_length", U32, ffn)
    w.add(arch + ".attention.head_count", U32, heads)
    w.add(arch + ".attention.head_count_kv", U32, kv_heads)
    if head_dim * heads != hidden:
        w.add(arch + ".attention.key_length", U32, head_dim)
        w.add(arch + ".attention.value_length", U32, head_dim)
    w.add(arch + ".rope.freq_base", F32, float(rope_theta))
    w.add(arch + ".rope.dimension_count", U32, head_dim)
    w.add(arch + ".attention.layer_norm_rms_epsilon", F32, float(rms_eps))


FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "q4_k_m": 15, "bf16": 32}


def use_more_bits(i, n):
    # llama.cpp's rule for the layers that get more bits in Q4_K_M
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def name_matches(name, pat):
    """PATTERN of --debug-tensor-type: a GGUF tensor name or its prefix up to
    a dot ("output" = output.weight, "attn_v" = every blk.N.attn_v.weight,
    "blk.0.attn_q" = that one)."""
    if name == pat or name.startswith(pat + "."):
        return True
    if name.startswith("blk."):
        rest = name.split(".", 2)[2]
        return rest == pat or rest.startswith(pat + ".")
    return False


def gguf_tensor_type(spec, hf, shape, gtype, overrides=()):
    if len(shape) == 1:
        return Q.F32
    for pat, t in overrides:
        if name_matches(gguf_name(hf), pat):
            if shape[1] % Q.TYPES[t][1]:
                raise SystemExit("gen_model: %s rows of %d do not fit %s blocks" % (hf, shape[1], Q.type_name(t)))
            return t
    simple = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0}
    if gtype in simple:
        return simple[gtype]
    is_output = hf == "lm_head.weight" or (spec.tied and hf == "model.embed_tokens.weight")
    if gtype == "q4_0":
        if is_output:
            return Q.Q6_K if shape[1] % 256 == 0 else Q.Q8_0
        return Q.Q4_0
    if gtype == "q4_k_m":
        if shape[1] % 256:
            raise SystemExit("gen_model: --gguf-type q4_k_m needs row lengths that are multiples of 256; "
                             "%s has rows of %d" % (hf, shape[1]))
        if is_output:
            return Q.Q6_K
        if hf.endswith(("v_proj.weight", "down_proj.weight")):
            layer = int(hf.split(".")[2])
            if use_more_bits(layer, spec.layers):
                return Q.Q6_K
        return Q.Q4_K
    raise SystemExit("gen_model: unknown --gguf-type %s" % gtype)


# ---------------------------------------------------------------- HF folder

def hf_config(spec, tk, dtype):
    torch_dtype = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype]
    cfg = {
        "architectures": ["Qwen2ForCausalLM" if spec.arch == "qwen2" else "LlamaForCausalLM"],
        "model_type": spec.arch,
        "hidden_size": spec.hidden,
        "intermediate_size": spec.ffn,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads,
        "head_dim": spec.head_dim,
        "max_position_embeddings": spec.ctx,
        "rms_norm_eps": spec.rms_eps,
        "rope_theta": spec.rope_theta,
        "rope_scaling": None,
        "tie_word_embeddings": spec.tied,
        "vocab_size": spec.vocab,
        "bos_token_id": tk["bos"],
        "eos_token_id": tk["eos"],
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "torch_dtype": torch_dtype,
        "use_cache": True,
        "transformers_version": "4.45.0",
    }
    if spec.arch == "llama":
        cfg["attention_bias"] = spec.bias
        cfg["attention_dropout"] = 0.0
        cfg["mlp_bias"] = False
        cfg["pretraining_tp"] = 1
    else:
        cfg["use_sliding_window"] = False
        cfg["sliding_window"] = spec.ctx
        cfg["max_window_layers"] = spec.layers
        cfg["attention_dropout"] = 0.0
    rs = spec.rope_scaling
    if rs and rs["type"] == "linear":
        cfg["rope_scaling"] = {"rope_type": "linear", "factor": rs["factor"]}
    elif rs and rs["type"] == "llama3":
        cfg["rope_scaling"] = {"rope_type": "llama3", "factor": rs["factor"],
                               "low_freq_factor": rs["low_freq_factor"],
                               "high_freq_factor": rs["high_freq_factor"],
                               "original_max_position_embeddings": rs["original_max_position_embeddings"]}
    return cfg


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def write_hf(spec, gen, tk, args):
    out = args.out
    os.makedirs(out, exist_ok=True)
    st_dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[args.dtype]
    tensors = spec.tensors()
    n = args.shards
    if n < 1 or n > len(tensors):
        raise SystemExit("gen_model: --shards must be between 1 and %d" % len(tensors))
    # contiguous groups of about equal size
    sizes = [int(np.prod(s)) for _, s in tensors]
    total = sum(sizes)
    groups = [[] for _ in range(n)]
    acc = 0
    g = 0
    for (name, shape), sz in zip(tensors, sizes):
        remaining_tensors = len(tensors) - sum(len(x) for x in groups)
        if g < n - 1 and groups[g] and (acc >= total * (g + 1) / n or remaining_tensors <= n - 1 - g):
            g += 1
        groups[g].append((name, shape))
        acc += sz
    files = ["model.safetensors"] if n == 1 else \
        ["model-%05d-of-%05d.safetensors" % (k + 1, n) for k in range(n)]
    weight_map = {}
    for fname, group in zip(files, groups):
        w = safetensors_io.Writer(os.path.join(out, fname), {"format": "pt"})
        for name, shape in group:
            w.add(name, shape, st_dtype)
            weight_map[name] = fname
        w.write_header()
        for name, shape in group:
            if len(shape) == 2:
                w.f.flush()
                for _, rows in gen.chunks(name, shape):
                    w.f.write(memoryview(safetensors_io.encode(st_dtype, rows)))
                w._i += 1
            else:
                w.write_tensor(name, gen.tensor(name, shape))
        w.close()
    if n > 1:
        write_json(os.path.join(out, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total * safetensors_io.DTYPES[st_dtype]},
                    "weight_map": dict(sorted(weight_map.items()))})
    write_json(os.path.join(out, "config.json"), hf_config(spec, tk, args.dtype))
    write_json(os.path.join(out, "generation_config.json"),
               {"bos_token_id": tk["bos"], "eos_token_id": tk["eos"], "do_sample": False,
                "transformers_version": "4.45.0"})
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_gen.tokenizer_json(tk))
    write_json(os.path.join(out, "tokenizer_config.json"), tokenizer_gen.tokenizer_config(tk, spec.arch, spec.ctx))
    write_json(os.path.join(out, "special_tokens_map.json"),
               {k: v for k, v in (("bos_token", tk["tokens"][tk["bos"]] if tk.get("add_bos") else None),
                                  ("eos_token", tk["tokens"][tk["eos"]]),
                                  ("unk_token", "<unk>" if tk["flavor"] == "spm" else None)) if v})


# ---------------------------------------------------------------- GGUF

def write_gguf(spec, gen, tk, args):
    arch = spec.arch
    gt = args.gguf_type
    if arch == "qwen2" and spec.rope_scaling and spec.rope_scaling["type"] == "llama3":
        raise SystemExit("gen_model: llama3 rope scaling is written as a rope_freqs tensor, "
                         "which llama.cpp's qwen2 does not load; use --arch llama or linear scaling")
    w = gguf.Writer(args.out, version=args.gguf_version, alignment=args.gguf_alignment)
    U32, F32, STR, BOOL, ARR = gguf.UINT32, gguf.FLOAT32, gguf.STRING, gguf.BOOL, gguf.ARRAY
    w.add("general.architecture", STR, arch)
    w.add("general.name", STR, "llmc-gen-%s-seed%d" % (spec.preset, args.seed))
    w.add("general.file_type", U32, FILE_TYPE[gt])
    if gt.startswith("q"):
        w.add("general.quantization_version", U32, 2)
    if args.gguf_alignment != 32:
        w.add("general.alignment", U32, args.gguf_alignment)
    add_shape_metadata(w, arch, vocab=spec.vocab, ctx=spec.ctx, hidden=spec.hidden,
                       layers=spec.layers, ffn=spec.ffn, heads=spec.heads,
                       kv_heads=spec.kv_heads, head_dim=spec.head_dim,
                       rope_theta=spec.rope_theta, rms_eps=spec.rms_eps)
    rs = spec.rope_scaling
    if rs and rs["type"] == "linear":
        w.add(arch + ".rope.scaling.type", STR, "linear")
        w.add(arch + ".rope.scaling.factor", F32, float(rs["factor"]))
    # tokenizer, padded to the model's vocab as llama.cpp's converter does
    tokens = list(tk["tokens"])
    types = list(tk["types"])
    scores = list(tk["scores"]) if tk["scores"] is not None else None
    for i in range(len(tokens), spec.vocab):
        tokens.append("[PAD%d]" % i)
        types.append(tokenizer_gen.TT_UNUSED)
        if scores is not None:
            scores.append(-1000.0)
    if len(tokens) > spec.vocab:
        raise SystemExit("gen_model: tokenizer has %d tokens, more than --vocab %d" % (len(tokens), spec.vocab))
    if tk["flavor"] == "spm":
        w.add("tokenizer.ggml.model", STR, "llama")
        w.add("tokenizer.ggml.tokens", ARR, tokens, STR)
        w.add("tokenizer.ggml.scores", ARR, scores, F32)
        w.add("tokenizer.ggml.token_type", ARR, types, gguf.INT32)
        w.add("tokenizer.ggml.unknown_token_id", U32, tk["unk"])
    else:
        w.add("tokenizer.ggml.model", STR, "gpt2")
        w.add("tokenizer.ggml.pre", STR, "qwen2" if tk["flavor"] == "qwen2" else "llama-bpe")
        w.add("tokenizer.ggml.tokens", ARR, tokens, STR)
        w.add("tokenizer.ggml.token_type", ARR, types, gguf.INT32)
        w.add("tokenizer.ggml.merges", ARR, ["%s %s" % m for m in tk["merges"]], STR)
    w.add("tokenizer.ggml.bos_token_id", U32, tk["bos"])
    w.add("tokenizer.ggml.eos_token_id", U32, tk["eos"])
    if tk.get("pad") is not None:
        w.add("tokenizer.ggml.padding_token_id", U32, tk["pad"])
    w.add("tokenizer.ggml.add_bos_token", BOOL, bool(tk.get("add_bos")))
    w.add("tokenizer.ggml.add_eos_token", BOOL, False)
    w.add("tokenizer.chat_template", STR, tokenizer_gen.tokenizer_config(tk, arch, spec.ctx)["chat_template"])

    plan = []   # (hf name or None, gguf name, numpy shape, type)
    ff = spec.rope_freq_factors()
    if ff is not None:
        plan.append((None, "rope_freqs.weight", ff.shape, Q.F32))
    for name, shape in spec.tensors():
        plan.append((name, gguf_name(name), shape, gguf_tensor_type(spec, name, shape, gt, args.debug_tensor_type)))
    for _, gname, shape, t in plan:
        w.add_tensor_info(gname, shape, t)
    w.write_header()
    for hf, gname, shape, t in plan:
        if hf is None:
            w.write_tensor(gname, Q.quantize(Q.F32, ff))
            continue
        permute = arch == "llama" and (".q_proj." in hf or ".k_proj." in hf)
        if permute or len(shape) == 1:
            x = gen.tensor(hf, shape)
            if len(shape) == 1 and gt in ("f16", "bf16"):
                # as if converted from a checkpoint stored in that dtype:
                # 1-D tensors are F32 holding the f16/bf16-rounded values
                x = Q.roundtrip(Q.F16 if gt == "f16" else Q.BF16, x)
            if permute:
                x = permute_qk(x, spec.heads if ".q_proj." in hf else spec.kv_heads)
            w.write_tensor(gname, Q.quantize(t, x))
        else:
            # stream row chunks straight into the file
            start = w._pos
            if start != w.tensors[w._i][3]:
                w.f.write(b"\0" * (w.tensors[w._i][3] - start))
                w._pos = w.tensors[w._i][3]
            for _, rows in gen.chunks(hf, shape):
                buf = Q.quantize(t, rows)
                w.f.write(memoryview(np.ascontiguousarray(buf)).cast("B"))
                w._pos += buf.size
            if w._pos != w.tensors[w._i][3] + w.tensors[w._i][4]:
                raise AssertionError("size mismatch writing " + gname)
            w._i += 1
    w.close()


# ---------------------------------------------------------------- CLI

def parse_rope_scaling(s, args):
    if s in (None, "none"):
        return None
    kind, _, f = s.partition(":")
    try:
        factor = float(f)
    except ValueError:
        raise SystemExit("gen_model: --rope-scaling wants none, linear:F or llama3:F")
    if kind == "linear":
        return {"type": "linear", "factor": factor}
    if kind == "llama3":
        return {"type": "llama3", "factor": factor,
                "low_freq_factor": args.rope_low_freq_factor,
                "high_freq_factor": args.rope_high_freq_factor,
                "original_max_position_embeddings": args.rope_original_ctx}
    raise SystemExit("gen_model: unknown rope scaling %r" % kind)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny", choices=sorted(model_gen.PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=["hf", "gguf"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32", help="HF safetensors dtype")
    ap.add_argument("--shards", type=int, default=1, help="HF: number of safetensors shards")
    ap.add_argument("--gguf-type", choices=sorted(FILE_TYPE), default="f32")
    ap.add_argument("--gguf-version", type=int, choices=[2, 3], default=3)
    ap.add_argument("--gguf-alignment", type=int, default=32)
    ap.add_argument("--tokenizer", choices=["spm", "bpe"], default="spm")
    ap.add_argument("--tokenizer-vocab", type=int,
                    help="tokenizer size when smaller than --vocab (the other embedding rows are padding; "
                         "GGUF lists them as [PAD<i>] tokens)")
    ap.add_argument("--arch", choices=["llama", "qwen2"])
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--ffn", type=int)
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--ctx", type=int)
    ap.add_argument("--rope-theta", type=float)
    ap.add_argument("--rms-eps", type=float)
    tg = ap.add_mutually_exclusive_group()
    tg.add_argument("--tied", dest="tied", action="store_const", const=True)
    tg.add_argument("--untied", dest="tied", action="store_const", const=False)
    ap.add_argument("--bias", action="store_const", const=True,
                    help="attention biases: q/k/v for qwen2 (always on), q/k/v/o for llama (HF attention_bias)")
    ap.add_argument("--rope-scaling", default="none", help="none | linear:F | llama3:F")
    ap.add_argument("--rope-low-freq-factor", type=float, default=1.0)
    ap.add_argument("--rope-high-freq-factor", type=float, default=4.0)
    ap.add_argument("--rope-original-ctx", type=int, default=8192)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="print the parameter count and tensor list, write nothing")
    # testing aids (not part of a normal model)
    ap.add_argument("--debug-zero-branches", action="store_true",
                    help="o_proj and down_proj all zero: every layer passes the embedding through, so the "
                         "logits are output(norm(embedding)); isolates embedding/output formats")
    ap.add_argument("--debug-tensor-type", action="append", default=[], metavar="PATTERN=TYPE",
                    help="GGUF: give the tensors PATTERN names (a GGUF name or a prefix of it up to a dot, "
                         "e.g. output, token_embd, attn_v, blk.0.ffn_down) this type "
                         "(f32, f16, bf16, q8_0, q4_0, q4_k, q6_k); repeatable")
    args = ap.parse_args(argv)

    try:
        spec = model_gen.Spec(args.preset, arch=args.arch, hidden=args.hidden, layers=args.layers,
                              heads=args.heads, kv_heads=args.kv_heads, head_dim=args.head_dim,
                              ffn=args.ffn, vocab=args.vocab, ctx=args.ctx, rope_theta=args.rope_theta,
                              rms_eps=args.rms_eps, tied=args.tied, bias=args.bias,
                              rope_scaling=parse_rope_scaling(args.rope_scaling, args))
        tk = tokenizer_gen.build(args.tokenizer, args.tokenizer_vocab or spec.vocab, spec.arch)
    except ValueError as e:
        raise SystemExit("gen_model: %s" % e)
    if len(tk["tokens"]) > spec.vocab:
        raise SystemExit("gen_model: tokenizer needs %d tokens, more than --vocab %d" % (len(tk["tokens"]), spec.vocab))
    if args.gguf_alignment <= 0 or args.gguf_alignment % 8:
        raise SystemExit("gen_model: --gguf-alignment must be a positive multiple of 8")
    ov = []
    for item in args.debug_tensor_type:
        pat, _, tname = item.partition("=")
        if tname.lower() not in Q.BY_NAME:
            raise SystemExit("gen_model: unknown tensor type %r in --debug-tensor-type" % tname)
        ov.append((pat, Q.BY_NAME[tname.lower()]))
    args.debug_tensor_type = ov
    gen = model_gen.Generator(spec, args.seed, zero_branches=args.debug_zero_branches)
    if args.dry_run:
        n = spec.param_count()
        print("gen_model: %s %s: %d parameters (%.2f M), %d tensors" % (spec.preset, spec.arch, n, n / 1e6,
                                                                       len(spec.tensors())))
        for name, shape in spec.tensors():
            print("  %s %s" % (name, list(shape)))
        return
    t0 = time.time()
    if args.format == "hf":
        write_hf(spec, gen, tk, args)
    else:
        if os.path.dirname(os.path.abspath(args.out)):
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        write_gguf(spec, gen, tk, args)
    if not args.quiet:
        n = spec.param_count()
        print("gen_model: %s %s, %s, seed %d: %d parameters (%.2f M), tokenizer %s with %d tokens, %.1f s -> %s" % (
            spec.preset, spec.arch, args.format if args.format == "hf" else "gguf " + args.gguf_type,
            args.seed, n, n / 1e6, tk["flavor"], len(tk["tokens"]), time.time() - t0, args.out))


if __name__ == "__main__":
    main()
