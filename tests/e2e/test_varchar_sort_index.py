"""STL_SORT on VARCHAR (Milvus 2.6 STLSORTChecker accepts numeric and varchar fields): the index
builds, and every filter it serves (==, in, ranges, not) answers what a scan answers, on
growing rows, on the indexed sealed segment and after a restart."""

from __future__ import annotations

import random
import time

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from e2e_util import unique


def words(n: int, seed: int = 11):
    rnd = random.Random(seed)
    alphabet = "abcxyzAZ09_é"
    out = []
    for _ in range(n):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 5))))
    return out


FILTERS = [
    ("s == 'abc'", lambda s: s == "abc"),
    ("s in ['a', 'zz', '', 'é']", lambda s: s in ("a", "zz", "", "é")),
    ("s > 'b'", lambda s: s.encode() > b"b"),
    ("s >= 'a' and s < 'b'", lambda s: b"a" <= s.encode() < b"b"),
    ("'0' < s <= 'Z'", lambda s: b"0" < s.encode() <= b"Z"),
    ("not (s < 'x')", lambda s: not (s.encode() < b"x")),
]


def test_stl_sort_on_varchar_answers_like_a_scan(server):
    client = server.client()
    name = unique("strsort")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("s", DataType.VARCHAR, max_length=32, nullable=True)
    ip = client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    ip.add_index("s", index_type="STL_SORT")
    client.create_collection(name, schema=s, index_params=ip)
    assert client.describe_index(name, "s")["index_type"] == "STL_SORT"

    values = words(400) + ["abc", "abc", "a", "zz", "", "é"]
    stored = {pk: (None if pk % 17 == 0 else v) for pk, v in enumerate(values)}
    client.insert(name, [{"id": pk, "vec": [0.0, 1.0], "s": v} for pk, v in stored.items()])

    def check(c: MilvusClient) -> None:
        for flt, pred in FILTERS:
            got = c.query(name, filter=flt, output_fields=["id"], consistency_level="Strong", limit=16384)
            want = sorted(pk for pk, v in stored.items() if v is not None and pred(v))
            assert sorted(r["id"] for r in got) == want, flt

    check(client)
    client.flush(name)
    end = time.monotonic() + 60
    while client.describe_index(name, "s").get("pending_index_rows") != 0:
        assert time.monotonic() < end
        time.sleep(0.05)
    check(client)
    client.close()
    server.restart()
    client = server.client()
    check(client)
    client.close()


def test_stl_sort_still_refuses_other_types(module_client):
    name = unique("strsort")
    s = MilvusClient.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("b", DataType.BOOL)
    module_client.create_collection(name, schema=s)
    ip = module_client.prepare_index_params()
    ip.add_index("b", index_type="STL_SORT")
    with pytest.raises(MilvusException) as info:
        module_client.create_index(name, ip)
    assert info.value.code == 1100
    assert "STL_SORT are only supported on numeric, varchar or timestamptz field, got Bool" in info.value.message
