"""REST v2 users/*, roles/*, privilege_groups/* give the same checks and the same Milvus codes and
messages as the gRPC RBAC RPCs (issue 17): each bad request is sent both ways (pymilvus over gRPC,
and the REST endpoint Milvus's handler_v2.go routes it to), and the (code, message) pairs must be
equal. A case that succeeds one way must succeed the other way too."""
from __future__ import annotations

import json

import pytest
import requests
from pymilvus import MilvusException

from e2e_util import unique

ROOT = "root:Milvus"


@pytest.fixture(scope="module")
def srv(kite_bin, tmp_path_factory):
    from conftest import KiteServer
    base = tmp_path_factory.mktemp("rbac_parity")
    cfg = base / "auth.yaml"
    cfg.write_text("common:\n  security:\n    authorizationEnabled: true\n"
                   "proxy:\n  maxFailedLoginsPerMinute: 100000\n  maxRoleNum: 1000\n  maxUserNum: 1000\n")
    s = KiteServer(kite_bin, data_dir=base / "data", log_dir=base, name="parity",
                   extra_args=["--config", str(cfg)], token=ROOT)
    s.start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def client(srv):
    c = srv.client()
    yield c
    c.close()


def rest(srv, path, body):
    r = requests.post(f"{srv.uri}/v2/vectordb/{path}", data=json.dumps(body),
                      headers={"Content-Type": "application/json", "Authorization": f"Bearer {ROOT}"}, timeout=10)
    j = r.json()
    return j.get("code", 0), j.get("message", "")


def grpc_outcome(fn):
    try:
        fn()
        return 0, ""
    except MilvusException as e:
        return e.code, e.message


# Each case: a name, the gRPC call (client, names) and the REST (path, body) of the same request.
# `names` carries fresh user / role / group names that exist (made by setup) or do not.
CASES = [
    ("create an existing user",
     lambda c, n: c.create_user(n["user"], "Passw0rd-1"),
     lambda n: ("users/create", {"userName": n["user"], "password": "Passw0rd-1"})),
    ("create a user with an invalid name",
     lambda c, n: c.create_user("1bad name", "Passw0rd-1"),
     lambda n: ("users/create", {"userName": "1bad name", "password": "Passw0rd-1"})),
    ("create a user with a too short password",
     lambda c, n: c.create_user(n["fresh_user"], "abc"),
     lambda n: ("users/create", {"userName": n["fresh_user"], "password": "abc"})),
    ("update a password with a wrong old one",
     lambda c, n: c.update_password(n["user"], "not-the-old-one", "Passw0rd-2"),
     lambda n: ("users/update_password",
                {"userName": n["user"], "password": "not-the-old-one", "newPassword": "Passw0rd-2"})),
    ("drop root",
     lambda c, n: c.drop_user("root"),
     lambda n: ("users/drop", {"userName": "root"})),
    ("grant a missing role",
     lambda c, n: c.grant_role(n["user"], n["missing_role"]),
     lambda n: ("users/grant_role", {"userName": n["user"], "roleName": n["missing_role"]})),
    ("grant a role to a missing user",
     lambda c, n: c.grant_role(n["missing_user"], n["role"]),
     lambda n: ("users/grant_role", {"userName": n["missing_user"], "roleName": n["role"]})),
    ("revoke a role the user does not have",
     lambda c, n: c.revoke_role(n["user"], n["role"]),
     lambda n: ("users/revoke_role", {"userName": n["user"], "roleName": n["role"]})),
    ("create an existing role",
     lambda c, n: c.create_role(n["role"]),
     lambda n: ("roles/create", {"roleName": n["role"]})),
    ("create a role with an invalid name",
     lambda c, n: c.create_role("bad role!"),
     lambda n: ("roles/create", {"roleName": "bad role!"})),
    ("drop the admin role",
     lambda c, n: c.drop_role("admin"),
     lambda n: ("roles/drop", {"roleName": "admin"})),
    ("drop a missing role",
     lambda c, n: c.drop_role(n["missing_role"]),
     lambda n: ("roles/drop", {"roleName": n["missing_role"]})),
    ("grant an unknown v1 privilege",
     lambda c, n: c.grant_privilege(n["role"], "Collection", "NoSuchPrivilege", "*"),
     lambda n: ("roles/grant_privilege", {"roleName": n["role"], "objectType": "Collection",
                                          "objectName": "*", "privilege": "NoSuchPrivilege"})),
    ("grant a v1 privilege on the wrong object type",
     lambda c, n: c.grant_privilege(n["role"], "Global", "Search", "*"),
     lambda n: ("roles/grant_privilege", {"roleName": n["role"], "objectType": "Global",
                                          "objectName": "*", "privilege": "Search"})),
    ("grant an unknown v2 privilege",
     lambda c, n: c.grant_privilege_v2(n["role"], "NoSuchPrivilege", "*", db_name="default"),
     lambda n: ("roles/grant_privilege_v2", {"roleName": n["role"], "privilege": "NoSuchPrivilege",
                                             "collectionName": "*", "dbName": "default"})),
    ("grant a v2 privilege to a missing role",
     lambda c, n: c.grant_privilege_v2(n["missing_role"], "Search", "*", db_name="default"),
     lambda n: ("roles/grant_privilege_v2", {"roleName": n["missing_role"], "privilege": "Search",
                                             "collectionName": "*", "dbName": "default"})),
    ("grant a database-level group on one collection",
     lambda c, n: c.grant_privilege_v2(n["role"], "DatabaseReadOnly", "some_coll", db_name="default"),
     lambda n: ("roles/grant_privilege_v2", {"roleName": n["role"], "privilege": "DatabaseReadOnly",
                                             "collectionName": "some_coll", "dbName": "default"})),
    ("create an existing privilege group",
     lambda c, n: c.create_privilege_group(n["group"]),
     lambda n: ("privilege_groups/create", {"privilegeGroupName": n["group"]})),
    ("create a privilege group named as a built-in one",
     lambda c, n: c.create_privilege_group("ClusterAdmin"),
     lambda n: ("privilege_groups/create", {"privilegeGroupName": "ClusterAdmin"})),
    ("drop a missing privilege group",
     lambda c, n: c.drop_privilege_group(n["missing_group"]),
     lambda n: ("privilege_groups/drop", {"privilegeGroupName": n["missing_group"]})),
    ("add an unknown privilege to a group",
     lambda c, n: c.add_privileges_to_group(n["group"], ["NoSuchPrivilege"]),
     lambda n: ("privilege_groups/add_privileges_to_group",
                {"privilegeGroupName": n["group"], "privileges": ["NoSuchPrivilege"]})),
    ("add a privilege to a missing group",
     lambda c, n: c.add_privileges_to_group(n["missing_group"], ["Search"]),
     lambda n: ("privilege_groups/add_privileges_to_group",
                {"privilegeGroupName": n["missing_group"], "privileges": ["Search"]})),
    ("remove a privilege from a missing group",
     lambda c, n: c.remove_privileges_from_group(n["missing_group"], ["Search"]),
     lambda n: ("privilege_groups/remove_privileges_from_group",
                {"privilegeGroupName": n["missing_group"], "privileges": ["Search"]})),
]


def names(client):
    n = {"user": unique("pu"), "role": unique("pr"), "group": unique("pg"), "fresh_user": unique("fu"),
         "missing_user": unique("mu"), "missing_role": unique("mr"), "missing_group": unique("mg")}
    client.create_user(n["user"], "Passw0rd-0")
    client.create_role(n["role"])
    client.create_privilege_group(n["group"])
    return n


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rest_rbac_answers_as_grpc(srv, client, case):
    _, grpc_call, rest_call = case
    # Fresh names for each side, so that neither sees what the other did.
    g_names, r_names = names(client), names(client)
    got_grpc = grpc_outcome(lambda: grpc_call(client, g_names))
    path, body = rest_call(r_names)
    got_rest = rest(srv, path, body)

    def normalize(outcome, n):
        code, msg = outcome
        for k, v in n.items():
            msg = msg.replace(v, f"<{k}>")
        return code, msg

    assert normalize(got_rest, r_names) == normalize(got_grpc, g_names)
