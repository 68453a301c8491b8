"""Committed format fixtures (tests/fixtures/formats/<version>/): a data directory written by an
earlier build, with a file of every format in docs/formats/.  A server started on a copy must
read every one of them -- meta keys, WAL records and clean-stop markers, segment columns, delta
files, index files (HNSW, IVF_FLAT, STL_SORT, INVERTED) -- and hold exactly the rows in
expected.json, without rebuilding any index.  A format change that cannot read old files fails
here."""

import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
VERSIONS = sorted(p.name for p in FIXTURES.iterdir() if (p / "datadir").is_dir())


def rows_of(c, name):
    got = c.query(name, filter="id >= 0", output_fields=["*"], limit=16384, consistency_level="Strong")
    return sorted(got, key=lambda r: r["id"])


def same_row(got: dict, want: dict) -> bool:
    for k, v in want.items():
        g = got.get(k)
        if isinstance(v, list):
            if [round(float(x), 5) for x in g] != [round(float(x), 5) for x in v]:
                return False
        elif g != v:
            return False
    return True


@pytest.mark.parametrize("version", VERSIONS)
def test_fixture_data_dir_is_read_whole(kite_factory, tmp_path, version):
    src = FIXTURES / version
    expected = json.loads((src / "expected.json").read_text())
    data = tmp_path / "data"
    shutil.copytree(src / "datadir", data)
    srv = kite_factory("fixture", data_dir=data)
    srv.start()
    c = srv.client()
    try:
        assert set(c.list_collections()) == set(expected)
        for name, want in expected.items():
            c.load_collection(name)
            got = rows_of(c, name)
            assert [r["id"] for r in got] == [r["id"] for r in want], name
            bad = [(g, w) for g, w in zip(got, want) if not same_row(g, w)]
            assert not bad, f"{name}: {len(bad)} rows differ, first {bad[0]}"
            # Every stored vector finds itself (exact on these few rows at a high ef / nprobe).
            probe = want[len(want) // 2]
            hits = c.search(name, data=[probe["vec"]], limit=1, anns_field="vec",
                            search_params={"params": {"nprobe": 2} if "ivf" in name else {"ef": 200}},
                            consistency_level="Strong")
            assert hits[0][0]["distance"] == pytest.approx(0.0, abs=1e-5), hits
        for idx in c.list_indexes("fx_hnsw"):
            assert c.describe_index("fx_hnsw", idx)["state"] == "Finished", idx
    finally:
        c.close()
    log = srv.log_path.read_text(errors="replace")
    assert "index built:" not in log, "an index file of the fixture was not readable and was rebuilt"
    assert "cannot" not in log.lower() or "cannot start" not in log, log[-2000:]
