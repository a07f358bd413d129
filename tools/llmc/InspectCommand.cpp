//===- InspectCommand.cpp - llmc inspect ARTIFACT|MODEL --------------------------===//
//
// For an artifact: its configuration, target profile, memory plan, weights
// and (with --program) every dispatch of every entry. For a model folder or
// GGUF file: the summary `llmc import --summary` prints. Runtime only, so it
// also checks files on a machine without the compiler.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/artifact/Artifact.h"
#include "runtime/formats/ModelSource.h"
#include "runtime/packer/Quantize.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sys/stat.h>
#include <vector>

namespace llmc::cli {

namespace {
struct InspectArgs {
  std::string path;
  bool program = false;
  bool weights = false;
  std::string tensor;
  std::string out;
};

/// Writes one tensor of a model file, decoded to f32 by the runtime's own
/// readers, so tests can compare formats (e.g. a GGUF and its HF source).
void dumpTensor(const ModelSource &source, const InspectArgs &args) {
  const SourceTensor *t = source.findTensor(args.tensor);
  if (!t)
    return fail(source.path() + ": no tensor '" + args.tensor + "'");
  if (!t->type)
    return fail(t->file + ": tensor '" + args.tensor + "' has type " +
                t->typeName + ", which llmc cannot decode");
  std::vector<float> values(static_cast<size_t>(t->numElements()));
  dequantizeRow(*t->type, t->data, values.data(), t->numElements());
  std::ofstream out(args.out, std::ios::binary);
  out.write(reinterpret_cast<const char *>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out)
    return fail(args.out + ": cannot write");
  std::string shape;
  for (int64_t d : t->shape)
    shape += (shape.empty() ? "" : "x") + std::to_string(d);
  std::printf("%s: %s %s -> %s (f32)\n", t->name.c_str(), t->typeName.c_str(),
              shape.c_str(), args.out.c_str());
}

bool isArtifact(const std::string &path) {
  struct stat st;
  return ::stat((path + "/model.so").c_str(), &st) == 0;
}

/// A postfix grid expression as infix text over the symbol names.
std::string exprText(const fb::Expr &expr, const fb::Program &program) {
  std::vector<std::string> stack;
  const auto &code = *expr.code();
  for (size_t i = 0; i < code.size(); ++i) {
    auto op = static_cast<ExprOp>(code[i]);
    if (op == ExprOp::Constant) {
      stack.push_back(std::to_string(code[++i]));
      continue;
    }
    if (op == ExprOp::Symbol) {
      stack.push_back(program.symbols()->Get(code[++i])->str());
      continue;
    }
    std::string b = stack.back();
    stack.pop_back();
    std::string a = stack.back();
    const char *sym = op == ExprOp::Add        ? " + "
                      : op == ExprOp::Mul      ? " * "
                      : op == ExprOp::FloorDiv ? " floordiv "
                      : op == ExprOp::CeilDiv  ? " ceildiv "
                                               : " mod ";
    stack.back() = "(" + a + sym + b + ")";
  }
  std::string s = stack.empty() ? "?" : stack.back();
  if (s.size() > 2 && s.front() == '(' && s.back() == ')')
    s = s.substr(1, s.size() - 2);
  return s;
}

const char *bindingKind(fb::BindingKind kind) {
  switch (kind) {
  case fb::BindingKind::Step: return "step";
  case fb::BindingKind::Arena: return "arena";
  case fb::BindingKind::Weight: return "weight";
  case fb::BindingKind::KVKeys: return "keys";
  case fb::BindingKind::KVValues: return "values";
  }
  return "?";
}

void inspectArtifact(const InspectArgs &args) {
  ArtifactOptions options;
  options.loadWeights = false;
  options.checkTarget = false;
  auto opened = Artifact::open(args.path, options);
  if (!opened.ok())
    return fail(opened.message());
  const Artifact &artifact = **opened;
  const fb::Program &p = artifact.program();
  const fb::Target &t = *p.target();
  std::printf("artifact:  %s (llmc %s, program schema %u)\n", args.path.c_str(),
              p.llmc_version()->c_str(), p.schema_version());
  std::printf("model:     %s\n", p.model_config_json()->c_str());
  std::string features;
  if (t.cpu_features())
    for (const flatbuffers::String *f : *t.cpu_features())
      features += (features.empty() ? "" : ",") + f->str();
  if (t.kind()->str() == "cpu") {
    std::printf("target:    %s, cpu %s [%s], binding alignment %u\n",
                t.kind()->c_str(), t.cpu_name() ? t.cpu_name()->c_str() : "",
                features.c_str(), t.binding_alignment());
  } else {
    uint64_t binaryBytes = 0;
    if (p.binaries())
      for (const fb::Binary *b : *p.binaries())
        binaryBytes += b->data() ? b->data()->size() : 0;
    std::string subgroup = t.subgroup_size() ? std::to_string(t.subgroup_size())
                                             : std::string("any");
    std::printf("target:    %s, profile %s, subgroup size %s, binding "
                "alignment %u; %u %s modules, %llu bytes\n",
                t.kind()->c_str(), t.profile() ? t.profile()->c_str() : "",
                subgroup.c_str(), t.binding_alignment(),
                p.binaries() ? p.binaries()->size() : 0,
                t.kind()->str() == "vulkan" ? "SPIR-V" : "PTX",
                (unsigned long long)binaryBytes);
  }
  std::vector<std::string> host = hostCPUFeatures();
  const fb::KVCache &kv = *p.kv();
  std::printf("kv cache:  %u layers x %u kv heads x %u dims, %u-token blocks, "
              "%u-byte elements, context %llu\n",
              kv.layers(), kv.kv_heads(), kv.head_dim(), kv.block_size(),
              kv.element_bytes(), (unsigned long long)kv.context_length());
  uint64_t weightBytes = 0;
  for (const fb::Weight *w : *p.weights())
    weightBytes += w->bytes();
  std::printf("weights:   %u tensors, %llu bytes\n", p.weights()->size(),
              (unsigned long long)weightBytes);
  std::printf("kernels:   %u\n", p.kernels()->size());
  for (const fb::Entry *e : *p.entries()) {
    std::string maxima;
    for (size_t i = 0; i < p.symbols()->size(); ++i)
      maxima += (i ? ", " : "") + p.symbols()->Get(i)->str() + " <= " +
                std::to_string(e->symbol_max()->Get(i));
    std::printf("@%s: %u dispatches; symbols %s; arena %llu bytes (unplanned "
                "%llu); step buffer %llu bytes\n",
                e->name()->c_str(), e->dispatches()->size(), maxima.c_str(),
                (unsigned long long)e->arena_bytes(),
                (unsigned long long)e->unplanned_bytes(),
                (unsigned long long)e->step_bytes());
    if (!args.program)
      continue;
    for (const fb::StepField *f : *e->step_fields())
      std::printf("  step %-12s offset %6llu, %llu bytes\n", f->name()->c_str(),
                  (unsigned long long)f->offset(),
                  (unsigned long long)f->bytes());
    int index = 0;
    for (const fb::Dispatch *d : *e->dispatches()) {
      std::printf("  %3d %-18s grid (%s, %s, %s)", index++,
                  p.kernels()->Get(d->kernel())->name()->c_str(),
                  exprText(*d->grid()->Get(0), p).c_str(),
                  exprText(*d->grid()->Get(1), p).c_str(),
                  exprText(*d->grid()->Get(2), p).c_str());
      for (const fb::Binding *b : *d->bindings()) {
        if (b->kind() == fb::BindingKind::Weight)
          std::printf(" %s", p.weights()->Get(b->index())->name()->c_str());
        else if (b->kind() == fb::BindingKind::KVKeys ||
                 b->kind() == fb::BindingKind::KVValues)
          std::printf(" %s[%u]", bindingKind(b->kind()), b->index());
        else
          std::printf(" %s+%llu", bindingKind(b->kind()),
                      (unsigned long long)b->offset());
      }
      std::printf("\n");
    }
  }
  if (args.weights)
    for (const fb::Weight *w : *p.weights()) {
      std::string shape;
      for (int64_t d : *w->shape())
        shape += (shape.empty() ? "" : "x") + std::to_string(d);
      std::printf("  weight %-24s %-5s layout %u  %-12s %llu bytes\n",
                  w->name()->c_str(),
                  tensorTypeName(static_cast<TensorType>(w->format())),
                  w->layout(), shape.c_str(), (unsigned long long)w->bytes());
    }
}
} // namespace

void addInspectCommand(CLI::App &app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App *cmd = app.add_subcommand(
      "inspect", "Describe an artifact (config, program, memory plan) or a model file");
  cmd->add_option("path", args->path, "artifact folder, model folder or .gguf")
      ->required();
  cmd->add_flag("--program", args->program, "list every dispatch of every entry");
  cmd->add_flag("--weights", args->weights, "list the weight table");
  cmd->add_option("--dump-tensor", args->tensor,
                  "model files: write this tensor, decoded to f32, to --out");
  cmd->add_option("--out", args->out, "file for --dump-tensor");
  cmd->callback([args] {
    if (isArtifact(args->path))
      return inspectArtifact(*args);
    auto source = ModelSource::open(args->path);
    if (!source.ok())
      return fail(source.message());
    if (!args->tensor.empty()) {
      if (args->out.empty())
        return fail("--dump-tensor needs --out FILE");
      return dumpTensor(**source, *args);
    }
    std::cout << describeModel(**source);
  });
}

} // namespace llmc::cli
