#!/usr/bin/env node
// llama.cpp (prebuilt, through node-llama-cpp 3.22.1) as llmc's test oracle
// and benchmark peer. Offline: getLlama({gpu: false, build: "never"}).
//
//   node oracle.mjs tokenize   MODEL.gguf --text-file F [--no-bos] [--special]
//   node oracle.mjs greedy     MODEL.gguf --tokens 1,2,3 -n N
//   node oracle.mjs logits     MODEL.gguf --tokens 1,2,3 --out FILE [--last]
//   node oracle.mjs perplexity MODEL.gguf --text-file F --ctx N [--second-half]
//   node oracle.mjs bench      MODEL.gguf [--prompt-len 128] [--gen 128]
//
// Common options: --threads N (default 2), --flash-attn on|off|auto
// (default off), --kv-type f16|f32 (default f16, llama.cpp's default; f32
// uses node-llama-cpp's experimental KV cache type option and makes
// llama.cpp's attention run in float32). Every subcommand prints one JSON
// object on stdout; llama.cpp's own log goes to stderr (errors only).
import fs from "node:fs";
import process from "node:process";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

function die(msg) {
    process.stderr.write(`oracle: ${msg}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const [cmd, model, ...rest] = argv;
    if (!cmd || cmd === "--help" || cmd === "-h") {
        process.stdout.write(fs.readFileSync(new URL(import.meta.url)).toString().split("\n")
            .filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n") + "\n");
        process.exit(cmd ? 0 : 2);
    }
    if (!model) die(`${cmd}: missing MODEL.gguf`);
    const opts = {};
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        const flag = (name) => { opts[name] = true; };
        const val = (name) => {
            if (i + 1 >= rest.length) die(`${a} needs a value`);
            opts[name] = rest[++i];
        };
        switch (a) {
            case "--no-bos": flag("noBos"); break;
            case "--special": flag("special"); break;
            case "--last": flag("last"); break;
            case "--second-half": flag("secondHalf"); break;
            case "--text-file": val("textFile"); break;
            case "--tokens": val("tokens"); break;
            case "-n": val("n"); break;
            case "--out": val("out"); break;
            case "--ctx": val("ctx"); break;
            case "--prompt-len": val("promptLen"); break;
            case "--gen": val("gen"); break;
            case "--threads": val("threads"); break;
            case "--flash-attn": val("flashAttn"); break;
            case "--seed": val("seed"); break;
            case "--kv-type": val("kvType"); break;
            default: die(`unknown option ${a}`);
        }
    }
    return {cmd, model, opts};
}

function intOpt(v, name, def) {
    if (v === undefined) {
        if (def === undefined) die(`missing ${name}`);
        return def;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) die(`${name} wants a non-negative integer, got ${v}`);
    return n;
}

function tokenList(s) {
    if (!s) die("missing --tokens");
    const t = s.split(",").filter((x) => x.trim() !== "").map(Number);
    if (!t.length || t.some((x) => !Number.isInteger(x) || x < 0)) die(`bad --tokens ${s}`);
    return t;
}

function flashAttn(v) {
    if (v === undefined || v === "off") return false;
    if (v === "on") return true;
    if (v === "auto") return "auto";
    die(`--flash-attn wants on|off|auto`);
}

async function open(path, opts, contextSize) {
    if (!fs.existsSync(path)) die(`${path}: no such file`);
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false});
    const model = await llama.loadModel({modelPath: path, gpuLayers: 0});
    let context = null;
    if (contextSize) {
        const threads = intOpt(opts.threads, "--threads", 2);
        const kv = opts.kvType ?? "f16";
        if (kv !== "f16" && kv !== "f32") die("--kv-type wants f16 or f32");
        context = await model.createContext({
            contextSize, batchSize: contextSize, threads, sequences: 1,
            flashAttention: flashAttn(opts.flashAttn), ignoreMemorySafetyChecks: true,
            ...(kv === "f32" ? {experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"} : {}),
        });
    }
    return {llama, model, context};
}

function vocabSize(model) {
    const md = model.fileInfo?.metadata ?? {};
    const arch = md.general?.architecture;
    return md.tokenizer?.ggml?.tokens?.length ?? md[arch]?.vocab_size ?? null;
}

function checkTokens(model, tokens) {
    const nv = vocabSize(model);
    if (nv != null) for (const t of tokens) if (t >= nv) die(`token ${t} out of range (vocab ${nv})`);
}

// Dense logits vector of one evaluated position, from the token->logit map.
function dense(map, V) {
    const a = new Float32Array(V);
    a.fill(-Infinity);
    for (const [t, v] of map) a[t] = v;
    return a;
}

function top2Margin(a) {
    let b1 = -Infinity, b2 = -Infinity, i1 = -1;
    for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (v > b1) { b2 = b1; b1 = v; i1 = i; } else if (v > b2) b2 = v;
    }
    return [i1, b1 - b2];
}

async function cmdTokenize(path, opts) {
    if (!opts.textFile) die("tokenize: missing --text-file");
    const text = fs.readFileSync(opts.textFile, "utf8");
    const {model} = await open(path, opts, 0);
    const toks = Array.from(model.tokenize(text, !!opts.special));
    const bos = model.tokens.bos;
    const addBos = !opts.noBos && model.tokens.shouldPrependBosToken && bos != null;
    return {tokens: addBos ? [bos, ...toks] : toks};
}

// Runs the prompt, asking for logits at the positions in `want` (all when
// null). Returns {logits: Float32Array[] by position (undefined when not
// wanted), V}.
async function evalPrompt(seq, tokens, want) {
    const input = tokens.map((t, i) => (want === null || want.has(i))
        ? [t, {generateNext: {logits: true}}] : t);
    const res = await seq.controlledEvaluate(input);
    return res;
}

async function cmdGreedy(path, opts) {
    const tokens = tokenList(opts.tokens);
    const n = intOpt(opts.n, "-n", 16);
    const {model, context} = await open(path, opts, Math.max(64, tokens.length + n + 8));
    checkTokens(model, tokens);
    const seq = context.getSequence();
    const generated = [], margins = [];
    let input = tokens;
    for (let step = 0; step < n; step++) {
        const items = input.map((t, i) => i === input.length - 1
            ? [t, {generateNext: {token: true, logits: true}}] : t);
        const res = await seq.controlledEvaluate(items);
        const out = res[items.length - 1];
        if (!out || out.next.token == null) die("greedy: no token produced");
        const a = dense(out.next.logits, out.next.logits.size);
        const [arg, m] = top2Margin(a);
        // temperature 0 is llama.cpp's greedy sampler: must be the argmax
        if (arg !== out.next.token && a[arg] !== a[out.next.token]) die(`greedy: sampler chose ${out.next.token}, argmax is ${arg}`);
        generated.push(out.next.token);
        margins.push(Math.round(m * 1e6) / 1e6);
        input = [out.next.token];
    }
    return {prompt: tokens, generated, margins};
}

async function cmdLogits(path, opts) {
    const tokens = tokenList(opts.tokens);
    if (!opts.out) die("logits: missing --out");
    const {model, context} = await open(path, opts, Math.max(64, tokens.length + 8));
    checkTokens(model, tokens);
    const seq = context.getSequence();
    const want = opts.last ? new Set([tokens.length - 1]) : null;
    const res = await evalPrompt(seq, tokens, want);
    const rows = [];
    let V = null;
    for (let i = 0; i < tokens.length; i++) {
        if (want !== null && !want.has(i)) continue;
        const m = res[i]?.next?.logits;
        if (!m) die(`logits: no logits for position ${i}`);
        V = V ?? m.size;
        if (m.size !== V) die("logits: inconsistent vocabulary size");
        rows.push(dense(m, V));
    }
    const buf = Buffer.alloc(rows.length * V * 4);
    rows.forEach((r, k) => Buffer.from(r.buffer).copy(buf, k * V * 4));
    fs.writeFileSync(opts.out, buf);
    return {positions: rows.length, first_position: opts.last ? tokens.length - 1 : 0, vocab: V,
        argmax: rows.map((r) => top2Margin(r)[0])};
}

function logSoftmaxAt(a, t) {
    let mx = -Infinity;
    for (let i = 0; i < a.length; i++) if (a[i] > mx) mx = a[i];
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - mx);
    return a[t] - mx - Math.log(s);
}

async function cmdPerplexity(path, opts) {
    if (!opts.textFile) die("perplexity: missing --text-file");
    const ctx = intOpt(opts.ctx, "--ctx", 128);
    if (ctx < 2) die("--ctx must be at least 2");
    const text = fs.readFileSync(opts.textFile, "utf8");
    const {model, context} = await open(path, opts, ctx);
    let toks = Array.from(model.tokenize(text, false));
    const bos = model.tokens.bos;
    const addBos = model.tokens.shouldPrependBosToken && bos != null;
    const body = addBos ? ctx - 1 : ctx;
    const nChunks = Math.floor(toks.length / body);
    if (nChunks < 1) die(`perplexity: text has ${toks.length} tokens, fewer than one window of ${body}`);
    const seq = context.getSequence();
    let nll = 0, count = 0;
    const chunkPpl = [];
    for (let c = 0; c < nChunks; c++) {
        const win = toks.slice(c * body, (c + 1) * body);
        const input = addBos ? [bos, ...win] : win;
        await seq.clearHistory();
        const first = opts.secondHalf ? Math.floor(input.length / 2) : 0;
        const want = new Set();
        for (let i = first; i < input.length - 1; i++) want.add(i);
        const res = await evalPrompt(seq, input, want);
        let cn = 0, cc = 0;
        for (let i = first; i < input.length - 1; i++) {
            const m = res[i].next.logits;
            const a = dense(m, m.size);
            const lp = logSoftmaxAt(a, input[i + 1]);
            cn -= lp; cc++;
        }
        nll += cn; count += cc;
        chunkPpl.push(Math.exp(cn / cc));
    }
    return {ppl: Math.exp(nll / count), nll_mean: nll / count, tokens_scored: count, windows: nChunks,
        ctx, bos: addBos, scored: opts.secondHalf ? "second half of each window" : "every position of each window but the last",
        window_ppl: chunkPpl};
}

async function cmdBench(path, opts) {
    const P = intOpt(opts.promptLen, "--prompt-len", 128);
    const G = intOpt(opts.gen, "--gen", 128);
    if (P < 1) die("--prompt-len must be at least 1");
    const {model, context} = await open(path, opts, P + G + 8);
    const V = vocabSize(model);
    // deterministic pseudo-random prompt of ordinary token ids
    let s = intOpt(opts.seed, "--seed", 1) >>> 0;
    const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
    const lo = 3, hi = Math.max(lo + 1, Math.min(V ?? 256, 32000));
    const prompt = Array.from({length: P}, () => lo + (rnd() % (hi - lo)));
    const seq = context.getSequence();
    // warm-up (one short evaluation), then clear
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, Math.min(8, P)));
    await seq.clearHistory();
    // prefill: all prompt tokens but the last without logits, then the last
    // one through the generator, whose first yield is the first new token
    // (time to first token); every later yield is one decode step.
    const t0 = process.hrtime.bigint();
    if (P > 1) await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, P - 1));
    let n = 0, t1 = null;
    for await (const tok of seq.evaluate([prompt[P - 1]], {temperature: 0})) {
        void tok;
        if (n === 0) t1 = process.hrtime.bigint();
        if (++n > G) break;
    }
    const t2 = process.hrtime.bigint();
    const pre = Number(t1 - t0) / 1e9, dec = Number(t2 - t1) / 1e9;
    return {
        prompt_len: P, gen: G, threads: intOpt(opts.threads, "--threads", 2),
        prefill_s: pre, prefill_tok_s: P / pre,
        decode_s: dec, decode_tok_s: G > 0 ? G / dec : null,
        ttft_s: pre, tpot_ms: G > 0 ? 1000 * dec / G : null,
        note: "llama.cpp via node-llama-cpp 3.22.1, CPU; prefill = time to first token; decode = greedy tokens after it",
    };
}

const {cmd, model, opts} = parseArgs(process.argv.slice(2));
const cmds = {tokenize: cmdTokenize, greedy: cmdGreedy, logits: cmdLogits, perplexity: cmdPerplexity, bench: cmdBench};
if (!cmds[cmd]) die(`unknown subcommand ${cmd} (tokenize, greedy, logits, perplexity, bench)`);
try {
    const out = await cmds[cmd](model, opts);
    // Exit only once the output is flushed: a pipe takes 64 KiB at a time, and
    // node-llama-cpp's native handles would otherwise keep the process alive.
    process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
} catch (e) {
    die(`${cmd}: ${e && e.message ? e.message : e}`);
}
