"""explorer.text: visitors' text shown as text, and card tables that fit a phone."""

from explorer.text import narrow_tables, plain_text


def test_a_wide_one_row_table_is_turned_on_its_side():
    card = ("## Test metrics\n\n| a | b | c | d | e |\n|---|---|---|---|---|\n| 1 | 2 | 3 | 4 | 5 |\n\n"
            "## Notes")
    assert narrow_tables(card) == ("## Test metrics\n\n| measure | value |\n|---|---|\n| a | 1 |\n| b | 2 |\n"
                                   "| c | 3 |\n| d | 4 |\n| e | 5 |\n\n## Notes")


def test_narrow_and_many_row_tables_stay_as_they_are():
    narrow = "| a | b |\n|---|---|\n| 1 | 2 |"
    many_rows = "| a | b | c | d |\n|---|---|---|---|\n| 1 | 2 | 3 | 4 |\n| 5 | 6 | 7 | 8 |"
    assert narrow_tables(narrow) == narrow
    assert narrow_tables(many_rows) == many_rows


def test_plain_text_escapes_markdown():
    assert plain_text("**bold** $x$") == r"\*\*bold\*\* \$x\$"
