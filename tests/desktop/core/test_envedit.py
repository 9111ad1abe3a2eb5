"""EnvDraft: the Qt-free edit model behind the Env tab (diff, undo, validation, .env text)."""

from __future__ import annotations

import pytest

from basepod_desktop.core.envedit import DotenvError, EnvDraft, format_dotenv, parse_dotenv


def test_edits_produce_a_diff_and_undo_walks_back_each_step():
    draft = EnvDraft({"A": "1", "B": "2", "C": "3"}, revision=4)
    assert not draft.dirty and not draft.diff() and not draft.can_undo
    draft.set_value(0, "10")
    draft.remove(2)
    row = draft.add("D", "4")
    assert draft.row_state(0) == "changed" and draft.row_state(row) == "added" and draft.row_state(1) == ""
    diff = draft.diff()
    assert diff.added == {"D": "4"} and diff.changed == {"A": ("1", "10")} and diff.removed == {"C": "3"}
    assert diff.summary() == "1 added, 1 changed, 1 removed" and diff.count == 3 and draft.dirty
    assert draft.undo() and draft.current == {"A": "10", "B": "2"}
    assert draft.undo() and draft.current == {"A": "10", "B": "2", "C": "3"}
    assert draft.undo() and draft.current == {"A": "1", "B": "2", "C": "3"}
    assert not draft.undo() and not draft.dirty


def test_setting_the_same_value_is_not_an_undo_step():
    draft = EnvDraft({"A": "1"}, 1)
    draft.set_value(0, "1")
    draft.set_key(0, "A")
    assert not draft.can_undo


def test_problems_name_the_row_for_bad_empty_and_duplicate_keys():
    draft = EnvDraft({"A": "1"}, 1)
    draft.add("9LIVES", "x")
    draft.add("", "y")
    draft.add("A", "2")
    problems = draft.problems()
    assert [p.row for p in problems] == [1, 2, 3]
    assert "invalid" in problems[0].message and "needs a name" in problems[1].message
    assert "appears twice" in problems[2].message and draft.dirty


def test_nul_bytes_in_values_are_refused_like_the_agent_does():
    draft = EnvDraft({}, 1)
    draft.add("K", "a\x00b")
    assert "NUL" in draft.problems()[0].message


def test_bulk_replace_keeps_known_order_and_removes_missing_keys():
    draft = EnvDraft({"B": "2", "A": "1"}, 1)
    assert [k for k, _ in draft.rows] == ["A", "B"]
    draft.replace_all({"Z": "26", "B": "two"})
    assert draft.rows == [("B", "two"), ("Z", "26")]
    assert draft.diff().removed == {"A": "1"} and draft.undo() and draft.current == {"A": "1", "B": "2"}


def test_import_merges_overwrites_and_keeps_other_keys():
    draft = EnvDraft({"A": "1", "B": "2"}, 1)
    draft.merge({"B": "20", "C": "3"})
    assert draft.current == {"A": "1", "B": "20", "C": "3"}
    draft.merge({"A": "1"})  # nothing new: no undo step
    assert draft.undo() and not draft.can_undo


def test_mark_saved_makes_the_current_set_the_new_original():
    draft = EnvDraft({"A": "1"}, 1)
    draft.add("B", "2")
    draft.mark_saved(2)
    assert draft.revision == 2 and not draft.dirty and not draft.can_undo and draft.original == {"A": "1", "B": "2"}


@pytest.mark.parametrize("value", ["", "plain", "with space", "a#b c", "quote\"d", "multi\nline\ttab",
                                   "$HOME", "back\\slash", "'single'", " padded ", "k=v", "ünïcode"])
def test_dotenv_text_round_trips_every_value(value):
    env = {"KEY": value, "OTHER": "x"}
    assert parse_dotenv(format_dotenv(env)) == env
    assert parse_dotenv(EnvDraft(env, 1).to_dotenv()) == env


def test_bad_bulk_text_reports_the_line_number():
    with pytest.raises(DotenvError) as err:
        parse_dotenv("A=1\n# comment\n\n1BAD=2\n")
    assert err.value.line == 4 and "invalid" in err.value.message
