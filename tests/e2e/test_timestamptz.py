"""TIMESTAMPTZ fields (Milvus 2.6) through pymilvus: ISO-8601 text in, UTC microseconds stored,
text out in the request's / collection's / database's time zone, ISO and INTERVAL filters,
defaults, nulls, STL_SORT indexes (INVERTED refused, as in Milvus 2.6), growing and sealed segments and a restart.

Expected values are computed here with Python's datetime and zoneinfo, independently of Kite.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

DIM = 4
UTC = timezone.utc


def milvus_text(dt: datetime, zone) -> str:
    """How Milvus shows an instant: RFC 3339 in `zone`, microseconds without trailing zeros,
    'Z' at offset zero."""
    local = dt.astimezone(zone)
    s = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        s += ("." + f"{local.microsecond:06d}").rstrip("0")
    off = local.utcoffset()
    if not off:
        return s + "Z"
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{s}{sign}{total // 3600:02d}:{(total // 60) % 60:02d}"


# (input text, the instant it denotes when naive text is read in UTC)
INPUTS = [
    ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
    ("2025-01-01T08:30:00+08:00", datetime(2025, 1, 1, 0, 30, tzinfo=UTC)),
    ("2024-12-31T19:00:00-05:00", datetime(2025, 1, 1, 0, 0, tzinfo=UTC)),
    ("2025-03-15 12:00:00.123456+02:00", datetime(2025, 3, 15, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2025-06-01T12:00:00", datetime(2025, 6, 1, 12, tzinfo=UTC)),  # naive: the collection's zone (UTC)
    ("2025-06-01 23:59:59.5", datetime(2025, 6, 1, 23, 59, 59, 500000, tzinfo=UTC)),
    ("2024-02-29T00:00:00+14:00", datetime(2024, 2, 28, 10, tzinfo=UTC)),
    ("1969-07-20T20:17:40Z", datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC)),
]


def make_collection(c: MilvusClient, name: str, properties=None, ts_index=None):
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("ts", DataType.TIMESTAMPTZ, nullable=True)
    schema.add_field("created", DataType.TIMESTAMPTZ, default_value="2020-01-01T00:00:00+01:00")
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    if ts_index:
        idx.add_index("ts", index_type=ts_index)
    kwargs = {"properties": properties} if properties else {}
    c.create_collection(name, schema=schema, index_params=idx, **kwargs)


def rows_for(inputs, start=0):
    out = []
    for i, (text, _) in enumerate(inputs):
        out.append({"id": start + i, "vec": [float(i)] * DIM, "ts": text})
    return out


def by_id(rows):
    return {r["id"]: r for r in rows}


def check_filters(c, name, instants, zone, **kw):
    """Every filter shape Milvus 2.6 accepts, against expectations computed from `instants`
    (id -> datetime, None for null)."""
    pivot = datetime(2025, 1, 1, 0, 15, tzinfo=UTC)
    cases = {
        f"ts > ISO '{pivot.isoformat()}'": lambda t: t > pivot,
        f"ts <= ISO '{pivot.isoformat()}'": lambda t: t <= pivot,
        f"ISO '{pivot.isoformat()}' < ts": lambda t: t > pivot,
        "ts == ISO '2025-01-01T08:00:00+08:00'": lambda t: t == datetime(2025, 1, 1, tzinfo=UTC),
        "ts != ISO '2025-01-01T00:00:00Z'": lambda t: t != datetime(2025, 1, 1, tzinfo=UTC),
        # interval arithmetic on the UTC calendar
        f"ts + INTERVAL 'P1D' > ISO '{(pivot + timedelta(days=1)).isoformat()}'":
            lambda t: t + timedelta(days=1) > pivot + timedelta(days=1),
        "ts - INTERVAL 'PT1H' >= ISO '2025-01-01T00:00:00Z'":
            lambda t: t - timedelta(hours=1) >= datetime(2025, 1, 1, tzinfo=UTC),
        "ts + INTERVAL 'P1Y2M3DT4H5M6S' < ISO '2026-06-01T00:00:00Z'":
            lambda t: add_calendar(t, 1, 2, 3, 4, 5, 6) < datetime(2026, 6, 1, tzinfo=UTC),
        "ISO '2025-06-02T00:00:00Z' > ts + INTERVAL 'PT12H'":
            lambda t: t + timedelta(hours=12) < datetime(2025, 6, 2, tzinfo=UTC),
        "ts is null": None,
    }
    for expr, pred in cases.items():
        got = sorted(r["id"] for r in c.query(name, filter=expr, output_fields=["id"], **kw))
        if pred is None:
            want = sorted(i for i, t in instants.items() if t is None)
        else:
            want = sorted(i for i, t in instants.items() if t is not None and pred(t))
        assert got == want, expr


def add_calendar(t: datetime, y, mo, d, h, mi, s) -> datetime:
    """Field-by-field addition then normalisation, as timegm does (UTC)."""
    t = t.astimezone(UTC)
    month0 = t.month - 1 + mo
    year = t.year + y + month0 // 12
    month = month0 % 12 + 1
    base = datetime(year, month, 1, tzinfo=UTC) + timedelta(days=t.day - 1)
    return base.replace(hour=0, minute=0, second=0, microsecond=t.microsecond) + timedelta(
        days=d, hours=t.hour + h, minutes=t.minute + mi, seconds=t.second + s)


def test_timestamptz_roundtrip_filters_growing_sealed_restart(server):
    c = server.client()
    name = "tz_basic"
    make_collection(c, name)
    half = len(INPUTS) // 2
    c.insert(name, rows_for(INPUTS[:half]))
    c.flush(name)  # the first half sealed, the rest growing
    c.insert(name, rows_for(INPUTS[half:], start=half))
    c.insert(name, [{"id": 100, "vec": [0.5] * DIM, "ts": None}])  # null
    instants = {i: t for i, (_, t) in enumerate(INPUTS)}
    instants[100] = None
    default_created = datetime(2019, 12, 31, 23, tzinfo=UTC)

    def check_all():
        got = by_id(c.query(name, filter="id >= 0", output_fields=["ts", "created"]))
        assert set(got) == set(instants)
        for i, t in instants.items():
            assert got[i]["ts"] == (None if t is None else milvus_text(t, UTC)), i
            assert got[i]["created"] == milvus_text(default_created, UTC)
        # the request's timezone shows the same instants in that zone
        sh = ZoneInfo("Asia/Shanghai")
        got = by_id(c.query(name, filter="id >= 0", output_fields=["ts"], timezone="Asia/Shanghai"))
        for i, t in instants.items():
            assert got[i]["ts"] == (None if t is None else milvus_text(t, sh)), i
        check_filters(c, name, instants, UTC)
        # search output carries the same text
        hits = c.search(name, data=[[0.0] * DIM], limit=3, output_fields=["ts"],
                        search_params={"metric_type": "L2"}, timezone="America/New_York")[0]
        ny = ZoneInfo("America/New_York")
        for h in hits:
            t = instants[h["id"]]
            assert h["entity"]["ts"] == (None if t is None else milvus_text(t, ny))

    check_all()
    c.flush(name)
    check_all()
    server.restart()
    c = server.client()
    c.load_collection(name)
    check_all()


def test_timestamptz_naive_text_in_request_zone_filter(server):
    c = server.client()
    name = "tz_naive_filter"
    make_collection(c, name)
    c.insert(name, rows_for(INPUTS))
    # A naive literal is read in the request's zone: 08:00 in Shanghai is 00:00 UTC.
    got = sorted(r["id"] for r in c.query(name, filter="ts == ISO '2025-01-01 08:00:00'", output_fields=["id"],
                                          timezone="Asia/Shanghai"))
    want = sorted(i for i, (_, t) in enumerate(INPUTS) if t == datetime(2025, 1, 1, tzinfo=UTC))
    assert got == want and want


def test_timestamptz_collection_and_database_timezone(server):
    c = server.client()
    tokyo = ZoneInfo("Asia/Tokyo")
    name = "tz_tokyo"
    make_collection(c, name, properties={"timezone": "Asia/Tokyo"})
    c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "ts": "2025-01-01T09:00:00"},
                    {"id": 2, "vec": [0.0] * DIM, "ts": "2025-01-01T00:00:00Z"}])
    got = by_id(c.query(name, filter="id > 0", output_fields=["ts", "created"]))
    # naive input was read in Tokyo; output is shown in Tokyo
    assert got[1]["ts"] == "2025-01-01T09:00:00+09:00"
    assert got[2]["ts"] == milvus_text(datetime(2025, 1, 1, tzinfo=UTC), tokyo)
    # the default's text had an offset, so the zone does not change the instant
    assert got[1]["created"] == milvus_text(datetime(2019, 12, 31, 23, tzinfo=UTC), tokyo)
    # describe_collection shows the default in the collection's zone
    fields = {f["name"]: f for f in c.describe_collection(name)["fields"]}
    assert fields["created"]["default_value"].string_data == milvus_text(datetime(2019, 12, 31, 23, tzinfo=UTC), tokyo)

    # A naive default is read in the collection's zone when the collection is created.
    schema = c.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("d", DataType.TIMESTAMPTZ, default_value="2020-01-01 00:00:00")
    idx = c.prepare_index_params()
    idx.add_index("vec", index_type="FLAT", metric_type="L2")
    c.create_collection("tz_naive_default", schema=schema, index_params=idx, properties={"timezone": "Asia/Tokyo"})
    c.insert("tz_naive_default", [{"id": 1, "vec": [0.0] * DIM}])
    got = c.query("tz_naive_default", filter="id > 0", output_fields=["d"], timezone="UTC")
    assert got[0]["d"] == "2019-12-31T15:00:00Z"

    # A collection without the property follows its database's.
    c.create_database("tzdb", properties={"timezone": "Europe/Berlin"})
    c.use_database("tzdb")
    make_collection(c, "tz_db")
    c.insert("tz_db", [{"id": 1, "vec": [0.0] * DIM, "ts": "2025-07-01T12:00:00"}])
    got = c.query("tz_db", filter="id > 0", output_fields=["ts"])
    assert got[0]["ts"] == "2025-07-01T12:00:00+02:00"  # Berlin summer time
    got = c.query("tz_db", filter="id > 0", output_fields=["ts"], timezone="UTC")
    assert got[0]["ts"] == "2025-07-01T10:00:00Z"


@pytest.mark.parametrize("index_type", ["STL_SORT"])
def test_timestamptz_index(server, index_type):
    c = server.client()
    name = f"tz_index_{index_type.lower()}"
    make_collection(c, name, ts_index=index_type)
    rows = []
    instants = {}
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(3000):
        t = base + timedelta(hours=7 * i, microseconds=i)
        rows.append({"id": i, "vec": [float(i % 7)] * DIM, "ts": t.isoformat()})
        instants[i] = t
    c.insert(name, rows)
    c.flush(name)
    idx = c.describe_index(name, "ts")
    assert idx["index_type"] == index_type
    # the index gets built over the flushed rows (the data node builds it in the background)
    deadline = time.monotonic() + 60
    while c.describe_index(name, "ts").get("indexed_rows", 0) < 3000:
        assert time.monotonic() < deadline, c.describe_index(name, "ts")
        time.sleep(0.05)
    pivot = base + timedelta(days=300)
    got = sorted(r["id"] for r in c.query(name, filter=f"ts >= ISO '{pivot.isoformat()}'", output_fields=["id"],
                                          limit=5000))
    assert got == sorted(i for i, t in instants.items() if t >= pivot)
    got = sorted(r["id"] for r in c.query(
        name, filter=f"ts > ISO '{pivot.isoformat()}' and ts < ISO '{(pivot + timedelta(days=10)).isoformat()}'",
        output_fields=["id"], limit=5000))
    assert got == sorted(i for i, t in instants.items() if pivot < t < pivot + timedelta(days=10))


def test_timestamptz_errors(server):
    c = server.client()
    name = "tz_errors"
    make_collection(c, name)
    with pytest.raises(MilvusException) as e:
        c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "ts": "not a time"}])
    assert e.value.code == 1100
    assert ("got invalid timestamptz string 'not a time': invalid timezone name; must be a valid IANA Time Zone "
            "ID (e.g., 'Asia/Shanghai' or 'UTC')") in e.value.message
    with pytest.raises(MilvusException) as e:
        c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "ts": "2025-02-30T00:00:00Z"}])
    assert "got invalid timestamptz string '2025-02-30T00:00:00Z'" in e.value.message
    assert c.query(name, filter="id >= 0", output_fields=["id"]) == []  # nothing written

    c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "ts": "2025-01-01T00:00:00Z"}])
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ts > ISO 'yesterday'", output_fields=["id"])
    assert "invalid timestamp string: 'yesterday'. Does not match any known format" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ts > ISO '2025-01-01T00:00:00+15:00'", output_fields=["id"])
    assert "UTC offset hour 15 is out of the valid range [-12, 14]" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="id > ISO '2025-01-01T00:00:00Z'", output_fields=["id"])
    assert "field 'id' is not a timestamptz datatype" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="ts + INTERVAL '1 day' > ISO '2025-01-01T00:00:00Z'", output_fields=["id"])
    assert "invalid ISO 8601 duration: 1 day" in e.value.message
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="id >= 0", output_fields=["ts"], timezone="Mars/Olympus")
    assert e.value.code == 1100
    assert "unknown or invalid IANA Time Zone ID: Mars/Olympus" in e.value.message


def test_timestamptz_time_fields_extraction(server):
    """`time_fields` turns each TIMESTAMPTZ value into its local parts (Milvus's
    extractFieldsFromResults): an array of ints in the order asked."""
    c = server.client()
    name = "tz_time_fields"
    make_collection(c, name)
    t = datetime(2025, 3, 15, 10, 20, 30, 123456, tzinfo=UTC)
    c.insert(name, [{"id": 1, "vec": [0.0] * DIM, "ts": t.isoformat()}])
    got = c.query(name, filter="id == 1", output_fields=["ts"], time_fields="year,month,day hour",
                  timezone="Asia/Kolkata")
    local = t.astimezone(ZoneInfo("Asia/Kolkata"))
    assert list(got[0]["ts"]) == [local.year, local.month, local.day, local.hour]
    got = c.query(name, filter="id == 1", output_fields=["ts"], time_fields="minute,second,microsecond")
    assert list(got[0]["ts"]) == [20, 30, 123456]
    hits = c.search(name, data=[[0.0] * DIM], limit=1, output_fields=["ts"], time_fields="year",
                    search_params={"metric_type": "L2"})[0]
    assert list(hits[0]["entity"]["ts"]) == [2025]
    with pytest.raises(MilvusException) as e:
        c.query(name, filter="id == 1", output_fields=["ts"], time_fields="year,week")
    assert "unsupported field for extraction: week, fields should be seprated by ',' or ' '" in e.value.message
