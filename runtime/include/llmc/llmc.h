/* llmc.h - the llmc runtime's C API.
 *
 * The runtime loads an artifact written by `llmc compile` (model.so,
 * weights.bin, tokenizer.json, llmc-config.json) and runs it. It does not
 * depend on MLIR or LLVM.
 *
 * Artifacts are trusted code: llmc_model_load loads the artifact's model.so
 * into the calling process. Load only artifacts you built or trust.
 *
 * Errors: every call that can fail returns an llmc_status; LLMC_OK is 0. The
 * message of the last failure on the calling thread is llmc_last_error().
 * No call aborts the process on bad input.
 *
 * Thread safety:
 *  - An llmc_model is immutable once loaded: it may be shared by any number
 *    of threads and sessions (tokenize/detokenize may run concurrently).
 *  - An llmc_session (its sequences, KV cache and logits) must be used by one
 *    thread at a time; use one session per thread for parallel work. A
 *    session uses its own worker threads internally.
 *  - An llmc_sampler belongs to one thread at a time.
 *  - llmc_last_error() is per thread.
 * Free sessions before the model they were created from.
 *
 * Minimal use:
 *
 *   llmc_model *model;  llmc_session *session;
 *   if (llmc_model_load("out/", &model)) { puts(llmc_last_error()); return 1; }
 *   llmc_session_create(model, NULL, &session);
 *   int32_t seq;  llmc_sequence_add(session, &seq);
 *   llmc_generate_options opts;  llmc_generate_options_init(&opts);
 *   llmc_generate(session, seq, "def fibonacci(n):", &opts, print_piece, NULL, NULL);
 *   llmc_session_free(session);  llmc_model_free(model);
 */
#ifndef LLMC_LLMC_H
#define LLMC_LLMC_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define LLMC_API __attribute__((visibility("default")))
#else
#define LLMC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The API version: bumped when a declaration of this header changes
 * (2: llmc_sequence_truncate and the chat calls). */
#define LLMC_API_VERSION 2

typedef enum llmc_status {
  LLMC_OK = 0,
  LLMC_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, an unknown sequence... */
  LLMC_ERROR_LOAD = 2,             /* the artifact cannot be read or is malformed */
  LLMC_ERROR_UNSUPPORTED = 3,      /* e.g. compiled for another CPU or device */
  LLMC_ERROR_CAPACITY = 4,         /* a buffer is too small, the context or KV cache is full */
  LLMC_ERROR_CANCELLED = 5,        /* the callback asked to stop */
  LLMC_ERROR_RUNTIME = 6           /* a failure while running */
} llmc_status;

typedef struct llmc_model llmc_model;
typedef struct llmc_session llmc_session;
typedef struct llmc_sampler llmc_sampler;
typedef struct llmc_chat llmc_chat;

/* LLMC_API_VERSION of the library that is linked. */
LLMC_API int llmc_api_version(void);
/* The release version of the library, e.g. "0.1.0". */
LLMC_API const char *llmc_version_string(void);
/* The message of the last failed call on this thread ("" if none). */
LLMC_API const char *llmc_last_error(void);

/* ---- Models ------------------------------------------------------------- */

/* Loads and verifies an artifact folder (program, kernels, weights checksum,
 * target profile). */
LLMC_API llmc_status llmc_model_load(const char *artifact_dir, llmc_model **out);
LLMC_API void llmc_model_free(llmc_model *model);
/* Rows of the logits (the model's vocabulary, possibly larger than the
 * tokenizer's). */
LLMC_API int32_t llmc_model_vocab_size(const llmc_model *model);
/* Tokens one sequence may hold at most (the compiled context). */
LLMC_API int32_t llmc_model_context_length(const llmc_model *model);
/* The end-of-sequence token, -1 if none. */
LLMC_API int32_t llmc_model_eos_token(const llmc_model *model);

/* Token ids of `text` (`length` bytes). With add_bos the model's start token
 * is added; with parse_special, special tokens written in the text become
 * their ids. Writes at most `capacity` ids; *n_tokens is the number needed
 * (LLMC_ERROR_CAPACITY when it exceeds capacity). */
LLMC_API llmc_status llmc_tokenize(const llmc_model *model, const char *text,
                                   size_t length, int add_bos,
                                   int parse_special, int32_t *tokens,
                                   size_t capacity, size_t *n_tokens);
/* UTF-8 text of `tokens`, NUL-terminated; *length is the length needed
 * without the NUL (LLMC_ERROR_CAPACITY when it does not fit). */
LLMC_API llmc_status llmc_detokenize(const llmc_model *model,
                                     const int32_t *tokens, size_t n_tokens,
                                     char *text, size_t capacity,
                                     size_t *length);

/* ---- Sessions ----------------------------------------------------------- */

typedef struct llmc_session_options {
  size_t struct_size;       /* sizeof(llmc_session_options) */
  int32_t context_length;   /* per sequence; 0: the compiled context */
  uint64_t kv_budget_bytes; /* KV cache size; 0: every sequence of a full decode batch at full context */
  int32_t threads;          /* CPU threads; 0: all cores */
  const char *device;       /* "cpu" (default when NULL) */
  int32_t poison_on_free;   /* debug: fill buffers with NaN when they die */
} llmc_session_options;

LLMC_API void llmc_session_options_init(llmc_session_options *options);
/* `options` may be NULL for the defaults. */
LLMC_API llmc_status llmc_session_create(llmc_model *model,
                                         const llmc_session_options *options,
                                         llmc_session **out);
LLMC_API void llmc_session_free(llmc_session *session);

/* Sequences share the session's KV cache; each holds its own tokens. */
LLMC_API llmc_status llmc_sequence_add(llmc_session *session, int32_t *seq);
LLMC_API llmc_status llmc_sequence_remove(llmc_session *session, int32_t seq);
/* Tokens the sequence holds. */
LLMC_API int32_t llmc_sequence_length(const llmc_session *session, int32_t seq);
/* Keeps the first `length` tokens of a sequence (their KV cache entries stay
 * valid; the next prefill continues after them) and frees the rest. Its
 * logits are gone until the next prefill or decode. */
LLMC_API llmc_status llmc_sequence_truncate(llmc_session *session, int32_t seq,
                                            int32_t length);

/* Appends tokens to a sequence and computes their logits (the last token's
 * are kept: llmc_logits). */
LLMC_API llmc_status llmc_prefill(llmc_session *session, int32_t seq,
                                  const int32_t *tokens, size_t n_tokens);
/* Appends tokens[i] to seqs[i] for every i, in one step. */
LLMC_API llmc_status llmc_decode(llmc_session *session, const int32_t *seqs,
                                 const int32_t *tokens, size_t n);
/* The last logits of a sequence (llmc_model_vocab_size floats), valid until
 * the next call on the session; NULL if there are none. */
LLMC_API const float *llmc_logits(const llmc_session *session, int32_t seq);

/* ---- Sampling ----------------------------------------------------------- */

typedef struct llmc_sampler_options {
  size_t struct_size;    /* sizeof(llmc_sampler_options) */
  float temperature;     /* 0: greedy */
  int32_t top_k;         /* 0: off */
  float top_p;           /* 1: off */
  float min_p;           /* 0: off */
  float repeat_penalty;  /* 1: off */
  int32_t repeat_last_n; /* tokens the penalty looks back over */
  uint64_t seed;         /* same seed, same tokens */
} llmc_sampler_options;

LLMC_API void llmc_sampler_options_init(llmc_sampler_options *options);
LLMC_API llmc_status llmc_sampler_create(const llmc_sampler_options *options,
                                         llmc_sampler **out);
LLMC_API void llmc_sampler_free(llmc_sampler *sampler);
/* The next token for `logits` (`vocab` floats) given the tokens so far. */
LLMC_API int32_t llmc_sample(llmc_sampler *sampler, const float *logits,
                             int32_t vocab, const int32_t *history,
                             size_t n_history);

/* ---- Generation --------------------------------------------------------- */

/* Receives each piece of finished text (whole UTF-8 characters) and the
 * token that completed it; return nonzero to stop (LLMC_ERROR_CANCELLED). */
typedef int (*llmc_text_callback)(void *user, int32_t token, const char *text,
                                  size_t length);

typedef struct llmc_generate_options {
  size_t struct_size;            /* sizeof(llmc_generate_options) */
  int32_t max_tokens;            /* default 128 */
  llmc_sampler_options sampling; /* default greedy */
  const char *const *stop;       /* stop strings (not returned), may be NULL */
  size_t n_stop;
  int32_t add_bos;               /* -1: the model's default, 0 no, 1 yes */
  int32_t ignore_eos;            /* keep going past end-of-sequence tokens */
} llmc_generate_options;

LLMC_API void llmc_generate_options_init(llmc_generate_options *options);
/* Tokenizes `prompt`, prefills it into `seq` and generates, streaming text
 * to `callback` (may be NULL). *n_generated (may be NULL) receives the
 * number of tokens generated. */
LLMC_API llmc_status llmc_generate(llmc_session *session, int32_t seq,
                                   const char *prompt,
                                   const llmc_generate_options *options,
                                   llmc_text_callback callback, void *user,
                                   size_t *n_generated);

/* ---- Chat --------------------------------------------------------------- */

typedef struct llmc_chat_message {
  const char *role;    /* "system", "user", "assistant", ... */
  const char *content; /* UTF-8 */
} llmc_chat_message;

/* The prompt text of `messages` under the model's chat template (its
 * tokenizer_config.json or GGUF chat_template), as transformers'
 * apply_chat_template(tokenize=False) renders it; NUL-terminated, *length
 * is the length needed without the NUL (LLMC_ERROR_CAPACITY when it does
 * not fit). LLMC_ERROR_UNSUPPORTED when the model has no template;
 * LLMC_ERROR_INVALID_ARGUMENT when the template refuses the messages (its
 * raise_exception message is in llmc_last_error). */
LLMC_API llmc_status llmc_chat_render(const llmc_model *model,
                                      const llmc_chat_message *messages,
                                      size_t n_messages,
                                      int add_generation_prompt, char *text,
                                      size_t capacity, size_t *length);

/* A conversation on sequence `seq` of `session`, which it takes over (the
 * sequence is emptied first). `system` (may be NULL) is the system message;
 * `chat_template` (may be NULL: the model's) is a Jinja chat template. Free
 * the chat before its session. */
LLMC_API llmc_status llmc_chat_create(llmc_session *session, int32_t seq,
                                      const char *system,
                                      const char *chat_template,
                                      llmc_chat **out);
LLMC_API void llmc_chat_free(llmc_chat *chat);
/* Adds the user's message, renders the conversation, prefills only what the
 * sequence does not already hold (the tokens it shares with the previous
 * turn stay in the KV cache), streams the reply to `callback` (may be NULL)
 * and adds it to the conversation. Old exchanges are left out when the
 * context runs short. `options->add_bos` is ignored (templates write their
 * own). On failure the conversation is as before the call. */
LLMC_API llmc_status llmc_chat_send(llmc_chat *chat, const char *message,
                                    const llmc_generate_options *options,
                                    llmc_text_callback callback, void *user,
                                    size_t *n_generated);
/* Tokens of the last llmc_chat_send's prompt that came from the KV cache. */
LLMC_API int32_t llmc_chat_reused_tokens(const llmc_chat *chat);
/* Forgets every message but the system message. */
LLMC_API llmc_status llmc_chat_reset(llmc_chat *chat);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_LLMC_H */
