// RUN: llmc-opt %s --llmc-select-weight-layouts=row-group=16 | FileCheck %s --check-prefix=AVX512
// RUN: llmc-opt %s --llmc-select-weight-layouts=row-group=8 | FileCheck %s --check-prefix=AVX2
// RUN: llmc-opt %s --llmc-select-weight-layouts=row-group=0 | FileCheck %s --check-prefix=PLAIN
// RUN: llmc-opt %s --llmc-select-weight-layouts="row-group=0 split=1" | FileCheck %s --check-prefix=SPLIT
// RUN: not llmc-opt %s --llmc-select-weight-layouts=row-group=12 2>&1 | FileCheck %s --check-prefix=BAD

// Q8_0/Q4_0 matrices of linear layers are interleaved by 16 rows for AVX-512
// (one row per 32-bit lane of a zmm register) or 8 for AVX2; float weights,
// embedding tables (gathered by row) and matrices whose rows are not a whole
// number of groups keep the plain layout. References follow the declarations.

// AVX512: llm.weight @emb : !llm.weight<64x32, q8_0> {
// AVX512: llm.weight @q4 : !llm.weight<32x32, q4_0, rows16> {
// AVX512: llm.weight @q8 : !llm.weight<48x32, q8_0, rows16> {
// AVX512: llm.weight @odd : !llm.weight<24x32, q4_0> {
// AVX512: llm.weight @f : !llm.weight<32x32, f16> {
// AVX512: llm.weight_ref @q4 : !llm.weight<32x32, q4_0, rows16>

// AVX2: llm.weight @q4 : !llm.weight<32x32, q4_0, rows8> {
// AVX2: llm.weight @odd : !llm.weight<24x32, q4_0, rows8> {

// PLAIN: llm.weight @q4 : !llm.weight<32x32, q4_0> {

// GPUs read every Q8_0/Q4_0 weight, tables and odd row counts included, in
// the split layout; the storage size includes the scales' padding.
// SPLIT: llm.weight @emb : !llm.weight<64x32, q8_0, split> {
// SPLIT: llm.weight @q4 : !llm.weight<32x32, q4_0, split> {
// SPLIT: llm.weight @q8 : !llm.weight<48x32, q8_0, split> {
// SPLIT: llm.weight @odd : !llm.weight<24x32, q4_0, split> {
// SPLIT: llm.weight @f : !llm.weight<32x32, f16> {

// BAD: row-group must be 0, 8 or 16, got 12

llm.weight @emb : !llm.weight<64x32, q8_0> {sources = ["e"]}
llm.weight @q4 : !llm.weight<32x32, q4_0> {sources = ["a"]}
llm.weight @q8 : !llm.weight<48x32, q8_0> {sources = ["b"]}
llm.weight @odd : !llm.weight<24x32, q4_0> {sources = ["c"]}
llm.weight @f : !llm.weight<32x32, f16> {sources = ["d"]}
func.func @use(%t: tensor<?xi32>, %x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %e = llm.weight_ref @emb : !llm.weight<64x32, q8_0>
  %h = llm.embedding %t, %e : tensor<?xi32>, !llm.weight<64x32, q8_0> -> tensor<?x32xf32>
  %a = llm.weight_ref @q4 : !llm.weight<32x32, q4_0>
  %b = llm.weight_ref @q8 : !llm.weight<48x32, q8_0>
  %c = llm.weight_ref @odd : !llm.weight<24x32, q4_0>
  %d = llm.weight_ref @f : !llm.weight<32x32, f16>
  %y1 = llm.linear %x, %a : tensor<?x32xf32>, !llm.weight<32x32, q4_0> -> tensor<?x32xf32>
  %y2 = llm.linear %x, %b : tensor<?x32xf32>, !llm.weight<48x32, q8_0> -> tensor<?x48xf32>
  %y3 = llm.linear %x, %c : tensor<?x32xf32>, !llm.weight<24x32, q4_0> -> tensor<?x24xf32>
  %y4 = llm.linear %x, %d : tensor<?x32xf32>, !llm.weight<32x32, f16> -> tensor<?x32xf32>
  return %y4 : tensor<?x32xf32>
}
