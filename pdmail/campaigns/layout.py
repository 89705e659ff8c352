"""The PD preferences survey's Form, as pdmail ships it (docs/pd-survey-form.md): the response
headers of its questions and the choices each offers.

Only constants live here, so that the config can offer them as defaults without importing
the survey's counting.
"""

from __future__ import annotations

SURVEY_NAME = "pd-survey"

# The response export's header of each question (a campaign's form.columns may rename them).
COLUMNS: dict[str, str] = {
    "timestamp": "Timestamp",
    "email": "Email Address",
    "formats": "How would you like professional development to be offered?",
    "times": "When does PD work best for you?",
    "topics": "Which areas interest you most?",
    "suggestion": "Anything else you would like the library to offer?",
}

# The questions whose answers are counted, in the digest's order, with their titles.
QUESTIONS: dict[str, str] = {
    "formats": "Formats",
    "times": "Times of day",
    "topics": "Topics of interest",
}

# The choices of each counted question, as the Form shows them. A school that edits its Form
# lists its own under form.choices; an answer that is none of them is kept as "Other".
CHOICES: dict[str, tuple[str, ...]] = {
    "formats": (
        "One-on-one",
        "Small group",
        "Team meeting",
        "After school",
        "Online",
        "Self-paced",
    ),
    "times": (
        "Before school",
        "During my planning period",
        "Lunch",
        "After school",
        "Weekends, online",
    ),
    "topics": (
        "Research skills and databases",
        "Citation and academic integrity",
        "Media literacy and misinformation",
        "AI tools",
        "Google Workspace",
        "Our learning management system",
        "Ebooks and audiobooks",
        "Book talks and reading promotion",
        "Video, audio and podcasts",
        "Coding and making",
    ),
}
