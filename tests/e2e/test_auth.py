"""Users, roles and privileges as Milvus has them (common.security.authorizationEnabled).

One server with authorization on serves the module (root / Milvus at first start). Every check
goes through pymilvus, raw gRPC with hand-made metadata (malformed credentials, the every-RPC
walk) or REST, as a user would. Expectations come from Milvus's documented behaviour: gRPC
UNAUTHENTICATED / PERMISSION_DENIED with Milvus's texts, REST 401 code 1800 / 403.
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from google.protobuf import message_factory
from pymilvus import MilvusClient, MilvusException
from pymilvus.grpc_gen import common_pb2, milvus_pb2

from e2e_util import unique

ROOT = "root:Milvus"
REPO = Path(__file__).resolve().parents[2]
SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
EXT = common_pb2.privilege_ext_obj
# Privileges the built-in public role holds (Milvus grants them at first start).
PUBLIC_PRIVILEGES = {"PrivilegeDescribeCollection", "PrivilegeShowCollections", "PrivilegeIndexDetail"}


def auth_config(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "auth.yaml"
    p.write_text("common:\n  security:\n    authorizationEnabled: true\n"
                 "proxy:\n  maxFailedLoginsPerMinute: 100000\n" + extra)
    return p


@pytest.fixture(scope="module")
def auth_server(kite_bin, tmp_path_factory):
    from conftest import KiteServer
    base = tmp_path_factory.mktemp("auth")
    srv = KiteServer(kite_bin, data_dir=base / "data", log_dir=base, name="auth",
                     extra_args=["--config", str(auth_config(base))], token=ROOT)
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture(scope="module")
def root(auth_server):
    c = auth_server.client()
    yield c
    c.close()


def b64(s) -> str:
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def raw_call(server, method: str, request=None, authorization=None, timeout=10):
    """Calls one MilvusService method with hand-made metadata; returns (grpc code, response)."""
    m = SERVICE.methods_by_name[method]
    req_cls = message_factory.GetMessageClass(m.input_type)
    resp_cls = message_factory.GetMessageClass(m.output_type)
    md = [] if authorization is None else [("authorization", authorization)]
    with grpc.insecure_channel(f"{server.host}:{server.port}") as ch:
        fn = ch.unary_unary(f"/milvus.proto.milvus.MilvusService/{method}",
                            request_serializer=lambda x: x.SerializeToString(),
                            response_deserializer=resp_cls.FromString)
        try:
            resp = fn(request if request is not None else req_cls(), metadata=md, timeout=timeout)
            return grpc.StatusCode.OK, resp
        except grpc.RpcError as e:
            return e.code(), e.details()


def refused(fn, *args, **kwargs) -> str:
    """The error text of a call the server refuses. pymilvus passes gRPC PERMISSION_DENIED /
    UNAUTHENTICATED through as grpc.RpcError (as with Milvus) and Milvus statuses as MilvusException."""
    with pytest.raises((MilvusException, grpc.RpcError)) as e:
        fn(*args, **kwargs)
    if isinstance(e.value, grpc.RpcError):
        return f"{e.value.code().name}: {e.value.details()}"
    return str(e.value)


def new_user(root_client, password="pass-word-1"):
    name = unique("u")
    root_client.create_user(user_name=name, password=password)
    return name, password


def make_collection(root_client, rows=20, dim=4):
    name = unique("c")
    root_client.create_collection(name, dimension=dim)
    vecs = np.random.default_rng(7).random((rows, dim)).astype("float32")
    root_client.insert(name, [{"id": i, "vector": vecs[i].tolist()} for i in range(rows)])
    return name, vecs


# -- authentication ----------------------------------------------------------------------------

def test_connect_needs_a_valid_token(auth_server, root):
    assert isinstance(root.get_server_version(), str)
    # pymilvus reports a refused Connect as "Fail connecting ..." and chains the gRPC error.
    with pytest.raises(MilvusException) as e:
        MilvusClient(auth_server.uri, timeout=5, dedicated=True)
    cause = e.value.__cause__
    assert cause.code() == grpc.StatusCode.UNAUTHENTICATED and cause.details() == "missing authorization in header"
    with pytest.raises(MilvusException) as e:
        MilvusClient(auth_server.uri, token="root:wrong", timeout=5, dedicated=True)
    cause = e.value.__cause__
    assert cause.code() == grpc.StatusCode.UNAUTHENTICATED
    assert cause.details() == "auth check failure, please check username and password are correct"
    c = MilvusClient(auth_server.uri, user="root", password="Milvus", timeout=5, dedicated=True)
    assert "root" in c.list_users()
    c.close()


def test_missing_and_wrong_credentials_get_milvus_errors_over_grpc(auth_server):
    code, msg = raw_call(auth_server, "ShowCollections")
    assert code == grpc.StatusCode.UNAUTHENTICATED and msg == "missing authorization in header"
    code, msg = raw_call(auth_server, "ShowCollections", authorization=b64("root:nope"))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert msg == "auth check failure, please check username and password are correct"
    code, _ = raw_call(auth_server, "ShowCollections", authorization=b64(ROOT))
    assert code == grpc.StatusCode.OK


@pytest.mark.parametrize("label,value", [
    ("empty", ""),
    ("no colon", b64("rootMilvus")),
    ("only colon", b64(":")),
    ("empty password", b64("root:")),
    ("invalid base64", "!!!not base64!!!"),
    ("base64 without padding", b64(ROOT).rstrip("=")),
    ("invalid utf-8", b64(b"\xff\xfe\xfd:\xc3\x28")),
    ("nul bytes", b64(b"root\x00:Milvus")),
    ("4 KB token", b64("u" * 2000 + ":" + "p" * 1000)),
])
def test_malformed_credentials_are_refused_cleanly(auth_server, label, value):
    code, msg = raw_call(auth_server, "ShowCollections", authorization=value)
    assert code == grpc.StatusCode.UNAUTHENTICATED, (label, code, msg)
    assert msg in ("invalid token format", "auth check failure, please check api key is correct",
                   "auth check failure, please check username and password are correct"), (label, msg)
    assert raw_call(auth_server, "ShowCollections", authorization=b64(ROOT))[0] == grpc.StatusCode.OK


def test_a_1mb_token_is_refused_and_the_server_lives(auth_server):
    code, _ = raw_call(auth_server, "ShowCollections", authorization="A" * (1 << 20))
    assert code != grpc.StatusCode.OK
    r = requests.post(f"{auth_server.uri}/v2/vectordb/collections/list", json={},
                      headers={"Authorization": "Bearer " + "a" * (1 << 20)}, timeout=10)
    assert r.status_code in (401, 431), r.status_code
    assert raw_call(auth_server, "ShowCollections", authorization=b64(ROOT))[0] == grpc.StatusCode.OK


def test_failed_logins_are_rate_limited(kite_factory, tmp_path):
    cfg = tmp_path / "rl.yaml"
    cfg.write_text("common:\n  security:\n    authorizationEnabled: true\n"
                   "proxy:\n  maxFailedLoginsPerMinute: 5\n")
    srv = kite_factory("ratelimit", extra_args=["--config", str(cfg)], token=ROOT).start()
    # Verified before the flood: keeps working during it.
    assert raw_call(srv, "ShowCollections", authorization=b64(ROOT))[0] == grpc.StatusCode.OK
    msgs = [raw_call(srv, "ShowCollections", authorization=b64(f"root:guess{i}"))[1] for i in range(8)]
    assert msgs[0] == "auth check failure, please check username and password are correct"
    assert "too many failed attempts" in msgs[-1], msgs
    assert raw_call(srv, "ShowCollections", authorization=b64(ROOT))[0] == grpc.StatusCode.OK


# -- users, roles, privileges ------------------------------------------------------------------

def test_every_rbac_call(auth_server, root):
    user, pw = new_user(root)
    assert user in root.list_users()
    with pytest.raises(MilvusException, match="user already exists"):
        root.create_user(user_name=user, password=pw)
    with pytest.raises(MilvusException, match="The length of password must be great than 6"):
        root.create_user(user_name=unique("u"), password="123")
    with pytest.raises(MilvusException, match="The first character of username must be a letter"):
        root.create_user(user_name="1bad", password="pass-word-1")

    role = unique("r")
    root.create_role(role)
    assert role in root.list_roles() and "admin" in root.list_roles() and "public" in root.list_roles()
    root.grant_role(user_name=user, role_name=role)
    assert role in root.describe_user(user)["roles"]

    coll, _ = make_collection(root)
    root.grant_privilege(role, "Collection", "Search", coll, db_name="default")
    root.grant_privilege_v2(role, "CollectionReadOnly", coll, db_name="default")
    grants = root.describe_role(role)["privileges"]
    got = {(g["object_type"], g["object_name"], g["privilege"], g["db_name"]) for g in grants}
    assert ("Collection", coll, "Search", "default") in got, grants
    # Milvus stores a v2 grant under the privilege's object type (GetObjectType): groups are Global.
    assert ("Global", coll, "CollectionReadOnly", "default") in got, grants

    with pytest.raises(MilvusException, match="fail to drop the role that it has privileges"):
        root.drop_role(role)

    group = unique("g")
    root.create_privilege_group(group)
    root.add_privileges_to_group(group, ["Query", "Search"])
    groups = {g["privilege_group"]: g["privileges"] for g in root.list_privilege_groups()}
    assert set(groups[group]) == {"Query", "Search"}
    assert set(groups["CollectionReadOnly"]) >= {"Query", "Search", "DescribeCollection"}
    root.remove_privileges_from_group(group, ["Query"])
    groups = {g["privilege_group"]: g["privileges"] for g in root.list_privilege_groups()}
    assert list(groups[group]) == ["Search"]
    root.drop_privilege_group(group)
    assert group not in {g["privilege_group"] for g in root.list_privilege_groups()}

    root.revoke_privilege(role, "Collection", "Search", coll, db_name="default")
    root.revoke_privilege_v2(role, "CollectionReadOnly", coll, db_name="default")
    assert root.describe_role(role)["privileges"] == []

    u = MilvusClient(auth_server.uri, token=f"{user}:{pw}", timeout=10, dedicated=True)
    u.update_password(user, pw, "pass-word-2")  # a user may change their own password
    u.close()
    with pytest.raises(MilvusException):
        MilvusClient(auth_server.uri, token=f"{user}:{pw}", timeout=5, dedicated=True)
    MilvusClient(auth_server.uri, token=f"{user}:pass-word-2", timeout=5, dedicated=True).close()

    root.revoke_role(user_name=user, role_name=role)
    assert role not in root.describe_user(user)["roles"]
    root.drop_role(role)
    assert role not in root.list_roles()
    root.drop_user(user)
    assert user not in root.list_users()
    with pytest.raises(MilvusException):
        MilvusClient(auth_server.uri, token=f"{user}:pass-word-2", timeout=5, dedicated=True)
    with pytest.raises(MilvusException, match="root user cannot be deleted"):
        root.drop_user("root")


def test_collection_read_only_user_can_search_but_not_write(auth_server, root):
    coll, vecs = make_collection(root)
    root.load_collection(coll)
    other, _ = make_collection(root)
    user, pw = new_user(root)
    role = unique("ro")
    root.create_role(role)
    root.grant_role(user, role)
    root.grant_privilege_v2(role, "CollectionReadOnly", coll, db_name="default")
    u = MilvusClient(auth_server.uri, token=f"{user}:{pw}", timeout=10, dedicated=True)
    try:
        hits = u.search(coll, data=[vecs[3].tolist()], limit=1)
        assert hits[0][0]["id"] == 3
        assert len(u.query(coll, filter="id >= 0", limit=100)) == 20
        msg = refused(u.insert, coll, [{"id": 100, "vector": [0.0] * 4}])
        assert msg == f"PERMISSION_DENIED: PrivilegeInsert: permission deny to {user} in the `default` database"
        assert "PrivilegeDropCollection: permission deny" in refused(u.drop_collection, coll)
        assert "PrivilegeSearch: permission deny" in refused(u.search, other, data=[vecs[0].tolist()], limit=1)
        assert root.has_collection(coll)
        assert len(root.query(coll, filter="id == 100")) == 0  # nothing written

        # A revoke takes effect on the very next call.
        root.revoke_privilege_v2(role, "CollectionReadOnly", coll, db_name="default")
        assert "PrivilegeSearch: permission deny" in refused(u.search, coll, data=[vecs[3].tolist()], limit=1)
        root.grant_privilege_v2(role, "CollectionReadWrite", coll, db_name="default")
        u.insert(coll, [{"id": 100, "vector": [0.0] * 4}])
        root.revoke_role(user, role)
        assert "PrivilegeInsert: permission deny" in refused(u.insert, coll, [{"id": 101, "vector": [0.0] * 4}])
    finally:
        u.close()


def test_grants_persist_across_restart(kite_factory, tmp_path):
    cfg = auth_config(tmp_path)
    srv = kite_factory("persist", extra_args=["--config", str(cfg)], token=ROOT).start()
    c = srv.client()
    c.create_user("alice", "alice-pw-1")
    c.create_role("readers")
    c.grant_role("alice", "readers")
    c.grant_privilege_v2("readers", "DatabaseReadOnly", "*", db_name="default")
    c.update_password("root", "Milvus", "new-root-pw")
    c.close()
    srv.token = "root:new-root-pw"
    srv.restart()
    c = srv.client()
    assert "alice" in c.list_users() and "readers" in c.describe_user("alice")["roles"]
    assert [g["privilege"] for g in c.describe_role("readers")["privileges"]] == ["DatabaseReadOnly"]
    c.close()
    raw = (srv.data_dir / "meta").rglob("*")
    blob = b"".join(p.read_bytes() for p in raw if p.is_file())
    assert b"alice-pw-1" not in blob and b"new-root-pw" not in blob  # only hashes are stored


# -- the every-RPC walk ------------------------------------------------------------------------

def served(method) -> bool:
    """Kite answers the method at all (streaming RPCs and ones without a status are gRPC-unimplemented)."""
    if method.client_streaming or method.server_streaming:
        return False
    out = method.output_type
    return out.full_name == "milvus.proto.common.Status" or "status" in out.fields_by_name


def test_every_rpc_is_authenticated_and_privilege_checked(auth_server, root):
    user, pw = new_user(root)  # no role: only what `public` holds
    token = b64(f"{user}:{pw}")
    checked = unchecked = 0
    for m in SERVICE.methods:
        code, detail = raw_call(auth_server, m.name)
        if not served(m):
            assert code == grpc.StatusCode.UNIMPLEMENTED, (m.name, code)
            continue
        assert code == grpc.StatusCode.UNAUTHENTICATED, (m.name, code, detail)
        opts = m.input_type.GetOptions()
        code, detail = raw_call(auth_server, m.name, authorization=token)
        if opts.HasExtension(EXT):
            privilege = common_pb2.ObjectPrivilege.Name(opts.Extensions[EXT].object_privilege)
            if privilege in PUBLIC_PRIVILEGES or privilege in ("PrivilegeUpdateUser", "PrivilegeSelectUser"):
                continue  # the public role's, or the caller's own user object (empty name: checked below)
            assert code == grpc.StatusCode.PERMISSION_DENIED, (m.name, code, detail)
            assert detail.startswith(f"{privilege}: permission deny to {user}"), (m.name, detail)
            checked += 1
        else:
            # Milvus attaches no privilege: any authenticated caller gets past the check.
            assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED), m.name
            unchecked += 1
    assert checked > 60 and unchecked > 10, (checked, unchecked)


def rest_paths():
    """Every REST v2 endpoint Kite routes (the route table in rest_service.cc)."""
    src = (REPO / "src/rpc/rest/rest_service.cc").read_text()
    table = src[src.index("Routes() {"):src.index("return routes;")]
    return sorted(set(re.findall(r'\{"([a-z_]+/[a-z_/]+)",', table)))


def rest(server, path, body, token=None, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(f"{server.uri}/v2/vectordb/{path}", data=data, headers=headers, timeout=10)


def test_every_rest_endpoint_needs_credentials_and_privileges(auth_server, root):
    user, pw = new_user(root)
    paths = rest_paths()
    assert "entities/search" in paths and "users/create" in paths and len(paths) > 50
    # A body every endpoint accepts (as Milvus, parameters are validated before privileges).
    body = {"collectionName": "x", "dbName": "default", "aliasName": "a", "indexName": "i", "partitionName": "p",
            "partitionNames": ["p"], "data": [{"id": 1}], "id": 1, "filter": "id > 0",
            "indexParams": [{"fieldName": "v", "metricType": "L2"}], "newCollectionName": "y",
            "userName": "someone_else", "password": "pw-123456", "newPassword": "pw-1234567", "roleName": "r",
            "objectType": "Global", "objectName": "*", "privilege": "Search", "privilegeGroupName": "g",
            "privileges": ["Search"], "jobID": 1, "jobId": 1, "files": [["a.json"]], "name": "rg",
            "resource_groups": {}, "sourceRgName": "a", "targetRgName": "b", "replicaNum": 1,
            "properties": {}, "propertyKeys": ["a"],
            "schema": {"fieldName": "f", "dataType": "Int64", "nullable": True}, "fieldName": "f",
            "search": [{"data": [[0.1]], "annsField": "v", "limit": 1}]}
    for p in paths:
        r = rest(auth_server, p, body)
        assert r.status_code == 401 and r.json() == {"code": 1800, "message": "user hasn't authenticated"}, p
        r = rest(auth_server, p, body, token="root:wrong")
        assert r.status_code == 401 and r.json()["code"] == 1800, p
    allowed_for_anyone = {"collections/list", "collections/has", "collections/describe", "indexes/list",
                          "indexes/describe", "databases/list", "partitions/get_stats",
                          "collections/get_compaction_state",
                          # GetImportState / ListImportTasks carry no privilege in Milvus (as GetImportProgress)
                          "jobs/import/describe", "jobs/import/get_progress", "jobs/import/list",
                          "common/run_analyzer"}  # RunAnalyzer: authenticated only, as in Milvus
    for p in paths:
        if p in allowed_for_anyone:
            continue
        r = rest(auth_server, p, body, token=f"{user}:{pw}")
        assert r.status_code == 403 and "permission deny" in r.json()["message"], (p, r.status_code, r.text)


def test_rest_with_and_without_the_header(auth_server, root):
    r = rest(auth_server, "collections/list", {})
    assert r.status_code == 401 and r.json()["code"] == 1800
    r = rest(auth_server, "collections/list", {}, token=ROOT)
    assert r.status_code == 200 and r.json()["code"] == 0
    name = unique("rest")
    r = rest(auth_server, "users/create", {"userName": name, "password": "rest-pw-1"}, token=ROOT)
    assert r.json()["code"] == 0, r.text
    assert name in rest(auth_server, "users/list", {}, token=ROOT).json()["data"]
    role = unique("rr")
    assert rest(auth_server, "roles/create", {"roleName": role}, token=ROOT).json()["code"] == 0
    assert rest(auth_server, "users/grant_role", {"userName": name, "roleName": role}, token=ROOT).json()["code"] == 0
    coll, _ = make_collection(root)
    body = {"roleName": role, "privilege": "CollectionReadWrite", "collectionName": coll, "dbName": "default"}
    assert rest(auth_server, "roles/grant_privilege_v2", body, token=ROOT).json()["code"] == 0
    desc = rest(auth_server, "roles/describe", {"roleName": role}, token=ROOT).json()["data"]
    assert [(d["objectName"], d["privilege"]) for d in desc] == [(coll, "CollectionReadWrite")]
    ins = {"collectionName": coll, "data": [{"id": 500, "vector": [0.1] * 4}]}
    r = rest(auth_server, "entities/insert", ins, token=f"{name}:rest-pw-1")
    assert r.json()["code"] == 0, r.text
    r = rest(auth_server, "collections/drop", {"collectionName": coll}, token=f"{name}:rest-pw-1")
    assert r.status_code == 403 and "PrivilegeDropCollection: permission deny" in r.json()["message"]
    r = rest(auth_server, "roles/drop", {"roleName": role}, token=ROOT)
    assert "fail to drop the role that it has privileges" in r.json()["message"]
    groups = rest(auth_server, "privilege_groups/list", {}, token=ROOT).json()["data"]["privilegeGroups"]
    assert "ClusterAdmin" in {g["privilegeGroupName"] for g in groups}


# -- the metrics port --------------------------------------------------------------------------

def test_metrics_port_needs_credentials_for_the_web_ui(auth_server):
    url = auth_server.metrics_url
    assert requests.get(url + "/healthz", timeout=5).status_code == 200
    assert requests.get(url + "/metrics", timeout=5).status_code == 200
    for path in ["/webui", "/webui/", "/webui/api/config", "/webui/api/collections", "/webui/api/overview"]:
        r = requests.get(url + path, timeout=5)
        assert r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Basic"), path
        assert requests.get(url + path, auth=("root", "wrong"), timeout=5).status_code == 401, path
    r = requests.get(url + "/webui/api/config", auth=("root", "Milvus"), timeout=5)
    assert r.status_code == 200
    assert requests.get(url + "/webui", headers={"Authorization": f"Bearer {ROOT}"}, timeout=5).status_code == 200
    assert "Milvus" not in requests.get(url + "/metrics", timeout=5).text  # no password in metrics


# -- no bypasses, no secrets in logs -----------------------------------------------------------

def test_internal_caller_markers_are_ignored(auth_server):
    """CVE-2025-64513: Milvus's proxy trusted a caller-supplied source id. Kite has no such marker:
    whatever a client puts in its metadata, it still needs credentials."""
    m = SERVICE.methods_by_name["ShowCollections"]
    req = message_factory.GetMessageClass(m.input_type)()
    resp_cls = message_factory.GetMessageClass(m.output_type)
    for md in ([("sourceid", b64("@@milvus-member@@"))], [("sourceId", "1")], [("token", "root:Milvus")],
               [("x-kite-internal", "1")], [("authorization", "Bearer " + ROOT)]):
        with grpc.insecure_channel(f"{auth_server.host}:{auth_server.port}") as ch:
            fn = ch.unary_unary("/milvus.proto.milvus.MilvusService/ShowCollections",
                                request_serializer=lambda x: x.SerializeToString(),
                                response_deserializer=resp_cls.FromString)
            with pytest.raises(grpc.RpcError) as e:
                fn(req, metadata=[(k.lower(), v) for k, v in md], timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED, md


def test_passwords_never_reach_the_log(kite_factory, tmp_path):
    cfg = auth_config(tmp_path)
    srv = kite_factory("secrets", extra_args=["--config", str(cfg), "--log-level", "debug"], token=ROOT).start()
    c = srv.client()
    c.create_user("carol", "carol-Secret-1")
    c.update_password("carol", "carol-Secret-1", "carol-Secret-2")
    with pytest.raises(MilvusException):
        MilvusClient(srv.uri, token="carol:carol-Wrong-3", timeout=5, dedicated=True)
    MilvusClient(srv.uri, token="carol:carol-Secret-2", timeout=5, dedicated=True).close()
    rest(srv, "users/create", {"userName": "dave", "password": "dave-Secret-4"}, token=ROOT)
    rest(srv, "collections/list", {}, token="dave:dave-Wrong-5")
    c.close()
    srv.stop()
    log = srv.log_path.read_text()
    assert "level=debug" in log  # the requests were logged
    for secret in ("carol-Secret-1", "carol-Secret-2", "carol-Wrong-3", "dave-Secret-4", "dave-Wrong-5",
                   b64("carol:carol-Secret-2"), "Milvus\""):
        assert secret not in log, secret


def test_default_root_password_and_super_users(kite_factory, tmp_path):
    cfg = tmp_path / "su.yaml"
    cfg.write_text("common:\n  security:\n    authorizationEnabled: true\n    defaultRootPassword: Root-Pw-123\n"
                   "    superUsers: alice, bob\n")
    srv = kite_factory("superusers", extra_args=["--config", str(cfg)], token="root:Root-Pw-123").start()
    with pytest.raises(MilvusException):
        MilvusClient(srv.uri, token=ROOT, timeout=5, dedicated=True)
    root_client = srv.client()
    root_client.create_user("alice", "alice-pw-1")
    root_client.create_user("carol", "carol-pw-1")
    name, _ = make_collection(root_client)
    carol = MilvusClient(srv.uri, token="carol:carol-pw-1", timeout=10, dedicated=True)
    assert "PrivilegeDropCollection: permission deny" in refused(carol.drop_collection, name)
    alice = MilvusClient(srv.uri, token="alice:alice-pw-1", timeout=10, dedicated=True)
    # Listing: a user without grants sees nothing, a super user everything (as root).
    assert name not in carol.list_collections() and carol.list_databases() == []
    assert name in alice.list_collections() and "default" in alice.list_databases()
    alice.drop_collection(name)  # a super user needs no role
    alice.update_password("carol", "ignored-old", "carol-pw-2")  # and may reset any password
    assert not root_client.has_collection(name)
    for c in (carol, alice, root_client):
        c.close()
    MilvusClient(srv.uri, token="carol:carol-pw-2", timeout=5, dedicated=True).close()
