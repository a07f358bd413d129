/* capi_test.c - the C API from C, against the shared library.
 *
 *   llmc-capi-test ARTIFACT
 *
 * Checks: errors are status codes with messages (never aborts), tokenization
 * round trips and capacity reporting, prefill/decode/logits, the sampler's
 * determinism, generation with a streaming callback, stop strings and
 * cancellation, and that one decode step over two sequences of different
 * lengths gives the same logits as two separate runs (batching), that a
 * truncated sequence continues like a fresh one, and chat: rendering with the
 * model's template, conversations that reuse the KV cache, reset, errors.
 */
#include <llmc/llmc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static float max_abs_diff(const float *a, const float *b, int32_t n) {
  float m = 0;
  for (int32_t i = 0; i < n; ++i) {
    float d = fabsf(a[i] - b[i]);
    if (d > m)
      m = d;
  }
  return m;
}

struct collected {
  char text[4096];
  size_t length;
  int pieces;
  int cancel_after;
};

static int collect(void *user, int32_t token, const char *text, size_t length) {
  struct collected *c = (struct collected *)user;
  (void)token;
  if (c->length + length < sizeof(c->text)) {
    memcpy(c->text + c->length, text, length);
    c->length += length;
    c->text[c->length] = 0;
  }
  ++c->pieces;
  return c->cancel_after > 0 && c->pieces >= c->cancel_after;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ARTIFACT\n", argv[0]);
    return 2;
  }
  CHECK(llmc_api_version() == LLMC_API_VERSION, "api version");

  /* Errors are values. */
  llmc_model *model = NULL;
  CHECK(llmc_model_load("/nonexistent", &model) == LLMC_ERROR_LOAD,
        "loading a missing artifact");
  CHECK(strstr(llmc_last_error(), "not an llmc artifact") != NULL,
        "message: %s", llmc_last_error());
  CHECK(llmc_model_load(NULL, &model) == LLMC_ERROR_INVALID_ARGUMENT,
        "null path");
  CHECK(llmc_model_load(argv[1], &model) == LLMC_OK, "load: %s",
        llmc_last_error());
  if (!model)
    return 1;
  int32_t vocab = llmc_model_vocab_size(model);
  CHECK(vocab > 0, "vocab size");

  /* Tokenize and detokenize. */
  int32_t tokens[256];
  size_t n = 0;
  const char *text = "def add(a, b):\n    return a + b";
  CHECK(llmc_tokenize(model, text, strlen(text), 0, 0, tokens, 256, &n) == LLMC_OK,
        "tokenize: %s", llmc_last_error());
  size_t needed = 0;
  CHECK(llmc_tokenize(model, text, strlen(text), 0, 0, tokens, 1, &needed) ==
            LLMC_ERROR_CAPACITY && needed == n,
        "capacity is reported (%zu vs %zu)", needed, n);
  char back[512];
  size_t length = 0;
  CHECK(llmc_detokenize(model, tokens, n, back, sizeof back, &length) == LLMC_OK &&
            strcmp(back, text) == 0,
        "round trip: '%s'", back);
  CHECK(llmc_detokenize(model, tokens, n, back, 4, &length) == LLMC_ERROR_CAPACITY,
        "detokenize capacity");

  /* Sessions, prefill, decode, logits. */
  llmc_session_options options;
  llmc_session_options_init(&options);
  options.threads = 2;
  llmc_session *session = NULL;
  CHECK(llmc_session_create(model, &options, &session) == LLMC_OK,
        "session: %s", llmc_last_error());
  options.struct_size = 3;
  llmc_session *bad = NULL;
  CHECK(llmc_session_create(model, &options, &bad) == LLMC_ERROR_INVALID_ARGUMENT,
        "struct_size is checked");
  if (!session)
    return 1;
  CHECK(llmc_prefill(session, 12345, tokens, n) == LLMC_ERROR_INVALID_ARGUMENT,
        "unknown sequence: %s", llmc_last_error());
  int32_t big = vocab + 5;
  int32_t a, b;
  CHECK(llmc_sequence_add(session, &a) == LLMC_OK, "add a");
  CHECK(llmc_prefill(session, a, &big, 1) == LLMC_ERROR_INVALID_ARGUMENT,
        "token outside the vocabulary: %s", llmc_last_error());

  /* Batching: one decode step over two sequences of different lengths equals
     two separate runs. */
  int32_t pa[3] = {1, 20, 30};
  int32_t pb[7] = {1, 40, 50, 60, 70, 80, 90};
  CHECK(llmc_sequence_add(session, &b) == LLMC_OK, "add b");
  CHECK(llmc_prefill(session, a, pa, 3) == LLMC_OK, "prefill a: %s", llmc_last_error());
  CHECK(llmc_prefill(session, b, pb, 7) == LLMC_OK, "prefill b: %s", llmc_last_error());
  int32_t seqs[2] = {a, b}, next[2] = {33, 44};
  CHECK(llmc_decode(session, seqs, next, 2) == LLMC_OK, "batched decode: %s",
        llmc_last_error());
  float *batched = malloc(sizeof(float) * 2 * vocab);
  memcpy(batched, llmc_logits(session, a), sizeof(float) * vocab);
  memcpy(batched + vocab, llmc_logits(session, b), sizeof(float) * vocab);
  CHECK(llmc_sequence_length(session, a) == 4 && llmc_sequence_length(session, b) == 8,
        "lengths");

  llmc_session *alone = NULL;
  CHECK(llmc_session_create(model, NULL, &alone) == LLMC_OK, "second session");
  int32_t s1, s2;
  llmc_sequence_add(alone, &s1);
  llmc_prefill(alone, s1, pa, 3);
  llmc_decode(alone, &s1, &next[0], 1);
  float da = max_abs_diff(batched, llmc_logits(alone, s1), vocab);
  llmc_sequence_add(alone, &s2);
  llmc_prefill(alone, s2, pb, 7);
  llmc_decode(alone, &s2, &next[1], 1);
  float db = max_abs_diff(batched + vocab, llmc_logits(alone, s2), vocab);
  /* The same kernels compute each row: rows of a batch match up to the f32
     summation order of tiled matmuls (measured 0). */
  CHECK(da <= 1e-4f && db <= 1e-4f, "batched vs separate: %g %g", da, db);
  printf("batched decode vs separate runs: max |diff| %g and %g\n", da, db);
  llmc_session_free(alone);
  free(batched);
  CHECK(llmc_sequence_remove(session, a) == LLMC_OK, "remove");
  CHECK(llmc_sequence_remove(session, a) == LLMC_ERROR_INVALID_ARGUMENT,
        "remove twice");

  /* Sampling: the same seed gives the same tokens. */
  llmc_sampler_options so;
  llmc_sampler_options_init(&so);
  so.temperature = 1.0f;
  so.top_k = 40;
  so.seed = 7;
  llmc_sampler *s_a = NULL, *s_b = NULL;
  llmc_sampler_create(&so, &s_a);
  llmc_sampler_create(&so, &s_b);
  const float *logits = llmc_logits(session, b);
  int same = 1;
  for (int i = 0; i < 20; ++i)
    same &= llmc_sample(s_a, logits, vocab, NULL, 0) ==
            llmc_sample(s_b, logits, vocab, NULL, 0);
  CHECK(same, "same seed, same samples");
  llmc_sampler_free(s_a);
  llmc_sampler_free(s_b);

  /* Generation: streaming, a token limit, cancellation. */
  int32_t g;
  llmc_sequence_add(session, &g);
  llmc_generate_options go;
  llmc_generate_options_init(&go);
  go.max_tokens = 12;
  go.ignore_eos = 1;
  struct collected c1;
  memset(&c1, 0, sizeof c1);
  size_t generated = 0;
  CHECK(llmc_generate(session, g, "def fib(n):", &go, collect, &c1, &generated) ==
            LLMC_OK,
        "generate: %s", llmc_last_error());
  CHECK(generated == 12, "12 tokens, got %zu", generated);
  printf("generated: %s\n", c1.text);
  int32_t g2;
  llmc_sequence_add(session, &g2);
  struct collected c2;
  memset(&c2, 0, sizeof c2);
  c2.cancel_after = 2;
  CHECK(llmc_generate(session, g2, "def fib(n):", &go, collect, &c2, &generated) ==
            LLMC_ERROR_CANCELLED,
        "cancellation");
  /* Stop strings end generation and are not returned: stop at the first
     character the unconstrained run produced. */
  if (c1.length > 1) {
    char stop[2] = {c1.text[c1.length / 2], 0};
    const char *stops[1] = {stop};
    go.stop = stops;
    go.n_stop = 1;
    int32_t g3;
    llmc_sequence_add(session, &g3);
    struct collected c3;
    memset(&c3, 0, sizeof c3);
    CHECK(llmc_generate(session, g3, "def fib(n):", &go, collect, &c3, &generated) ==
              LLMC_OK,
          "generate with a stop string");
    CHECK(strchr(c3.text, stop[0]) == NULL && strncmp(c1.text, c3.text, c3.length) == 0,
          "stopped before '%s': '%s'", stop, c3.text);
  }

  /* Truncation keeps a prefix in the KV cache: A+B, truncated to A, then C
     gives the logits of a fresh A+C (1e-4: chunks round differently). */
  {
    int32_t t1, t2;
    const int32_t ab[8] = {1, 20, 30, 40, 50, 60, 70, 80};
    const int32_t cc[3] = {90, 91, 92};
    const int32_t ac[7] = {1, 20, 30, 40, 90, 91, 92};
    llmc_sequence_add(session, &t1);
    llmc_sequence_add(session, &t2);
    CHECK(llmc_prefill(session, t1, ab, 8) == LLMC_OK, "prefill A+B");
    CHECK(llmc_sequence_truncate(session, t1, 5) == LLMC_OK, "truncate: %s",
          llmc_last_error());
    CHECK(llmc_sequence_truncate(session, t1, 4) == LLMC_OK, "truncate again");
    CHECK(llmc_sequence_length(session, t1) == 4 && llmc_logits(session, t1) == NULL,
          "truncated to 4 tokens without logits");
    CHECK(llmc_sequence_truncate(session, t1, 5) == LLMC_ERROR_INVALID_ARGUMENT &&
              llmc_sequence_truncate(session, t1, -1) == LLMC_ERROR_INVALID_ARGUMENT,
          "truncating to more tokens than held, or fewer than none");
    CHECK(llmc_prefill(session, t1, cc, 3) == LLMC_OK, "prefill C");
    CHECK(llmc_prefill(session, t2, ac, 7) == LLMC_OK, "prefill A+C");
    float d = max_abs_diff(llmc_logits(session, t1), llmc_logits(session, t2), vocab);
    CHECK(d <= 1e-4f, "truncated and continued vs fresh: %g", d);
    printf("truncated and continued vs fresh: max |diff| %g\n", d);
    llmc_sequence_remove(session, t1);
    llmc_sequence_remove(session, t2);
  }

  /* Chat: the model's template (Llama 2's), rendering and conversations. */
  {
    const llmc_chat_message ok[2] = {{"user", "hello"}, {"assistant", "hi there"}};
    const llmc_chat_message twice[2] = {{"user", "hello"}, {"user", "again"}};
    char prompt[1024];
    size_t length = 0;
    CHECK(llmc_chat_render(model, ok, 2, 1, prompt, sizeof prompt, &length) == LLMC_OK,
          "render: %s", llmc_last_error());
    printf("rendered: %s\n", prompt);
    size_t needed = 0;
    CHECK(llmc_chat_render(model, ok, 2, 1, prompt, 4, &needed) == LLMC_ERROR_CAPACITY &&
              needed == length,
          "render into a small buffer: %zu vs %zu", needed, length);
    CHECK(llmc_chat_render(model, twice, 2, 1, prompt, sizeof prompt, &length) ==
                  LLMC_ERROR_INVALID_ARGUMENT &&
              strstr(llmc_last_error(), "roles must alternate") != NULL,
          "the template's raise_exception: %s", llmc_last_error());

    int32_t cs;
    llmc_sequence_add(session, &cs);
    llmc_chat *chat = NULL;
    CHECK(llmc_chat_create(session, cs, NULL, NULL, &chat) == LLMC_OK,
          "chat: %s", llmc_last_error());
    llmc_generate_options co;
    llmc_generate_options_init(&co);
    co.max_tokens = 6;
    struct collected r1, r2, r3;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    memset(&r3, 0, sizeof r3);
    CHECK(chat && llmc_chat_send(chat, "hello", &co, collect, &r1, NULL) == LLMC_OK,
          "turn 1: %s", llmc_last_error());
    CHECK(llmc_chat_reused_tokens(chat) == 0, "turn 1 reuses nothing");
    int32_t after1 = llmc_sequence_length(session, cs);
    CHECK(llmc_chat_send(chat, "and again", &co, collect, &r2, NULL) == LLMC_OK,
          "turn 2: %s", llmc_last_error());
    int32_t reused = llmc_chat_reused_tokens(chat);
    CHECK(reused > 0 && reused <= after1, "turn 2 reused %d of %d", reused, after1);
    printf("chat turn 2 took %d tokens from the cache\n", reused);
    CHECK(llmc_chat_reset(chat) == LLMC_OK, "reset");
    CHECK(llmc_chat_send(chat, "hello", &co, collect, &r3, NULL) == LLMC_OK &&
              llmc_chat_reused_tokens(chat) == 0 && strcmp(r1.text, r3.text) == 0,
          "after a reset the first turn again: '%s' vs '%s'", r1.text, r3.text);
    llmc_chat_free(chat);

    llmc_chat *own = NULL;
    CHECK(llmc_chat_create(session, cs, "be brief",
                           "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",
                           &own) == LLMC_OK,
          "own template: %s", llmc_last_error());
    CHECK(own && llmc_chat_send(own, "hello", &co, NULL, NULL, NULL) == LLMC_OK,
          "send with the own template: %s", llmc_last_error());
    llmc_chat_free(own);
    llmc_chat *broken = NULL;
    CHECK(llmc_chat_create(session, cs, NULL, "{% for", &broken) ==
                  LLMC_ERROR_INVALID_ARGUMENT && broken == NULL,
          "a broken template is refused");
  }

  llmc_session_free(session);
  llmc_model_free(model);
  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  else
    printf("all C API checks passed\n");
  return failures ? 1 : 0;
}
