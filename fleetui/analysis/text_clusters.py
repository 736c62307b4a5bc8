"""Group short texts by what they are about: TF-IDF, spherical k-means, names from c-TF-IDF.

Written on numpy and scipy.sparse alone: importing scikit-learn's text and cluster modules
cost ~1.6 s (3 s on a loaded machine) before any work, a third of discovery's time budget, for
a vectoriser and a k-means that are a few dozen lines each on short prompts.

- Words are letters only (no digits: "what is 17 times 48" and "what is 3 times 5" ask the same
  thing), lower-cased, stopwords and instruction filler ("please", "write", "does") removed;
  features are those words and their adjacent pairs.
- k-means runs on the unit sphere (cosine), seeded by k-means++ from a fixed seed, so the same
  prompts always give the same clusters.
- The number of clusters comes from the data: k-means cuts the texts into many small clusters,
  which are merged by average linkage while two groups are still alike (MIN_LINKAGE) and their
  union stays under MAX_SHARE of the weight, then every text moves to the merged cluster it is
  closest to. Silhouette, tried first, rose with k on short prompts and never found the use
  cases; one cluster swallowing half the log was how "does / open / write" came to mix cover
  letters with library hours.
- A text sharing no term with any other is set aside: alone if it is asked often, else in one
  "other" cluster, never in whichever cluster k-means puts empty rows; a text like no k-means
  centre gets a centre of its own. Clusters under MIN_SHARE of the weight join "other" too.
- A cluster is named by class-based TF-IDF: the terms frequent in it and rare in the others, so
  a word every cluster uses ("what", "open") never names one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]  # no stubs; see Matrix

# scipy.sparse carries no type information: its matrices are Any to mypy, named here for the
# reader (always a scipy.sparse CSR matrix).
Matrix: TypeAlias = Any
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# English function words, plus the filler of requests ("please", "tell me", "write", "does"):
# they say how someone asks, not what about, and named clusters like "does / open / write".
STOPWORDS: frozenset[str] = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "almost", "also", "am", "an",
    "and", "any", "anything", "are", "aren", "around", "as", "at", "be", "because", "been",
    "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could",
    "couldn", "did", "didn", "do", "does", "doesn", "doing", "don", "done", "down", "during",
    "each", "either", "else", "enough", "etc", "even", "ever", "every", "few", "for", "from",
    "further", "get", "gets", "getting", "give", "given", "go", "goes", "going", "got", "had",
    "has", "hasn", "have", "haven", "having", "he", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "however", "i", "if", "in", "into", "is", "isn", "it", "its",
    "itself", "just", "let", "lets", "like", "ll", "make", "makes", "many", "may", "me",
    "might", "mine", "more", "most", "much", "must", "my", "myself", "need", "needs", "no",
    "nor", "not", "now", "of", "off", "often", "on", "once", "one", "only", "or", "other",
    "others", "our", "ours", "ourselves", "out", "over", "own", "per", "please", "put", "quite",
    "rather", "re", "really", "s", "same", "say", "says", "see", "seem", "shall", "she",
    "should", "show", "so", "some", "something", "such", "sure", "t", "take", "tell", "than",
    "thank", "thanks", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "thing", "things", "this", "those", "though", "through", "thus", "to",
    "too", "try", "under", "until", "up", "upon", "us", "use", "used", "using", "ve", "very",
    "via", "want", "wants", "was", "wasn", "way", "we", "well", "were", "what", "whatever",
    "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with",
    "within", "without", "won", "would", "write", "wouldn", "yes", "yet", "you", "your",
    "yours", "yourself", "yourselves",
))

_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_PROMPTS = 4
MAX_SHARE = 0.35  # of the fitted weight, the most one cluster may reach by merging
# Two groups merge while a prompt of one is, on average, at least this cosine-similar to a
# prompt of the other. Chosen on the demo's use cases alone and mixed with 805 real AlpacaEval
# prompts (the best cut lay between 0.016 and 0.021 in both); the bench reports the agreement.
MIN_LINKAGE = 0.02
MICRO_MAX = 100
ALONE = 5.0  # times the median weight: a prompt sharing no term that is asked this much stands alone
MAX_ALONE = 20
MIN_SHARE = 0.005  # of the weight: a smaller cluster is long tail and joins "other"
SILHOUETTE_SAMPLE = 1_500
MAX_FEATURES = 8_000
ITERATIONS = 30
N_INIT = 4


def words(text: str) -> list[str]:
    """The content words of a text, in order: letters only, no stopwords."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


_DIGITS = re.compile(r"\d[\d,.]*")


def shape(text: str) -> str:
    """A text with its numbers as N, lower-cased and trimmed: "What is 17% of 48?" and
    "what is 3% of 5?" share the shape "what is N% of N?"."""
    return " ".join(_DIGITS.sub("N", text.lower()).split())[:80]


def terms(text: str) -> list[str]:
    """Words and adjacent word pairs: the features a prompt is compared on. A text with no
    content word ("hey, how's it going?" is all filler) is known by its shape instead, so it
    groups with the texts shaped like it, not with whatever cluster takes empty rows."""
    every = _WORD.findall(text.lower())
    kept = [(i, w) for i, w in enumerate(every) if w not in STOPWORDS]
    if not kept:
        return [shape(text)]
    # Pairs of content words at most one stopword apart ("open on Sunday" -> "open sunday"):
    # across more ("debug 'too many open files'" -> "debug open") a pair is an accident of
    # the wording and links prompts that have nothing in common.
    pairs = [f"{a} {b}" for (i, a), (j, b) in pairwise(kept) if j - i <= 2]
    return [w for _, w in kept] + pairs


@dataclass(frozen=True)
class Vectors:
    matrix: Matrix  # one L2-normalised TF-IDF row per text
    counts: Matrix  # raw term counts, for naming
    vocabulary: list[str]


def vectorise(texts: Sequence[str], calls: Sequence[int] | None = None) -> Vectors:
    """Sublinear TF-IDF over words and word pairs (IDF over the distinct texts). A term must
    occur in two texts, or in one text asked more than once, when there are enough texts for
    that to mean anything: a typo asked once is noise, "how tall is the Eiffel Tower?" asked
    a thousand times is a use case."""
    tokenised = [terms(t) for t in texts]
    asked = list(calls) if calls is not None else [1] * len(texts)
    document_frequency: dict[str, int] = {}
    repeated: set[str] = set()
    for found, n in zip(tokenised, asked):
        for term in set(found):
            document_frequency[term] = document_frequency.get(term, 0) + 1
            if n > 1:
                repeated.add(term)
    enough = len(texts) > 50
    kept = sorted((t for t, n in document_frequency.items() if not enough or n >= 2 or t in repeated),
                  key=lambda t: (-document_frequency[t], t))[:MAX_FEATURES]
    kept.sort()
    index = {t: i for i, t in enumerate(kept)}
    rows: list[int] = []
    cols: list[int] = []
    for row, found in enumerate(tokenised):
        for term in found:
            col = index.get(term)
            if col is not None:
                rows.append(row)
                cols.append(col)
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(kept)))
    counts.sum_duplicates()
    df = np.array([document_frequency[t] for t in kept], dtype=float)
    idf = np.log((1 + len(texts)) / (1 + df)) + 1
    tfidf = counts.copy()
    tfidf.data = np.log(tfidf.data) + 1
    tfidf = tfidf.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    tfidf = sparse.diags(1 / norms) @ tfidf
    return Vectors(sparse.csr_matrix(tfidf), counts, kept)


def _normalise(rows: FloatArray) -> FloatArray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return rows / norms


def _plus_plus(matrix: Matrix, k: int, rng: np.random.Generator, weight: FloatArray) -> FloatArray:
    """k-means++ seeding on cosine distance: each next centre far from those chosen."""
    n = matrix.shape[0]
    chosen = [int(rng.choice(n, p=weight / weight.sum()))]
    # Sparse matrix times a dense row: no sparse result to build, ~10x faster per centre.
    closest = 1 - matrix @ matrix[chosen[0]].toarray().ravel()
    for _ in range(1, k):
        weights = weight * np.clip(closest, 0, None) ** 2
        total = weights.sum()
        pick = int(rng.choice(n, p=weights / total)) if total > 0 else int(rng.integers(n))
        chosen.append(pick)
        closest = np.minimum(closest, 1 - matrix @ matrix[pick].toarray().ravel())
    return np.asarray(matrix[chosen].toarray(), dtype=float)


def _adopt_orphans(matrix: Matrix, centres: FloatArray, similarity: FloatArray, weight: FloatArray,
                   room: int) -> FloatArray:
    """Centres plus new ones for the texts like no centre at all. argmax sends such a text to
    cluster 0, whatever that holds, and once there it pulls cluster 0's centre its way: that is
    how two heartbeat prompts asked 1,800 times each sat in one cluster with 28 coding prompts.
    The heaviest orphan becomes a centre, the orphans like it follow, and so on (up to `room`)."""
    orphans = np.where(similarity.max(axis=1) <= 0)[0]
    added: list[FloatArray] = []
    while len(orphans) and len(added) < room:
        pick = orphans[np.argmax(weight[orphans])]
        row = matrix[pick].toarray().ravel()
        added.append(row)
        orphans = orphans[np.asarray(matrix[orphans] @ row).ravel() <= 0]
    return np.vstack([centres, *added]) if added else centres


def _lloyd(matrix: Matrix, centres: FloatArray, weight: FloatArray, *,
           adopt: bool = True) -> tuple[IntArray, FloatArray, float]:
    """Spherical k-means iterations from `centres`: (labels, unit centres, weighted cosine).
    With `adopt`, texts like no centre get centres of their own (at most as many again)."""
    n = matrix.shape[0]
    most = 2 * centres.shape[0] if adopt else 0
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(ITERATIONS):
        similarity = np.asarray(matrix @ centres.T)
        if centres.shape[0] < most and (similarity.max(axis=1) <= 0).any():
            centres = _adopt_orphans(matrix, centres, similarity, weight, most - centres.shape[0])
            similarity = np.asarray(matrix @ centres.T)
        k = centres.shape[0]
        new = similarity.argmax(axis=1).astype(np.int64)
        moved = int((new != labels).sum())
        labels = new
        if moved <= n // 1000:  # converged, or all but a few texts in a thousand
            break
        members = sparse.csr_matrix((weight, (labels, np.arange(n))), shape=(k, n))
        sums = np.asarray((members @ matrix).todense())
        empty = np.where(np.asarray(members.sum(axis=1)).ravel() == 0)[0]
        if len(empty):
            # An empty cluster restarts on the texts worst served by their centres.
            worst = np.argsort(similarity[np.arange(n), labels])[: len(empty)]
            sums[empty] = matrix[worst].toarray()
        centres = _normalise(sums)
    similarity = np.asarray(matrix @ centres.T)
    labels = similarity.argmax(axis=1).astype(np.int64)
    return labels, centres, float((weight * similarity[np.arange(n), labels]).sum())


def spherical_kmeans(matrix: Matrix, k: int, weight: FloatArray | None = None, *,
                     seed: int = 0) -> tuple[IntArray, FloatArray, float]:
    """(labels, unit centres, objective: weighted cosine to own centre), best of N_INIT seedings."""
    rng = np.random.default_rng(seed)
    weight = np.ones(matrix.shape[0]) if weight is None else weight
    best: tuple[IntArray, FloatArray, float] | None = None
    # Each seeding costs a full k-means; past a few thousand texts the best of two is as good.
    for _ in range(N_INIT if matrix.shape[0] <= 5_000 else 2):
        found = _lloyd(matrix, _plus_plus(matrix, k, rng, weight), weight)
        if best is None or found[2] > best[2]:
            best = found
    assert best is not None
    return best


def _centres(matrix: Matrix, labels: IntArray, weight: FloatArray) -> FloatArray:
    k = int(labels.max()) + 1
    members = sparse.csr_matrix((weight, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return _normalise(np.asarray((members @ matrix).todense()))


def silhouette(matrix: Matrix, labels: IntArray) -> float | None:
    """Mean silhouette on cosine distance; None when there are fewer than two clusters."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return None
    distance = 1 - np.asarray((matrix @ matrix.T).todense())
    np.clip(distance, 0, 2, out=distance)
    one_hot = (labels[:, None] == clusters[None, :]).astype(float)
    sizes = one_hot.sum(axis=0)
    totals = distance @ one_hot  # summed distance from each text to each cluster
    own = np.searchsorted(clusters, labels)
    rows = np.arange(len(labels))
    own_size = sizes[own]
    a = np.where(own_size > 1, totals[rows, own] / np.maximum(own_size - 1, 1), 0.0)
    means = totals / sizes
    means[rows, own] = np.inf
    b = means.min(axis=1)
    score = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(score.mean())


@dataclass(frozen=True)
class Partition:
    labels: IntArray  # 0..k-1 per text
    k: int
    silhouette: float | None
    other: int | None = None  # the label of the texts that share no term with any other, if any


def micro_count(n: int) -> int:
    """How many small clusters to cut the texts into before merging: enough that no two
    kinds of prompt have to share one, few enough that each holds several prompts."""
    return max(2, min(MICRO_MAX, n // 4, round(2 * n**0.5)))


def merge(matrix: Matrix, labels: IntArray, weight: FloatArray, *, max_size: float = np.inf,
          until: int | None = None) -> IntArray:
    """Average-linkage merging of the clusters in `labels`, most alike pair first, while some
    pair's linkage (the weighted mean cosine between a text of one and a text of the other) is at
    least MIN_LINKAGE and their union weighs at most `max_size`; with `until`, regardless of
    both, until that many clusters remain. Group sums make linkage exact and cheap:
    (sum_a · sum_b) / (w_a w_b)."""
    k = int(labels.max()) + 1
    members = sparse.csr_matrix((weight, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    sums = members @ matrix
    gram = np.asarray((sums @ sums.T).todense(), dtype=float)
    sizes = np.bincount(labels, weights=weight, minlength=k)
    active = sizes > 0
    parent = np.arange(k)
    while active.sum() > (until or 1):
        linkage = gram / np.outer(sizes, sizes).clip(min=1e-12)
        allowed = np.outer(active, active)
        np.fill_diagonal(allowed, False)
        if until is None:
            allowed &= (linkage >= MIN_LINKAGE) & (np.add.outer(sizes, sizes) <= max_size)
        if not allowed.any():
            break
        a, b = divmod(int(np.argmax(np.where(allowed, linkage, -np.inf))), k)
        a, b = min(a, b), max(a, b)
        gram[a, :] += gram[b, :]
        gram[:, a] += gram[:, b]
        sizes[a] += sizes[b]
        active[b] = False
        parent[parent == b] = a
    return parent[labels]


def _relabel(labels: IntArray) -> IntArray:
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


def partition(matrix: Matrix, weight: FloatArray | None = None, *, k: int | None = None,
              seed: int = 0) -> Partition | None:
    """Cluster the texts: many small spherical k-means clusters, then merged by average linkage
    while two groups are still alike (MIN_LINKAGE) and the merged group stays under MAX_SHARE of
    the weight; when `k` is given, until k remain (one of them the texts sharing no term, if
    any). None when there are too few texts."""
    n = matrix.shape[0]
    if n < MIN_PROMPTS or (k is not None and k >= n):
        return None
    mass_all = np.ones(n) if weight is None else weight
    # A text that shares no term with any other ("hey, how's it going?") is near no centre, and
    # k-means would drop it into cluster 0 whatever that holds: such texts are set aside. One
    # asked as often as ALONE times the typical text is a use case of its own; the rest (the
    # long tail of one-off prompts) share one "other" cluster.
    shared = np.asarray((matrix > 0).sum(axis=0)).ravel() > 1
    isolated = np.asarray(matrix[:, shared].sum(axis=1)).ravel() == 0
    linked = np.where(~isolated)[0]
    labels = np.zeros(n, dtype=np.int64)  # 0: the "other" cluster, until relabelled
    if len(linked) >= MIN_PROMPTS:
        sub, mass = matrix[linked], mass_all[linked]
        micro = min(micro_count(len(linked)), len(linked) - 1)
        found, _, _ = spherical_kmeans(sub, micro, mass, seed=seed)
        found = _relabel(merge(sub, _relabel(found), mass, max_size=MAX_SHARE * mass.sum()))
        if k is not None:
            # The k a user gives: fewer natural groups than that are cut by k-means, more are
            # merged on, most alike first, past the threshold and the cap.
            wanted = min(max(k - int(isolated.any()), 1), len(linked) - 1)
            groups = int(found.max()) + 1
            if groups > wanted:
                found = _relabel(merge(sub, found, mass, until=wanted))
            elif groups < wanted:
                found = _relabel(spherical_kmeans(sub, wanted, mass, seed=seed)[0])
        # A small cluster k-means cut can hold two kinds of prompt that share one word ("open
        # on Sunday", "too many open files"); merging cannot split it, but moving each prompt
        # to the merged cluster it is closest to can.
        found = _relabel(_lloyd(sub, _centres(sub, found, mass), mass, adopt=False)[0])
        labels[linked] = found + 1
    if k is None:
        # The long tail: clusters too small to act on (a prompt or two asked a few times) join
        # "other" rather than fill the list with dozens of use cases nobody will route.
        sizes = np.bincount(labels, weights=mass_all)
        labels[(sizes < MIN_SHARE * mass_all.sum())[labels]] = 0
        if isolated.any():
            alone = np.where(isolated & (mass_all >= ALONE * np.median(mass_all)))[0]
            alone = alone[np.argsort(-mass_all[alone], kind="stable")][:MAX_ALONE]
            labels[alone] = labels.max() + 1 + np.arange(len(alone))
    rest = labels == 0
    labels = _relabel(labels)
    other = int(labels[np.argmax(rest)]) if rest.any() else None
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(SILHOUETTE_SAMPLE, n), replace=False))
    return Partition(labels, int(labels.max()) + 1, silhouette(matrix[sample], labels[sample]), other)


def distinctive_terms(counts: Matrix, labels: IntArray, vocabulary: Sequence[str], top: int = 8) -> list[list[str]]:
    """Per cluster (by label 0..k-1), its terms ranked by class-based TF-IDF: a term's share of
    the cluster's words times log(1 + average words per cluster / the term's frequency overall).
    A word pair that ranks drops the single words it is made of, so names read "cover letter",
    not "cover / letter / cover letter"."""
    k = int(labels.max()) + 1 if len(labels) else 0
    members = sparse.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    per_class = np.asarray((members @ counts).todense())
    frequency = per_class.sum(axis=0)
    average = per_class.sum() / max(k, 1)
    weight = np.log(1 + average / np.maximum(frequency, 1))
    share = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1)
    score = share * weight
    named: list[list[str]] = []
    for row in score:
        order = np.argsort(-row, kind="stable")[: top * 3]
        ranked = [vocabulary[i] for i in order if row[i] > 0]
        inside = {w for t in ranked[:top] if " " in t for w in t.split()}
        kept = [t for t in ranked if " " in t or t not in inside]
        named.append(kept[:top])
    return named
