"""Tagging help requests with topics from a keyword taxonomy.

Matching is on word stems, so "podcast", "podcasts" and "podcasting" are one word, and a
keyword phrase ("works cited") matches the same words in a row. A request can carry several
topics; one that matches none is kept as untagged, never dropped.
"""

from __future__ import annotations

import re

from .config import Taxonomy, Topic

DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic(
        "Research and citation",
        (
            "research", "citation", "cite", "citing", "bibliography", "works cited", "mla",
            "apa", "chicago style", "source", "evaluating sources", "plagiarism", "note taking",
            "noodletools", "easybib", "search strategy", "keywords",
        ),
    ),
    Topic(
        "Databases",
        (
            "database", "ebsco", "gale", "jstor", "proquest", "britannica", "worldbook",
            "world book", "online encyclopedia", "academic search",
        ),
    ),
    Topic(
        "Moodle / LMS",
        ("moodle", "lms", "canvas", "schoology", "course page", "online quiz", "quiz"),
        stage="implementation",
    ),
    Topic(
        "Google Workspace",
        (
            "google", "google docs", "google slides", "google sheets", "google drive", "gmail",
            "google classroom", "jamboard", "google sites", "google forms", "workspace",
            "shared drive",
        ),
    ),
    Topic(
        "Interactive boards",
        (
            "smartboard", "smart board", "interactive board", "interactive whiteboard",
            "promethean", "activpanel", "clevertouch", "whiteboard",
        ),
    ),
    Topic(
        "Online gradebook",
        ("gradebook", "grade book", "grades", "powerschool", "infinite campus", "skyward",
         "report card"),
    ),
    Topic(
        "Devices and printers",
        (
            "printer", "print", "projector", "chromebook", "ipad", "laptop", "device", "tablet",
            "document camera", "doc cam", "wifi", "login", "password", "headphones", "speaker",
            "scanner",
        ),
    ),
    Topic(
        "Podcasting and video",
        (
            "podcast", "video", "audio", "recording", "record", "green screen", "imovie",
            "wevideo", "screencast", "screencastify", "flip", "youtube", "film", "video editing",
            "animation",
        ),
    ),
    Topic("Blogging", ("blog", "blogger", "wordpress", "edublogs", "kidblog", "seesaw")),
    Topic(
        "Digital citizenship",
        (
            "digital citizenship", "online safety", "internet safety", "cyberbullying",
            "copyright", "fair use", "creative commons", "media literacy", "fake news",
            "misinformation", "privacy", "digital footprint", "ai", "chatgpt",
            "artificial intelligence",
        ),
    ),
    Topic(
        "Books and collection",
        (
            "book", "novel", "reading list", "read aloud", "collection", "book talk",
            "book club", "classroom library", "title", "nonfiction", "picture book", "ebook",
            "audiobook", "sora", "libby", "graphic novel", "pull books", "reading",
        ),
    ),
)  # fmt: skip

_WORD = re.compile(r"[a-z0-9]+")


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


class Tagger:
    """Tags text with the topics whose keywords it contains, in taxonomy order.

    Phrases are indexed by their first stem, so a text is scanned once whatever the size of
    the taxonomy; the digest tags a school year of answers for 10,000 teachers this way.
    """

    def __init__(self, topics: tuple[Topic, ...]) -> None:
        self.topics = topics
        self.by_name = {t.name: t for t in topics}
        self._order = {t.name: i for i, t in enumerate(topics)}
        self._seen: dict[str, tuple[str, ...]] = {}
        self._index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for topic in topics:
            for keyword in topic.keywords:
                phrase = tuple(stems(keyword))
                if phrase:
                    self._index.setdefault(phrase[0], []).append((phrase, topic.name))

    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy) -> Tagger:
        """The defaults (unless ``use_defaults`` is false) with the config's topics added; a
        config topic with a default's name replaces it."""
        topics: dict[str, Topic] = {}
        if taxonomy.use_defaults:
            topics.update((t.name.lower(), t) for t in DEFAULT_TOPICS)
        topics.update((t.name.lower(), t) for t in taxonomy.topics)
        return cls(tuple(topics.values()))

    def tag(self, text: str) -> tuple[str, ...]:
        """The names of the topics ``text`` mentions, in taxonomy order (remembered per text:
        the digest sees the same answers in its trends as in its month)."""
        cached = self._seen.get(text)
        if cached is None:
            cached = self._seen[text] = self._tag(text)
        return cached

    def _tag(self, text: str) -> tuple[str, ...]:
        words = stems(text)
        found: set[str] = set()
        for i, word in enumerate(words):
            for phrase, name in self._index.get(word, ()):
                if name not in found and tuple(words[i : i + len(phrase)]) == phrase:
                    found.add(name)
        return tuple(sorted(found, key=self._order.__getitem__))


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


_NOTHING = {
    "", "n/a", "na", "none", "no", "nothing", "-", "nope", "not now", "nothing yet",
    "nothing right now", "not at this time", "all good", "no thanks", "nothing for now",
}  # fmt: skip


def is_request(text: str) -> bool:
    """False for answers that ask for nothing ("n/a", "Nothing right now.")."""
    return " ".join(text.lower().strip(" .!").split()) not in _NOTHING
