"""Reading an answer the way a librarian does: is there a need at all, and what kind of help.

Rules over the sentences of an answer, in English and Spanish, written from how teachers
answer a check-in form rather than fitted to any one set of answers:

- **No need**: an answer made only of declines ("nothing right now", "all good, thanks!",
  "n/a", "-", "todo bien este mes"), thanks for past help, greetings, or needs put off to
  "maybe in January" is no need. A decline next to a real request ("Nothing big, but could
  you pull books on volcanoes?") is a need.
- **Kinds**: a *task* the librarian does (pull books, fix a printer, reserve the lab, set up
  accounts, answer "do we have…?"), *learning* a teacher or team wants (show me, PD at our
  PLC, how do I…), or a *lesson* taught to students (a research lesson on the 14th, a book
  talk for my class). One answer may hold several.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ..models import KINDS, LEARNING, LESSON, TASK, NeedKind
from .prefilter import Rule, compile_prefiltered, lower_cased

# The rules are compiled with a lookahead that passes over the places no phrase of theirs can
# start at: the same matches, in a fraction of the time (a year's answers are read in a digest).
_SPLIT = compile_prefiltered(
    r"(?<=[.!?;])\s+|\n+|\s+[—–-]\s+|(?<=[a-z]),?\s+(?:but|except(?:\s+that)?|other\s+than)\s+",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[^\W\d_]")


def _rx(*patterns: str) -> Rule:
    # Only whether a sentence holds a phrase counts: see Rule for how it is searched.
    return Rule("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# A sentence that declines: nothing is needed now.
_DECLINE = _rx(
    # the whole sentence is a no, with at most courtesy around it
    r"^\W*(?:no+|nope|nah|none|nada|non|nein|n\.?\s*/?\s*a\.?|not\s+really|nothing)"
    r"(?:\W|thanks?|thank\s+(?:you|u)|thx|ty|gracias|merci|danke|i'?m\s+(?:good|fine|ok)|"
    r"all\s+(?:good|set)|for\s+now|this\s+month|right\s+now|rn|at\s+the\s+moment|"
    r"at\s+this\s+(?:time|point)|currently|as\s+of\s+(?:now|yet)|today|yet|here|"
    r"this\s+(?:week|time|cycle|round|semester)|needed|for\s+me|from\s+me|so\s+far)*$",
    r"^\W*(?:ningun[oa]|ninguna\s+cosa|rien|nichts)\W*$|\bsin\s+(?:pedidos|solicitudes|"
    r"necesidades)\b",
    r"\bcan'?t\s+think\s+of\s+anything\b|\bnothing\s+comes\s+to\s+mind\b",
    r"\b(?:i|we)\s+(?:don'?t|do\s+not)\s+need\s+anything\b|"
    r"\bno\s+(?:help|support|assistance)\s+(?:is\s+)?needed\b",
    r"^\W*(?:good|fine|ok|okay|all\s+good|set|covered)\s+(?:for\s+now|this\s+month)\b",
    r"\beverything(?:'s|\s+is)\s+(?:fine|good|great|ok|okay|going\s+well)\b",
    # away: nothing to ask for
    r"\b(?:on|out\s+on|taking)\s+(?:\w+\s+)?leave\b(?![^.!?]*\b(?:could|can|would|please|"
    r"pls|need|sub|substitute)\b)",
    # a promise to ask later is no ask now
    r"^\W*(?:i'?ll|i\s+will|will)\s+(?:let\s+you\s+know|reach\s+out|be\s+in\s+touch)\W*$",
    r"\b(?:let\s+you\s+know|reach\s+out|get\s+in\s+touch|ask|email\s+you)\s+if\s+(?:i|we)\s+"
    r"(?:need|think\s+of)\s+(?:anything|something|help)\b",
    r"\bnothing\b(?!\s+(?:works?|is\s+working|loads?|happens?|prints?|shows?))",
    r"\bno\s+(?:needs?|requests?)\b",
    r"\bnot\s+(?:this\s+(?:month|time|week|round)|right\s+now|now|at\s+(?:this|the\s+moment)|"
    r"at\s+the\s+moment|today|yet|for\s+now|anything|needed)\b",
    r"\b(?:i'?m|i\s+am|we'?re|we\s+are|i'?m\s+all|we'?re\s+all|all)\s+"
    r"(?:good|set|fine|ok|okay|covered)\b",
    r"\b(?:all|we'?re|i'?m)\s+set\b",
    r"\b(?:todo|está|esta|estoy|estamos)\s+(?:bien|listos?|list[ao]s)\b",
    r"\bnada\b|\bno\s+necesito\b|\bpor\s+ahora\s+no\b",
    r"\bignore\s+my\s+(?:first|earlier|previous|last)\b",
    r"\b(?:isn'?t|is\s+not|not)\s+(?:you|a\s+library\s+thing|the\s+library'?s)\b",
    r"\bnot\s+from\s+the\s+library\b|\bnothing\s+from\s+the\s+library\b",
)
# A sentence with no need in it whatever else it says: thanks, praise, greetings, sign-offs.
_SMALL_TALK = _rx(
    r"^\W*(?:thanks?|thank\s+you|thx|ty|gracias|merci|danke|gratias|obrigad[oa])\b",
    r"\bthank(?:s|\s+you)\s+(?:so\s+much\s+)?for\s+(?:the|your|all|last|asking|checking|"
    r"copying|helping|getting|pulling|ordering|finding|everything)\b",
    r"^\W*(?:happy\s+(?:holidays|new\s+year|thanksgiving|friday)|have\s+a\s+great|"
    r"hi+|hello|hey|hola|dear\s+\w+|best|cheers|regards|love|[a-z]\.?)\W*$",
    r"\b(?:kids|students|they|class)\s+(?:loved|liked|enjoyed|were\s+obsessed|are\s+obsessed)\b",
    r"\b(?:was|were|went)\s+(?:great|amazing|awesome|perfect|wonderful|a\s+hit)\b",
    r"\bcome\s+see\s+the\s+show\b",
    r"\bkeep\s+(?:up\s+the\s+(?:great|good|awesome|amazing)\s+work|doing\s+what\s+you'?re\s+doing)\b",
)
# A sentence that puts a need off: maybe later, not now.
_LATER = _rx(
    r"\bmaybe\b[^.?!]{0,80}?\b(?:later|january|february|march|april|may|spring|next\s+(?:month|"
    r"semester|year|time)|after\s+(?:break|the\s+break|winter|the\s+holidays))\b",
    r"\b(?:i'?ll|i\s+will|we'?ll|might|may)\s+(?:probably\s+|likely\s+|maybe\s+)?"
    r"(?:need|want|ask|reach\s+out)\b[^.?!]{0,80}?\b(?:next\s+month|later|january|spring|after)\b",
    r"\b(?:was|were)\s+going\s+to\s+ask\b",
    r"^\W*maybe\s+(?:later|in\s+\w+|after|next)\b",
)
# Words that ask for something now.
_ASK = _rx(
    r"\b(?:can|could|would|will)\s+(?:you|we|i|u|my|our|the|someone|they|students|kids)\b",
    r"\bplease\b|\bpls\b|\bplz\b",
    r"\b(?:i'?d|i\s+would|we'?d|we\s+would)\s+(?:also\s+|really\s+|just\s+)?"
    r"(?:love|like|appreciate)\b",
    r"\bwould\s+be\s+(?:awesome|great|amazing|perfect|helpful|wonderful|nice|so\s+helpful)\b",
    r"\bany\s+(?:chance|way|tips|ideas)\b|\?|¿",
    # a problem stated is a need stated
    r"\b(?:stopped\s+working|not\s+working|isn'?t\s+working|doesn'?t\s+work|won'?t\s+"
    r"(?:turn|charge|print|connect|load|work)|broken|jammed|cracked)\b",
    r"\b(?:necesito|necesitamos|quiero|queremos|quisiera|puedes|podrías|podrias|podemos|"
    r"ayuda|ayudar|tienes|hay)\b",
    r"^\W*(?:pull|order|fix|reserve|book|send|set\s+up|reset|print|show|teach|find|get|buy)\b",
)

# Softer words of wanting: enough for a need, not enough to outweigh a decline.
_WANT = _rx(
    r"\b(?:i|we|they|students|kids)\s+(?:really\s+)?(?:need|want)\b",
    r"\bneed(?:s|ed)?\s+(?:help|some|a|an|more|to|books|copies)\b",
    r"\blooking\s+for\b|\bhelp\s+(?:me|us|with|my|our|getting)\b",
)


# How much of an answer is read for need and kind: a request is written in a few lines, and a
# pasted 200 KB essay must not hold the digest up.
READ_LIMIT = 10_000


def sentences(text: str) -> list[str]:
    """``text`` (its first :data:`READ_LIMIT` characters) cut into sentences (and at a dash
    or a "but"), blanks left out."""
    return [s.strip() for s in _SPLIT.split(text[:READ_LIMIT]) if s and s.strip()]


# The digest asks again for each month it looks back on, and again for the month's answers
# as it lists those asking for nothing: room for one huge month's answers and their units
# (each entry a bool, its key an answer the digest holds anyway).
@functools.lru_cache(maxsize=1 << 18)
def is_no_need(text: str) -> bool:
    """True when the answer asks for nothing now: blank, only punctuation or emoji, a
    decline ("nothing right now", "all good, thanks!", "not this month, swamped with
    grading", "todo bien"), thanks for past help, or a need put off until later."""
    if not _LETTER.search(text[:READ_LIMIT]):
        return True
    declined = False
    left: list[tuple[str, str | None, bool]] = []  # (sentence, lower-cased, declines)
    for sentence in sentences(text):
        low = lower_cased(sentence)
        declines = _DECLINE.search(sentence, low)
        if declines:
            declined = True
            # "Nothing big, but could you…" is a decline and an ask at once: a need unless
            # it is put off (an ask is never mere small talk).
            if not _ASK.search(sentence, low) or _LATER.search(sentence, low):
                continue
        elif (
            _SMALL_TALK.search(sentence, low) and not _ASK.search(sentence, low)
        ) or _LATER.search(sentence, low):
            continue
        left.append((sentence, low, declines))
    if not left:
        return True
    # After a decline, only a real ask brings a need back ("Nothing from the library. I need
    # help with the IEP software but that's not you" stays no need).
    return declined and not any(not d and _ASK.search(s, low) for s, low, d in left)


# The librarian teaching students: a class lesson, a book talk, small groups, office hours.
_LESSON = _rx(
    r"\b(?:co.?teach(?!ers?\b)\w*|co.?plan\w*|mini.?lessons?|orientation|book.?talks?|storytime|"
    r"story\s+time|office\s+hours|mentor\s+them|class\s+period|guest\s+speaker)\b",
    # "how to teach kids to use it" is the teachers learning, not a lesson
    r"(?<!\bi\s)(?<!\bwe\s)(?<!\bhow\sto\s)\b(?:teach|show|walk|help|talk\s+to|work\s+with|"
    r"visit\s+with|present\s+to|meet\s+with|model\s+for|guide|run\s+\w+\s+for|do\s+\w+\s+with|"
    # "show in class" is where a film is shown, not who is taught
    r"read\s+to)\s+(?!(?:in|at|during|before|after|to)\s)"
    r"(?:my|our|the|his|her|their|a\s+few|some|all\s+my|\d+)?\s*"
    r"(?:\w+\s+)?(?:students|kids|class|classes|graders|kiddos|scholars|kinders|"
    r"sections?|periods?|seniors|juniors|freshmen|sophomores|club|crew|team\s+of\s+students)\b",
    r"\b(?:students|kids|class|classes|graders)\s+(?:come|came|visit)\b",
    r"\b(?:bring|take)\s+(?:my|our)\s+(?:\w+\s+)?(?:class|classes|students|kids)\b",
    r"\bwhen\s+we\s+(?:come|visit)\b|\bcome\s+in\s+and\b|\bclass\s+visits?\b",
    r"\b(?:teach|show|meet\s+with|work\s+with|help)\s+them\b",
    # "could you do a 1-period workshop", "give a quick talk" (for staff it is learning:
    # _FOR_STAFF below)
    r"\b(?:do|give|run|lead|teach)\s+(?:a|an|one)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:talk|lesson|session|presentation|demo|workshop)\b",
    # a lesson named as the thing wanted: "and a lesson on evaluating sources"
    r"^\W*(?:and|also|plus|then|maybe)?\W*(?:maybe\s+)?(?:a|an|one)\s+(?:[\w-]+\s+){0,2}?"
    r"lessons?\s+(?:on|about|for|in)\b",
    r"\b(?:students|kids|graders|they|newcomers|learners|kiddos|class|classes)\b[^.?!]{0,40}\b(?:need|needs)\b[^.?!]{0,30}\bto\s+learn\b",
    r"\bin\s+small\s+groups\b|\bsmall\s+groups?\s+(?:of\s+students|in\s+\w+|with\s+(?:my|the))\b",
    r"\bread\s+(?:a|us|them)\s+(?:book|story)\b|"
    # a read-aloud for the class, not a text read aloud to a student as an accommodation
    r"(?<!\bit\s)(?<!\bthem\s)(?<!\btext\s)\bread.?aloud\s*(?:\+|and|for|with)\b",
    r"\benseñar\s+a\s+(?:mis|los)\s+(?:estudiantes|alumnos)\b|\bclase\s+sobre\b",
)
# "lesson" asks for one only in a sentence that asks or dates it ("a research lesson on
# the 14th?"), not in "classroom lessons" or "lesson planning".
_LESSON_WORD = Rule(
    # lessons as where something is used ("videos used in library lessons") ask for none
    r"(?<!classroom\s)(?<!common\ssense\s)(?<!\bin\s)(?<!\bin\slibrary\s)(?<!\bin\sthe\s)"
    r"(?<!\bin\sour\s)(?<!\bin\smy\s)(?<!\bduring\s)(?<!\bin\sthe\slibrary\s)"
    r"\blessons?\b(?!\s+(?:planning|plans?|sequence))|"
    r"\bworkshop\b[^.?!]{0,80}?\b(?:students|kids|class)\b",
    re.IGNORECASE,
)
_DATED = _rx(
    r"\b(?:jan|feb|mar|apr|may|jun|aug|sept?|oct|nov|dec)[a-z]*\.?\s+\d",
    r"\b\d{1,2}/\d{1,2}\b",
    r"\b(?:mon|tues?|wed|thur?s?|fri)(?:day)?s?\b|\bweek\s+of\b|\bperiods?\s+\d|\b\w\s+block\b",
)
# A teacher or team learning: show me, PD at our PLC, how do I, can we talk about.
_LEARNING = _rx(
    r"\b(?:show|teach|train|walk)\s+(?:me|us|our\s+team|the\s+team|teachers|staff)\b",
    r"\b(?:i|we)\s+(?:want|would\s+like|'d\s+like|'d\s+love|would\s+love|need)\s+to\s+learn\b",
    r"\blearn\s+(?:how|more|about|what)\b|\bhow\s+(?:do|can|should|would)\s+(?:i|we)\b",
    r"\b(?:pd|professional\s+development|training|refresher\s+for\s+me|tutorial)\b",
    r"\b(?:plc|team\s+meeting|department\s+meeting|dept\s+meeting|staff\s+meeting|"
    r"grade.level\s+meeting|our\s+team|our\s+department|our\s+staff|faculty)\b",
    r"\b(?:tips|advice|strategies|best\s+practices?|best\s+way|ideas\s+for|prompts)\b",
    r"\bhow\s+(?:are\s+|do\s+)?other\s+(?:[\w-]+\s+){0,2}?(?:teachers|people|schools|"
    r"librarians|departments|classes)\b|"
    r"\b(?:talk|chat)\s+(?:about|sometime|one\s+on\s+one)\b|\bcan\s+we\s+(?:talk|chat|meet)\b",
    r"\b(?:i'?m|i\s+am)\s+(?:not\s+sure|confused|lost|struggling|curious|nervous)\b|"
    r"\bno\s+idea\s+how\b|\bnot\s+sure\s+how\b",
    r"\bi\s+(?:don'?t|do\s+not)\s+(?:know|understand)\s+how\b|"
    # forgetting how is learning; a forgotten password is a task
    r"\bi\s+(?:always\s+|keep\s+)?forg[eo]t\b(?![^.?!]*\b(?:passwords?|logins?|usernames?|"
    r"codes?|pins?)\b)|"
    r"\bi'?ve\s+never\s+used\b|\bnever\s+used\s+(?:it|one|them)\b",
    r"\bhow.to\s+for\s+me\b|\bquick\s+how.to\b|\bremind(?:er)?\s+(?:me\s+)?(?:of\s+)?how\b",
    r"\bhelp\s+(?:me|us|my\s+team|our\s+team|the\s+team|our\s+department|my\s+department)\s+"
    r"(?:set\s+up|figure|organize|learn|understand|redesign|use|plan)\b"
    r"(?![^.?!]*\b(?:accounts?|licen[cs]es?|passwords?)\b)|"
    r"\b(?:love|like|need|use)\s+(?:some\s+)?help\s+(?:with|making|using|organizing|setting)\b",
    # "is there a way to…" asks how, unless it is access that is wanted (a task)
    r"\bis\s+there\s+a\s+way\b(?![^.?!]*\b(?:accounts?|access|licen[cs]es?|logins?|subscriptions?|passwords?|working|fixed)\b|\s+to\s+get\s+(?:my\s+|the\s+|our\s+)?(?:students|kids|them|us|me|class)\s+(?!to\b))|\bhow\s+reliable\b|\bwhat(?:'s|\s+is)\s+(?:our|the)\s+"
    r"(?:actual\s+)?(?:policy|copyright|situation)\b|\bis\s+it\s+(?:ok|okay|allowed)\b",
    r"\b(?:brainstorm|collaborate|sit\s+down|see\s+how|see\s+what)\b",
    r"\bwhich\s+(?:one\s+)?(?:is|would\s+be)\s+(?:better|best|easier)\b|\brecommendations?\b|"
    r"\bwhat\s+(?:do|would)\s+you\s+recommend\b|\b(?:sessions?|workshop)\s+(?:on|about)\b",
    r"\b(?:a|couple\s+of|couple|few|quick|some)\s+(?:\w+\s+)?questions?\b|^\W*[\w\s]{0,30}"
    r"question\s*[:-]|\b(?:quick\s+tour|small\s+group\s+thing|better\s+(?:tool|way|app))\b",
    r"\b(?:legally|legal\s+to|is\s+(?:that|this|it)\s+(?:allowed|ok|okay)|are\s+(?:we|they|kids|"
    r"students)\s+allowed|(?:which|what)\s+(?:\w+\s+){0,3}(?:are|is)\s+approved)\b",
    r"\bayud\w*\s+a\s+(?:usar|aprender|entender|configurar)\b|\bcómo\s+(?:se\s+)?"
    r"(?:usa|uso|hago|puedo|funciona)\b",
    r"^\W*(?:\w+\s+){1,3}help\W*$|^\W*help\s+(?:with|on|using)\b",  # "Citations help"
    r"\baprender\b|\benseñarme\b|\bcapacitación\b",
    # asking how a tool does something, or which way to go
    r"\b(?:can|could)\s+i\s+(?:\w+\s+){0,2}?(?:assign|add|make|share|turn|change|see|"
    r"track|link|embed|upload|record|create|customize|lock|hide|schedule|do)\b[^.!?]*\?",
    r"\bshould\s+(?:i|we)\s+(?:use|try|switch|get|go\s+with)\b",
    r"\b(?:need|want|looking\s+for)\s+a\s+(?:new|better|good|easy|easier|simple|different)\s+"
    r"(?:way|tool|app|platform|site|option)\b",
    # open to whatever the librarian suggests
    r"\bopen\s+to\s+(?:anything|ideas|suggestions)\b|\bwhatever\s+you\s+(?:think|suggest|recommend)\b",
)
# Words that open another request in the same answer.
_ANOTHER = _rx(
    r"^\W*(?:also|plus|and\s+also|separately|another\s+(?:thing|question)|on\s+another\s+note|"
    r"p\.?\s?s\.?|one\s+more\s+thing|oh\s+and|unrelated|different\s+topic)\b",
    r"\balso\b",
)
# The teacher (or team) learning for themselves, beyond talking a lesson over.
_LEARN_FOR_ME = _rx(
    r"\b(?:show|teach|train|walk)\s+(?:me|us|our\s+team|the\s+team|teachers|staff)\b",
    r"\b(?:i|we)\s+(?:want|would\s+like|'d\s+like|'d\s+love|would\s+love|need)\s+to\s+learn\b",
    r"\bhow\s+(?:do|can|should)\s+i\b|\b(?:pd|professional\s+development|training|plc|"
    r"team\s+meeting|department\s+meeting|staff\s+meeting|policy)\b",
)
# Choosing between tools is asking for advice: "WeVideo or Adobe Express?", "Screencastify vs
# Loom?", "Is EBSCO or JSTOR better for psych?" (names, so "books or articles?" is not one).
_WHICH_TOOL = re.compile(
    r"\b[A-Z][\w.&'-]*(?:\s+[A-Z][\w.&'-]*){0,2}\s+(?:or|vs\.?|versus)\s+"
    r"(?:the\s+)?[A-Z][\w.&'-]*[^.!?]{0,40}\?"
)
# The librarian doing or providing something.
_TASK = _rx(
    r"\b(?:pull|order|buy|purchase|borrow|lend|print|laminate|fix|repair|replace|reserve|"
    r"renew|deliver|install|unlock|reset|curate|compile|gather|find\s+me|send\s+me|"
    r"email\s+me|get\s+(?:me|us|them|my|our|some|a|the)|set\s+(?:them\s+)?up\s+on|"
    r"(?<!\bto\s)make\s+sure|put\s+together|check\s+(?:if|on|them|out)|use\s+the\s+library)\b",
    r"\b(?:do\s+we\s+have|do\s+you\s+have|does\s+the\s+library\s+have|is\s+there\s+(?:a|an|any)"
    r"(?!\s+way\b(?![^.?!]*\b(?:accounts?|access|licen[cs]es?|logins?|subscriptions?|passwords?|working|fixed)\b|\s+to\s+get\s+(?:my\s+|the\s+|our\s+)?(?:students|kids|them|us|me|class)\s+(?!to\b)))|are\s+there|where\s+(?:is|are|can)|what'?s\s+the\s+(?:login|password|code)|"
    r"which\s+one|who\s+do\s+i|is\s+that\s+(?:you|a\s+you)|could\s+we\s+(?:have|get|use))\b",
    r"\b(?:broken|not\s+working|won'?t|doesn'?t\s+work|missing|jammed|cracked|dead|expired|"
    r"offline|keeps\s+(?:dying|failing))\b",
    r"\b(?:accounts?|licen[cs]es?|passwords?|logins?)\b",
    r"\b(?:books|titles|copies|class\s+sets?|a\s+list|links?)\b[^.?!]{0,80}?\b(?:please|for\s+my|for\s+our)\b|"
    r"\b(?:please|could\s+you|can\s+you)\b[^.?!]{0,80}?\b(?:books|titles|copies|list|links?)\b",
    r"\b(?:necesito|tienes|hay|libros|conseguir|pedir)\b",
)


# Doing words strong enough to be a task beside a lesson or learning in the same sentence.
_PROVIDE = _rx(
    r"\b(?:order|buy|purchase|borrow|lend|print|laminate|fix|repair|reserve|renew)\b"
    r"(?!\s+(?:up|out)\b)",
    # pulling books, not "pull random questions from a question bank"
    r"\bpull\s+(?:\w+\s+){0,3}?(?:books?|titles?|novels?|copies|sets?|materials|resources|"
    r"sources|articles|magazines|picture\s+books)\b",
    # accounts or cards students need, equipment or a space to use: the librarian provides
    r"\bneed\w*\s+(?:\w+\s+){0,2}?(?:accounts?|library\s+cards?|logins?|licen[cs]es?)\b",
    r"\b(?:use|borrow|check\s+out)\s+the\s+(?:\w+\s+){0,2}?(?:laser\s+cutters?|3d\s+printers?|"
    r"makerspace|green\s+screen|carts?|cameras?|kits?|library|lab|booth|mics?|tripods?)\b",
)


# Words that are no problem reported: "let me know if that doesn't work".
_IF_NOT = re.compile(
    r"\bif\s+(?:that|it|this|the\s+date|those|these|any\s+of\s+(?:that|this|those))\s+"
    r"(?:doesn'?t|does\s+not|won'?t|will\s+not|don'?t|isn'?t)\s+(?:work|suit|fit)\w*",
    re.IGNORECASE,
)
# A session for the staff is learning, however it is worded; for students it is a lesson.
_STAFF = _rx(
    r"\b(?:pd|plc|plcs|staff|faculty|teachers|colleagues|professional\s+development|"
    r"(?:team|department|dept\.?|grade.level|staff)\s+meetings?|our\s+(?:team|department|dept))\b"
)
_STUDENTS = _rx(
    r"\b(?:students?|kids|class|classes|graders|kiddos|scholars|kinders|periods?|sections?|"
    r"seniors|juniors|freshmen|sophomores|estudiantes|alumnos)\b"
)


@functools.lru_cache(maxsize=65536)  # the digest asks again for each month it looks back on
def sentence_kinds(text: str) -> tuple[tuple[str, tuple[NeedKind, ...]], ...]:
    """Each sentence of ``text`` that says something of what is wanted now, with the kinds
    of help it asks for (``()`` for a sentence that only gives context: "We're doing a
    comics unit!"). Thanks for past help and declines are left out."""
    parts: list[tuple[str, str | None]] = []  # (sentence, lower-cased)
    asking: list[bool] = []
    for s in sentences(_IF_NOT.sub(" ", text[:READ_LIMIT])):
        low = lower_cased(s)
        if _ASK.search(s, low):
            asking.append(True)
        elif not (_SMALL_TALK.search(s, low) or _DECLINE.search(s, low)):
            asking.append(_WANT.search(s, low) or _DATED.search(s, low))
        else:
            continue
        parts.append((s, low))
    out: list[tuple[str, tuple[NeedKind, ...]]] = []
    for i, (sentence, low) in enumerate(parts):
        found: set[NeedKind] = set()
        # "Research lesson for the essay. Dec 14?": the ask may come in the next sentence.
        asks = asking[i] or (i + 1 < len(parts) and asking[i + 1])
        lesson = _LESSON.search(sentence, low) or (asks and _LESSON_WORD.search(sentence, low))
        if lesson and _STAFF.search(sentence, low) and not _STUDENTS.search(sentence, low):
            lesson = False  # "a short session for our PLC": the teachers learn
        learning = not lesson and (
            _LEARNING.search(sentence, low)
            # (the choice ends in "?": a sentence without one is not searched)
            or ("?" in sentence and bool(_WHICH_TOOL.search(sentence)))
        )
        if lesson:
            found.add(LESSON)
        if learning:
            found.add(LEARNING)
        # "Pull books and show them Gale" is a task beside the lesson.
        if (not (lesson or learning) and _TASK.search(sentence, low)) or _PROVIDE.search(
            sentence, low
        ):
            found.add(TASK)
        out.append((sentence, tuple(k for k in KINDS if k in found)))
    # Planning a lesson with the librarian is part of the lesson: "Could you do a lesson on
    # lateral reading? Can you help me plan it?" A sentence of an answer asking for a lesson
    # that learns only by talking, planning or choosing (no "show me", no PD) is the lesson's,
    # unless it opens another request ("Also, can we talk about…").
    lessons = [LESSON in kinds for _, kinds in out]
    for i, (sentence, kinds) in enumerate(out):
        if kinds != (LEARNING,) or not any(lessons) or _LEARN_FOR_ME.search(sentence):
            continue
        opening = " ".join(s for s, _ in out[max(0, i - 2) : i + 1])
        if not any(lessons[:i]) or not _ANOTHER.search(opening):
            out[i] = (sentence, (LESSON,))
    return tuple(out)


@functools.lru_cache(maxsize=65536)  # asked for each answer by its topics, kinds and lessons
def kinds_of(text: str) -> tuple[NeedKind, ...]:
    """The kinds of help ``text`` asks for, in :data:`KINDS` order (a task when nothing
    says otherwise: "Do we have X?" is a task)."""
    found = {k for _, kinds in sentence_kinds(text) for k in kinds}
    return tuple(k for k in KINDS if k in found) or (TASK,)


def topics_by_kind(
    text: str, evidence: Sequence[tuple[str, Sequence[str]]]
) -> tuple[tuple[NeedKind, tuple[str, ...]], ...]:
    """Which topics each kind of help in ``text`` is about: the needs inside one answer.

    ``evidence`` is the tagger's (topic, words) pairs. A topic belongs to the kinds of the
    sentences its words are in ("Pull books on volcanoes. And could you show me Canva?": books
    are the task, Canva the learning); a topic named only where no kind is asked ("We're doing
    a comics unit!") belongs to every kind the answer asks for. Kinds in :data:`KINDS` order,
    each with its topics in ``evidence`` order; a kind with no topic is listed with ``()``.
    """
    parts = sentence_kinds(text)
    kinds = kinds_of(text)
    lowered = [(s.lower(), k) for s, k in parts]
    own: dict[NeedKind, set[str]] = {k: set() for k in kinds}
    for topic, words in evidence:
        where = {
            k
            for w in words
            for sentence, ks in lowered
            if w.lower() in sentence
            for k in (ks or kinds)
        }
        for k in where or kinds:
            own.setdefault(k, set()).add(topic)
    order = [t for t, _ in evidence]
    return tuple((k, tuple(t for t in order if t in own[k])) for k in kinds if k in own)


_TEAM_VISIT = _rx(
    r"\b(?:come|visit|join|present|stop\s+by|share|talk|demo)\b[^.?!]{0,40}\b(?:to|at|with)\s+"
    r"(?:our|the)\s+(?:[\w&-]+\s+){0,2}(?:plc|team\s+meeting|department\s+meeting|"
    r"dept\.?\s+meeting|grade.level\s+meeting|staff\s+meeting|team|department|dept)\b",
    r"\bat\s+our\s+(?:[\w&-]+\s+){0,2}(?:plc|team\s+meeting|department\s+meeting|"
    r"dept\.?\s+meeting)\b",
    r"\b(?:our|the)\s+(?:[\w&-]+\s+){0,3}(?:team|plc|department|dept)\s+(?:would\s+(?:like|love)|"
    r"wants?|needs?|get|have)\b",
)


def asks_team_visit(text: str) -> bool:
    """True when the answer asks the librarian to come to a team ("come to our ELA PLC",
    "at our team meeting on Tuesday", "our K team wants to start using MagicSchool")."""
    return bool(_TEAM_VISIT.search(text[:READ_LIMIT]))
