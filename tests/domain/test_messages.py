"""A Message is its English text, and keeps the template and values it was made of
through exceptions and pickling (the import's worker processes)."""

from __future__ import annotations

import pickle

from app.domain.messages import Message


def test_a_message_is_its_english_text_and_keeps_its_template() -> None:
    message = Message("'%(value)s' is not a web address", value="x")
    assert message == "'x' is not a web address"
    assert (message.template, dict(message.params)) == (
        "'%(value)s' is not a web address",
        {"value": "x"},
    )
    assert Message("100 %% sure") == "100 %% sure"  # no values: the template as written


def test_the_template_travels_through_an_exceptions_text_and_pickling() -> None:
    inner = Message("no tag with id %(tag_id)s", tag_id=3)
    carried = str(ValueError(inner))
    assert isinstance(carried, Message) and carried.template == inner.template
    outer = Message("tagIds: %(error)s", error=ValueError(inner))
    assert isinstance(outer.params["error"], Message)  # the exception kept as its text
    again = pickle.loads(pickle.dumps(outer))
    assert again == outer == "tagIds: no tag with id 3"
    assert again.params["error"].template == "no tag with id %(tag_id)s"
