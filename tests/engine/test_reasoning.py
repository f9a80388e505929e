"""The streaming reasoning parser and history stripping."""

import pytest

from app.engine.reasoning import ReasoningParser, strip_thinking

REPLY = "<think>\nLet me see: 2+2.\n</think>\n\nThe answer is 4."


def run(parser: ReasoningParser, pieces: list[str]) -> tuple[str, str]:
    thinking = answer = ""
    for piece in pieces:
        for d in parser.feed(piece):
            if d.channel == "thinking":
                thinking += d.text
            else:
                answer += d.text
    for d in parser.flush():
        thinking, answer = (
            (thinking + d.text, answer) if d.channel == "thinking" else (thinking, answer + d.text)
        )
    return thinking, answer


@pytest.mark.parametrize("cut", range(1, len(REPLY)))
def test_tags_split_anywhere_are_recognised(cut):
    thinking, answer = run(ReasoningParser(), [REPLY[:cut], REPLY[cut:]])
    assert thinking == "Let me see: 2+2.\n"
    assert answer == "The answer is 4."


def test_character_by_character_stream():
    thinking, answer = run(ReasoningParser(), list(REPLY))
    assert (thinking, answer) == ("Let me see: 2+2.\n", "The answer is 4.")


def test_reply_starting_inside_prefilled_thinking():
    pieces = ["Hmm", ", two", " plus two.", "</", "think", ">", "\n\n", "4"]
    thinking, answer = run(ReasoningParser(starts_in_thinking=True), pieces)
    assert thinking == "Hmm, two plus two."
    assert answer == "4"


def test_no_tags_is_all_answer_and_literal_tag_later_stays_text():
    thinking, answer = run(ReasoningParser(), ["Plain answer ", "with <think> in it"])
    assert thinking == ""
    assert answer == "Plain answer with <think> in it"


def test_disabled_parser_passes_everything_as_answer():
    thinking, answer = run(ReasoningParser(enabled=False), ["<think>x</think>y"])
    assert (thinking, answer) == ("", "<think>x</think>y")


def test_unterminated_thinking_is_flushed_as_thinking():
    thinking, answer = run(ReasoningParser(starts_in_thinking=True), ["still thinking <"])
    assert thinking == "still thinking <"
    assert answer == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (REPLY, "The answer is 4."),
        ("Let me see.\n</think>\n\nFour.", "Four."),  # pre-filled: no opening tag
        ("No thinking here.", "No thinking here."),
        ("<think>unfinished", ""),
        ("a</think>b</think>\nc", "c"),
    ],
)
def test_strip_thinking_keeps_final_answer_only(content, expected):
    assert strip_thinking(content) == expected
