"""Tagging help requests with topics from a keyword taxonomy (:mod:`pdmail.digest.taxonomy`).

Matching is on word stems, so "podcast", "podcasts" and "podcasting" are one word, and a
keyword phrase ("works cited") matches the same words in a row. A request can carry several
topics; one that matches none is kept as untagged, never dropped.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import replace

from ..config.records import Taxonomy, Topic
from . import taxonomy
from .prefilter import Rule, lower_cased, required_words
from .reading import is_no_need
from .taxonomy import DEFAULT_TOPICS

_WORD = re.compile(r"[a-z0-9]+")
_WORD_ANY_CASE = re.compile(r"[a-zA-Z0-9]+")


@functools.lru_cache(maxsize=16384)  # answers use the same few thousand words over and over
def stem(word: str) -> str:
    """A light stem: plural, -ing and -ed endings, a final e and a doubled consonant go,
    so that related forms of a word compare equal (podcasting -> podcast, libraries -> library).
    """
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    else:
        for suffix in ("ing", "ed", "es", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def stems(text: str) -> list[str]:
    """The stems of every word in ``text``, in order."""
    return [stem(w) for w in _WORD.findall(text.lower())]


Evidence = tuple[tuple[str, tuple[str, ...]], ...]
"""Each topic found, with the words in the text that decided it."""

# A word's exact key, its stem's key, and the (phrase, topic) pairs of the index starting with
# either (:meth:`Tagger._word_keys`).
_WordKeys = tuple[str, str, tuple[tuple[tuple[str, ...], str], ...]]
_WORDS_KEPT = 1 << 16


class Tagger:
    """Tags text with the topics whose keywords it contains, in taxonomy order, and says
    which words decided each (:meth:`explain`).

    A keyword in lower case matches related forms of its words (:func:`stem`); a keyword with
    a capital letter is a name and matches those exact words, in any case ("Canva" is not
    "Canvas"). Context rules (:data:`pdmail.digest.taxonomy.CONTEXT_RULES`) claim a few ambiguous
    phrases first ("book the lab", "Grade 7", "google it"), so their words reach no keyword.
    Phrases are indexed by their first word, so a text is scanned once whatever the size of
    the taxonomy; the digest tags a school year of answers for 10,000 teachers this way.
    """

    def __init__(
        self,
        topics: tuple[Topic, ...],
        rules: tuple[tuple[re.Pattern[str], str | None], ...] | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.topics = topics
        self.by_name = {t.name: t for t in topics}
        self._order = {t.name: i for i, t in enumerate(topics)}
        # Topic names the context rules may use: each topic's own, and a renamed built-in's.
        self._lower = {old: new for old, new in (aliases or {}).items() if new in self.by_name}
        self._lower.update({t.name.lower(): t.name for t in topics})
        self._given_rules = rules  # None: the built-in ones, compiled when first needed
        self._seen: dict[str, Evidence] = {}
        self._fingerprint: bytes | None = None
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        # Each word met so far with its keys: answers use the same few thousand words.
        self._keys: dict[str, _WordKeys] = {}
        # Each word met so far with the context rules a word it holds may wake.
        self._token_rules: dict[str, frozenset[int]] = {}
        for topic in topics:
            for keyword in topic.keywords:
                exact = keyword != keyword.lower()
                words = _WORD.findall(keyword.lower())
                phrase = tuple(f"={w}" if exact else f"~{stem(w)}" for w in words)
                if phrase:
                    self._index.setdefault(phrase[0], []).append((phrase, topic.name))

    @functools.cached_property
    def _rules(self) -> tuple[tuple[str, int, str | None], ...]:
        """The context rules as (pattern, flags, topic): the built-in ones are read from
        their source, not compiled (each is compiled as a Rule, when first needed)."""
        given = self._given_rules
        if given is None:
            return tuple((p, _BUILT_IN_FLAGS, t) for p, t in taxonomy.CONTEXT_SOURCES)
        return tuple((p.pattern, int(p.flags), t) for p, t in given)

    @functools.cached_property
    def _scan(self) -> tuple[tuple[Rule, frozenset[str] | None, str | None], ...]:
        # Made when the first answer is read: a tagger asked only for its topics compiles none.
        return tuple((*_prefiltered(source, flags), topic) for source, flags, topic in self._rules)

    @functools.cached_property
    def _gates(self) -> tuple[tuple[int, ...], tuple[tuple[str, int], ...]]:
        """The context rules (by place in :attr:`_scan`) run over every ASCII answer, and
        (word, rule) for each word one of which a rule needs (:meth:`_rules_for`)."""
        always: list[int] = []
        words: list[tuple[str, int]] = []
        for i, (_, needs, _) in enumerate(self._scan):
            # Words of letters and digits lie inside a word of the answer; any other is not
            # told apart this way, so its rule is run over every answer.
            if needs is None or not all(_WORD.fullmatch(w) for w in needs):
                always.append(i)
            else:
                words.extend((w, i) for w in needs)
        return tuple(always), tuple(words)

    def _rules_for(self, low: str) -> list[int]:
        """The context rules, in order, that may match in ``low`` (an ASCII answer lower-cased):
        those holding one of the words they need (in a word of the answer: the words are of
        letters and digits), found word by word, each word of the answer looked into once
        per tagger."""
        always, _ = self._gates
        found = set(always)
        for token in set(_WORD.findall(low)):
            rules = self._token_rules.get(token)
            if rules is None:
                rules = self._rules_in(token)
            found.update(rules)
        return sorted(found)

    def _rules_in(self, token: str) -> frozenset[int]:
        rules = frozenset(i for word, i in self._gates[1] if word in token)
        if len(self._token_rules) >= _WORDS_KEPT:  # bounded, as _keys is
            self._token_rules.clear()
        self._token_rules[token] = rules
        return rules

    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy) -> Tagger:
        """The defaults (unless ``use_defaults`` is false) with the config's topics added; a
        config topic with a default's name replaces it."""
        topics: dict[str, Topic] = {}
        if taxonomy.use_defaults:
            topics.update((t.name.lower(), t) for t in DEFAULT_TOPICS)
        aliases: dict[str, str] = {}
        for topic in taxonomy.topics:
            key = (topic.replaces or topic.name).lower()
            base = topics.get(key)
            if base is not None and topic.keep_keywords:
                topic = replace(topic, keywords=(*base.keywords, *topic.keywords))
            if topic.replaces:
                aliases[topic.replaces.lower()] = topic.name
            if base is not None:
                topics[key] = topic  # in the built-in's place, under the new name if renamed
            else:
                topics[topic.name.lower()] = topic
        return cls(tuple(topics.values()), aliases=aliases)

    def fingerprint(self) -> bytes:
        """A hash of everything this tagger reads by: its topics (names, keywords, every
        setting), their aliases and the context rules."""
        if self._fingerprint is None:
            rules = list(self._rules)
            described = repr((self.topics, sorted(self._lower.items()), rules))
            self._fingerprint = hashlib.sha256(described.encode()).digest()
        return self._fingerprint

    def tag(self, text: str) -> tuple[str, ...]:
        """The names of the topics ``text`` mentions, in taxonomy order."""
        return tuple(name for name, _ in self.explain(text))

    def explain(self, text: str) -> Evidence:
        """The topics ``text`` mentions, in taxonomy order, each with the words that decided
        it (remembered per text: the digest sees the same answers in its trends as in its
        month)."""
        cached = self._seen.get(text)
        if cached is None:
            cached = self._seen[text] = self._explain(text)
        return cached

    def _explain(self, text: str) -> Evidence:
        found: dict[str, list[str]] = {}

        def note(name: str, words: str) -> None:
            words = " ".join(words.split())
            kept = found.setdefault(name, [])
            if words.lower() not in (w.lower() for w in kept):
                kept.append(words)

        claimed = [False] * len(text)  # words no keyword may use
        masked = [False] * len(text)  # words read as no topic: no later rule uses them either
        # An ASCII text without any of the words a rule needs is not searched by it.
        low = lower_cased(text)
        scan = self._scan
        for i in self._rules_for(low) if low is not None and text.isascii() else range(len(scan)):
            rule, _, topic = scan[i]
            for start, end in rule.spans(text, low):
                name = self._lower.get(topic.lower()) if topic else None
                # A rule for a topic the school dropped leaves its words to the keywords.
                if (topic and name is None) or any(masked[start:end]):
                    continue
                claimed[start:end] = [True] * (end - start)
                if topic is None:
                    masked[start:end] = [True] * (end - start)
                if name is not None:
                    note(name, text[start:end])
        # Words are found in the text itself (lower-casing can change its length: "İ" becomes
        # two characters), so their places match the claimed ones.
        tokens = [
            (m.group(0).lower(), m.start(), m.end())
            for m in _WORD_ANY_CASE.finditer(text)
            if not claimed[m.start()]
        ]
        keys = [self._keys.get(w) or self._word_keys(w) for w, _, _ in tokens]
        for i, (_, _, starting) in enumerate(keys):
            # A phrase starting here matches this word (it was found by its key): only the
            # words after it are compared.
            for phrase, name in starting:
                end = i + len(phrase)
                if end > len(tokens):
                    continue
                if end == i + 1 or all(
                    p == (keys[j][0] if p[0] == "=" else keys[j][1])
                    for p, j in zip(phrase[1:], range(i + 1, end), strict=True)
                ):
                    note(name, text[tokens[i][1] : tokens[end - 1][2]])
        order = sorted(found, key=self._order.__getitem__)
        return tuple((name, _longest(found[name])[:3]) for name in order)

    def _word_keys(self, word: str) -> _WordKeys:
        """``word`` (lower case) as the index reads it: its exact key, its stem's key, and the
        phrases that start with either, the exact ones first."""
        exact, stemmed = f"={word}", f"~{stem(word)}"
        keys = (exact, stemmed, (*self._index.get(exact, ()), *self._index.get(stemmed, ())))
        if len(self._keys) >= _WORDS_KEPT:  # a long-lived tagger keeps a bounded vocabulary
            self._keys.clear()
        self._keys[word] = keys
        return keys


# The flags a built-in context rule is matched with, as re.compile reports them.
_BUILT_IN_FLAGS = int(re.IGNORECASE | re.UNICODE)


@functools.cache
def _prefiltered(source: str, flags: int) -> tuple[Rule, frozenset[str] | None]:
    """The pattern ``source`` as a :class:`~pdmail.digest.prefilter.Rule` (prefiltered, and
    searched lower-cased where it can be), and the words one of which a text needs for it to
    match (every answer is read by every context rule; worked out once per rule)."""
    return Rule(source, flags), required_words(source, flags)


FORMATS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("one-on-one", ("one on one", "one-on-one", "1:1", "1-on-1", "individual", "just me")),
    ("small group", ("small group", "group", "after school", "after-school")),
    ("team meeting", ("team meeting", "team", "department", "grade level", "plc")),
    ("written guide", ("guide", "written", "handout", "email", "tutorial", "video guide")),
)


# Whole words only: "STEAM lab" is no team meeting.
_FORMAT_PATTERNS = tuple(
    (name, re.compile("|".join(rf"(?<!\w){re.escape(c)}(?!\w)" for c in cues)))
    for name, cues in FORMATS
)


def normalize_format(answer: str) -> str:
    """A preferred-format answer as one of pdmail's formats, or the answer itself, trimmed
    (``"Visit our team meeting"`` -> ``team meeting``; blank -> ``""``)."""
    text = " ".join(answer.lower().split())
    if not text:
        return ""
    for name, pattern in _FORMAT_PATTERNS:
        if pattern.search(text):
            return name
    return answer.strip()


def _longest(words: list[str]) -> tuple[str, ...]:
    """``words`` without those inside a longer one ("iPad" beside "iPad pilot")."""
    lower = [w.lower() for w in words]
    return tuple(
        w
        for i, w in enumerate(words)
        if not any(
            i != j and lower[i] in other and lower[i] != other for j, other in enumerate(lower)
        )
    )


FORMAT_SEP = ", "


def normalize_formats(cell: str) -> str:
    """Every format ticked in a checkbox cell (the export joins them with ", "), as pdmail's
    formats in pdmail's order, joined with ", " (``"At our team meeting, Email me a guide"``
    -> ``team meeting, written guide``). A cell naming none of them is kept as written, as
    :func:`normalize_format` keeps it."""
    parts = [normalize_format(part) for part in cell.split(",")]
    known = [name for name, _ in FORMATS if name in parts]
    return FORMAT_SEP.join(known) if known else normalize_format(cell)


def split_formats(formats: str) -> tuple[str, ...]:
    """The formats in a need's format field (one, several joined with ", ", or none)."""
    return tuple(f for f in (p.strip() for p in formats.split(FORMAT_SEP)) if f)


def is_request(text: str) -> bool:
    """False for answers that ask for nothing now ("n/a", "Nothing right now.", "all good,
    thanks!", "not this month, swamped with grading"); see
    :func:`pdmail.digest.reading.is_no_need`."""
    return not is_no_need(text)
