"""GEOMETRY fields (Milvus 2.6) through pymilvus: WKT in, WKB stored, WKT out; the spatial
predicates of the filter language (ST_EQUALS, ST_TOUCHES, ST_OVERLAPS, ST_CROSSES, ST_CONTAINS,
ST_INTERSECTS, ST_WITHIN, ST_DWITHIN), nulls and defaults, the RTREE index, growing and sealed
segments and a restart.

Expected answers are worked out by hand from the coordinates below (axis-aligned boxes and points,
where every relation is plain arithmetic), independently of GEOS.
"""

from __future__ import annotations

import math
import time

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

DIM = 4

# id -> (WKT as sent, WKT as GEOS writes it back)
SHAPES = {
    1: ("POINT(1 1)", "POINT (1 1)"),
    2: ("POINT (5 5)", "POINT (5 5)"),
    3: ("POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))", "POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))"),
    4: ("POLYGON((4 0, 8 0, 8 4, 4 4, 4 0))", "POLYGON ((4 0, 8 0, 8 4, 4 4, 4 0))"),  # shares an edge with 3
    5: ("POLYGON((2 2, 6 2, 6 6, 2 6, 2 2))", "POLYGON ((2 2, 6 2, 6 6, 2 6, 2 2))"),  # overlaps 3 and 4
    6: ("LINESTRING(-1 2, 10 2)", "LINESTRING (-1 2, 10 2)"),  # crosses the boxes
    7: ("LINESTRING(10 10, 20 20)", "LINESTRING (10 10, 20 20)"),  # far away
    8: ("MULTIPOINT((0.5 0.5), (30 30))", "MULTIPOINT ((0.5 0.5), (30 30))"),
}


def same_wkt(got, want):
    return got == want
QUERY_BOX = "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))"  # the same square as shape 3

# Each predicate against QUERY_BOX (Q = the square [0,4]x[0,4]), worked out by hand:
EXPECTED = {
    # spatially equal: only the square itself
    f"ST_EQUALS(geo, '{QUERY_BOX}')": {3},
    # boundaries meet, interiors do not: the neighbouring square (4)
    f"ST_TOUCHES(geo, '{QUERY_BOX}')": {4},
    # same dimension, partly shared interiors: the shifted square (5)
    f"ST_OVERLAPS(geo, '{QUERY_BOX}')": {5},
    # line through the square's interior and out (6); the multipoint half in, half out (8)
    f"ST_CROSSES(geo, '{QUERY_BOX}')": {6, 8},
    # the row contains Q: the square itself
    f"ST_CONTAINS(geo, '{QUERY_BOX}')": {3},
    # any common point: point (1 1), Q, neighbour, shifted, line, multipoint
    f"ST_INTERSECTS(geo, '{QUERY_BOX}')": {1, 3, 4, 5, 6, 8},
    # the row lies inside Q: point (1 1) and Q itself
    f"ST_WITHIN(geo, '{QUERY_BOX}')": {1, 3},
    "st_intersects(geo, 'POINT(5 5)')": {2, 5},
}


def haversine_m(lat1, lon1, lat2, lon2):
    r = 6371000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return r * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def make_collection(c: MilvusClient, name: str, rtree=False):
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("geo", DataType.GEOMETRY, nullable=True)
    schema.add_field("home", DataType.GEOMETRY, default_value="POINT(0 0)")
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    if rtree:
        idx.add_index("geo", index_type="RTREE")
    c.create_collection(name, schema=schema, index_params=idx)


def query_ids(c, name, expr):
    return {r["id"] for r in c.query(name, filter=expr, output_fields=["id"])}


@pytest.mark.parametrize("rtree", [False, True])
def test_geometry_roundtrip_predicates_growing_sealed_restart(server, rtree):
    c = server.client()
    name = f"geo_basic_{int(rtree)}"
    make_collection(c, name, rtree=rtree)
    ids = sorted(SHAPES)
    first = [{"id": i, "vec": [float(i)] * DIM, "geo": SHAPES[i][0]} for i in ids[:4]]
    rest = [{"id": i, "vec": [float(i)] * DIM, "geo": SHAPES[i][0]} for i in ids[4:]]
    c.insert(name, first)
    c.flush(name)  # sealed
    c.insert(name, rest)  # growing
    c.insert(name, [{"id": 100, "vec": [0.0] * DIM, "geo": None, "home": "POINT(3 4)"}])

    def check_all():
        got = {r["id"]: r for r in c.query(name, filter="id >= 0", output_fields=["geo", "home"])}
        assert set(got) == set(ids) | {100}
        for i in ids:
            assert same_wkt(got[i]["geo"], SHAPES[i][1]), (i, got[i]["geo"])
            assert got[i]["home"] == "POINT (0 0)"  # the default
        assert got[100]["geo"] is None
        assert got[100]["home"] == "POINT (3 4)"
        for expr, want in EXPECTED.items():
            assert query_ids(c, name, expr) == want, expr
        # null rows never match, `is null` finds them
        assert query_ids(c, name, "geo is null") == {100}
        # negation keeps Milvus's NULL semantics (null stays unknown)
        assert query_ids(c, name, f"not ST_INTERSECTS(geo, '{QUERY_BOX}')") == {2, 7}
        # combined with other predicates
        assert query_ids(c, name, f"ST_INTERSECTS(geo, '{QUERY_BOX}') and id > 4") == {5, 6, 8}
        hits = c.search(name, data=[[1.0] * DIM], limit=3, filter=f"ST_WITHIN(geo, '{QUERY_BOX}')",
                        output_fields=["geo"], search_params={"metric_type": "L2"})[0]
        assert [h["id"] for h in hits] == [1, 3]
        assert hits[0]["entity"]["geo"] == "POINT (1 1)"

    check_all()
    c.flush(name)
    check_all()
    server.restart()
    c = server.client()
    c.load_collection(name)
    check_all()


def test_geometry_dwithin_meters(server):
    c = server.client()
    name = "geo_dwithin"
    make_collection(c, name)
    # points around (lon 116.4, lat 39.9); ST_DWITHIN measures great-circle meters
    pts = {i: (116.4 + 0.01 * i, 39.9 + 0.005 * i) for i in range(10)}
    c.insert(name, [{"id": i, "vec": [0.0] * DIM, "geo": f"POINT({x} {y})"} for i, (x, y) in pts.items()])
    for dist in (0, 1000, 3000, 8000):
        want = {i for i, (x, y) in pts.items() if haversine_m(y, x, 39.9, 116.4) <= dist}
        assert query_ids(c, name, f"ST_DWITHIN(geo, 'POINT(116.4 39.9)', {dist})") == want, dist


def test_geometry_rtree_index_builds(server):
    c = server.client()
    name = "geo_rtree_many"
    make_collection(c, name, rtree=True)
    rows = []
    for i in range(2000):
        x, y = (i % 50) * 2.0, (i // 50) * 2.0
        rows.append({"id": i, "vec": [0.0] * DIM, "geo": f"POLYGON(({x} {y}, {x + 1} {y}, {x + 1} {y + 1}, {x} {y + 1}, {x} {y}))"})
    c.insert(name, rows)
    c.flush(name)
    deadline = time.monotonic() + 60
    while c.describe_index(name, "geo").get("indexed_rows", 0) < 2000:
        assert time.monotonic() < deadline, c.describe_index(name, "geo")
        time.sleep(0.05)
    assert c.describe_index(name, "geo")["index_type"] == "RTREE"
    # squares with a corner in [10, 20] x [10, 20]
    want = {i for i in range(2000) if 9 <= (i % 50) * 2.0 <= 20 and 9 <= (i // 50) * 2.0 <= 20}
    got = query_ids(c, name, "ST_INTERSECTS(geo, 'POLYGON((10 10, 20 10, 20 20, 10 20, 10 10))')")
    assert got == want


def test_geometry_errors(server):
    c = server.client()
    name = "geo_errors"
    make_collection(c, name)
    with pytest.raises(MilvusException) as e:
        c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "geo": "POINT(1)"}])
    assert e.value.code == 1100
    assert "invalid Geometry data, transform to wkb failed" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "geo": "CIRCLE(1 2, 3)"}])
    assert "invalid Geometry data, transform to wkb failed" in e.value.message
    assert c.query(name, filter="id >= 0", output_fields=["id"]) == []  # nothing written
    c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "geo": "POINT(1 1)"}])
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ST_INTERSECTS(id, 'POINT(1 1)')", output_fields=["id"])
    assert "spatial operation are only supported on geometry fields now" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ST_INTERSECTS(geo, 'POINT(1')", output_fields=["id"])
    assert e.value.code == 1100
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ST_DWITHIN(geo, 'POINT(1 1)', -5)", output_fields=["id"])
    assert "distance parameter must be non-negative" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.create_index(name, _rtree_on("id"))
    assert "RTREE" in e.value.message


def _rtree_on(field):
    p = MilvusClient.prepare_index_params()
    p.add_index(field, index_type="RTREE")
    return p


def test_geometry_and_timestamptz_over_rest(server):
    """REST rows carry both types as text: WKT, and ISO-8601 read and shown in UTC."""
    import requests

    c = server.client()
    name = "geo_rest"
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("geo", DataType.GEOMETRY)
    schema.add_field("ts", DataType.TIMESTAMPTZ)
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection(name, schema=schema, index_params=idx)
    base = f"http://{server.host}:{server.port}/v2/vectordb/"
    rows = [{"id": 1, "vec": [0.0] * DIM, "geo": "POINT(1 2)", "ts": "2025-01-01T08:00:00+08:00"},
            {"id": 2, "vec": [1.0] * DIM, "geo": "LINESTRING(0 0, 3 3)", "ts": "2025-01-02 00:00:00"}]
    r = requests.post(base + "entities/insert", json={"collectionName": name, "data": rows}).json()
    assert r["code"] == 0, r
    r = requests.post(base + "entities/query", json={
        "collectionName": name, "filter": "ST_INTERSECTS(geo, 'POINT(2 2)') or id == 1",
        "outputFields": ["geo", "ts"]}).json()
    assert r["code"] == 0, r
    got = {row["id"]: row for row in r["data"]}
    assert got[1]["geo"] == "POINT (1 2)" and got[1]["ts"] == "2025-01-01T00:00:00Z"
    assert got[2]["geo"] == "LINESTRING (0 0, 3 3)" and got[2]["ts"] == "2025-01-02T00:00:00Z"
    # the same rows through pymilvus
    assert {r["id"]: r["geo"] for r in c.query(name, filter="id > 0", output_fields=["geo"])} == {
        1: "POINT (1 2)", 2: "LINESTRING (0 0, 3 3)"}
    r = requests.post(base + "entities/insert", json={"collectionName": name, "data": [
        {"id": 3, "vec": [0.0] * DIM, "geo": "POINT(", "ts": "2025-01-01T00:00:00Z"}]}).json()
    assert r["code"] != 0 and "invalid Geometry data, transform to wkb failed" in r["message"]


def test_geometry_st_isvalid(server):
    c = server.client()
    name = "geo_isvalid"
    make_collection(c, name)
    rows = [
        {"id": 1, "vec": [0.0] * DIM, "geo": "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))"},  # valid
        {"id": 2, "vec": [0.0] * DIM, "geo": "POLYGON((0 0, 4 4, 4 0, 0 4, 0 0))"},  # bow-tie: self-intersecting ring
        {"id": 3, "vec": [0.0] * DIM, "geo": "POINT(1 1)"},                          # valid
        {"id": 4, "vec": [0.0] * DIM, "geo": None},                                  # null: unknown
    ]
    c.insert(name, rows)
    assert query_ids(c, name, "ST_ISVALID(geo)") == {1, 3}
    assert query_ids(c, name, "not ST_ISVALID(geo)") == {2}
    c.flush(name)
    assert query_ids(c, name, "st_isvalid(geo)") == {1, 3}
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ST_ISVALID(id)", output_fields=["id"])
    assert "STIsValid operation are only supported on geometry fields now" in e.value.message
