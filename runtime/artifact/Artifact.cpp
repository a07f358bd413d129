//===- Artifact.cpp - a compiled model: program, kernels, weights, tokenizer ----===//

#include "runtime/artifact/Artifact.h"

#include "runtime/support/MappedFile.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <algorithm>
#include <dlfcn.h>
#include <sys/stat.h>

namespace llmc {

namespace {
bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string str(const flatbuffers::String *s) {
  return s ? s->str() : std::string();
}

/// Checks a postfix expression: known opcodes, balanced stack, symbols in range.
bool validExpr(const fb::Expr *expr, size_t numSymbols) {
  if (!expr || !expr->code())
    return false;
  const auto &code = *expr->code();
  int depth = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    switch (static_cast<ExprOp>(code[i])) {
    case ExprOp::Constant:
      if (++i >= code.size())
        return false;
      ++depth;
      break;
    case ExprOp::Symbol:
      if (++i >= code.size() || code[i] < 0 ||
          static_cast<size_t>(code[i]) >= numSymbols)
        return false;
      ++depth;
      break;
    case ExprOp::Add: case ExprOp::Mul: case ExprOp::FloorDiv:
    case ExprOp::CeilDiv: case ExprOp::Mod:
      if (depth < 2)
        return false;
      --depth;
      break;
    default:
      return false;
    }
    if (depth > 32)
      return false;
  }
  return depth == 1;
}
} // namespace

int64_t evaluateExpr(const fb::Expr &expr, const int64_t *symbols) {
  int64_t stack[33];
  int depth = 0;
  const auto &code = *expr.code();
  for (size_t i = 0; i < code.size(); ++i) {
    auto op = static_cast<ExprOp>(code[i]);
    if (op == ExprOp::Constant) {
      stack[depth++] = code[++i];
      continue;
    }
    if (op == ExprOp::Symbol) {
      stack[depth++] = symbols[code[++i]];
      continue;
    }
    int64_t b = stack[--depth], a = stack[depth - 1];
    int64_t r = 0;
    switch (op) {
    case ExprOp::Add: r = a + b; break;
    case ExprOp::Mul: r = a * b; break;
    case ExprOp::FloorDiv: r = b ? a / b : 0; break;
    case ExprOp::CeilDiv: r = b ? (a + b - 1) / b : 0; break;
    case ExprOp::Mod: r = b ? a % b : 0; break;
    default: break;
    }
    stack[depth - 1] = r;
  }
  return depth ? stack[0] : 0;
}

std::vector<std::string> hostCPUFeatures() {
  std::vector<std::string> out;
#if defined(__x86_64__)
  __builtin_cpu_init();
  struct { const char *name; bool has; } features[] = {
      {"sse4.2", __builtin_cpu_supports("sse4.2") != 0},
      {"avx", __builtin_cpu_supports("avx") != 0},
      {"avx2", __builtin_cpu_supports("avx2") != 0},
      {"fma", __builtin_cpu_supports("fma") != 0},
      {"f16c", true /* every AVX2 CPU llmc targets has it; checked below */},
      {"avx512f", __builtin_cpu_supports("avx512f") != 0},
      {"avx512bw", __builtin_cpu_supports("avx512bw") != 0},
      {"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
      {"avx512dq", __builtin_cpu_supports("avx512dq") != 0},
      {"avx512vnni", __builtin_cpu_supports("avx512vnni") != 0},
      {"avxvnni", __builtin_cpu_supports("avxvnni") != 0},
  };
  for (auto &f : features)
    if (f.has)
      out.push_back(f.name);
  // F16C is not in GCC 12's list: read CPUID leaf 1, ECX bit 29.
  unsigned eax, ebx, ecx, edx;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  if (!(ecx & (1u << 29)))
    out.erase(std::remove(out.begin(), out.end(), "f16c"), out.end());
#endif
  return out;
}

Result<std::shared_ptr<Artifact>> Artifact::open(const std::string &dir,
                                                 const ArtifactOptions &options) {
  std::shared_ptr<Artifact> artifact(new Artifact());
  artifact->dir_ = dir;
  std::string library = dir + "/model.so";
  if (!fileExists(library))
    return Status::error(dir + ": not an llmc artifact (no model.so)");
  // Artifacts are trusted code: model.so is loaded into this process.
  artifact->library_ = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!artifact->library_)
    return Status::error(library + ": cannot load: " + ::dlerror());
  auto *data = static_cast<const uint8_t *>(
      ::dlsym(artifact->library_, kProgramSymbol));
  auto *size = static_cast<const uint64_t *>(
      ::dlsym(artifact->library_, kProgramSizeSymbol));
  if (!data || !size)
    return Status::error(library + ": no embedded llmc program");
  flatbuffers::Verifier verifier(data, *size);
  if (!fb::VerifyProgramBuffer(verifier))
    return Status::error(library + ": the embedded program is malformed");
  artifact->program_ = fb::GetProgram(data);
  const fb::Program &program = *artifact->program_;
  if (program.schema_version() != kProgramSchemaVersion)
    return Status::error(library + ": program schema version " +
                         std::to_string(program.schema_version()) +
                         ", this runtime reads version " +
                         std::to_string(kProgramSchemaVersion) +
                         "; recompile the model");
  LLMC_RETURN_IF_ERROR(artifact->verifyProgram().withContext(library));
  if (options.checkTarget)
    LLMC_RETURN_IF_ERROR(artifact->checkTarget());

  std::string configPath = dir + "/llmc-config.json";
  if (fileExists(configPath)) {
    auto text = readTextFile(configPath, 1 << 20);
    if (text.ok())
      artifact->configJson_ = text.take();
  }

  if (options.loadWeights) {
    LLMC_ASSIGN_OR_RETURN(artifact->weights_,
                          WeightsFile::open(dir + "/weights.bin",
                                            options.verifyWeightsChecksum));
    for (const fb::Weight *w : *program.weights()) {
      const WeightsEntry *entry = artifact->weights_->find(str(w->name()));
      if (!entry)
        return Status::error(dir + "/weights.bin: missing weight '" +
                             str(w->name()) + "' the program needs");
      if (entry->bytes != w->bytes() ||
          static_cast<uint8_t>(entry->format) != w->format() ||
          entry->layout != w->layout())
        return Status::error(dir + "/weights.bin: weight '" + str(w->name()) +
                             "' does not match the program (format, layout "
                             "or size); pack it again");
      artifact->weightEntries_.push_back(entry);
    }
  }
  return artifact;
}

Artifact::~Artifact() {
  if (library_)
    ::dlclose(library_);
}

Status Artifact::verifyProgram() {
  const fb::Program &p = *program_;
  if (!p.target() || !p.symbols() || !p.entries() || !p.kernels() ||
      !p.weights() || !p.kv())
    return Status::error("the program is missing a section");
  size_t numSymbols = p.symbols()->size();
  size_t numKernels = p.kernels()->size();
  size_t numWeights = p.weights()->size();
  uint32_t layers = p.kv()->layers();
  if (layers == 0 || p.kv()->block_size() == 0 || p.kv()->head_dim() == 0 ||
      p.kv()->kv_heads() == 0 ||
      (p.kv()->element_bytes() != 2 && p.kv()->element_bytes() != 4))
    return Status::error("the program's KV cache description is invalid");
  for (const fb::Kernel *k : *p.kernels())
    if (!k->name())
      return Status::error("a kernel has no name");
  for (const fb::Entry *e : *p.entries()) {
    std::string name = str(e->name());
    auto fail = [&](const std::string &m) {
      return Status::error("entry '" + name + "': " + m);
    };
    if (!e->symbol_max() || e->symbol_max()->size() != numSymbols ||
        !e->dispatches() || !e->step_fields() || !e->output())
      return fail("incomplete");
    for (int64_t m : *e->symbol_max())
      if (m < 0 || m > (1 << 20))
        return fail("a symbol maximum is out of range");
    if (e->arena_bytes() > (1ull << 40) || e->step_bytes() > (1ull << 30))
      return fail("absurd arena or step sizes");
    if (e->output_rows_symbol() < 0 ||
        static_cast<size_t>(e->output_rows_symbol()) >= numSymbols ||
        e->output_cols() <= 0)
      return fail("invalid output description");
    for (const fb::StepField *f : *e->step_fields())
      if (!f->name() || f->offset() > e->step_bytes() ||
          f->bytes() > e->step_bytes() - f->offset())
        return fail("a step field lies outside the step buffer");
    auto checkBinding = [&](const fb::Binding &b) -> bool {
      switch (b.kind()) {
      case fb::BindingKind::Step:
        return b.offset() <= e->step_bytes() &&
               b.bytes() <= e->step_bytes() - b.offset();
      case fb::BindingKind::Arena:
        return b.offset() <= e->arena_bytes() &&
               b.bytes() <= e->arena_bytes() - b.offset();
      case fb::BindingKind::Weight:
        return b.index() < numWeights && b.offset() == 0;
      case fb::BindingKind::KVKeys:
      case fb::BindingKind::KVValues:
        return b.index() < layers && b.offset() == 0;
      }
      return false;
    };
    if (!checkBinding(*e->output()) ||
        e->output()->kind() != fb::BindingKind::Arena)
      return fail("the output binding is invalid");
    for (const fb::Dispatch *d : *e->dispatches()) {
      if (d->kernel() >= numKernels || !d->grid() || d->grid()->size() != 3 ||
          !d->bindings())
        return fail("a dispatch is malformed");
      if (d->bindings()->size() != p.kernels()->Get(d->kernel())->num_bindings())
        return fail("a dispatch of kernel '" +
                    str(p.kernels()->Get(d->kernel())->name()) +
                    "' has the wrong number of bindings");
      for (const fb::Expr *g : *d->grid())
        if (!validExpr(g, numSymbols))
          return fail("a grid expression is malformed");
      for (const fb::Binding *b : *d->bindings())
        if (!checkBinding(*b))
          return fail("a binding of kernel '" +
                      str(p.kernels()->Get(d->kernel())->name()) +
                      "' lies outside its buffer");
      if (d->frees())
        for (const fb::Range *r : *d->frees())
          if (r->offset() > e->arena_bytes() ||
              r->bytes() > e->arena_bytes() - r->offset())
            return fail("a freed range lies outside the arena");
    }
  }
  for (const fb::Weight *w : *p.weights())
    if (!w->name() || !w->sources() || !w->shape() || w->format() >= kNumTensorTypes)
      return Status::error("a weight description is malformed");

  std::string kind = str(p.target()->kind());
  if (kind == "cpu") {
    for (const fb::Kernel *k : *p.kernels()) {
      auto fn = reinterpret_cast<KernelFn>(::dlsym(library_, k->name()->c_str()));
      if (!fn)
        return Status::error("kernel '" + k->name()->str() +
                             "' is missing from model.so");
      cpuKernels_.push_back(fn);
    }
  }
  return Status::ok();
}

Status Artifact::checkTarget() {
  const fb::Target &target = *program_->target();
  if (str(target.kind()) != "cpu")
    return Status::ok(); // GPU devices check their own profile
  std::vector<std::string> host = hostCPUFeatures();
  std::string missing;
  if (target.cpu_features())
    for (const flatbuffers::String *f : *target.cpu_features())
      if (std::find(host.begin(), host.end(), f->str()) == host.end())
        missing += (missing.empty() ? "" : ", ") + f->str();
  if (!missing.empty())
    return Status::error(dir_ + ": compiled for CPU " + str(target.cpu_name()) +
                         " with " + missing +
                         ", which this CPU lacks; recompile the model here");
  return Status::ok();
}

const fb::Entry *Artifact::entry(const std::string &name) const {
  for (const fb::Entry *e : *program_->entries())
    if (str(e->name()) == name)
      return e;
  return nullptr;
}

int Artifact::symbolIndex(const std::string &name) const {
  const auto &symbols = *program_->symbols();
  for (size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i]->str() == name)
      return static_cast<int>(i);
  return -1;
}

std::string Artifact::tokenizerJsonPath() const {
  std::string path = dir_ + "/tokenizer.json";
  return fileExists(path) ? path : std::string();
}

std::string Artifact::tokenizerConfigPath() const {
  std::string path = dir_ + "/tokenizer_config.json";
  return fileExists(path) ? path : std::string();
}

Result<std::unique_ptr<Tokenizer>> Artifact::loadTokenizer() const {
  std::string path = tokenizerJsonPath();
  if (path.empty())
    return std::unique_ptr<Tokenizer>();
  return Tokenizer::fromFiles(path, tokenizerConfigPath());
}

int64_t Artifact::vocabSize() const {
  const fb::Entry *e = program_->entries()->size() ? program_->entries()->Get(0)
                                                   : nullptr;
  return e ? e->output_cols() : 0;
}

} // namespace llmc
