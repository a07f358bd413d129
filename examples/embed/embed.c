/* embed.c - a C program built against an installed llmc runtime: loads an
 * artifact and streams a completion.
 *
 *   cmake -S examples/embed -B build/embed -DCMAKE_PREFIX_PATH=<prefix>
 *   cmake --build build/embed && build/embed/embed out/ "def fibonacci(n):"
 */
#include <llmc/llmc.h>

#include <stdio.h>
#include <stdlib.h>

static int print_piece(void *user, int32_t token, const char *text,
                       size_t length) {
  (void)user;
  (void)token;
  fwrite(text, 1, length, stdout);
  fflush(stdout);
  return 0; /* nonzero would cancel */
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ARTIFACT PROMPT [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  if (llmc_api_version() != LLMC_API_VERSION) {
    fprintf(stderr, "embed: built for llmc API %d, linked with %d\n",
            LLMC_API_VERSION, llmc_api_version());
    return 1;
  }
  llmc_model *model = NULL;
  llmc_session *session = NULL;
  int32_t seq = 0;
  size_t generated = 0;
  if (llmc_model_load(argv[1], &model) != LLMC_OK ||
      llmc_session_create(model, NULL, &session) != LLMC_OK ||
      llmc_sequence_add(session, &seq) != LLMC_OK) {
    fprintf(stderr, "embed: %s\n", llmc_last_error());
    llmc_model_free(model);
    return 1;
  }
  llmc_generate_options options;
  llmc_generate_options_init(&options);
  options.max_tokens = argc > 3 ? atoi(argv[3]) : 32;
  fputs(argv[2], stdout);
  llmc_status status = llmc_generate(session, seq, argv[2], &options,
                                     print_piece, NULL, &generated);
  printf("\n");
  if (status != LLMC_OK)
    fprintf(stderr, "embed: %s\n", llmc_last_error());
  else
    fprintf(stderr, "embed: %zu tokens generated\n", generated);
  llmc_session_free(session);
  llmc_model_free(model);
  return status == LLMC_OK ? 0 : 1;
}
