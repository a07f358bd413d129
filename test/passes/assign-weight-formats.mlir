// RUN: llmc-opt %s --split-input-file --llmc-assign-weight-formats="quant=q4" | FileCheck %s --check-prefix=Q4
// RUN: llmc-opt %s --split-input-file --llmc-assign-weight-formats="quant=f16" | FileCheck %s --check-prefix=F16
// RUN: llmc-opt %s --split-input-file --llmc-assign-weight-formats="quant=q4 quant-output=q4" | FileCheck %s --check-prefix=OUT4
// RUN: llmc-opt %s --split-input-file --llmc-assign-weight-formats="quant=q8 native-k-quants=1" | FileCheck %s --check-prefix=NATIVE
// RUN: not llmc-opt %s --split-input-file --llmc-assign-weight-formats="quant=q3" 2>&1 | FileCheck %s --check-prefix=BAD

// Float matrices take --quant; the output matrix and the embedding take q8
// under q4; vectors are f32; quantized tensors keep their format, K-quants are
// converted upward to q8_0 unless the target computes with them.

// Q4-LABEL: llm.weight @token_embd : !llm.weight<256x64, q8_0>
// Q4: llm.weight @output : !llm.weight<256x64, q8_0>
// Q4: llm.weight @blk.0.attn_q : !llm.weight<64x64, q4_0>
// Q4: llm.weight @blk.0.attn_norm : !llm.weight<64, f32>
// Q4: llm.weight @blk.0.ffn_down : !llm.weight<64x256, q8_0>
// Q4: llm.weight @blk.0.attn_v : !llm.weight<64x64, q8_0>
// Q4: llm.weight @blk.0.odd : !llm.weight<8x40, f16>
// Q4: llm.weight_ref @blk.0.attn_q : !llm.weight<64x64, q4_0>

// F16: llm.weight @token_embd : !llm.weight<256x64, f16>
// F16: llm.weight @output : !llm.weight<256x64, f16>
// F16: llm.weight @blk.0.attn_q : !llm.weight<64x64, f16>

// OUT4: llm.weight @token_embd : !llm.weight<256x64, q4_0>
// OUT4: llm.weight @output : !llm.weight<256x64, q4_0>

// NATIVE: llm.weight @blk.0.ffn_down : !llm.weight<64x256, q6_k>

// BAD: unknown --quant 'q3' (expected f32, f16, q8 or q4)

llm.weight @token_embd : !llm.weight<256x64, f32> {sources = ["e"]}
llm.weight @output : !llm.weight<256x64, bf16> {sources = ["o"]}
llm.weight @blk.0.attn_q : !llm.weight<64x64, f32> {sources = ["q"]}
llm.weight @blk.0.attn_norm : !llm.weight<64, f16> {sources = ["n"]}
llm.weight @blk.0.ffn_down : !llm.weight<64x256, q6_k> {sources = ["d"]}
llm.weight @blk.0.attn_v : !llm.weight<64x64, q8_0> {sources = ["v"]}
llm.weight @blk.0.odd : !llm.weight<8x40, f32> {sources = ["x"]}
func.func @use(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = llm.weight_ref @blk.0.attn_q : !llm.weight<64x64, f32>
  %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<64x64, f32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
