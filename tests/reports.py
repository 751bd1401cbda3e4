"""Checks on the reports the commands write."""

from __future__ import annotations


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a markdown text: its rows, each a list of cells (the separator row included)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def check_tables(text: str) -> int:
    """Every table has a header, a separator of as many columns and rows of as many cells; returns the count."""
    tables = markdown_tables(text)
    for table in tables:
        assert len(table) >= 2, f"a table without a separator row: {table}"
        header, separator = table[0], table[1]
        assert all(set(c) <= {"-", ":"} and c for c in separator), f"bad separator row {separator}"
        for row in table[1:]:
            assert len(row) == len(header), f"{len(row)} cells under a {len(header)}-column header: {row}"
    return len(tables)


def check_verdicts(results: dict, *, seeds: int, count: int) -> list[dict]:
    """``count`` verdicts, each read from its parts' intervals by the three-way rule, over ``seeds`` seeds."""
    from hfc_fast.stats import Effect, three_way

    verdicts = results["verdicts"]
    assert len(verdicts) == count, [v["claim"] for v in verdicts]
    for v in verdicts:
        states = []
        for p in v["parts"]:
            e = Effect(**p["effect"])
            assert e.low <= e.estimate <= e.high and e.seeds == seeds, (v["claim"], e)
            assert p["verdict"] == three_way(e, expect=p["expect"])
            states.append(p["verdict"])
        expected = "supported" if set(states) == {"supported"} else \
            "contradicted" if "contradicted" in states else "inconclusive"
        assert v["verdict"] == expected and v["seeds"] == seeds
    return verdicts
