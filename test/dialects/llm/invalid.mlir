// RUN: llmc-opt %s --split-input-file --verify-diagnostics

// Every diagnostic of the llm dialect's verifiers and parsers, one case each.
// expected-error @+1 {{unknown llm argument attribute 'llm.bogus'}}
func.func @f(%n: index {llm.bogus = 1}) { return }

// -----

// expected-error @+1 {{'llm.symbol' must be a #llm.symbol attribute}}
func.func @f(%n: index {llm.symbol = 3}) { return }

// -----

// expected-error @+1 {{symbol argument #0 must have type 'index', got 'i32'}}
func.func @f(%n: i32 {llm.symbol = #llm.symbol<"n", max = 4>}) { return }

// -----

// expected-error @+1 {{'llm.entry' can only be set on a func.func}}
module attributes {llm.entry} {}

// -----

// expected-error @+1 {{symbol name must not be empty}}
func.func @f(%n: index {llm.symbol = #llm.symbol<"", max = 4>}) { return }

// -----

// expected-error @+1 {{symbol 'n' must have a maximum of at least 1, got 0}}
func.func @f(%n: index {llm.symbol = #llm.symbol<"n", max = 0>}) { return }

// -----

// expected-error @+1 {{rope scaling factor must be positive, got -2}}
func.func @f() attributes {s = #llm.rope_scaling<linear, factor = -2.0>} { return }

// -----

// expected-error @+1 {{llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor, got 4.000000e+00 and 1.000000e+00}}
func.func @f() attributes {s = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0>} { return }

// -----

// expected-error @+1 {{llama3 rope scaling needs original_max_position >= 1}}
func.func @f() attributes {s = #llm.rope_scaling<llama3, factor = 8.0, original_max_position = 0>} { return }

// -----

// expected-error @+1 {{unknown rope scaling 'yarn' (expected none, linear or llama3)}}
func.func @f() attributes {s = #llm.rope_scaling<yarn>} { return }

// -----

// expected-error @+1 {{unknown rope scaling parameter 'beta'}}
func.func @f() attributes {s = #llm.rope_scaling<linear, beta = 2.0>} { return }

// -----

// expected-error @+1 {{unknown weight format 'q5_1' (expected f32, f16, bf16, q8_0, q4_0, q4_k or q6_k)}}
llm.weight @w : !llm.weight<4x32, q5_1> {sources = ["w"]}

// -----

// expected-error @+1 {{unknown weight layout 'tiled'}}
llm.weight @w : !llm.weight<4x32, q8_0, tiled> {sources = ["w"]}

// -----

// expected-error @+1 {{weight must have rank 1 or 2, got rank 3}}
llm.weight @w : !llm.weight<2x4x32, f32> {sources = ["w"]}

// -----

// expected-error @+1 {{weight dimensions must be positive}}
llm.weight @w : !llm.weight<0x32, f32> {sources = ["w"]}

// -----

// expected-error @+1 {{weight format q4_0 needs rows that are a multiple of 32 elements, got 48}}
llm.weight @w : !llm.weight<4x48, q4_0> {sources = ["w"]}

// -----

// expected-error @+1 {{layout rows16 needs a matrix with a multiple of 16 rows}}
llm.weight @w : !llm.weight<8x32, q4_0, rows16> {sources = ["w"]}

// -----

// expected-error @+1 {{layout split holds q8_0 or q4_0 weights, not q4_k}}
llm.weight @w : !llm.weight<32x256, q4_k, split> {sources = ["w"]}

// -----

// expected-error @+1 {{kv_cache sizes must be positive}}
func.func @f(%kv: !llm.kv_cache<layers = 0, kvHeads = 2, headDim = 16, blockSize = 16, f32>) { return }

// -----

// expected-error @+1 {{kv_cache element type must be f32 or f16, got 'i8'}}
func.func @f(%kv: !llm.kv_cache<layers = 1, kvHeads = 2, headDim = 16, blockSize = 16, i8>) { return }

// -----

// expected-error @+1 {{'llm.weight' op must name at least one source tensor}}
llm.weight @w : !llm.weight<4x32, f32> {sources = []}

// -----

func.func @f() {
  // expected-error @+1 {{'llm.weight_ref' op refers to 'missing', which is not an llm.weight}}
  %w = llm.weight_ref @missing : !llm.weight<4x32, f32>
  return
}

// -----

llm.weight @w : !llm.weight<4x32, f16> {sources = ["w"]}
func.func @f() {
  // expected-error @+1 {{'llm.weight_ref' op type '!llm.weight<4x32, f32>' differs from the declaration's '!llm.weight<4x32, f16>'}}
  %w = llm.weight_ref @w : !llm.weight<4x32, f32>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'llm.step_input' op unknown step field 'tokenz' (known: tokens, positions, seq_ids, slots, block_tables, out_rows)}}
  %t = llm.step_input "tokenz" [%n] : tensor<?xi32>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'llm.step_input' op step field 'block_tables' has rank 2, got 1}}
  %t = llm.step_input "block_tables" [%n] : tensor<?xi32>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'llm.step_input' op needs one size per dynamic dimension: 1 expected, 0 given}}
  %t = llm.step_input "tokens" : tensor<?xi32>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'llm.step_input' op a step field may only have a dynamic leading dimension, but dimension 1 is dynamic}}
  %t = llm.step_input "block_tables" [%n, %n] : tensor<?x?xi32>
  return
}

// -----

func.func @f(%t: tensor<?xi32>, %w: !llm.weight<128, f32>) {
  // expected-error @+1 {{'llm.embedding' op table must be a matrix, got rank 1}}
  %x = llm.embedding %t, %w : tensor<?xi32>, !llm.weight<128, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%t: tensor<?x2xi32>, %w: !llm.weight<128x64, f32>) {
  // expected-error @+1 {{'llm.embedding' op tokens must be a vector, got rank 2}}
  %x = llm.embedding %t, %w : tensor<?x2xi32>, !llm.weight<128x64, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%t: tensor<?xi32>, %w: !llm.weight<128x64, f32>) {
  // expected-error @+1 {{'llm.embedding' op result must have shape [?, 64], got [?, 32]}}
  %x = llm.embedding %t, %w : tensor<?xi32>, !llm.weight<128x64, f32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %g: !llm.weight<64x64, f32>) {
  // expected-error @+1 {{'llm.rms_norm' op gamma must be a vector, got rank 2}}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64x64, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %g: !llm.weight<64, q8_0>) {
  // expected-error @+1 {{'llm.rms_norm' op gamma must be stored as a float format, got q8_0}}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, q8_0> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %g: !llm.weight<32, f32>) {
  // expected-error @+1 {{'llm.rms_norm' op gamma has 32 elements but the input's last dimension is 64}}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<32, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %g: !llm.weight<64, f32>) {
  // expected-error @+1 {{'llm.rms_norm' op eps must be positive}}
  %y = llm.rms_norm %x, %g {eps = 0.0 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %g: !llm.weight<64, f32>) {
  // expected-error @+1 {{'llm.rms_norm' op result type must equal the input type}}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<4x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?xf32>, %g: !llm.weight<64, f32>) {
  // expected-error @+1 {{'llm.rms_norm' op input may only have a dynamic leading dimension, but dimension 1 is dynamic}}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x?xf32>, !llm.weight<64, f32> -> tensor<?x?xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %w: !llm.weight<64, f32>) {
  // expected-error @+1 {{'llm.linear' op weight must be a matrix, got rank 1}}
  %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %w: !llm.weight<32x128, f32>) {
  // expected-error @+1 {{'llm.linear' op input's last dimension (64) must equal the weight's column count (128)}}
  %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<32x128, f32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %w: !llm.weight<32x64, f32>, %b: !llm.weight<64, f32>) {
  // expected-error @+1 {{'llm.linear' op bias must be a vector of 32 elements}}
  %y = llm.linear %x, %w bias %b : tensor<?x64xf32>, !llm.weight<32x64, f32>, !llm.weight<64, f32> -> tensor<?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %w: !llm.weight<32x64, f32>) {
  // expected-error @+1 {{'llm.linear' op result must have shape [?, 32], got [?, 64]}}
  %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<32x64, f32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{'llm.rope' op input must be [tokens, heads, head_dim], got rank 2}}
  %y = llm.rope %x, %p {theta = 1.0e4 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x15xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{'llm.rope' op head_dim must be static and even, got 15}}
  %y = llm.rope %x, %p {theta = 1.0e4 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<?x4x15xf32>, tensor<?xi32> -> tensor<?x4x15xf32>
  return
}

// -----

func.func @f(%x: tensor<4x4x16xf32>, %p: tensor<3xi32>) {
  // expected-error @+1 {{'llm.rope' op positions must have shape [4], got [3]}}
  %y = llm.rope %x, %p {theta = 1.0e4 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<4x4x16xf32>, tensor<3xi32> -> tensor<4x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{'llm.rope' op theta must be positive}}
  %y = llm.rope %x, %p {theta = 0.0 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<?x4x16xf32>, tensor<?xi32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{'llm.rope' op result type must equal the input type}}
  %y = llm.rope %x, %p {theta = 1.0e4 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<?x4x16xf32>, tensor<?xi32> -> tensor<?x2x32xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %k: tensor<?x2x16xf32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'llm.kv_append' op layer 2 is out of range: the cache has 2 layers}}
  llm.kv_append %k, %k into %kv[2] at %s : tensor<?x2x16xf32>, tensor<?x2x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %k: tensor<?x4x16xf32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'llm.kv_append' op keys must have shape [?, 2, 16], got [?, 4, 16]}}
  llm.kv_append %k, %k into %kv[0] at %s : tensor<?x4x16xf32>, tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %k: tensor<?x2x16xf32>, %v: tensor<?x2x8xf32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'llm.kv_append' op values must have shape [?, 2, 16], got [?, 2, 8]}}
  llm.kv_append %k, %v into %kv[0] at %s : tensor<?x2x16xf32>, tensor<?x2x8xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %k: tensor<3x2x16xf32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'llm.kv_append' op slots must have shape [3], got [4]}}
  llm.kv_append %k, %k into %kv[0] at %s : tensor<3x2x16xf32>, tensor<3x2x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<4xi32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x64xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op query must be [tokens, heads, head_dim], got rank 2}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x64xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x3x16xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op query heads (3) must be a multiple of the cache's kv heads (2)}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x3x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x3x16xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x4x8xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op query head_dim (8) must equal the cache's head_dim (16)}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x4x8xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x4x8xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<2x4x16xf32>, %p: tensor<3xi32>, %s: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op positions must have shape [2], got [3]}}
  %o = llm.attention %q, %kv[0], %p, %s, %bt {scale = 0.25 : f32} : tensor<2x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<3xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<2x4x16xf32>, %p: tensor<?xi32>, %s: tensor<5xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op seq_ids must have shape [2], got [5]}}
  %o = llm.attention %q, %kv[0], %p, %s, %bt {scale = 0.25 : f32} : tensor<2x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<5xi32>, tensor<?x4xi32> -> tensor<2x4x16xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x4x16xf32>, %p: tensor<?xi32>, %bt: tensor<?xi32>) {
  // expected-error @+1 {{'llm.attention' op block_tables must be [sequences, blocks]}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x4x16xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op scale must be positive}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = -1.0 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x4x16xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op result type must equal the query type}}
  %o = llm.attention %q, %kv[0], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, %q: tensor<?x4x16xf32>, %p: tensor<?xi32>, %bt: tensor<?x4xi32>) {
  // expected-error @+1 {{'llm.attention' op layer 5 is out of range: the cache has 2 layers}}
  %o = llm.attention %q, %kv[5], %p, %p, %bt {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'llm.argmax' op result must have shape [?], got [?, 1]}}
  %y = llm.argmax %x : tensor<?x64xf32> -> tensor<?x1xi32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'llm.reshape' op input and result must both have a dynamic leading dimension, or neither}}
  %y = llm.reshape %x : tensor<?x64xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'llm.reshape' op must keep the element count: 64 vs 60 per leading index}}
  %y = llm.reshape %x : tensor<?x64xf32> -> tensor<?x4x15xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{'llm.reshape' op result may only have a dynamic leading dimension, but dimension 1 is dynamic}}
  %y = llm.reshape %x : tensor<?x64xf32> -> tensor<?x?xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'llm.transpose' op permutation has 2 entries for a rank-3 input}}
  %y = llm.transpose %x [1, 0] : tensor<?x4x16xf32> -> tensor<4x?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'llm.transpose' op permutation must be a permutation of [0, 3)}}
  %y = llm.transpose %x [1, 1, 2] : tensor<?x4x16xf32> -> tensor<4x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>) {
  // expected-error @+1 {{'llm.transpose' op result must have shape [4, ?, 16], got [16, ?, 4]}}
  %y = llm.transpose %x [1, 0, 2] : tensor<?x4x16xf32> -> tensor<16x?x4xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x16xf32>, %r: tensor<?xi32>) {
  // expected-error @+1 {{'llm.select_rows' op input must be a matrix, got rank 3}}
  %y = llm.select_rows %x[%r] : tensor<?x4x16xf32>, tensor<?xi32> -> tensor<?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<?x1xi32>) {
  // expected-error @+1 {{'llm.select_rows' op rows must be a vector}}
  %y = llm.select_rows %x[%r] : tensor<?x64xf32>, tensor<?x1xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x64xf32>, %r: tensor<?xi32>) {
  // expected-error @+1 {{'llm.select_rows' op result must have shape [?, 64], got [?, 32]}}
  %y = llm.select_rows %x[%r] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}
