"""Learning the school's words from the librarian's corrections.

When the librarian corrects a need's topics or kinds (in the needs table or with
``pdmail needs set``), the correction is kept (:mod:`pdmail.state.needs`) and later answers are read
with it. :class:`SchoolReader` adjusts pdmail's reading of a new answer in four ways, each shown
in the need's evidence (and its ``learned`` notes) with the words that decided it and the
correction it came from:

- **The need itself** takes the corrected topics and kinds, whatever the tagger says.
- **A similar answer** (another teacher's, or next month's) gets the same change: topics the
  librarian added are added, topics they removed are removed, kinds replaced. Similar means
  the cosine of the two answers' word and word-pair vectors (lower case, word endings and
  stopwords dropped, each feature weighted by how rare it is among the corrected answers and
  this cycle's answers) is at least the threshold (``digest.learn_threshold``, default
  :data:`DEFAULT_THRESHOLD`), and that they share at least :data:`MIN_SHARED` words. On 300
  labelled answers from different teachers no two distinct answers came near 0.5 (the
  highest was 0.23): only a request said again, in other words, is similar.
- **Learned names.** For a topic the librarian added, the names in the answer that no topic's
  keywords claimed (written with a capital inside a sentence, or in capitals: Lexia, IXL,
  "Reading Plus") become the school's words for that topic. So after "My kids can't get into
  Lexia" is corrected to *Accounts and logins*, "Lexia isn't loading" gets that topic too.
  One correction teaches a name only when it is unambiguous (the answer's one name, the one
  topic added); otherwise two corrections must agree. A name in any corrected answer left
  without the topic is not learned for it, nor one that as many needs left as pdmail read them
  hold without it. Common words ("help", "kids", "Tuesday"), school subjects and the names
  after Mr or Ms never are.
- **Removed topics.** The words that were a removed topic's evidence stop counting for it
  beside the same neighbouring words ("field trip" beside "plan") in an answer at least half
  as similar as the threshold asks; and everywhere once the librarian removed that topic for
  those words in :data:`REMOVALS_SCHOOL_WIDE` needs, kept it for them in no corrected need,
  and fewer needs left as pdmail read them still count those words for it.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from ..models import NeedKind
from ..state.needs import NeedRecord
from .topics import Evidence, Tagger, stem

__all__ = ["DEFAULT_THRESHOLD", "Reading", "SchoolReader", "own_correction"]

#: How similar (cosine, 0 to 1) a new answer must be to a corrected one to take its
#: correction. Among real teachers' answers, the same request reworded scores about 0.6 ("Can
#: you reset the Lexia logins for my class?" / "My class needs their Lexia logins reset": 0.59;
#: "a lesson on MLA works cited for my 10th graders" / "teach my 10th graders MLA works
#: cited": 0.64), and a different request in the same words about 0.2 to 0.3 ("pull books on
#: volcanoes for our earth science unit" / "on the civil war for our history unit": 0.20).
DEFAULT_THRESHOLD = 0.5
#: Distinct words two answers must share, beyond the threshold, to count as similar.
MIN_SHARED = 2
#: Learned terms taken from one corrected answer, at most.
TERMS_PER_ANSWER = 3
#: Removals of one topic for the same words after which those words stop counting for it in
#: every answer, not only beside the same neighbouring words.
REMOVALS_SCHOOL_WIDE = 2
#: Words either side of a removed topic's evidence that make up its context.
CONTEXT_WINDOW = 2
#: A removed topic's words stop counting beside the same neighbours only in an answer at least
#: this share of the threshold similar to the corrected one.
CONTEXT_SIMILARITY = 0.5

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*[\"'“‘(]*\s*$")

# Words that say nothing about what an answer is about, in English and Spanish.
_STOPWORDS = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each either few for from further get gets got had hadn't has
hasn't have haven't having he her here hers herself him himself his how i i'd i'll i'm i've
if in into is isn't it it's its itself just let's me more most much my myself no nor not now
of off on once only or other ought our ours ourselves out over own same she should shouldn't
so some such than that that's the their theirs them themselves then there there's these they
they'd they'll they're they've this those through to too u under until up upon us very was
wasn't we we'd we'll we're we've were weren't what what's when where which while who whom why
will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
ur pls plz please thanks thank thx ty hi hello hey yes yeah ok okay maybe really still
el la los las un una unos unas de del y o que en por para con sin mi mis tu tus su sus es
son está están estoy como pero más muy ya lo le les se nos al este esta estos estas
"""
STOPWORDS = frozenset(_STOPWORDS.split())

# Words common in any teacher's request that name nothing a topic could learn: the subject of
# a learned term must be a name or a rare word, never "help" or "kids".
_COMMON = """
help helping helped need needs needed want wants wanted like love would could can use using
used make making made show showing teach teaching learn learning work working works try trying
start starting set setting get getting give find finding look looking see know think go going
come coming ask asking asked reset fix fixed fixing order pull send email emailed share sharing
check update add change move open close load loading loads login logins log broken stuck slow
isn't won't doesn't keep keeps stopped new old next last first second third few many much more
lot lots some any every each other another same different great good quick quickly easy hard
better best sure possible able time times day days week weeks month months year years today
tomorrow monday tuesday wednesday thursday friday morning afternoon period periods block
class classes classroom student students kid kids child children kiddos scholars group groups
senior seniors junior juniors freshman freshmen sophomore sophomores graders
english ell ells esl ela ell math maths science sciences history social studies psych
psychology spanish french german latin art arts music pe health biology bio chemistry
chem physics algebra geometry calculus stats statistics economics civics government
literature writing sped iep ieps mr mrs ms miss dr
team teams grade grades teacher teachers staff people everyone someone anyone room rooms unit
units lesson lessons project projects assignment assignments activity activities thing things
stuff way ways idea ideas question questions info information time again also back still
library librarian school schools district home way one two three four five six seven eight nine
ten january february march april may june july august september october november december
mon tue tues wed thu thur thurs fri sat sun jan feb mar apr jun jul aug sep sept oct
nov dec ap ib honors
spring fall winter break semester quarter term session sessions meeting meetings plc after
before during about around into onto over under little big small whole full part
"""
COMMON = frozenset(_COMMON.split())


# An answer is looked at several times (its features, learned terms, the context of a removed
# topic), and the digest reads the same answers again for each month it looks back on.
@functools.lru_cache(maxsize=8192)
def _words(text: str) -> tuple[tuple[str, int, int], ...]:
    """The words of ``text`` with where they stand (any script, apostrophes kept inside)."""
    return tuple((m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text))


@functools.lru_cache(maxsize=65536)
def _key(word: str) -> str:
    return stem(word.lower().replace("’", "'"))


@functools.lru_cache(maxsize=8192)
def _content(text: str) -> tuple[str, ...]:
    """The stems of ``text``'s words that are not stopwords, in order."""
    return tuple(
        _key(w) for w, _, _ in _words(text) if w.lower().replace("’", "'") not in STOPWORDS
    )


@functools.lru_cache(maxsize=8192)
def _features(text: str) -> Counter[str]:
    """Word and word-pair features of ``text`` (stopwords out, so "reset the logins" gives the
    pair "reset login"). Shared through a cache: not to be changed."""
    stems = _content(text)
    feats: Counter[str] = Counter(stems)
    feats.update(f"{a} {b}" for a, b in pairwise(stems))
    return feats


@functools.lru_cache(maxsize=65536)
def _is_common(word: str) -> bool:
    low = word.lower().replace("’", "'")
    return low in STOPWORDS or low in COMMON or _key(low) in _COMMON_STEMS or low.isdigit()


_TITLES = frozenset(("mr", "mrs", "ms", "miss", "dr", "coach", "señor", "señora", "sra", "sr"))
_COMMON_STEMS = frozenset(stem(w) for w in COMMON)


@dataclass(frozen=True)
class Reading:
    """A new answer as the school's corrections read it: its topics (taxonomy order), kinds,
    evidence (each topic with the words that decided it, learned ones saying where from) and
    ``learned``, each change a correction made, in words."""

    topics: tuple[str, ...]
    kinds: tuple[NeedKind, ...]
    evidence: Evidence
    learned: tuple[str, ...]


@dataclass(frozen=True)
class _Example:
    """One corrected need, with what the correction changed from the tagger's reading."""

    id: str
    cycle: str
    day: date | None
    text: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    topics: tuple[str, ...] | None  # the corrected topics (None: not corrected)
    kinds: tuple[NeedKind, ...] | None  # the corrected kinds (None: not corrected)

    @property
    def source(self) -> str:
        return f"your correction of {self.cycle} need {self.id}"


@dataclass(frozen=True)
class _Suppression:
    topic: str
    phrase: tuple[str, ...]
    context: frozenset[str]
    example: _Example


class SchoolReader:
    """Reads new answers with the librarian's corrections among ``records`` (every need kept;
    only the corrected ones are used). ``corpus`` is the current cycle's answers: with the
    corrected ones, it decides how rare (distinctive) each word is. Nothing is changed for an
    answer unless a correction applies; building and reading are pure and fast (1,000
    answers against 200 corrections in well under a second)."""

    def __init__(
        self,
        records: Sequence[NeedRecord],
        tagger: Tagger,
        corpus: Iterable[str] = (),
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.tagger = tagger
        self.threshold = threshold
        names = set(tagger.by_name)
        self._order = {t.name: i for i, t in enumerate(tagger.topics)}
        self.examples: list[_Example] = []
        # The needs the librarian left as pdmail read them: what a correction would have to
        # outweigh before pdmail reads the school's words differently.
        self._accepted = [(r.text, frozenset(r.topics)) for r in records if not r.is_corrected]
        for r in records:
            if not r.is_corrected:
                continue
            found = tuple(n for n, _ in tagger.explain(r.text))
            fixed = tuple(t for t in r.corrected_topics or () if t in names)
            topics = None if r.corrected_topics is None else fixed
            self.examples.append(
                _Example(
                    id=r.id,
                    cycle=r.cycle,
                    day=r.corrected,
                    text=r.text,
                    added=tuple(t for t in fixed if t not in found) if topics is not None else (),
                    removed=tuple(t for t in found if t not in fixed) if topics is not None
                    else (),
                    topics=topics,
                    kinds=r.corrected_kinds,
                )
            )  # fmt: skip
        self._by_id = {e.id: e for e in self.examples}
        learning = [e for e in self.examples if e.added or e.removed or e.kinds is not None]
        # Without a correction to learn from, the answers are not even looked at.
        texts = [e.text for e in learning] + list(corpus) if learning else []
        features = [_features(t) for t in texts]
        # Each answer's features, read again for its vector: a month of answers is more than
        # _features keeps, so they are held here for this reader's life.
        self._features = dict(zip(texts, features, strict=True))
        self._idf = _idf(features)
        self._names = _name_like(texts)
        # The corrected answers as unit vectors, and an index from feature to them.
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._learning = learning
        self._place = {e.id: i for i, e in enumerate(learning)}
        self._unigrams: list[frozenset[str]] = []
        for i, e in enumerate(learning):
            vec = self._vector(e.text)
            self._unigrams.append(frozenset(f for f in vec if " " not in f))
            for f, w in vec.items():
                self._postings[f].append((i, w))
        self._terms = self._learn_terms()
        self._suppressed, self._everywhere = self._learn_removals()

    # -- building -------------------------------------------------------------------------

    def _vector(self, text: str) -> dict[str, float]:
        feats = self._features.get(text)
        if feats is None:
            feats = _features(text)
        unseen = self._idf_unseen
        vec = {f: (1 + math.log(n)) * self._idf.get(f, unseen) for f, n in feats.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        return {f: w / norm for f, w in vec.items()}

    @property
    def _idf_unseen(self) -> float:
        return self._idf.get("", 1.0)

    def _learn_terms(self) -> dict[str, list[tuple[tuple[str, ...], str, _Example]]]:
        """For each topic a librarian added, the answer's names that no topic claimed, indexed
        by their first stem: (stems, topic, example).

        One correction teaches a name only when it is unambiguous: the answer's one name and
        the one topic added. Otherwise a name is learned for a topic once two corrected
        answers holding it were given that topic. Either way, a name in a corrected answer
        left without the topic is not that topic's word.
        """
        first: dict[tuple[tuple[str, ...], str], _Example] = {}
        support: Counter[tuple[tuple[str, ...], str]] = Counter()
        sure: set[tuple[tuple[str, ...], str]] = set()
        for e in self._learning:
            if not e.added:
                continue
            names = self._distinctive(e.text)
            for phrase in names:
                for topic in e.added:
                    first.setdefault((phrase, topic), e)
                    support[(phrase, topic)] += 1
                    if len(names) == 1 and len(e.added) == 1:
                        sure.add((phrase, topic))
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for phrase, topic in first:
            by_first[phrase[0]].append((phrase, topic))
        contradicted = set()
        for e in self.examples:
            if e.topics is not None:
                for phrase, topic in _holding(_content(e.text), by_first):
                    if topic not in e.topics:
                        contradicted.add((phrase, topic))
        # Needs left as read that hold the name without the topic count against it too, as
        # many as the corrections that teach it.
        left: Counter[tuple[tuple[str, ...], str]] = Counter()
        if first:
            for text, topics in self._accepted:
                for phrase, topic in _holding(_content(text), by_first):
                    if topic not in topics:
                        left[(phrase, topic)] += 1
        index: dict[str, list[tuple[tuple[str, ...], str, _Example]]] = defaultdict(list)
        for (phrase, topic), e in first.items():
            key = (phrase, topic)
            learned = key in sure or support[key] >= 2
            if learned and key not in contradicted and left[key] < support[key]:
                index[phrase[0]].append((phrase, topic, e))
        return index

    def _distinctive(self, text: str) -> list[tuple[str, ...]]:
        """The names in ``text`` that could be the school's word for a topic (runs of them
        make one phrase: "Reading Plus"): not claimed by any topic's keywords, not common."""
        claimed = _claimed(text, self.tagger.explain(text))
        runs: list[list[str]] = []
        previous_end = -1
        words = _words(text)
        for i, (word, start, end) in enumerate(words):
            name = (
                not any(claimed[start:end])
                and not (i and words[i - 1][0].lower() in _TITLES)  # Mrs. Smith's class
                and not _is_common(word)
                and (len(word) >= 3 or word.isupper())
                and self._is_name(word, text, start, i == 0)
            )
            if not name:
                previous_end = -1
                continue
            if runs and previous_end >= 0 and not text[previous_end:start].strip():
                runs[-1].append(word)
            else:
                runs.append([word])
            previous_end = end
        out: list[tuple[str, ...]] = []
        for run in runs:
            phrase = tuple(_key(w) for w in run)
            if phrase not in out:
                out.append(phrase)
        return out[:TERMS_PER_ANSWER]

    def _is_name(self, word: str, text: str, start: int, first: bool) -> bool:
        """A name: mixed case or capitals (IXL, BrainPOP); capitalised inside a sentence;
        or, at a sentence's start or in lower case, a word these answers write as a name
        (:func:`_name_like`)."""
        if any(ch.isupper() for ch in word[1:]):
            return True
        if word[:1].isupper() and not (first or _SENTENCE_END.search(text[:start])):
            return True
        return self._names.get(word.lower(), False)

    def _learn_removals(
        self,
    ) -> tuple[dict[str, list[_Suppression]], set[tuple[str, tuple[str, ...]]]]:
        """For each topic the librarian removed, the words that were its evidence with their
        neighbours; and the (topic, words) removed in enough needs, and kept in none, to stop
        counting everywhere. Words the librarian left counting for the topic in another
        corrected answer, beside the same neighbours, are not suppressed there."""
        removed: dict[str, list[_Suppression]] = defaultdict(list)
        kept: dict[tuple[str, tuple[str, ...]], list[frozenset[str]]] = defaultdict(list)
        for e in self.examples:
            if e.topics is None:
                continue
            evidence = dict(self.tagger.explain(e.text))
            for topic, words_list in evidence.items():
                for words in words_list:
                    phrase = tuple(_key(w) for w, _, _ in _words(words))
                    if not phrase:
                        continue
                    contexts = _contexts(e.text, phrase)
                    if topic in e.removed:
                        removed[topic].extend(_Suppression(topic, phrase, c, e) for c in contexts)
                    elif topic in e.topics:
                        kept[(topic, phrase)].extend(contexts)
        by_topic: dict[str, list[_Suppression]] = {}
        counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
        for topic, entries in removed.items():
            for s in entries:
                if not any(s.context & c for c in kept.get((topic, s.phrase), ())):
                    by_topic.setdefault(topic, []).append(s)
            for phrase in {s.phrase for s in entries}:
                counts[(topic, phrase)] = len({s.example.id for s in entries if s.phrase == phrase})
        candidates = {k for k, n in counts.items() if n >= REMOVALS_SCHOOL_WIDE and k not in kept}
        # Needs left as read, where the words still count for the topic, outvote removals.
        still: Counter[tuple[str, tuple[str, ...]]] = Counter()
        if candidates:
            for text, topics in self._accepted:
                for topic, words_list in self.tagger.explain(text):
                    for words in words_list:
                        key = (topic, tuple(_key(w) for w, _, _ in _words(words)))
                        if key in candidates and topic in topics:
                            still[key] += 1
        everywhere = {k for k in candidates if still[k] < counts[k]}
        for topic, phrase in everywhere:  # listed for the reason, whatever the context
            if topic not in by_topic:
                by_topic[topic] = [s for s in removed[topic] if s.phrase == phrase]
        return by_topic, everywhere

    # -- reading --------------------------------------------------------------------------

    def read(
        self, need_id: str, text: str, evidence: Evidence, kinds: tuple[NeedKind, ...]
    ) -> Reading | None:
        """The answer ``text`` (need ``need_id``, read by the tagger as ``evidence`` and
        ``kinds``) with what the corrections of other needs teach, or None when nothing
        applies. The need's own correction is not applied here (:func:`own_correction`):
        this is pdmail's reading, which the needs table keeps beside the correction."""
        if not self.examples:
            return None
        found: dict[str, tuple[str, ...]] = dict(evidence)
        notes: list[str] = []
        decided: set[str] = set()
        new_kinds = kinds
        kinds_decided = False

        vec, scores = self._scores(text)
        for e, score, shared in self._similar(text, need_id, vec, scores):
            why = f"{', '.join(shared)} (like {e.source}, similarity {score:.2f})"
            for topic in e.added:
                if topic not in decided and topic not in found:
                    found[topic] = (why,)
                    notes.append(f"added {topic!r}: {why}")
                decided.add(topic)
            for topic in e.removed:
                if topic not in decided and topic in found:
                    del found[topic]
                    notes.append(f"removed {topic!r}: {why}")
                decided.add(topic)
            if e.kinds is not None and not kinds_decided:
                if e.kinds != new_kinds:
                    notes.append(f"kinds {', '.join(e.kinds)}: {why}")
                new_kinds = e.kinds
                kinds_decided = True

        for topic, word, e in self._term_hits(text):
            if topic in decided or topic in found or e.id == need_id:
                continue
            why = f"{word} (learned from {e.source})"
            found[topic] = (why,)
            notes.append(f"added {topic!r}: {why}")
            decided.add(topic)

        for topic in [t for t in found if t not in decided and t in self._suppressed]:
            because = self._suppressed_by(topic, text, found[topic], scores, need_id)
            if because is not None:
                del found[topic]
                notes.append(f"removed {topic!r}: {because}")

        if not notes and new_kinds == kinds:
            return None
        order = sorted((t for t in found if t in self._order), key=self._order.__getitem__)
        return Reading(
            topics=tuple(order),
            kinds=new_kinds,
            evidence=tuple((t, found[t]) for t in order),
            learned=tuple(notes),
        )

    def _scores(self, text: str) -> tuple[dict[str, float], dict[int, float]]:
        """``text``'s vector, and its cosine with each corrected answer it shares a word with
        (by the answer's place in ``_learning``)."""
        vec = self._vector(text)
        scores: dict[int, float] = defaultdict(float)
        postings = self._postings
        for f, w in vec.items():
            for i, v in postings.get(f, ()):
                scores[i] += w * v
        return vec, scores

    def _similar(
        self, text: str, need_id: str, vec: dict[str, float], scores: dict[int, float]
    ) -> list[tuple[_Example, float, list[str]]]:
        """The corrected answers similar enough to ``text``, most similar first, each with
        its score and the words in common that weigh most."""
        mine = frozenset(f for f in vec if " " not in f)
        out = []
        for i, score in scores.items():
            e = self._learning[i]
            if score < self.threshold or e.id == need_id:
                continue
            shared = mine & self._unigrams[i]
            if len(shared) < MIN_SHARED and not (shared and mine == self._unigrams[i]):
                continue
            top = sorted(shared, key=lambda f: -vec[f])[:3]
            out.append((e, score, [_surface(text, f) for f in top]))
        out.sort(key=lambda item: -item[1])
        return out

    def _term_hits(self, text: str) -> list[tuple[str, str, _Example]]:
        words = _words(text)
        stems = [_key(w) for w, _, _ in words]
        hits = []
        for i, s in enumerate(stems):
            for phrase, topic, e in self._terms.get(s, ()):
                if tuple(stems[i : i + len(phrase)]) == phrase:
                    end = words[i + len(phrase) - 1][2]
                    hits.append((topic, text[words[i][1] : end], e))
        return hits

    def _suppressed_by(
        self,
        topic: str,
        text: str,
        evidence: tuple[str, ...],
        scores: dict[int, float],
        need_id: str = "",
    ) -> str | None:
        """Why ``topic`` no longer holds in ``text``: every word that decided it was removed
        from it by the librarian in the same context (beside the same neighbours, in an answer
        at least half as similar as :attr:`threshold` asks), or in enough needs; else None."""
        near_enough = self.threshold * CONTEXT_SIMILARITY
        reasons = []
        for words in evidence:
            phrase = tuple(_key(w) for w, _, _ in _words(words))
            match = None
            if (topic, phrase) in self._everywhere:
                sources = [s.example for s in self._suppressed[topic] if s.phrase == phrase]
                match = f"{words} (you removed it for these words in {len(set(sources))} needs)"
            else:
                for context in _contexts(text, phrase):
                    for s in self._suppressed[topic]:
                        similar = scores.get(self._place[s.example.id], 0.0) >= near_enough
                        other = s.example.id != need_id  # a need does not teach itself
                        if s.phrase == phrase and s.context & context and similar and other:
                            near = ", ".join(sorted(_surface(text, c) for c in s.context & context))
                            match = f"{words} beside {near} (as in {s.example.source})"
                            break
                    if match:
                        break
            if match is None:
                return None
            reasons.append(match)
        return "; ".join(reasons) if reasons else None


def own_correction(
    record: NeedRecord,
    order: Sequence[str],
    evidence: Evidence,
    kinds: tuple[NeedKind, ...],
    learned: tuple[str, ...] = (),
) -> Reading | None:
    """pdmail's reading of a need (``evidence``, ``kinds`` and the ``learned`` notes) with the
    librarian's own correction of it in ``record`` over it, or None if it has none. Topics
    come in ``order`` (the taxonomy's); a corrected topic pdmail did not find says so."""
    if not record.is_corrected:
        return None
    when = f" on {record.corrected.isoformat()}" if record.corrected else ""
    found = dict(evidence)
    notes = list(learned)
    fixed_topics, fixed_kinds = record.corrected_topics, record.corrected_kinds
    if fixed_topics is not None:
        notes = [n for n in notes if not n.startswith(("added '", "removed '"))]
        for topic in [t for t in found if t not in fixed_topics]:
            del found[topic]
            notes.append(f"removed {topic!r}: your correction{when}")
        for topic in [t for t in fixed_topics if t not in found]:
            found[topic] = (f"your correction{when}",)
            notes.append(f"added {topic!r}: your correction{when}")
    if fixed_kinds is not None:
        notes = [n for n in notes if not n.startswith("kinds ")]
        if fixed_kinds != kinds:
            notes.append(f"kinds {', '.join(fixed_kinds)}: your correction{when}")
        kinds = fixed_kinds
    rank = {name: i for i, name in enumerate(order)}
    topics = sorted(found, key=lambda t: rank.get(t, len(rank)))
    return Reading(tuple(topics), kinds, tuple((t, found[t]) for t in topics), tuple(notes))


def _idf(features: Sequence[Counter[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each feature over texts with ``features`` (one
    :func:`_features` each); the key "" holds the weight of a feature seen in none of them."""
    df: Counter[str] = Counter()
    for feats in features:
        df.update(feats.keys())
    n = len(features)
    out = {f: math.log((n + 1) / (d + 1)) + 1 for f, d in df.items()}
    out[""] = math.log(n + 1) + 1
    return out


def _name_like(texts: Sequence[str]) -> dict[str, bool]:
    """For each word of ``texts``, whether they write it as a name: capitalised inside a
    sentence at least as often as in lower case ("Lexia", even where one teacher wrote
    "lexia"), or only ever capitalised; a common word capitalised at a sentence's start
    ("Reset") is not."""
    inside: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    start: Counter[str] = Counter()
    for text in texts:
        for i, (w, at, _) in enumerate(_words(text)):
            key = w.lower()
            if not w[:1].isupper():
                lower[key] += 1
            elif i == 0 or _SENTENCE_END.search(text[max(at - 8, 0) : at]):
                start[key] += 1
            else:
                inside[key] += 1
    return {
        w: (inside[w] > 0 and inside[w] >= lower[w]) or (lower[w] == 0)
        for w in {*inside, *start, *lower}
    }


def _claimed(text: str, evidence: Evidence) -> list[bool]:
    """Which characters of ``text`` belong to a topic's evidence words."""
    out = [False] * len(text)
    low = text.lower()
    for _, words in evidence:
        for phrase in words:
            needle = phrase.lower()
            start = low.find(needle)
            while needle and start >= 0:
                out[start : start + len(needle)] = [True] * len(needle)
                start = low.find(needle, start + 1)
    return out


def _holding(
    stems: Sequence[str], by_first: dict[str, list[tuple[tuple[str, ...], str]]]
) -> set[tuple[tuple[str, ...], str]]:
    """The (phrase, topic) pairs of ``by_first`` (indexed by the phrase's first stem) whose
    phrase is among ``stems``."""
    found = set()
    for i, s in enumerate(stems):
        for phrase, topic in by_first.get(s, ()):
            if tuple(stems[i : i + len(phrase)]) == phrase:
                found.add((phrase, topic))
    return found


@functools.lru_cache(maxsize=8192)
def _stems_and_keep(text: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """The stem of each word of ``text``, and whether it is distinctive (not common)."""
    words = _words(text)
    return tuple(_key(w) for w, _, _ in words), tuple(not _is_common(w) for w, _, _ in words)


def _contexts(text: str, phrase: tuple[str, ...]) -> list[frozenset[str]]:
    """Each place ``phrase`` stands in ``text``, as the distinctive words nearest it on
    either side (:data:`CONTEXT_WINDOW` each way; stopwords and common words skipped)."""
    stems, keep = _stems_and_keep(text)
    n = len(phrase)
    out = []
    for i in range(len(stems) - n + 1):
        if tuple(stems[i : i + n]) != phrase:
            continue
        before = [stems[j] for j in range(i - 1, -1, -1) if keep[j]][:CONTEXT_WINDOW]
        after = [stems[j] for j in range(i + n, len(stems)) if keep[j]][:CONTEXT_WINDOW]
        out.append(frozenset(before + after) - set(phrase))
    return out


def _surface(text: str, feature: str) -> str:
    """The word of ``text`` whose stem is ``feature``, as the teacher wrote it."""
    for w, _, _ in _words(text):
        if _key(w) == feature:
            return w
    return feature
