#!/usr/bin/python3
"""Converts a Hugging Face Llama / Qwen2 folder into a GGUF file, the way
llama.cpp's convert_hf_to_gguf.py lays one out (written here from the
formats' descriptions, sharing gen_model.py's GGUF writer and quantizers):

  hf_to_gguf.py MODEL_DIR --type f32|f16|q8_0|q4_0 --out MODEL.gguf

Weights: model.safetensors (F32, F16 or BF16; one file). Llama's q/k rows
are permuted from Hugging Face's rotate-half order to GGUF's adjacent pairs.
1-D tensors stay F32. q8_0 quantizes every matrix to Q8_0; q4_0 quantizes
them to Q4_0 except the output matrix (lm_head, or the tied embedding),
which gets Q6_K (rows a multiple of 256) or Q8_0, as llama-quantize does.

Tokenizer: with tokenizer.model (SentencePiece), a "llama" vocabulary
(pieces, scores, token types read with sentencepiece); else tokenizer.json's
byte-level BPE as a "gpt2" vocabulary with its merges. Special token ids, the
BOS flag and the chat template come from config.json and
tokenizer_config.json. The vocabulary is padded to the model's rows.
"""
import argparse
import json
import os
import struct
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import gguf  # noqa: E402
import quants as Q  # noqa: E402
import safetensors_io  # noqa: E402
from gen_model import (FILE_TYPE, add_shape_metadata, gguf_name,  # noqa: E402
                       gguf_tensor_type, permute_qk)
from tokenizer_gen import (TT_BYTE, TT_CONTROL, TT_NORMAL, TT_UNKNOWN,  # noqa: E402
                           TT_UNUSED, TT_USER_DEFINED)


def die(message):
    sys.exit("hf_to_gguf: " + message)


def read_json(path, required=True):
    if not os.path.exists(path):
        if required:
            die(path + ": missing")
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_safetensors(path):
    """{name: (dtype, shape, raw uint8 view)} over a memory map."""
    size = os.path.getsize(path)
    if size < 8:
        die(path + ": truncated")
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    if n > size - 8:
        die(path + ": header length %d exceeds the file" % n)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    base = 8 + n
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        b, e = entry["data_offsets"]
        if not 0 <= b <= e <= size - base:
            die("%s: tensor %s lies outside the file" % (path, name))
        out[name] = (entry["dtype"], tuple(entry["shape"]), data[base + b:base + e])
    return out


def special_id(config, name):
    value = config.get(name + "_id")
    return value if isinstance(value, int) else None


def spm_vocab(path):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=path)
    tokens, scores, types_ = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(float(sp.get_score(i)))
        if sp.is_unknown(i):
            types_.append(TT_UNKNOWN)
        elif sp.is_control(i):
            types_.append(TT_CONTROL)
        elif sp.is_unused(i):
            types_.append(TT_UNUSED)
        elif sp.is_byte(i):
            types_.append(TT_BYTE)
        else:
            types_.append(TT_NORMAL)
    return {"model": "llama", "tokens": tokens, "scores": scores, "types": types_,
            "unk": sp.unk_id()}


def bpe_vocab(tokenizer, arch):
    model = tokenizer.get("model", {})
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        die("tokenizer.json is not a byte-level BPE; a SentencePiece model needs its tokenizer.model")
    vocab = dict(model["vocab"])
    specials = set()
    for added in tokenizer.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            specials.add(added["id"])
    n = max(vocab.values()) + 1
    tokens = ["[PAD%d]" % i for i in range(n)]
    types_ = [TT_UNUSED] * n
    for piece, i in vocab.items():
        tokens[i] = piece
        types_[i] = TT_CONTROL if i in specials else TT_NORMAL
    for added in tokenizer.get("added_tokens", []):
        if not added.get("special"):
            types_[added["id"]] = TT_USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return {"model": "gpt2", "pre": "qwen2" if arch == "qwen2" else "llama-bpe",
            "tokens": tokens, "types": types_, "merges": merges}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0", "q4_0"], required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    config = read_json(os.path.join(args.model, "config.json"))
    tok_config = read_json(os.path.join(args.model, "tokenizer_config.json"), required=False)
    archs = config.get("architectures") or []
    arch = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama",
            "Qwen2ForCausalLM": "qwen2"}.get(archs[0] if archs else "")
    if arch is None:
        die("unsupported architecture %r (Llama, Mistral, Qwen2)" % (archs,))
    if config.get("rope_scaling"):
        die("rope_scaling is not converted")
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = config.get("head_dim") or hidden // heads
    layers = config["num_hidden_layers"]
    tied = bool(config.get("tie_word_embeddings", False))

    weights_path = os.path.join(args.model, "model.safetensors")
    if not os.path.exists(weights_path):
        die(weights_path + ": missing (sharded checkpoints are not converted)")
    tensors = read_safetensors(weights_path)
    if tied:
        tensors.pop("lm_head.weight", None)
    vocab_rows = tensors["model.embed_tokens.weight"][1][0]

    spm_path = os.path.join(args.model, "tokenizer.model")
    if os.path.exists(spm_path):
        tk = spm_vocab(spm_path)
    else:
        tk = bpe_vocab(read_json(os.path.join(args.model, "tokenizer.json")), arch)
    if len(tk["tokens"]) > vocab_rows:
        die("the tokenizer has %d tokens, the embedding %d rows" % (len(tk["tokens"]), vocab_rows))
    while len(tk["tokens"]) < vocab_rows:
        tk["tokens"].append("[PAD%d]" % len(tk["tokens"]))
        tk["types"].append(TT_UNUSED)
        if "scores" in tk:
            tk["scores"].append(-1000.0)

    w = gguf.Writer(args.out)
    U32, F32, STR, BOOL, ARR = gguf.UINT32, gguf.FLOAT32, gguf.STRING, gguf.BOOL, gguf.ARRAY
    w.add("general.architecture", STR, arch)
    w.add("general.name", STR, os.path.basename(os.path.normpath(args.model)))
    w.add("general.file_type", U32, FILE_TYPE[args.type])
    if args.type.startswith("q"):
        w.add("general.quantization_version", U32, 2)
    add_shape_metadata(w, arch, vocab=vocab_rows,
                       ctx=config.get("max_position_embeddings", 2048), hidden=hidden,
                       layers=layers, ffn=config["intermediate_size"], heads=heads,
                       kv_heads=kv_heads, head_dim=head_dim,
                       rope_theta=config.get("rope_theta", 10000.0),
                       rms_eps=config.get("rms_norm_eps", 1e-6))
    w.add("tokenizer.ggml.model", STR, tk["model"])
    if tk["model"] == "gpt2":
        w.add("tokenizer.ggml.pre", STR, tk["pre"])
    w.add("tokenizer.ggml.tokens", ARR, tk["tokens"], STR)
    if "scores" in tk:
        w.add("tokenizer.ggml.scores", ARR, tk["scores"], F32)
    w.add("tokenizer.ggml.token_type", ARR, tk["types"], gguf.INT32)
    if tk["model"] == "gpt2":
        w.add("tokenizer.ggml.merges", ARR, tk["merges"], STR)
    else:
        w.add("tokenizer.ggml.unknown_token_id", U32, tk["unk"])
    for key in ("bos", "eos", "pad"):
        value = special_id(config, key + "_token")
        if value is not None:
            w.add("tokenizer.ggml.%s_token_id" % ("padding" if key == "pad" else key), U32, value)
    if "add_bos_token" in tok_config:
        w.add("tokenizer.ggml.add_bos_token", BOOL, bool(tok_config["add_bos_token"]))
    w.add("tokenizer.ggml.add_eos_token", BOOL, bool(tok_config.get("add_eos_token", False)))
    if tok_config.get("chat_template"):
        w.add("tokenizer.chat_template", STR, tok_config["chat_template"])

    spec = types.SimpleNamespace(tied=tied, layers=layers)
    order = ["model.embed_tokens.weight"]
    for i in range(layers):
        prefix = "model.layers.%d." % i
        order += sorted(n for n in tensors if n.startswith(prefix))
    order += [n for n in ("model.norm.weight", "lm_head.weight") if n in tensors]
    unknown = set(tensors) - set(order)
    if unknown:
        die("tensors not converted: " + ", ".join(sorted(unknown)))
    plan = []
    for name in order:
        dtype, shape, _ = tensors[name]
        if dtype not in safetensors_io.DTYPES:
            die("%s: dtype %s is not converted" % (name, dtype))
        plan.append((name, gguf_name(name), shape,
                     gguf_tensor_type(spec, name, shape, args.type)))
    for _, gname, shape, t in plan:
        w.add_tensor_info(gname, shape, t)
    w.write_header()
    for name, gname, shape, t in plan:
        dtype, _, raw = tensors[name]
        x = safetensors_io.decode(dtype, raw, shape)
        if arch == "llama" and (".q_proj." in name or ".k_proj." in name):
            x = permute_qk(x, heads if ".q_proj." in name else kv_heads)
        w.write_tensor(gname, Q.quantize(t, x))
    w.close()
    print("hf_to_gguf: %s -> %s (%s, %d tensors, %s vocabulary of %d)" %
          (args.model, args.out, args.type, len(plan), tk["model"], len(tk["tokens"])))


if __name__ == "__main__":
    main()
