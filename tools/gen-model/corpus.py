"""The fixed training corpus of the generated tokenizers (written for llmc;
English prose and Python code). Changing it changes every generated
tokenizer, so treat it as frozen."""

PROSE = """\
The river ran past the old mill in a slow brown curve, and every morning the
miller walked along its bank to see how high the water had climbed during the
night. In spring it rose quickly, carrying branches and leaves from the hills,
and in late summer it sank so low that children could cross it on the stones.
Nobody in the village remembered a year when the wheel had stopped turning.
The miller kept a small notebook in his coat. On each page he wrote the date,
the height of the water, the weather, and the number of sacks of grain that
farmers had brought to the door. His handwriting was neat and careful, and the
numbers were always lined up in straight columns. When the notebook was full he
put it on a shelf beside the others, and by now the shelf held forty of them.
A student from the city came one autumn to read those notebooks. She wanted to
know whether the river had changed over the years, and whether the changes
could be predicted from the weather. She copied the numbers into a table,
counted the wet years and the dry ones, and drew a long line across a sheet of
paper. The line went up and down like the outline of a mountain range, but it
also drifted slowly upward, as if the river were learning to carry more water.
"It is not the river that is learning," the miller said when she showed him
the drawing. "It is the forest. They cut the trees on the northern hills, and
now the rain runs straight into the valley instead of soaking into the ground."
The student wrote that down too. She stayed for a week, then for a month, and
in the end she stayed for the whole winter, walking the bank with the miller
every morning and writing her own numbers next to his.
Language models work in a similar way. They read a great deal of text, count
which words tend to follow which, and learn to predict the next word from the
words that came before it. A small model can only remember short patterns,
while a large one can follow a story across many pages. Both of them turn text
into numbers first: the sentence is cut into pieces called tokens, and each
token is replaced by its index in a fixed vocabulary. The pieces are chosen so
that common words become a single token and rare words are spelled out from
smaller parts. A compiler for such models has a simple job to describe and a
hard job to do well: it must compute exactly the same numbers as the original
program, only faster, with less memory, and on whatever machine is at hand.
Testing it means comparing its answers with a reference that is slow but
obviously correct, on inputs that are small enough to check by hand and large
enough to find the mistakes that only appear at scale.
Some words are borrowed from other languages: a cafe in Paris is a café, a
naive plan is a naïve one, and a jalapeño is hotter than it looks. The über
fast path is never an excuse for a wrong answer — measure first, then decide.
Numbers appear everywhere: 3 apples, 12 pears, 256 tokens, 4096 dimensions,
32000 entries, version 1.0.2, the year 2024, and 3.14159 for the circle.
Questions? Answers! Lists: one, two, three; pairs (a, b) and [x, y]; quotes
'single' and "double"; an e-mail like someone@example.com; a path like
/usr/local/bin; a percentage like 42%; a price like $19.99.
"""

CODE = """\
import math
import os
from collections import defaultdict


class Tokenizer:
    \"\"\"A tiny byte pair encoding tokenizer.\"\"\"

    def __init__(self, vocab, merges):
        self.vocab = dict(vocab)
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache = {}

    def encode_word(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                rank = self.ranks.get((parts[i], parts[i + 1]))
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids


def softmax(values):
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def rms_norm(x, weight, eps=1e-5):
    mean = sum(v * v for v in x) / len(x)
    scale = 1.0 / math.sqrt(mean + eps)
    return [v * scale * w for v, w in zip(x, weight)]


def matmul(a, b):
    rows, inner, cols = len(a), len(b), len(b[0])
    out = [[0.0] * cols for _ in range(rows)]
    for i in range(rows):
        for k in range(inner):
            aik = a[i][k]
            if aik == 0.0:
                continue
            row = b[k]
            for j in range(cols):
                out[i][j] += aik * row[j]
    return out


def count_words(path):
    counts = defaultdict(int)
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            for word in line.split():
                counts[word.lower()] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def main():
    path = os.environ.get("CORPUS", "input.txt")
    for word, n in count_words(path)[:10]:
        print(f"{word:>12} {n:6d}")
    probs = softmax([1.0, 2.0, 3.0])
    assert abs(sum(probs) - 1.0) < 1e-9
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
"""

TEXT = PROSE + "\n" + CODE
