"""The engine seam: every asset's SQL also reads as Spark SQL."""

import re
from pathlib import Path

import pytest

from funnel_assets.lib.engines import transpile

SQL_FILES = sorted((Path(__file__).parents[1] / "funnel_assets").rglob("*.sql"))


def test_the_sql_files_are_found():
    assert len(SQL_FILES) >= 15


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.stem)
def test_every_sql_file_transpiles_to_spark(path):
    sql = path.read_text()
    spark = transpile(sql, "spark")
    first_keyword = re.compile(r"^\s*(?:--[^\n]*\n|/\*.*?\*/\s*)*\s*(\w+)", re.S)
    assert first_keyword.match(spark).group(1).lower() == first_keyword.match(sql).group(1).lower()
