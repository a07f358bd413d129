//===- llmc.cpp - the C API over the runtime ---------------------------------------===//
//
// Thin handles over Artifact, Tokenizer, Session, Sampler and generate();
// every failure becomes a status code and a thread-local message.
//
//===----------------------------------------------------------------------===//

#include "llmc/llmc.h"

#include "runtime/chat/ChatTemplate.h"
#include "runtime/engine/Conversation.h"
#include "runtime/engine/Generator.h"

#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>

using namespace llmc;

struct llmc_model {
  std::shared_ptr<Artifact> artifact;
  std::unique_ptr<Tokenizer> tokenizer;
  // The tokenizer's chat template, parsed once at load (immutable, so shared
  // by every thread), or why it could not be.
  std::unique_ptr<ChatTemplate> chatTemplate;
  std::string chatTemplateError;
};

struct llmc_session {
  llmc_model *model = nullptr;
  std::unique_ptr<Session> session;
  std::map<int32_t, std::vector<float>> logits; // last logits per sequence
  std::map<int32_t, std::vector<int32_t>> history;
};

struct llmc_sampler {
  Sampler sampler;
};

struct llmc_chat {
  llmc_session *session = nullptr;
  int32_t seq = -1;
  std::unique_ptr<ChatTemplate> ownTemplate; // llmc_chat_create's argument
  std::unique_ptr<Conversation> conversation;
  int32_t reused = 0;
};

namespace {
thread_local std::string lastError;

llmc_status fail(llmc_status status, const std::string &message) {
  lastError = message;
  return status;
}

llmc_status failStatus(const Status &status, llmc_status code) {
  return fail(code, status.message());
}

/// Maps runtime messages to the closest status code.
llmc_status codeFor(const Status &status) {
  const std::string &m = status.message();
  if (m.find("full") != std::string::npos ||
      m.find("context") != std::string::npos ||
      m.find("exceeds") != std::string::npos)
    return LLMC_ERROR_CAPACITY;
  if (m.find("no sequence") != std::string::npos ||
      m.find("outside the vocabulary") != std::string::npos)
    return LLMC_ERROR_INVALID_ARGUMENT;
  return LLMC_ERROR_RUNTIME;
}

SamplerOptions toSamplerOptions(const llmc_sampler_options *o) {
  SamplerOptions s;
  if (!o)
    return s;
  s.temperature = o->temperature;
  s.topK = o->top_k;
  s.topP = o->top_p;
  s.minP = o->min_p;
  s.repeatPenalty = o->repeat_penalty;
  s.repeatLastN = o->repeat_last_n;
  s.seed = o->seed;
  return s;
}

GenerateOptions toGenerateOptions(const llmc_generate_options &o) {
  GenerateOptions g;
  g.maxTokens = o.max_tokens;
  g.sampling = toSamplerOptions(&o.sampling);
  g.stopAtEndOfGeneration = o.ignore_eos == 0;
  for (size_t i = 0; i < o.n_stop; ++i)
    if (o.stop && o.stop[i])
      g.stopStrings.push_back(o.stop[i]);
  return g;
}

TextCallback toTextCallback(llmc_text_callback callback, void *user) {
  if (!callback)
    return {};
  return [callback, user](int32_t token, const std::string &piece) {
    return piece.empty() ||
           callback(user, token, piece.data(), piece.size()) == 0;
  };
}

/// Copies `s` with its NUL into `text` when it fits (the llmc_detokenize
/// convention).
llmc_status copyOut(const std::string &s, const char *who, char *text,
                    size_t capacity, size_t *length) {
  *length = s.size();
  if (s.size() + 1 > capacity)
    return fail(LLMC_ERROR_CAPACITY, std::string(who) + ": " +
                                         std::to_string(s.size() + 1) +
                                         " bytes do not fit in " +
                                         std::to_string(capacity));
  std::memcpy(text, s.c_str(), s.size() + 1);
  return LLMC_OK;
}

template <typename F> llmc_status guard(F &&f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return fail(LLMC_ERROR_RUNTIME, "out of memory");
  } catch (const std::exception &e) {
    return fail(LLMC_ERROR_RUNTIME, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(LLMC_ERROR_RUNTIME, "internal error");
  }
}
} // namespace

extern "C" {

int llmc_api_version(void) { return LLMC_API_VERSION; }
const char *llmc_version_string(void) { return LLMC_VERSION_STRING; }
const char *llmc_last_error(void) { return lastError.c_str(); }

llmc_status llmc_model_load(const char *artifact_dir, llmc_model **out) {
  if (!artifact_dir || !out)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_model_load: null argument");
  *out = nullptr;
  return guard([&] {
    auto artifact = Artifact::open(artifact_dir);
    if (!artifact.ok()) {
      bool target = artifact.message().find("lacks") != std::string::npos ||
                    artifact.message().find("compiled for") != std::string::npos;
      return failStatus(artifact.status(),
                        target ? LLMC_ERROR_UNSUPPORTED : LLMC_ERROR_LOAD);
    }
    auto model = std::make_unique<llmc_model>();
    model->artifact = artifact.take();
    auto tokenizer = model->artifact->loadTokenizer();
    if (!tokenizer.ok())
      return failStatus(tokenizer.status(), LLMC_ERROR_LOAD);
    model->tokenizer = tokenizer.take();
    if (model->tokenizer && !model->tokenizer->chatTemplate().empty()) {
      auto parsed = ChatTemplate::parse(model->tokenizer->chatTemplate());
      if (parsed.ok())
        model->chatTemplate = parsed.take();
      else
        model->chatTemplateError = "chat template: " + parsed.message();
    }
    *out = model.release();
    return LLMC_OK;
  });
}

void llmc_model_free(llmc_model *model) { delete model; }

int32_t llmc_model_vocab_size(const llmc_model *model) {
  return model ? static_cast<int32_t>(model->artifact->vocabSize()) : 0;
}

int32_t llmc_model_context_length(const llmc_model *model) {
  return model ? static_cast<int32_t>(
                     model->artifact->program().kv()->context_length())
               : 0;
}

int32_t llmc_model_eos_token(const llmc_model *model) {
  return model && model->tokenizer ? model->tokenizer->eosId() : -1;
}

llmc_status llmc_tokenize(const llmc_model *model, const char *text,
                          size_t length, int add_bos, int parse_special,
                          int32_t *tokens, size_t capacity, size_t *n_tokens) {
  if (!model || (!text && length) || !n_tokens || (!tokens && capacity))
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_tokenize: null argument");
  if (!model->tokenizer)
    return fail(LLMC_ERROR_UNSUPPORTED, "the artifact has no tokenizer");
  return guard([&] {
    std::vector<int32_t> ids = model->tokenizer->encode(
        std::string_view(text ? text : "", length), add_bos != 0,
        parse_special != 0);
    *n_tokens = ids.size();
    if (ids.size() > capacity)
      return fail(LLMC_ERROR_CAPACITY, "llmc_tokenize: " +
                                           std::to_string(ids.size()) +
                                           " tokens do not fit in " +
                                           std::to_string(capacity));
    std::copy(ids.begin(), ids.end(), tokens);
    return LLMC_OK;
  });
}

llmc_status llmc_detokenize(const llmc_model *model, const int32_t *tokens,
                            size_t n_tokens, char *text, size_t capacity,
                            size_t *length) {
  if (!model || (!tokens && n_tokens) || !length || (!text && capacity))
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_detokenize: null argument");
  if (!model->tokenizer)
    return fail(LLMC_ERROR_UNSUPPORTED, "the artifact has no tokenizer");
  return guard([&] {
    std::string s = model->tokenizer->decode(
        std::vector<int32_t>(tokens, tokens + n_tokens));
    return copyOut(s, "llmc_detokenize", text, capacity, length);
  });
}

void llmc_session_options_init(llmc_session_options *options) {
  if (!options)
    return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
}

llmc_status llmc_session_create(llmc_model *model,
                                const llmc_session_options *options,
                                llmc_session **out) {
  if (!model || !out)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_session_create: null argument");
  if (options && options->struct_size != sizeof(llmc_session_options))
    return fail(LLMC_ERROR_INVALID_ARGUMENT,
                "llmc_session_create: options.struct_size does not match this "
                "library (call llmc_session_options_init)");
  *out = nullptr;
  return guard([&] {
    SessionOptions o;
    if (options) {
      o.contextLength = options->context_length;
      o.kvBudgetBytes = options->kv_budget_bytes;
      o.threads = options->threads;
      o.poisonOnFree = options->poison_on_free != 0;
      if (options->device)
        o.device = options->device;
    }
    auto session = Session::create(model->artifact, o);
    if (!session.ok())
      return failStatus(session.status(), LLMC_ERROR_UNSUPPORTED);
    auto s = std::make_unique<llmc_session>();
    s->model = model;
    s->session = session.take();
    *out = s.release();
    return LLMC_OK;
  });
}

void llmc_session_free(llmc_session *session) { delete session; }

llmc_status llmc_sequence_add(llmc_session *session, int32_t *seq) {
  if (!session || !seq)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_sequence_add: null argument");
  return guard([&] {
    auto id = session->session->addSequence();
    if (!id.ok())
      return failStatus(id.status(), LLMC_ERROR_RUNTIME);
    *seq = *id;
    return LLMC_OK;
  });
}

llmc_status llmc_sequence_remove(llmc_session *session, int32_t seq) {
  if (!session)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_sequence_remove: null session");
  return guard([&] {
    if (Status st = session->session->removeSequence(seq); st.isError())
      return failStatus(st, LLMC_ERROR_INVALID_ARGUMENT);
    session->logits.erase(seq);
    session->history.erase(seq);
    return LLMC_OK;
  });
}

int32_t llmc_sequence_length(const llmc_session *session, int32_t seq) {
  return session ? static_cast<int32_t>(session->session->length(seq)) : -1;
}

llmc_status llmc_sequence_truncate(llmc_session *session, int32_t seq,
                                   int32_t length) {
  if (!session)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_sequence_truncate: null session");
  return guard([&] {
    if (Status st = session->session->truncateSequence(seq, length); st.isError())
      return failStatus(st, LLMC_ERROR_INVALID_ARGUMENT);
    session->logits.erase(seq);
    auto &history = session->history[seq];
    if (history.size() > static_cast<size_t>(length))
      history.resize(static_cast<size_t>(length));
    return LLMC_OK;
  });
}

llmc_status llmc_prefill(llmc_session *session, int32_t seq,
                         const int32_t *tokens, size_t n_tokens) {
  if (!session || !tokens || n_tokens == 0)
    return fail(LLMC_ERROR_INVALID_ARGUMENT,
                "llmc_prefill: null argument or no tokens");
  return guard([&] {
    std::vector<int32_t> ids(tokens, tokens + n_tokens);
    std::vector<float> logits;
    if (Status st = session->session->prefill(seq, ids, &logits); st.isError())
      return failStatus(st, codeFor(st));
    session->logits[seq] = std::move(logits);
    auto &history = session->history[seq];
    history.insert(history.end(), ids.begin(), ids.end());
    return LLMC_OK;
  });
}

llmc_status llmc_decode(llmc_session *session, const int32_t *seqs,
                        const int32_t *tokens, size_t n) {
  if (!session || !seqs || !tokens || n == 0)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_decode: null argument");
  return guard([&] {
    std::vector<int> s(seqs, seqs + n);
    std::vector<int32_t> t(tokens, tokens + n);
    std::vector<float> logits;
    if (Status st = session->session->decode(s, t, &logits); st.isError())
      return failStatus(st, codeFor(st));
    int64_t vocab = session->session->vocabSize();
    for (size_t i = 0; i < n; ++i) {
      session->logits[s[i]].assign(logits.begin() + i * vocab,
                                   logits.begin() + (i + 1) * vocab);
      session->history[s[i]].push_back(t[i]);
    }
    return LLMC_OK;
  });
}

const float *llmc_logits(const llmc_session *session, int32_t seq) {
  if (!session)
    return nullptr;
  auto it = session->logits.find(seq);
  return it == session->logits.end() || it->second.empty() ? nullptr
                                                           : it->second.data();
}

void llmc_sampler_options_init(llmc_sampler_options *options) {
  if (!options)
    return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
  options->top_p = 1.0f;
  options->repeat_penalty = 1.0f;
  options->repeat_last_n = 64;
}

llmc_status llmc_sampler_create(const llmc_sampler_options *options,
                                llmc_sampler **out) {
  if (!out)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_sampler_create: null argument");
  if (options && options->struct_size != sizeof(llmc_sampler_options))
    return fail(LLMC_ERROR_INVALID_ARGUMENT,
                "llmc_sampler_create: options.struct_size does not match");
  return guard([&] {
    *out = new llmc_sampler{Sampler(toSamplerOptions(options))};
    return LLMC_OK;
  });
}

void llmc_sampler_free(llmc_sampler *sampler) { delete sampler; }

int32_t llmc_sample(llmc_sampler *sampler, const float *logits, int32_t vocab,
                    const int32_t *history, size_t n_history) {
  if (!sampler || !logits || vocab <= 0) {
    lastError = "llmc_sample: null argument";
    return -1;
  }
  std::vector<int32_t> h;
  if (history)
    h.assign(history, history + n_history);
  return sampler->sampler.sample(logits, vocab, h);
}

void llmc_generate_options_init(llmc_generate_options *options) {
  if (!options)
    return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
  options->max_tokens = 128;
  llmc_sampler_options_init(&options->sampling);
  options->add_bos = -1;
}

llmc_status llmc_generate(llmc_session *session, int32_t seq,
                          const char *prompt,
                          const llmc_generate_options *options,
                          llmc_text_callback callback, void *user,
                          size_t *n_generated) {
  if (!session || !prompt)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_generate: null argument");
  if (options && options->struct_size != sizeof(llmc_generate_options))
    return fail(LLMC_ERROR_INVALID_ARGUMENT,
                "llmc_generate: options.struct_size does not match");
  const Tokenizer *tokenizer = session->model->tokenizer.get();
  if (!tokenizer)
    return fail(LLMC_ERROR_UNSUPPORTED, "the artifact has no tokenizer");
  llmc_generate_options defaults;
  llmc_generate_options_init(&defaults);
  const llmc_generate_options &o = options ? *options : defaults;
  return guard([&] {
    bool bos = o.add_bos < 0 ? tokenizer->addBosByDefault() : o.add_bos != 0;
    // A sequence that already holds tokens continues without a new BOS.
    if (session->session->length(seq) > 0)
      bos = false;
    std::vector<int32_t> tokens = tokenizer->encode(prompt, bos, true);
    if (tokens.empty())
      return fail(LLMC_ERROR_INVALID_ARGUMENT, "the prompt encodes to no tokens");
    std::vector<float> logits;
    if (Status st = session->session->prefill(seq, tokens, &logits); st.isError())
      return failStatus(st, codeFor(st));
    auto &history = session->history[seq];
    history.insert(history.end(), tokens.begin(), tokens.end());
    GenerateOptions g = toGenerateOptions(o);
    TextCallback onText = toTextCallback(callback, user);
    auto result = generate(*session->session, seq, tokenizer, logits, history,
                           g, onText);
    if (!result.ok())
      return failStatus(result.status(), codeFor(result.status()));
    if (n_generated)
      *n_generated = result->tokens.size();
    // Generated tokens that were decoded are now part of the sequence.
    history.insert(history.end(), result->tokens.begin(),
                   result->tokens.begin() + result->decodeSteps);
    if (result->reason == StopReason::Cancelled)
      return fail(LLMC_ERROR_CANCELLED, "cancelled by the callback");
    return LLMC_OK;
  });
}

llmc_status llmc_chat_render(const llmc_model *model,
                             const llmc_chat_message *messages,
                             size_t n_messages, int add_generation_prompt,
                             char *text, size_t capacity, size_t *length) {
  if (!model || (!messages && n_messages) || !length || (!text && capacity))
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_chat_render: null argument");
  if (!model->tokenizer || model->tokenizer->chatTemplate().empty())
    return fail(LLMC_ERROR_UNSUPPORTED, "the model has no chat template");
  return guard([&] {
    ChatTemplateContext context;
    for (size_t i = 0; i < n_messages; ++i) {
      if (!messages[i].role || !messages[i].content)
        return fail(LLMC_ERROR_INVALID_ARGUMENT,
                    "llmc_chat_render: message " + std::to_string(i) +
                        " has a null role or content");
      context.messages.push_back({messages[i].role, messages[i].content});
    }
    context.addGenerationPrompt = add_generation_prompt != 0;
    context.bosToken = model->tokenizer->bosToken();
    context.eosToken = model->tokenizer->eosToken();
    if (!model->chatTemplate)
      return fail(LLMC_ERROR_UNSUPPORTED, model->chatTemplateError);
    auto rendered = model->chatTemplate->render(context);
    if (!rendered.ok())
      return fail(LLMC_ERROR_INVALID_ARGUMENT,
                  "chat template: " + rendered.message());
    return copyOut(*rendered, "llmc_chat_render", text, capacity, length);
  });
}

llmc_status llmc_chat_create(llmc_session *session, int32_t seq,
                             const char *system, const char *chat_template,
                             llmc_chat **out) {
  if (!session || !out)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_chat_create: null argument");
  *out = nullptr;
  const Tokenizer *tokenizer = session->model->tokenizer.get();
  if (!tokenizer)
    return fail(LLMC_ERROR_UNSUPPORTED, "the artifact has no tokenizer");
  const llmc_model &model = *session->model;
  if (chat_template ? *chat_template == '\0' : tokenizer->chatTemplate().empty())
    return fail(LLMC_ERROR_UNSUPPORTED,
                "the model has no chat template; pass one to llmc_chat_create");
  if (!chat_template && !model.chatTemplate)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, model.chatTemplateError);
  return guard([&] {
    auto chat = std::make_unique<llmc_chat>();
    chat->session = session;
    chat->seq = seq;
    const ChatTemplate *use = model.chatTemplate.get();
    if (chat_template) {
      auto parsed = ChatTemplate::parse(chat_template);
      if (!parsed.ok())
        return fail(LLMC_ERROR_INVALID_ARGUMENT,
                    "chat template: " + parsed.message());
      chat->ownTemplate = parsed.take();
      use = chat->ownTemplate.get();
    }
    auto conversation = Conversation::create(*session->session, seq, *tokenizer,
                                             *use, system ? system : "");
    if (!conversation.ok())
      return failStatus(conversation.status(), LLMC_ERROR_INVALID_ARGUMENT);
    chat->conversation = conversation.take();
    session->logits.erase(seq);
    session->history.erase(seq);
    *out = chat.release();
    return LLMC_OK;
  });
}

void llmc_chat_free(llmc_chat *chat) { delete chat; }

llmc_status llmc_chat_send(llmc_chat *chat, const char *message,
                           const llmc_generate_options *options,
                           llmc_text_callback callback, void *user,
                           size_t *n_generated) {
  if (!chat || !message)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_chat_send: null argument");
  if (options && options->struct_size != sizeof(llmc_generate_options))
    return fail(LLMC_ERROR_INVALID_ARGUMENT,
                "llmc_chat_send: options.struct_size does not match");
  llmc_generate_options defaults;
  llmc_generate_options_init(&defaults);
  const llmc_generate_options &o = options ? *options : defaults;
  return guard([&] {
    llmc_session *session = chat->session;
    auto turn = chat->conversation->send(message, toGenerateOptions(o),
                                         toTextCallback(callback, user));
    session->logits.erase(chat->seq);
    session->history[chat->seq] = chat->conversation->cachedTokens();
    if (!turn.ok())
      return failStatus(turn.status(), turn.message().rfind("chat template", 0) == 0
                                           ? LLMC_ERROR_INVALID_ARGUMENT
                                           : codeFor(turn.status()));
    chat->reused = static_cast<int32_t>(turn->reusedTokens);
    if (n_generated)
      *n_generated = turn->generation.tokens.size();
    if (turn->generation.reason == StopReason::Cancelled)
      return fail(LLMC_ERROR_CANCELLED, "cancelled by the callback");
    return LLMC_OK;
  });
}

int32_t llmc_chat_reused_tokens(const llmc_chat *chat) {
  return chat ? chat->reused : -1;
}

llmc_status llmc_chat_reset(llmc_chat *chat) {
  if (!chat)
    return fail(LLMC_ERROR_INVALID_ARGUMENT, "llmc_chat_reset: null chat");
  return guard([&] {
    if (Status st = chat->conversation->reset(); st.isError())
      return failStatus(st, LLMC_ERROR_INVALID_ARGUMENT);
    chat->session->logits.erase(chat->seq);
    chat->session->history.erase(chat->seq);
    chat->reused = 0;
    return LLMC_OK;
  });
}

} // extern "C"
