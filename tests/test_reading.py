"""Reading answers: no-need answers, and the kinds of help a need asks for."""

from __future__ import annotations

import pytest

from pdmail.config.records import Taxonomy
from pdmail.digest.reading import asks_team_visit, is_no_need, kinds_of, sentences
from pdmail.digest.topics import Tagger
from pdmail.models import LEARNING, LESSON, TASK


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-",
        "👍",
        "n/a",
        "N/A merci!",
        "none",
        "no",
        "no thx",
        "nope, thanks",
        "Nothing right now.",
        "nothing needed, thanks!",
        "All good, thanks!",
        "all good for now 👍",
        "I'm all set!",
        "we're set for now.",
        "Not this month — swamped with grading",
        "Not at this time. Maybe in January!",
        "No needs right now. Maybe Desmos PD in the spring",
        "Thanks for the books last month! The kids loved them.",
        "Thank you for the gingerbread books!! Kids loved them. Nothing new",
        "Thanks for the help with the explorers project. I'm good this month.",
        "I'm good, thank you! I'll probably need the cart for testing next month though",
        "Was going to ask for help with book clubs but I think we're good. Thank you though!",
        "Nothing from me this month. Happy holidays!",
        "Honestly I need help with the IEP software but I know that's not you. Nothing from "
        "the library this month.",
        "Ignore my first response - the PTO is printing the programs. All good.",
        "todo bien este mes, gracias :)",
        "Nada por ahora, gracias",
        "Estamos bien este mes",
        "N.A.",
        "nothing is broken, all good thanks",
        "I think we're all set, happy holidays",
        "None at this time, thank you!",
        "Can't think of anything",
        "Nothing comes to mind right now",
        "Keep up the great work!",
        "Everything is fine",
        "Will reach out if I need anything",
        "I'll let you know!",
        "Not needed",
        "Good for now, thanks!",
        "I don't need anything this month",
        "No help needed this month",
        "I am out on maternity leave until Feb",
        "Sin pedidos este mes",
        "Ninguna",
    ],
)
def test_answers_that_ask_for_nothing(text: str) -> None:
    assert is_no_need(text)


@pytest.mark.parametrize(
    "text",
    [
        "Help with citations",
        "No idea how to use EBSCO",
        "Not much. Maybe some historical fiction for the classroom library?",
        "Nothing big, but could you pull books on volcanoes?",
        "Thanks for last month! Could you pull books on volcanoes?",
        "All good with Canva now, but my printer is jammed again, please help",
        "Mostly good. Maybe a reminder of how NoodleTools sharing works?",
        "A research lesson in January, before the 1/22 due date",
        "Necesito libros en español para mi clase",
        "¿Puedes ayudarme con Google Classroom?",
        "Nothing works on the smartboard since Monday",
        "Could you come to our ELA PLC in January?",
        "All good on my end except my Clever badge stopped working",
        "No rush, but could you pull books on frogs?",
        "Nope! Well, actually, could you reset my Destiny password?",
        "I will be on leave in January, could you pull books for my sub?",
        "Could you let me know if we have Gale?",
        "Still waiting on the Chromebook cart from last month",
        "Everything is fine except the projector, it won't turn on",
    ],
)
def test_answers_with_a_need(text: str) -> None:
    assert not is_no_need(text)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Could you pull books on the Lakota for our regions unit?", (TASK,)),
        ("Can you fix the document camera in 118?", (TASK,)),
        ("Do we have a class set of The Giver?", (TASK,)),
        ("Could I use the library for a FAFSA night on Jan 13?", (TASK,)),
        ("My newcomers need library accounts set up", (TASK,)),
        ("Can you show me how to use Canva? After school is fine", (LEARNING,)),
        ("How do I turn on Immersive Reader in Google Classroom?", (LEARNING,)),
        ("Could you come to our team meeting and show us MagicSchool?", (LEARNING,)),
        ("What's our actual policy on AI detectors? Can we talk?", (LEARNING,)),
        ("Is there a way to keep my comments when Classroom makes copies?", (LEARNING,)),
        ("Could you do a research lesson for my Bio classes on Dec 15?", (LESSON,)),
        ("Could you teach my 3rd graders how to use the catalog?", (LESSON,)),
        ("A book talk for my class when we come Tuesday?", (LESSON,)),
        ("Could you hold research office hours during lunch?", (LESSON,)),
        (
            "Can you pull books on diseases and show them Gale Health on Dec 8?",
            (TASK, LESSON),  # pulling books is a task beside the lesson
        ),
        (
            "Please pull 25 nonfiction books. And a quick how-to for me on the Makey Makeys.",
            (TASK, LEARNING),
        ),
        (
            "Could you pull graphic novels? Maybe you could do a quick talk on how they are made?",
            (TASK, LESSON),
        ),
        ("I'd like to learn more about Gemini in Classroom.", (LEARNING,)),
        ("Quiero aprender a usar la IA para crear lecturas", (LEARNING,)),
        ("Books about grief for my counseling library please", (TASK,)),
        ("whatever you think would help, we're open to anything", (LEARNING,)),
        ("Can you reserve the library for us on Friday?", (TASK,)),
        # context the rules must not take for a request
        ("My co-teacher and I want to try Sora read-along. How do we start?", (LEARNING,)),
        ("I teach 5 sections. Which AI tools are approved?", (LEARNING,)),
        ("Could we do PebbleGo on Dec 8? Let me know if that doesn't work", (TASK,)),
        ("Email me the Chicago guide? Also thank you for the JSTOR training last month!", (TASK,)),
        ("It's asking me to log in again and I forgot the password", (TASK,)),
        ("I forgot how to share NoodleTools projects", (LEARNING,)),
        ("How are other ESL teachers handling this?", (LEARNING,)),
        ("WeVideo or Adobe Express? Something easy for 6th graders", (LEARNING,)),
        ("Could you do a 1-period workshop for my AP Sem kids?", (LESSON,)),
        ("Could you do a short session for our PLC on Thursday?", (LEARNING,)),
        ("Need balanced sources. And a lesson on evaluating sources for bias.", (LESSON,)),
        # planning a lesson with the librarian is the lesson's; learning for oneself is not
        ("Thinking of a short lesson on that. Can you help me plan it?", (LESSON,)),
        (
            "My 9th graders need to learn Google Scholar. Plus citing. Could we talk about doing it"
            " in Jan?",
            (LESSON,),
        ),
        (
            "A quick lesson on SIFT for AP Lang? Also, can we talk about AI feedback on drafts?",
            (LEARNING, LESSON),
        ),
        (
            "We'd like you at our dept meeting to talk about how to teach kids to use it",
            (LEARNING,),
        ),
        ("Is there a text-to-speech tool? A few kids need it read aloud and more", (TASK,)),
        ("Could you show the film in class on Friday?", (TASK,)),
        (
            "A lesson on SIFT for my class on Dec 9? Also, show me how you use NotebookLM",
            (LEARNING, LESSON),
        ),
        # asking how a tool does something, or which way to go, is learning
        ("Is Epic still free? Also can I assign specific books to certain kids?", (LEARNING,)),
        ("Does Sora do read-along? Or should we use Learning Ally?", (LEARNING,)),
        ("I miss Flip. Need a new way for kids to submit recordings", (LEARNING,)),
        ("Is there a way to get kids to stop pasting into Gemini?", (LEARNING,)),
        # the teacher's own care is no task for the librarian
        (
            "Could you show me? I want to make sure I'm not putting student info in there",
            (LEARNING,),
        ),
        ("Can you make sure my students have access to Sora?", (TASK,)),
        ("Could you help my team figure out a plan for using Brisk?", (LEARNING,)),
        ("Can you help me figure out my slides for a colorblind student?", (LEARNING,)),
        ("Is there a way to get Epic working again? The class code expired", (TASK,)),
        ("Is there a way to get students Microsoft Excel instead of Sheets?", (TASK,)),
        ("Could I set up a winter art show in the library display cases?", (TASK,)),
        ("We'd like to use the laser cutter and teach the kids Tinkercad together", (TASK, LESSON)),
        ("Research lesson for the argument essay. Periods 1 and 3 on Dec 14?", (LESSON,)),
        ("Do we have Statista? A short lesson would be awesome.", (TASK, LESSON)),
        ("Is there a way to get the kids their own NoodleTools accounts?", (TASK,)),
        ("Is there a way to keep comments when I copy a doc?", (LEARNING,)),
        ("Can you help me set up Learning Ally accounts for 6 kids?", (TASK,)),
        ("Can you help me set up Google Classroom for next semester?", (LEARNING,)),
        # the cards are the librarian's to make, learning to check out is a lesson
        ("My newcomers need library cards and to learn how to check out books", (TASK, LESSON)),
        ("Film question: can we legally show full movies from Netflix?", (LEARNING,)),
        ("Can you stop by my room? I have a couple tech questions", (LEARNING,)),
        ("Is there a better tool than Kahoot for review days?", (LEARNING,)),
        ("Which AI tools are approved for students?", (LEARNING,)),
        ("How do I pull random questions from a question bank in Moodle?", (LEARNING,)),
    ],
)
def test_kinds(text: str, kinds: tuple[str, ...]) -> None:
    assert kinds_of(text) == kinds


def test_sentences_split_at_stops_dashes_lines_and_but() -> None:
    assert sentences("Nothing big, but could you help? Also — books.\nThanks") == [
        "Nothing big",
        "could you help?",
        "Also",
        "books.",
        "Thanks",
    ]


@pytest.mark.parametrize(
    ("text", "visit"),
    [
        ("Could you come to our ELA PLC in January?", True),
        ("hi!! could you come to our Science PLC (Mondays 2:50) and show some AI tools?", True),
        ("Maybe at our PLC on Tuesday?", True),
        ("Our K team wants to start using MagicSchool", True),
        ("Could you come to the ELL team meeting Jan 7?", True),
        ("Show me Canva after school", False),
        ("Could you come in and show my students the basics?", False),
        ("I'm on the Grade 7 team", False),
    ],
)
def test_a_team_asking_for_a_visit(text: str, visit: bool) -> None:
    assert asks_team_visit(text) is visit


# How teachers write, beyond any one labelled set: the whole reading of an answer.
@pytest.mark.parametrize(
    ("text", "kinds", "topics", "visit"),
    [
        ("We're good for December, thank you!!", (), (), False),
        ("N/A - on leave until Jan", (), (), False),
        ("Gracias, por ahora nada", (), (), False),
        ("An epic thank you for last month! All good now.", (), (), False),
        ("Could you grab 20 books on weather for my 2nd graders? Need by Friday.", (TASK,),
         ("Books and collection",), False),
        ("The smartboard in 204 is frozen again, can someone come?", (TASK,),
         ("Devices and hardware",), False),
        ("Epic isn't loading on the ipads", (TASK,), ("Ebooks and audiobooks",), False),
        ("Could we book the library for a poetry slam on the 18th?", (TASK,),
         ("Booking spaces",), False),
        ("Can I bring my class to the library Thursday for a catalog scavenger hunt?", (LESSON,),
         ("Research skills", "Booking spaces"), False),
        ("I want to learn Canva for my class newsletter", (LEARNING,),
         ("Presentation and design",), False),
        ("Our 5th grade team wants to learn Nearpod, can you come to our PLC on Wednesday?",
         (LEARNING,), ("Interactive tools",), True),
        ("Can the 7th grade ELA team get a session on MagicSchool?", (LEARNING,),
         ("AI tools",), True),
        ("kahoot or blooket for review? which is better?", (LEARNING,),
         ("Interactive tools",), False),
        ("Can you show the kids how to use Book Creator?", (LESSON,),
         ("Presentation and design", "Lessons and co-teaching"), False),
        ("¿Me puedes ayudar a usar Canva? Quiero hacer un póster para mi clase.", (LEARNING,),
         ("Presentation and design",), False),
    ],
)  # fmt: skip
def test_reading_fresh_answers(
    text: str, kinds: tuple[str, ...], topics: tuple[str, ...], visit: bool
) -> None:
    tagger = Tagger.from_taxonomy(Taxonomy())
    if not kinds:
        assert is_no_need(text)
        return
    assert not is_no_need(text)
    assert (kinds_of(text), tagger.tag(text), asks_team_visit(text)) == (kinds, topics, visit)
