"""Offline grouping of feedback texts by meaning: static sentence embeddings and clustering.

No word list decides which texts belong together. Each distinct text becomes a vector: the
weighted mean of the static token embeddings of WordLlama (a 256-dimension table that ships
inside its wheel, so nothing is downloaded), each token weighted by its rarity in this set of
feedback (smooth inverse frequency, ``a / (a + p(token))``: words every item shares say
little), and a word the run's own output or input (the answer, the question) holds at
:data:`CONTEXT_WEIGHT` of that: a critique names what it is about with the run's words, and
says what is wrong with its own, so two critiques of one answer stop looking alike for
sharing its subject. A critique also names the subject in words of its own ("puppies" for
a question on a puppy), so its vector then loses its part along its question's own subject:
the question's vector less the mean of the questions nearest it, which is what questions of
one kind share (a task, a template) and may well be what the critique is about (see
:func:`_own_subject`). Vectors are
clustered by average-linkage agglomerative clustering, cut at a distance taken from the set
itself (a quantile of the pairwise distances), so the number of groups is found, not given.

Texts are grouped per script (the one most of their letters are written in: Latin, Chinese
and Japanese, Korean, Cyrillic, Arabic, ...; see :func:`.text.script`), each with its own token
weights, cut and second level: a static embedding places the words of two scripts far apart
whatever they say, and a few texts of another script would move the cut of the others.
WordLlama's table was trained on English, so outside the Latin script a text's vector is
joined by a view of its letters, the pairs and triples inside its words (:func:`_spelling`):
shared stems say there what the table cannot. So is a text in Latin letters in another
language (French, Spanish, German, ...; the caller says which, ``foreign``), grouped apart
from the English ones as a script of its own.

Scale: hierarchical clustering costs n² in time and memory, so it runs on at most
:data:`SAMPLE` texts (the most frequent first, then a stable hash order). Every other text
joins the nearest centroid within the cut distance; what joins none is sampled again, for
at most :data:`ROUNDS` rounds. The cost is ``ROUNDS * (SAMPLE² + n * k)``: linear in the
number of texts. Deterministic: fixed order, no random state.

A second level then merges clusters whose centroids are close: average linkage (each
cluster counting once) over the centroids of the clusters of at least :data:`SECOND_MIN`
items (the mean of two or three texts is too unsteady to compare), cut below a quantile of
the distances between them (:data:`SECOND_QUANTILE`: only pairs among the closest 5% may
merge, so a set of a few clusters merges none). The centroids are compared after the mean
of all of them is subtracted: a large cluster's mean leans towards the mean of the whole
set, and raw centroids would all merge into one. The caller may keep apart clusters it
knows to differ (``side``: a cluster about the product never merges with one about the
answers, nor with one about another product topic). :func:`cluster_levels` returns both
levels.

numpy, scipy and wordllama are imported here only, and this module only from inside
analysis, so commands that do not analyse do not pay for them.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from itertools import chain, count, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitimprove.errors import GitImproveError
from gitimprove.forked import shared
from gitimprove.patterns.text import folded, script

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Matrix = NDArray[np.float32]

SPELLING_WEIGHT = 0.5  # of a text's vector outside the Latin script: its letters (see _spelling)
SPELLING_DIMS = 256    # ... hashed into this many dimensions
MAX_CHARS = 2000       # of one text, embedded: a 200 KB reason costs what 2,000 characters do
CONTEXT_BUDGET = 4_000_000  # characters of the runs' outputs and inputs read, all together
SAMPLE = 2000          # texts clustered hierarchically per round
ROUNDS = 3             # rounds of sample-then-assign
QUANTILE = 0.3         # the cut: this quantile of the sample's pairwise distances
MIN_CUT = 1.0          # ... at least: unit vectors this close (cosine 0.5) always may join
MAX_CUT = 1.33         # ... at most: unit vectors this far apart (cosine 0.12) never join
SIF_A = 1e-2           # token weight a / (a + p(token))
CONTEXT_WEIGHT = 0.5   # ... times this for a word of the run's output or input
SUBJECT_NEIGHBOURS = 50  # a question's subject: what it says that these nearest ones do not
SUBJECT_SAMPLE = 500   # ... among at most this many distinct questions
SAME_QUESTION = 0.98   # ... none of them this near it (cosine): a copy says no more
SECOND_QUANTILE = 0.05 # the second level's cut: this quantile of the centroids' distances
SECOND_MIN = 5         # ... between clusters of at least this many items (steadier means)
FAR = 1e6              # a distance no cut reaches
CHUNK = 4096           # texts embedded or assigned at a time (bounded memory)
UNCLUSTERED = -1

_LOCK = threading.Lock()
_EMBEDDER: Embedder | None = None


class GroupingUnavailable(GitImproveError):
    """The embedding model could not be loaded."""


class Embedder:
    """WordLlama's token table and tokenizer, loaded from the installed package only."""

    def __init__(self) -> None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:  # pragma: no cover - a broken installation
            raise GroupingUnavailable(f"cannot import wordllama: {exc}",
                                      hint="reinstall gitimprove: pip install -e .") from None
        finally:
            # NOTE: wordllama calls logging.basicConfig(level=INFO) when imported, which would
            # print every HTTP request of the Anthropic SDK on stderr: undo it.
            for handler in root.handlers:
                if handler not in handlers:
                    root.removeHandler(handler)
            root.setLevel(level)
        folder = Path(wordllama.__file__).resolve().parent
        try:
            # NOTE: cache_dir at the package folder and disable_download: without both, the
            # loader looks in ~/.cache first and may try to download a tokenizer file.
            model = WordLlama.load(cache_dir=folder, disable_download=True)
        except Exception as exc:  # its loader raises plain exceptions of several kinds
            raise GroupingUnavailable(f"cannot load the WordLlama model shipped in {folder}: "
                                      f"{exc}", hint="reinstall wordllama: pip install "
                                      "--force-reinstall wordllama") from None
        import numpy as np

        self.table: Matrix = np.asarray(model.embedding, dtype=np.float32)
        self.tokenizer = model.tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def embed(self, texts: Sequence[str],
              contexts: Sequence[Sequence[str]] | None = None, *,
              spelling: bool = False) -> Matrix:
        """Unit vectors, one per text (a zero row for a text without tokens). ``contexts``
        (one per text: the run's output and input, or nothing) is what each text is about:
        the words of a text found in it weigh :data:`CONTEXT_WEIGHT` as much, and a text
        with a question (the input, second) loses its part along that question's own subject
        (:func:`_own_subject`). With
        ``spelling``, each vector is joined by a view of the text's letters (see
        :func:`_spelling`), at :data:`SPELLING_WEIGHT` of the whole.

        Texts are split into words and each distinct word is tokenized once: a text's tokens are its words' tokens, and the tokenizer's cost grows
        with the vocabulary, not with the amount of feedback."""
        import numpy as np
        from scipy.sparse import csr_matrix

        word_ids: defaultdict[str, int] = defaultdict(count().__next__)  # ids in order seen
        indptr = [0]
        cols: list[int] = []
        for text in texts:
            # NOTE: the tokenizer splits at whitespace first, so tokenizing each piece between
            # spaces alone gives the same tokens as tokenizing the text.
            cols.extend(map(word_ids.__getitem__, text[:MAX_CHARS].lower().split()))
            indptr.append(len(cols))
        scale: list[float] = []  # per word occurrence, when some text has a context
        questions: defaultdict[str, int] = defaultdict(count().__next__)  # distinct, as read
        asked = [-1] * len(texts)  # each text's question (its run's input), by number
        given = sum(map(len, contexts)) if contexts is not None else 0  # texts of runs
        if contexts is not None and given:
            # NOTE: reading a run's text costs more than embedding a short reason: all runs
            # together are read for at most CONTEXT_BUDGET characters, so 100,000 runs cost
            # about what a few thousand do (each read less far).
            read = max(1, min(MAX_CHARS, CONTEXT_BUDGET // given))  # of each run's text
            for i, (text, context) in enumerate(zip(texts, contexts, strict=True)):
                words = text[:MAX_CHARS].lower().split()
                scale += (_context_scale(words, "\n".join(c[:read] for c in context).lower())
                          if context else [1.0] * len(words))
                if len(context) > 1 and context[1]:  # (the run's output, its input)
                    asked[i] = questions[context[1][:read].lower()]
        said_words = len(word_ids)  # the texts' own words come first; the questions' after
        asked_indptr = [0]
        asked_cols: list[int] = []
        for question in questions:
            asked_cols.extend(map(word_ids.__getitem__, question.split()))
            asked_indptr.append(len(asked_cols))
        n_words = len(word_ids)
        if n_words == 0:
            return np.zeros((len(texts), self.table.shape[1] + (SPELLING_DIMS if spelling else 0)),
                            dtype=np.float32)
        counts = csr_matrix((np.ones(len(cols), dtype=np.float32), cols, indptr),
                            shape=(len(texts), n_words))
        # NOTE: the tokenizer marks the start of a word itself ("hello" -> "▁hello").
        encoded = self.tokenizer.encode_batch([folded(w) for w in word_ids],
                                              add_special_tokens=False)
        # Token frequencies over the whole set: each word's tokens, times its occurrences.
        occurrences = np.asarray(counts.sum(axis=0)).ravel()
        # NOTE: counted by numpy, not per token in Python (a set of long words in scripts
        # written without spaces has hundreds of thousands of tokens); whole numbers below
        # 2**53, so the float64 sums and quotients are those of Python's ints
        ids = [enc.ids for enc in encoded]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        w_cols = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        w_indptr = np.concatenate(([0], np.cumsum(lengths)))
        per_token = np.repeat(occurrences.astype(np.int64), lengths)
        freq = np.bincount(w_cols, weights=per_token)
        total = max(1, int(per_token.sum()))
        weights = (SIF_A / (SIF_A + freq[w_cols] / total)).astype(np.float32)
        word_tokens = csr_matrix((weights, w_cols, w_indptr), shape=(n_words, self.table.shape[0]))
        if scale:  # the frequencies above count every occurrence; the vectors weigh them
            counts = csr_matrix((np.asarray(scale, dtype=np.float32), cols, indptr),
                                shape=(len(texts), n_words))
        # NOTE: texts x tokens first, then the table: a vector per distinct word would be a
        # large matrix read at random (200 MB for 200,000 words), the table is 32 MB
        out = np.asarray((counts @ word_tokens) @ self.table, dtype=np.float32)
        _unit_rows(out)
        if asked_cols:
            subjects = np.asarray((csr_matrix((np.ones(len(asked_cols), dtype=np.float32),
                                               asked_cols, asked_indptr),
                                              shape=(len(questions), n_words)) @ word_tokens)
                                  @ self.table, dtype=np.float32)
            _unit_rows(subjects)
            _own_subject(subjects)
            about = np.asarray(asked)
            for start in range(0, len(texts), CHUNK):
                part, of = out[start:start + CHUNK], about[start:start + CHUNK]
                subject = subjects[np.maximum(of, 0)]
                subject[of < 0] = 0.0  # a text without a question loses nothing
                part -= np.einsum("ij,ij->i", part, subject)[:, None] * subject
            _unit_rows(out)
        if spelling:
            # (a question's words are read for its subject only, not by their letters)
            letters = _spelling(list(word_ids)[:said_words], counts[:, :said_words])
            out = np.concatenate((out * np.float32(np.sqrt(1 - SPELLING_WEIGHT)),
                                  letters * np.float32(np.sqrt(SPELLING_WEIGHT))), axis=1)
            _unit_rows(out)
        return out


def _own_subject(questions: Matrix) -> None:
    """Each distinct question's vector made what it says that the questions nearest it do
    not, in place: less the mean of its :data:`SUBJECT_NEIGHBOURS` nearest others (among at
    most :data:`SUBJECT_SAMPLE` of them), then unit length.

    A text's vector then loses its part along its question's (see :meth:`Embedder.embed`):
    "this is about school closures, the question was about masks" is near every other
    critique of a question on schools, whatever it says is wrong. The whole question would
    also take away what questions of one kind share (a template, a task: "write a math word
    problem whose answer has decimals"), and feedback on one kind of task often says one kind
    of thing ("the answer has no decimals"); its neighbours' mean is that shared part, so
    only the question's own subject is taken away."""
    import numpy as np

    said = np.einsum("ij,ij->i", questions, questions) > 0  # (a question of no known word)
    spread = _spread(len(questions), SUBJECT_SAMPLE)
    pool = questions[spread[said[spread]]]
    k = min(SUBJECT_NEIGHBOURS, len(pool) - 1)
    if k < 1:
        questions[:] = 0.0  # one question: nothing tells its subject from its task's
        return
    for start in range(0, len(questions), CHUNK):
        part = questions[start:start + CHUNK]
        near = part @ pool.T
        # NOTE: a question is not its own neighbour, nor one that says the same: with
        # fewer others than k, only those there are count
        near[near > SAME_QUESTION] = -np.inf
        nearest = np.argpartition(-near, k - 1, axis=1)[:, :k]
        counted = np.isfinite(np.take_along_axis(near, nearest, axis=1))
        share = counted / np.maximum(counted.sum(axis=1, keepdims=True), 1)
        mean = np.zeros_like(near)
        np.put_along_axis(mean, nearest, share.astype(np.float32), axis=1)
        part -= mean @ pool
        part[~counted.any(axis=1)] = 0.0  # nothing else near enough to tell its subject
    questions[~said] = 0.0
    _unit_rows(questions)


def _spread(n: int, at_most: int) -> Any:
    """The indices of at most ``at_most`` of ``n`` rows, evenly spread."""
    import numpy as np

    return np.arange(n) if n <= at_most else np.linspace(0, n - 1, at_most).astype(np.int64)


def _unit_rows(out: Matrix) -> None:
    """Each row of ``out`` scaled to length 1, in place (a zero row stays zero): 100,000
    texts make a 100 MB matrix."""
    import numpy as np

    norms = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
    norms[norms == 0] = 1.0
    out /= norms


def _spelling(words: Sequence[str], counts: Any) -> Matrix:
    """The texts' letters as TF-IDF vectors of :data:`SPELLING_DIMS` dimensions: the pairs and
    triples of letters inside each word (its start and end marked), hashed with a sign
    (feature hashing: two sequences that share a slot mostly cancel out, not add up).
    ``words``: the distinct words (lowercase), ``counts``: their occurrences per text
    (texts x words).

    WordLlama's table was trained on English: in another script its vectors say little, and
    every complaint in Russian lies about as near every other ("can not log in" beside "the
    quote is made up"). Shared letters say what shared stems say, in any script: "длинный"
    and "длинные", "интернет" and "интернете", and in Chinese, written without spaces, the
    pairs of characters that make its words. Counted per distinct word, all at once with
    numpy, so the cost grows with the vocabulary."""
    import numpy as np
    from scipy.sparse import csr_matrix

    spelt = [f"\x02{folded(w)}\x03" for w in words]  # its start and end marked
    points = np.frombuffer("".join(spelt).encode("utf-32-le", "surrogatepass"),
                           dtype=np.uint32).astype(np.uint64)
    # the word each letter is in (by the lengths: a text may hold the marks itself)
    word_of = np.repeat(np.arange(len(spelt)), np.fromiter(map(len, spelt), dtype=np.int64,
                                                           count=len(spelt)))
    rows: list[Any] = []
    slots: list[Any] = []
    for n in (2, 3):
        if len(points) < n:
            continue
        code = np.zeros(len(points) - n + 1, dtype=np.uint64)
        for k in range(n):  # a polynomial hash of the n letters (wrapping at 2**64)
            code = code * np.uint64(1_000_003) + points[k:len(points) - n + 1 + k]
        inside = word_of[:len(code)] == word_of[n - 1:]
        rows.append(word_of[:len(code)][inside])
        slots.append(code[inside] ^ np.uint64(n))
    if not rows:
        return np.zeros((counts.shape[0], SPELLING_DIMS), dtype=np.float32)
    code = np.concatenate(slots)
    mixed = (code * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)  # the high bits, mixed
    column = (mixed % np.uint64(SPELLING_DIMS)).astype(np.int64)
    sign = np.where((mixed >> np.uint64(31)) & np.uint64(1), 1.0, -1.0).astype(np.float32)
    word_grams = csr_matrix((sign, (np.concatenate(rows).astype(np.int64), column)),
                            shape=(len(words), SPELLING_DIMS))
    tf = csr_matrix(counts @ word_grams)
    tf.eliminate_zeros()
    n_texts = tf.shape[0]
    df = np.bincount(tf.indices, minlength=SPELLING_DIMS)
    idf = (np.log((1 + n_texts) / (1 + df)) + 1).astype(np.float32)
    out = np.asarray((tf @ csr_matrix(np.diag(idf))).toarray(), dtype=np.float32)
    _unit_rows(out)
    return out


_WORD = re.compile(r"\w+")


def _context_scale(words: Sequence[str], context: str) -> list[float]:
    """:data:`CONTEXT_WEIGHT` for each of ``words`` (lowercase) all of whose letters-and-digits
    runs occur as words in ``context`` (lowercase), else 1."""
    known = set(_WORD.findall(context))
    return [CONTEXT_WEIGHT if (word in known if word.isalnum() else
                               (parts := _WORD.findall(word)) and known.issuperset(parts))
            else 1.0 for word in words]


def embedder() -> Embedder:
    global _EMBEDDER
    with _LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = Embedder()
        return _EMBEDDER


def _stable(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


Side = Callable[[Sequence[int]], Hashable]


def cluster_texts(texts: Sequence[str], *, weights: Sequence[int] | None = None,
                  min_size: int = 2, side: Side | None = None,
                  contexts: Sequence[Sequence[str]] | None = None) -> list[int]:
    """A cluster number per text, or :data:`UNCLUSTERED`. ``texts`` should be distinct;
    ``weights`` (how many items say each) decide which texts are sampled first, and a text
    said by two items or more is a cluster by itself where it joins none; ``contexts``, the
    text of the run each is about (see :meth:`Embedder.embed`). Clusters are numbered by
    their size, largest first, then by their first text. These are the merged clusters of
    the second level (see :func:`cluster_levels`)."""
    return cluster_levels(texts, weights=weights, min_size=min_size, side=side,
                          contexts=contexts)[1]


def cluster_levels(texts: Sequence[str], *, weights: Sequence[int] | None = None,
                   min_size: int = 2, side: Side | None = None,
                   contexts: Sequence[Sequence[str]] | None = None,
                   foreign: Sequence[bool] | None = None,
                   scripts: Sequence[str] | None = None) -> tuple[list[int], list[int]]:
    """The fine clusters of each text and the merged ones (numbered as :func:`cluster_texts`
    says), or :data:`UNCLUSTERED` in both. ``side(members)`` (indices into ``texts`` of one
    fine cluster) keys what may merge: clusters of different keys never do; ``contexts`` as
    :func:`cluster_texts` says; ``foreign``: which texts are in a language other than
    English (in Latin letters, they are grouped apart from the English ones, and read by
    their letters too); ``scripts``: each text's :func:`.text.script`, where it is known."""
    import numpy as np

    n = len(texts)
    if n == 0:
        return [], []
    # NOTE: texts of each script apart: a static embedding places the words of two scripts far
    # apart whatever they say, and a few texts of another script would move the cut that the
    # set's own distances give (QUANTILE). Each script's texts are embedded, clustered and
    # merged on their own (so two processes can share the scripts).
    written: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(map(script, texts) if scripts is None else scripts):
        written[OTHER_LATIN if key == "latin" and foreign and foreign[i] else key].append(i)
    counts = list(weights) if weights is not None else [1] * n
    # each text's place in the order of its stable key (see _stable): what breaks ties of
    # sizes and counts, as one array
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=list(map(_stable, texts)).__getitem__)] = np.arange(n)
    weight = np.asarray(counts, dtype=np.int64)

    def levels(key: str) -> tuple[list[int], list[int], int]:
        members = written[key]
        own_side = None if side is None else _through(side, members)
        return _levels(key, [texts[i] for i in members],
                       None if contexts is None else [contexts[i] for i in members],
                       [counts[i] for i in members], rank[members], min_size, own_side)

    if n >= LEVELS_IN_TWO:
        # NOTE: what every script's clustering imports is imported once, before a child is
        # forked: each process imported scipy's clustering and sparse matrices on its own
        # (about 0.3 s of CPU each)
        import scipy.cluster.hierarchy
        import scipy.sparse
        import scipy.spatial.distance  # noqa: F401
    embedder()  # loaded once, before a child is forked
    # the scripts with most work first: the two processes take the next script not yet taken
    keys = sorted(written, key=lambda k: (-_work(len(written[k])), k))
    done = dict(zip(keys, shared(levels, keys) if n >= LEVELS_IN_TWO else map(levels, keys),
                    strict=True))
    fine = np.full(n, UNCLUSTERED, dtype=np.int64)
    merged = np.full(n, UNCLUSTERED, dtype=np.int64)
    offset = 0  # each script's numbers apart from the others'
    for key in sorted(written):
        own_fine, own_merged, size = done[key]
        at = np.asarray(written[key], dtype=np.int64)
        own = np.asarray(own_fine, dtype=np.int64)
        inside = own != UNCLUSTERED
        fine[at[inside]] = own[inside] + offset
        merged[at[inside]] = np.asarray(own_merged, dtype=np.int64)[inside] + offset
        offset += size
    return _renumber(fine, rank, weight), _renumber(merged, rank, weight)


def _through(side: Side, members: Sequence[int]) -> Side:
    """``side`` asked of indices into ``members`` (one script's texts)."""
    return lambda at: side([members[j] for j in at])


OTHER_LATIN = "latin, not English"  # the group of texts in Latin letters in other languages
LEVELS_IN_TWO = 20_000  # texts: fewer are clustered on one process (see gitimprove.forked)


def _work(n: int) -> int:
    """How much work clustering a script of ``n`` texts is, in texts: its texts, and the
    sample each round clusters (see :func:`_rounds`)."""
    return n + 5 * min(n, SAMPLE)


def _levels(key: str, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None,
            counts: Sequence[int], rank: NDArray[np.int64], min_size: int,
            side: Side | None) -> tuple[list[int], list[int], int]:
    """The fine and merged clusters of texts of one script, ``key`` (see
    :func:`cluster_levels`; ``rank``: each text's place in the order of the stable keys), and
    how many cluster numbers they use."""
    import numpy as np

    n = len(texts)
    vectors = embedder().embed(texts, contexts, spelling=key != "latin")
    # NOTE: a sum of squares is 0 where the norm is, without norm's copy of every square
    usable = np.flatnonzero(np.einsum("ij,ij->i", vectors, vectors) > 0)
    weight = np.asarray(counts, dtype=np.int64)
    # most said first, then by stable key (ranks are distinct: no tie is left to lexsort)
    order = usable[np.lexsort((rank[usable], -weight[usable]))].tolist()
    labels = np.full(n, UNCLUSTERED, dtype=np.int64)
    next_label = _rounds(vectors, order, min_size, labels, 0)
    for i in order:  # a text many items say is a group by itself, like it or not
        if labels[i] == UNCLUSTERED and counts[i] >= 2:
            labels[i] = next_label
            next_label += 1
    fine = _renumber(labels, rank, weight)
    return fine, _second_level(vectors, fine, counts, side), next_label


def _rounds(vectors: Matrix, order: list[int], min_size: int, labels: NDArray[np.int64],
            next_label: int) -> int:
    """Sample-then-assign rounds over the texts ``order`` (indices, most said first): each
    clustered text's number in ``labels``, from ``next_label`` on; the next free number."""
    import numpy as np

    remaining = order
    for _ in range(ROUNDS):
        if len(remaining) < max(2, min_size):
            break
        sample = remaining[:SAMPLE]
        found, cut = _agglomerate(vectors[sample], min_size)
        if not found:
            break
        centroids = np.stack([vectors[[sample[i] for i in members]].mean(axis=0)
                              for members in found])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        for number, members in enumerate(found):
            for i in members:
                labels[sample[i]] = next_label + number
        rest = remaining[len(sample):]
        left: list[int] = []
        for start in range(0, len(rest), CHUNK):
            block = rest[start:start + CHUNK]
            sims = vectors[block] @ centroids.T
            best = sims.argmax(axis=1)
            dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims[np.arange(len(block)), best]))
            # NOTE: each distance compared as a scalar (numpy's rules for a scalar and a Python
            # float), the labels then set at once: no Python loop per text
            near = np.fromiter(map(operator.le, dist, repeat(cut)), dtype=bool, count=len(block))
            at = np.asarray(block, dtype=np.int64)
            labels[at[near]] = next_label + best[near]
            left += at[~near].tolist()
        next_label += len(found)
        remaining = left
    return next_label


def _agglomerate(vectors: Matrix, min_size: int) -> tuple[list[list[int]], float]:
    """Average-linkage clusters of ``vectors`` (unit rows) with at least ``min_size``
    members, cut at the :data:`QUANTILE` of their pairwise distances; and that cut."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(vectors) < 2:
        return [], 0.0
    dists = unit_distances(vectors)
    cut = min(MAX_CUT, max(MIN_CUT, float(np.quantile(dists, QUANTILE))))
    tree = linkage(dists, method="average")
    flat = fcluster(tree, t=cut, criterion="distance")
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(flat):
        groups.setdefault(int(label), []).append(i)
    found = sorted((g for g in groups.values() if len(g) >= min_size), key=lambda g: (-len(g), g[0]))
    return found, cut


def unit_distances(vectors: Matrix) -> NDArray[np.float64]:
    """The condensed pairwise distances of unit rows (as ``pdist`` orders them), from their
    dot products: one matrix product, which BLAS does several times faster than ``pdist``'s
    loop over pairs (the sample of every round of every script is clustered this way).
    Computed in float64, so they match ``pdist``'s to about 1e-8, far below any cut."""
    import numpy as np
    from scipy.spatial.distance import squareform

    wide = vectors.astype(np.float64)
    square = wide @ wide.T
    # NOTE: in place over the whole square, then its upper triangle taken by squareform (a
    # loop in C): indexing it by triu_indices made two arrays of indices as long as the result
    square *= -2.0
    square += 2.0
    np.maximum(square, 0.0, out=square)
    np.sqrt(square, out=square)
    np.fill_diagonal(square, 0.0)
    return np.asarray(squareform(square, checks=False), dtype=np.float64)


def _second_level(vectors: Matrix, labels: Sequence[int], counts: Sequence[int],
                  side: Side | None) -> list[int]:
    """``labels`` with clusters whose centroids are close merged (see the module doc)."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.sparse import csr_matrix
    from scipy.spatial.distance import pdist, squareform

    of = np.asarray(labels, dtype=np.int64)
    k = int(of.max(initial=UNCLUSTERED)) + 1
    inside = np.flatnonzero(of != UNCLUSTERED)
    # float32 like the vectors: a float64 product would copy all of them first
    member = csr_matrix((np.asarray(counts, dtype=np.float32)[inside], (of[inside], inside)),
                        shape=(k, len(labels)))
    size = np.asarray(member.sum(axis=1), dtype=np.float64).ravel()
    big = np.flatnonzero(size >= SECOND_MIN)
    if len(big) < 3:
        return list(labels)
    sums = np.asarray(member[big] @ vectors, dtype=np.float64)
    centroids = sums / size[big, None] - sums.sum(axis=0) / size[big].sum()
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    dists = pdist(centroids, metric="euclidean")
    # NOTE: strictly nearer than the quantile's own pair: with fewer than 1 / SECOND_QUANTILE
    # pairs nothing merges (the closest of three pairs is not "close" by itself).
    cut = float(np.nextafter(np.quantile(dists, SECOND_QUANTILE, method="lower"), -np.inf))
    if side is not None:
        # only clusters with a neighbour within the cut can merge: only they are asked
        near = (squareform(dists) <= cut).sum(axis=1) > 1  # the diagonal is 0
        keys: dict[Hashable, int] = {}
        code = np.asarray([keys.setdefault(side(member[c].indices.tolist()) if near[j]
                                           else ("alone", j), len(keys))
                           for j, c in enumerate(big)])
        dists[pdist(code[:, None], metric="hamming") > 0] = FAR  # never merged
    merged = fcluster(linkage(dists, method="average"), t=cut, criterion="distance")
    into = list(range(k))
    first: dict[int, int] = {}
    for c, m in zip(big, merged, strict=True):
        into[c] = first.setdefault(int(m), int(c))
    return [into[label] if label != UNCLUSTERED else UNCLUSTERED for label in labels]


def _renumber(labels: NDArray[np.int64], rank: NDArray[np.int64],
              counts: NDArray[np.int64]) -> list[int]:
    """Cluster numbers by size (the ``counts`` of their texts), largest first, then by their
    first text in the order of the stable keys (``rank``: each text's place in it, see
    :func:`_stable`). All at once with numpy: 100,000 texts are renumbered three times."""
    import numpy as np

    inside = np.flatnonzero(labels != UNCLUSTERED)
    if len(inside) == 0:
        unchanged: list[int] = labels.tolist()
        return unchanged
    own = labels[inside]
    k = int(own.max()) + 1
    size = np.bincount(own, weights=counts[inside], minlength=k)  # whole numbers below 2**53
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, own, rank[inside])
    used = np.flatnonzero(np.bincount(own, minlength=k))
    new = np.full(k, UNCLUSTERED, dtype=np.int64)
    new[used[np.lexsort((first[used], -size[used]))]] = np.arange(len(used))
    out = np.full(len(labels), UNCLUSTERED, dtype=np.int64)
    out[inside] = new[own]
    numbers: list[int] = out.tolist()
    return numbers


def embed(texts: Sequence[str]) -> Any:
    """Unit vectors of ``texts`` (for quotes: which members are most typical)."""
    return embedder().embed(texts)
