"""The default taxonomy: what teachers ask a school library for in 2026, and the brand names
they use for it.

A keyword written in lower case matches its related forms ("podcast" matches "podcasting");
a keyword with a capital letter is a name and matches that exact word, in any case ("Canva"
never matches "Canvas"). :data:`CONTEXT_RULES` read the words around a few ambiguous ones
("book the lab" is a booking, "Grade 7" a team, "google it" searching, "an epic unit" no app).
A school renames, extends or replaces any of it from the config (``taxonomy`` keys).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..config.records import Topic

BOOKS = "Books and collection"
READING = "Reading promotion"
RESEARCH = "Research skills"
CITATION = "Citation"
DATABASES = "Databases"
MEDIA = "Source evaluation and media literacy"
CITIZENSHIP = "Digital citizenship"
AI = "AI tools"
INTEGRITY = "Academic integrity"
COPYRIGHT = "Copyright"
WORKSPACE = "Google Workspace"
LMS = "LMS"
DEVICES = "Devices and hardware"
ACCOUNTS = "Accounts and logins"
VIDEO = "Video, audio and podcasts"
DESIGN = "Presentation and design"
INTERACTIVE = "Interactive tools"
MAKING = "Coding and making"
EBOOKS = "Ebooks and audiobooks"
ASSISTIVE = "Assistive technology"
GRADEBOOK = "Gradebook and SIS"
LESSONS = "Lessons and co-teaching"
BOOKING = "Booking spaces"
PRINTING = "Printing and copies"

DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic(BOOKS, (
        "read alikes", "read-alikes", "book list", "book lists", "booklist", "book order",
        "book orders", "Follett", "TitleWave", "Titlewave", "Mackin", "Junior Library Guild",
        "interlibrary loan", "weeding", "donated books", "book donations", "book bags",
        "audiobooks on CD", "comics", "manga", "anthology",
        "anthologies", "poetry books", "big books", "read alouds for", "picture books for",
        "Books", "Book", "novel", "novels", "class set", "class sets", "book room", "bookroom",
        "leveled readers", "leveled books", "leveled texts", "leveled library",
        "decodable books", "decodable readers", "decodable texts", "decodables",
        "picture book", "picture books", "graphic novel", "graphic novels",
        "chapter book", "chapter books", "nonfiction", "non fiction", "fiction", "titles",
        "book display", "classroom library", "class library", "mentor text", "mentor texts",
        "biography", "biographies", "Destiny", "book bin", "book bins", "libros", "libro",
        "dictionaries", "dictionary", "graded readers", "reading list", "bilingual",
        "high interest", "hi lo", "series", "folktales", "fables", "mythology", "mysteries",
        "historical fiction", "novels in verse", "text set", "text sets", "lending library",
        "lit circles", "literature circles", "book clubs sets", "cookbooks", "copies of",
        "curated list", "approved videos", "extra copies", "more copies", "class copies",
        "copies for", "novelas", "cuentos",
    )),
    Topic(READING, (
        "author visit", "author visits", "book fair", "Read Across America", "reading buddies",
        "Mock Newbery", "Mock Caldecott", "Global Read Aloud", "reading bingo", "book swap",
        "book tastings", "reading promotion", "reading contest",
        "Sunshine State", "Bluebonnet", "reading streak", "book bingo", "book tasting",
        "book talk", "booktalk", "book talks", "booktalks", "book tasting", "reading challenge",
        "battle of the books", "book club", "book clubs", "literacy night", "reading culture",
        "reading month", "readathon", "read a thon", "reading incentive", "reading logs",
        "love of reading", "reluctant readers", "reader's advisory", "club de lectura",
    )),
    Topic(RESEARCH, (
        "Boolean", "search terms", "research process", "research paper", "research papers",
        "inquiry", "Big6", "Super3", "narrow a topic", "narrowing", "thesis",
        "annotating", "annotate sources", "research skills", "search tips",
        "research", "researching", "researcher", "research question", "research questions",
        "search", "searching", "search strategies", "keywords", "keyword", "note taking",
        "notetaking", "notecards", "paraphrasing", "paraphrase", "catalog", "Google Scholar",
        "primary source", "primary sources", "pathfinder", "find sources", "finding sources",
        "good sources", "better sources", "reliable sources", "scholarly sources", "sources for",
        "sources on", "sources about", "articles for", "articles on", "articles about",
        "find articles", "finding articles", "websites for", "websites on", "websites about",
        "find facts", "finding information", "background information", "credible sources",
        "science fair", "NHD", "national history day", "investigación", "fuentes",
        "kid safe search", "search engine", "scholarly",
    )),
    Topic(CITATION, (
        "Purdue OWL", "Scribbr", "BibMe", "Cite This For Me", "Turabian", "hanging indent",
        "parenthetical", "signal phrases",
        "citation", "citations", "cite", "citing", "MLA", "APA", "Chicago style",
        "Chicago footnotes", "works cited", "bibliography", "annotated bibliography",
        "in text citation", "in text citations", "footnotes",
        "NoodleTools", "EasyBib", "Zotero", "citation machine", "reference list",
    )),
    Topic(DATABASES, (
        "Britannica School", "encyclopedia", "encyclopedias", "ABC CLIO", "ABC-CLIO",
        "Facts on File", "Issues and Controversies", "Points of View", "Teen Health and Wellness",
        "NewsBank", "MasterFILE", "Academic OneFile", "Credo", "Access World News",
        "Biography in Context", "Student Resources in Context", "Gale eBooks", "BrainPOP",
        "e resources", "eresources", "online resources",
        "database", "databases", "Gale", "EBSCO", "JSTOR", "Artstor", "ProQuest", "Britannica",
        "PebbleGo", "CultureGrams", "CQ Researcher", "Chronicling America",
        "Library of Congress", "LOC", "World Book", "Worldbook", "Kanopy", "opposing viewpoints",
        "SIRS", "Explora", "Newsela", "Infobase", "WSJ", "NYT", "New York Times",
        "Wall Street Journal", "news subscription", "academic search", "TrueFlix", "Scholastic GO",
        "Salem Press", "KidsHealth", "journals", "journal articles", "peer reviewed",
        "Statista", "ScienceDirect", "Wolfram", "Gale in Context", "Sora reports",
    )),
    Topic(MEDIA, (
        "News Literacy Project", "Checkology", "reverse image search", "AllSides", "Ad Fontes",
        "media bias", "Snopes", "satire", "sponsored content", "conspiracy", "conspiracy theories",
        "trustworthy", "real or fake", "hoax", "hoaxes",
        "media literacy", "lateral reading", "SIFT", "bias", "biased", "misinformation",
        "disinformation", "fake news", "credibility", "credible", "evaluating sources",
        "evaluate sources", "reliable", "misleading", "propaganda", "fact check",
        "fact checking", "junk sites", "deepfake", "deepfakes", "news literacy", "CRAAP",
        "clickbait",
    )),
    Topic(CITIZENSHIP, (
        "cyber safety", "online predators", "sextortion", "group chat", "group chats",
        "digital wellness", "digital wellbeing", "NetSmartz", "Interland", "online reputation",
        "oversharing", "personal information", "stranger danger", "online behavior",
        "digital citizenship", "online safety", "internet safety", "cyberbullying",
        "digital footprint", "privacy", "screen time", "scams", "scam", "phishing",
        "safe search", "online speech", "social media", "student data", "healthy tech",
        "netiquette", "Common Sense", "Be Internet Awesome",
    )),
    Topic(AI, (
        "Microsoft Copilot", "Gemini in Classroom", "AI tutor", "LLM", "Grok", "Meta AI", "DALL E",
        "Midjourney", "Adobe Firefly", "Firefly", "image generator", "Character AI",
        "AI Studio", "Twee", "Conker", "Almanack", "Colleague AI", "Flint", "TeachAI",
        "AI literacy", "prompting", "prompt engineering", "Google AI",
        "AI", "IA", "artificial intelligence", "inteligencia artificial", "ChatGPT",
        "GPT", "Gemini", "NotebookLM", "MagicSchool", "Magic School", "Brisk", "Diffit",
        "Khanmigo", "SchoolAI", "Copilot", "Claude", "Perplexity", "chatbot", "chatbots",
        "generative", "AI generated", "Curipod", "Eduaide", "Snorkl", "Gamma", "Grammarly",
        "QuillBot",
    )),
    Topic(INTEGRITY, (
        "Copyleaks", "ZeroGPT", "Originality", "Respondus", "LockDown Browser", "proctoring",
        "academic dishonesty", "ghostwritten", "contract cheating", "honor code",
        "plagiarism", "plagiarize", "plagiarizing", "plagiarized", "cheating", "cheat",
        "cheated", "academic integrity", "academic honesty", "Turnitin", "GPTZero",
        "AI detection", "AI detector", "AI detectors", "version history", "Draftback",
        "Revision History", "locked mode", "lockdown", "honesty", "answer sharing",
        "sharing answers", "copying answers", "switching tabs", "doesn't sound like",
        "not their own", "copy and paste", "copy pasting", "copy paste", "paste it",
        "Photomath", "Gauth", "AI policy", "sound like ChatGPT", "sounds like ChatGPT",
        "sound like AI", "sounds like AI", "suspicious", "stop using AI", "used AI", "using AI to",
        "write it for them", "code for them", "thinking shows", "process is visible",
        "when it's ok to use", "cheaters",
    )),
    Topic(COPYRIGHT, (
        "Movie Licensing USA", "public performance", "attribution", "Pixabay", "Unsplash",
        "Pexels", "copyright free", "intellectual property", "TEACH Act",
        "copyright", "copyrighted", "fair use", "Creative Commons", "public domain",
        "royalty free", "Licensing", "legally", "legal to show", "permission to show",
        "show a movie", "show the movie",
        "show a film", "movie license", "Swank", "image rights", "reuse images",
    )),
    Topic(WORKSPACE, (
        "Google Keep", "Google Meet", "Google Vids", "Google Tasks", "Drive folder",
        "Drive folders", "Google Apps",
        "Google Docs", "Google Doc", "Docs", "Doc", "Google Slides", "Google Slide", "Slides",
        "Google Sheets", "Google Sheet", "Google Site", "version history",
        "Sheets", "spreadsheet", "Google Forms", "Google Form", "Google Drive",
        "shared drive", "Google Sites", "Google Calendar", "My Maps",
        "Google Earth", "Jamboard", "Gmail", "Google Workspace", "Workspace", "google doc",
        "slide deck", "choice board", "hyperdoc", "template", "make a copy", "force copy",
        "sharing permissions",
    )),
    Topic(LMS, (
        "Microsoft Teams", "Canvas course", "Classroom stream", "Remind", "ParentSquare",
        "Class Notebook",
        "Google Classroom", "Classroom", "Canvas", "Seesaw", "Schoology", "Moodle", "LMS",
        "course page", "class page", "Blackboard", "Brightspace", "D2L", "Edmodo", "ClassDojo",
        "Class Dojo",
    ), stage="implementation"),
    Topic(DEVICES, (
        "Apple TV", "AirPlay", "Chromecast", "SMART Board", "ViewSonic", "Epson", "Swivl",
        "Kajeet", "help desk ticket", "IT ticket", "touchscreen", "stylus", "styluses",
        "Apple Pencil", "webcam", "webcams", "lightbulb", "bulb", "glitching", "frozen",
        "won't connect", "won't charge", "Bluetooth", "power strip", "extension cord",
        "chromebook", "chromebooks", "ipad", "ipads", "laptop", "laptops", "charger",
        "chargers", "charging", "cart", "carts", "printer", "printers", "copier", "copiers",
        "projector", "projectors", "panel", "smartboard", "smart board", "Promethean",
        "ActivPanel", "Clevertouch", "interactive board", "document camera", "doc cam", "docucam",
        "camera", "cameras", "mic", "mics", "microphone", "microphones", "speaker", "speakers",
        "headphones", "earbuds", "headsets", "GoGuardian", "Securly", "Lightspeed", "hotspot",
        "hotspots", "wifi", "wi fi", "device", "devices", "tablet", "tablets", "keyboard",
        "mouse", "cable", "cables", "HDMI", "dongle", "monitor", "screen is", "broken",
        "won't turn on", "not working", "cracked", "jammed", "toner", "batteries",
    )),
    Topic(ACCOUNTS, (
        "two factor", "2FA", "MFA", "ClassLink", "sign on", "log on", "logon", "credentials",
        "activation code", "subscription code", "roster sync", "rostering",
        "password", "passwords", "login", "logins", "log in", "logging in", "sign in",
        "username", "usernames", "account", "accounts", "QR badge", "QR badges",
        "badges", "Clever", "SSO", "single sign on", "license", "licenses",
        "licence", "licences", "seats", "can't access", "cannot access", "access code",
        "get access", "give access", "locked out", "reset", "class code", "pays for", "pay for",
        "library card", "library cards", "new staff", "contraseña", "cuenta",
    )),
    Topic(VIDEO, (
        "Adobe Premiere", "Premiere", "CapCut", "Flipgrid", "Vocaroo", "Screencast O Matic",
        "ScreenPal", "Animoto", "Powtoon", "Explain Everything", "ChatterPix", "Puppet Pals",
        "tripod", "tripods", "gimbal", "broadcast", "morning announcements", "radio show",
        "voiceover", "voice over", "video project", "film festival",
        "video", "videos", "WeVideo", "green screen", "screencast", "screencasts",
        "Screencastify", "Loom", "podcast", "podcasts", "podcasting", "audio recording",
        "audio recordings", "edit audio", "editing audio", "audio editing", "audio files",
        "record a", "record their", "record themselves", "record my", "record our",
        "recording studio", "practice recordings", "voice memos", "audio recorder",
        "audio recorders", "voice recorder", "voice recorders", "iMovie", "Clipchamp",
        "Flip", "stop motion", "animation",
        "documentary", "documentaries", "Filming", "Editing", "edit video", "video editing",
        "recording booth", "Audacity", "GarageBand", "Soundtrap", "voice recording",
        "captioned", "captioning", "newscast", "announcements",
    )),
    Topic(DESIGN, (
        "Adobe Spark", "Venngage", "Easelly", "Wixie", "Pixton", "Storyboard That",
        "Prezi", "Sway", "Keynote", "comic strip", "comic strips",  "bulletin board",
        "Canva", "Adobe Express", "Adobe", "slide design", "newsletter", "newsletters", "poster",
        "posters", "flyer", "flyers", "brochure",
        "infographic", "infographics", "visual schedule", "visual schedules", "picture cards",
        "graphic design", "logo", "yearbook", "Piktochart", "Book Creator",
        "photographing", "photograph", "portfolio",
    )),
    Topic(INTERACTIVE, (
        "Formative", "GoFormative", "Boom Cards", "Kami", "Classkick", "Poll Everywhere",
        "Slido", "Whiteboard fi", "Lumio", "Quizlet Live", "Kahoots", "Blookets", "Gimkits",
        "exit ticket", "exit tickets", "polls", "review game", "review games",
        "Kahoot", "Blooket", "Gimkit", "Pear Deck", "Peardeck", "Mentimeter", "Padlet",
        "Edpuzzle", "PhET", "Nearpod", "Quizizz", "Wayground", "Desmos",
        "Socrative", "Plickers", "Wordwall", "Quizlet", "Deck Toys", "Baamboozle",
        "Flippity", "Genially", "escape room", "breakout",
    )),
    Topic(MAKING, (
        "CodeHS", "Blockly", "Hummingbird", "LEGO Spike", "Spike Prime", "WeDo", "VEX",
        "littleBits", "Cubetto", "Osmo", "Minecraft", "Minecraft Education", "soldering",
        "Glowforge", "vinyl cutter", "button maker", "sewing machine", "maker kits",
        "STEM challenge", "STEM challenges", "Python", "programming", "coding club",
        "robotics club", "Lego club", "cardboard challenge",
        "makerspace", "maker space", "Hour of Code", "Coding", "Code.org", "Scratch",
        "ScratchJr", "robot", "robots", "robotics", "Bee Bots", "Bee-Bot", "BeeBots",
        "Beebots", "Ozobot", "Ozobots", "Sphero", "Makey Makey", "Makey Makeys",
        "Snap Circuits", "micro:bit", "microbit", "Arduino", "3D print", "3D printer",
        "3D printing", "laser cutter", "laser cutting", "Cricut", "Tinkercad", "LEGO",
        "circuits", "engineering", "STEM kits", "STEAM", "Dash", "KIBO", "Cubelets", "Lego",
    )),
    Topic(EBOOKS, (
        "Capstone", "MackinVIA", "Raz Kids", "Audible", "BookFlix", "Unite for Literacy",
        "Kindle", "Kindles", "eReader", "e reader", "digital books", "online books",
        "ebook", "ebooks", "e book", "e books", "audiobook", "audiobooks", "audio book",
        "audio books", "Sora", "Libby", "OverDrive", "Epic", "Vooks", "read along",
        "read-along", "Wonderbooks", "Vox books", "TumbleBooks", "Storyline Online",
        "Hoopla", "digital library", "audio version", "audio versions", "en audio",
    )),
    Topic(ASSISTIVE, (
        "Kurzweil", "screen reader", "screen readers", "JAWS", "NVDA", "VoiceOver",
        "alt text", "high contrast", "OpenDyslexic", "Microsoft Translator", "TalkingPoints",
        "Talking Points", "audio support", "visual impairment", "visually impaired", "deaf",
        "hard of hearing",
        "speech to text", "word prediction", "Voice Typing",
        "text to speech", "speech to text", "TTS", "Immersive Reader", "Read&Write",
        "Read and Write", "Learning Ally", "Bookshare", "large print", "braille",
        "dyslexia", "dyslexic", "AAC", "accessible slides", "accessibility", "accessible",
        "colorblind", "color blind", "accommodation",
        "accommodations", "IEP", "504", "read aloud tool", "dictation", "voice typing",
        "Google Translate", "translation tool", "translation tools", "translator",
        "low vision", "hearing impaired", "adapted", "read aloud options", "read out loud",
        "out loud", "listen along", "zoom", "Snap&Read", "Co:Writer", "Natural Reader",
        "Speechify", "Reading Coach", "captions", "captioned", "closed captions",
    )),
    Topic(GRADEBOOK, (
        "Tyler SIS", "Aspen", "eSchoolPlus", "Veracross", "report cards", "progress reports",
        "attendance", "standards based grading",
        "gradebook", "grade book", "PowerSchool", "Infinite Campus", "Skyward", "Aeries",
        "Synergy", "report card comments", "grade sync", "grade passback", "SIS",
        "enter grades", "grading period",
    )),
    Topic(LESSONS, (
        "co teach", "co-teach", "coteach", "co teaching", "co-teaching", "co plan", "co-plan",
        "coplan", "lesson", "lessons", "orientation", "mini lesson", "minilesson",
    )),
    Topic(BOOKING, (
        "library calendar", "makerspace time", "the auditorium", "sign up sheet for the library",
        "library time", "library visit", "library visits", "library schedule", "lab time",
        "computer lab", "display case", "display cases", "showcase", "use the library",
        "use the makerspace", "quiet room", "rehearsal space", "green screen room",
        "conference room", "library available", "space to work", "somewhere to work",
    )),
    Topic(PRINTING, (
        "laminate", "laminating", "lamination", "copies made", "photocopies",
        "poster printer", "double sided", "in color", "color copies", "binding", "easel",
        "easels", "stapler",
        "telescope", "field trip", "zine", "student jobs",
    )),
)  # fmt: skip


# Context rules, applied before the keywords. Each claims the words it matches, so the
# keywords never see them; a rule with a topic also tags it, with the matched words as
# evidence. Order matters: the first rule to claim a word wins.
_BROKEN = (
    r"\b(?:jam\w*|down|broken|not\s+working|won'?t|isn'?t|doesn'?t|error\w*|offline|toner|"
    r"fail\w*|stuck|out\s+of)\b"
)
_CONTEXT_PATTERNS: tuple[tuple[str, str | None], ...] = (
    # "book" as a verb: booking a space, not books
    (
        r"\b(?:book(?=\s+(?:the|a|an|our|my|some|time|lab|library))|booking|reserve|reserving|"
        r"sign\s+up\s+for|schedule|grab)"
        r"(?:\s+(?:the|a|an|our|my|some|time\s+in\s+the|time\s+in|a\s+slot\s+in\s+the))?"
        r"\s+(?:library|lab|labs|computer\s+lab|makerspace|maker\s+space|room|rooms|"
        r"green\s+screen\s+room|space|display\s+cases?|media\s+center|classroom|"
        r"auditorium|conference\s+room|library\s+classroom|library\s+time|gym|gymnasium|"
        r"cafeteria|cafe|stage|theater|theatre|commons|courtyard|studio|recording\s+booth|"
        r"(?:study|meeting|quiet|testing|reading)\s+rooms?)\b",
        BOOKING,
    ),
    (r"\b(?:book|reserve|borrow)(?:\s+(?:the|a|an|our|my|some))?\s+(?:\w+\s+)?carts?\b",
     DEVICES),
    (r"\bbook\s+(?:a|the|some|our)\s+(?:time|slot|visit|day|period|block)\b", BOOKING),
    # the librarian teaching a class
    (r"\b(?:teach|show|walk|model\s+for|talk\s+to|present\s+to)\s+(?:my|our|the|all\s+my|"
     r"his|her|their)\s+(?:\w+\s+)?(?:students|kids|class|classes|graders|kiddos|"
     r"sections?|periods?|kinders|seniors|juniors|freshmen)\b", LESSONS),
    (r"\b(?:book\s?talks?|read.?alouds?|orientation|storytime|story\s+time|booktalks?)\s+"
     r"(?:for|to|with)\s+(?:my|our|the|all)\s+(?:\w+\s+)?(?:class|classes|students|kids|"
     r"graders|kinders)\b", LESSONS),
    (r"\b(?:show|teach)\s+them\b|\bwhen\s+we\s+come\b|\b(?:my|our)\s+(?:class|classes|"
     r"kids|students)\s+(?:come|visit)\b|\bclass\s+visits?\b", LESSONS),
    # a brand named with an everyday word
    (r"\bbook\s+creator\b", DESIGN),
    # reading events named with "book" are reading promotion, not the collection
    (r"\b(?:battle\s+of\s+the\s+books|book\s+(?:fairs?|clubs?|talks?|tastings?|swaps?|bingo|"
     r"challenges?|madness)|booktalks?)\b(?!\s+(?:sets?|books?|copies|titles|kits?))", READING),
    # showing a film: whether it is allowed is copyright
    (r"\b(?:allowed|ok|okay|legal|permission)\s+(?:for\s+\w+\s+)?to\s+(?:show|screen|play|"
     r"stream)\s+(?:\w+\s+){0,3}?(?:movies?|films?|videos?|clips?|shows?|episodes?|music|songs?)\b",
     COPYRIGHT),
    # Google's "make a copy" (of a doc, for each student) is no copies of a book
    (r"\b(?:(?:mak(?:e|es|ing)|force)\s+a|(?:their|his|her)\s+own)\s+copy\b"
     r"(?!\s+of\s+(?:the\s+|a\s+)?(?:book|novel|title|text))", WORKSPACE),
    # pulling every version or edition a library has is the collection
    (r"\bpull\s+(?:all\s+)?(?:the\s+)?(?:\w+\s+){0,2}?(?:versions|editions|copies)\s+of\b",
     BOOKS),
    # a class brought to the library: a visit to book
    (r"\b(?:bring|take|send)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:class|classes|students|kids|"
     r"group)\s+(?:to|into|over\s+to)\s+the\s+library\b", BOOKING),
    # the unit's research named as the purpose of another need ("books for our regions
    # research") is no research-skills need
    (r"\bfor\s+(?:our|my|the|their|a)\s+(?:\w+\s+){0,2}?research(?:\s+(?:projects?|papers?|"
     r"units?|presentations?|reports?))?\b", None),
    # media to find or show is the collection, not media production
    (r"\b(?:a|the)\s+(?:recording|video|film)\s+(?:or\s+\w+\s+)?version\b", None),
    (r"\b(?:find|list\s+of|curated?|approved)\s+(?:\w+\s+){0,2}?videos?\b", BOOKS),
    # misleading charts are media literacy, not design; the teacher's own newsletter is
    # where a handout goes, not a design need
    (r"\b(?:misleading|spot\w*|fake|deceptive)\s+(?:\w+\s+){0,2}?(?:charts?|graphs?|"
     r"infographics?|images?|photos?)\b", MEDIA),
    (r"\b(?:in|into)\s+(?:my|our|the)\s+(?:\w+\s+)?newsletter\b", None),
    # videos watched are no video production
    (r"\b(?:watch\w*|youtube)\s+(?:\w+\s+){0,2}?videos?\b|\b(?:a|the)\s+youtube\s+video\b",
     None),
    # the teacher's own lesson plans are no lesson for the librarian to teach
    (r"\blesson\s+plan(?:s|ning)?\b|\bplanning\s+(?:my|our)\s+lessons?\b", None),
    # a grade level is a team, not the gradebook
    (r"\b(?:grades?\s*\d+(?:\s*(?:-|–|to|and|&)\s*\d+)?|\d+(?:st|nd|rd|th)\s+grade(?:rs?)?|"
     r"grade\s+(?:level|team|levels)|kinder(?:garten)?|grado)\b", None),
    # searching the web, not Google Workspace
    (r"\b(?:just\s+)?googl(?:e|ing|ed)\s+(?:it|things|everything|stuff|answers?|the\s+answers?|"
     r"their\s+(?:topic|questions?)|for)\b|\bjust\s+googl(?:e|ing)\b", RESEARCH),
    (r"\bgoogle\s+search\b|\bsearch\s+on\s+google\b", RESEARCH),
    # an epic unit, an epic fail: no app
    (r"\b(?:an|so|this|that|was|is|pretty|really|truly|most|an\s+absolutely)\s+epic\b|"
     r"\bepic\s+(?:unit|poem|poems|poetry|hero|heroes|fail|battle|tale|tales|journey|project|"
     r"novel|story|stories|win|year|month|day|time|adventure|quest|simile)\b|"
     r"\bthe\s+epic\s+of\b", None),
    # clever as a word, not the Clever portal
    (r"\b(?:a|so|very|really|some|more|most|is|are|was|be)\s+clever\b|\bclever\s+"
     r"(?:way|idea|ideas|trick|tricks|kids|students|way)\b", None),
    # the library's own words that are not needs
    # student drawings or the printing of posters read as services, not design
    (r"\b(?:print|printing|copy|copying|laminat\w*)\s+(?:\w+\s+){0,3}?(?:posters?|programs?|"
     r"flyers?|packets?|handouts?|worksheets?|sheet\s+music|copies|labels?)\b|"
     r"(?<!3d\s)(?<!3d)\bprint(?:ed|ing)?\s+(?:\d+|it|them|these|those|this|our|my|the|out)\b",
     PRINTING),
    # "Classroom" as a place, not Google Classroom
    (r"\b(?:my|our|the|your|in\s+the|each|every)\s+classroom(?:s)?\b(?!\s+(?:assignment|"
     r"post|stream|code|roster|grade|sync))", None),
    (r"\bclassroom\s+(?:library|libraries|set|sets|management|teachers?|doors?|walls?)\b",
     None),
    # a research-led class lesson on using a database names both
    (r"\b(?:how\s+to\s+cite|cite\s+(?:ai|chatgpt|sources?)|citing\s+ai)\b", CITATION),
    # a doc or a form as paperwork, not Google
    (r"\b(?:permission|field\s+trip|order|iep|consent|sign.?up)\s+forms?\b", None),
    # the unit's subject is AI ("AI and the job market" articles, an AI debate): the need is
    # the sources, kept by the research keywords; "AI" inside these stays unclaimed only
    # where a tool is named.
    (r"\bsources?\s+on\s+ai\b|\barticles?\s+(?:on|about)\s+ai\b|\bai\s+(?:ethics|debates?)\b",
     RESEARCH),
    (r"\b3d\s*print\w*\b", MAKING),
    (r"\blarge\s+print\b", ASSISTIVE),
    (r"\bdoc(?:ument)?\s*cam(?:era)?s?\b", DEVICES),
    # a device named as where the work happens is no device need
    (r"\b(?:on|with|using|use|from)\s+(?:their|the|his|her|my|our|student|school|"
     r"the\s+kids'?)?\s*(?:own\s+)?(?:chromebooks?|ipads?|laptops?|devices?|tablets?)\b"
     r"(?![^.!?]{0,30}\b(?:broken|cracked|won'?t|not\s+working|charg\w*|dead|missing))", None),
    (r"\bwe\s+have\s+(?:chromebooks?|ipads?|laptops?)\b|\bbuilt.in\s+chromebook\b", None),
    # images and media students may reuse: copyright
    (r"\b(?:images?|photos?|pictures?|music|clips?|songs?|movies?|films?)\b[^.!?]{0,40}\b"
     r"(?:allowed\s+to\s+(?:use|show)|legal(?:ly)?|free\s+to\s+use|reuse)\b|"
     r"\b(?:free|royalty.free|copyright.free)\s+(?:images?|photos?|music|pictures?)\b",
     COPYRIGHT),
    # a broken printer is a device; printing on one is a service
    (r"\b(?:printers?|copiers?)\b(?=[^.!?]{0,40}" + _BROKEN + r")|"
     r"\b(?:jammed|broken|dead)\s+(?:printers?|copiers?)\b", DEVICES),
    (r"(?<!3d\s)(?<!3d)\b(?:printers?|copiers?)\b(?![^.!?]{0,40}" + _BROKEN + r")", PRINTING),
    # an audio version of a book is an audiobook, not audio production
    (r"\baudio\s+(?:versions?|books?|options?|too)\b|\ben\s+audio\b|\b(?:the|an)\s+audio\b"
     r"(?!\s+(?:recorders?|editing|files?|equipment))", EBOOKS),
)  # fmt: skip


#: The context rules as written, (pattern, topic), each matched ignoring case: the tagger
#: compiles each in its own way when it first reads an answer.
CONTEXT_SOURCES = _CONTEXT_PATTERNS

if TYPE_CHECKING:
    CONTEXT_RULES: tuple[tuple[re.Pattern[str], str | None], ...]


def __getattr__(name: str) -> Any:
    # CONTEXT_RULES is compiled when first used: loading a config (which names the built-in
    # topics) or sending a message needs no rule, and compiling them all takes a while.
    if name == "CONTEXT_RULES":
        rules = tuple((re.compile(p, re.IGNORECASE), t) for p, t in _CONTEXT_PATTERNS)
        globals()[name] = rules
        return rules
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
