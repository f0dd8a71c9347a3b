"""Fixtures of the report tests: the New START demo ledger and its report, built once."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from forecasts.ledger import Ledger
from forecasts.report import build_report


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def demo_ledger(request, demo_ledger_file):
    """The session's demo ledger (the report reads it and writes nothing to it): the DuckDB
    file, and on the server's run a team database copied from the pushed demo."""
    if request.param == "duckdb":
        return Ledger.open(demo_ledger_file)
    import os

    template = request.getfixturevalue("demo_team_template")
    cluster = request.getfixturevalue("pg_cluster")
    return Ledger.open(cluster.new_database(f"report_{os.getpid()}", template))


@pytest.fixture(scope="session")
def demo_report(demo_ledger, tmp_path_factory):
    return build_report(demo_ledger, tmp_path_factory.mktemp("report") / "new-start.html")


class Markup(HTMLParser):
    """Collects every start tag with its attributes, the text, and the cells carrying numbers."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in ("br", "meta", "link", "img", "input", "hr", "path", "use", "rect", "line", "circle"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        self.text.append(data)

    def within(self, css_class: str) -> bool:
        return any(css_class in (a.get("class") or "").split() for _, a in self.stack)


def numbers(text: str, table_class: str) -> dict[tuple[str, str], float]:
    """``{(forecaster, metric): value}`` from the ``data-*`` cells of the tables of a class."""
    found: dict[tuple[str, str], float] = {}

    class Cells(Markup):
        def handle_starttag(self, tag, attrs):
            super().handle_starttag(tag, attrs)
            a = dict(attrs)
            if tag == "td" and "data-metric" in a and self.within(table_class):
                found[(a.get("data-forecaster", ""), a["data-metric"])] = float(a["data-value"])

    Cells(text)
    return found


@pytest.fixture
def parse():
    return Markup
