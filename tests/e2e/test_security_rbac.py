"""RBAC behaviour beyond the checks themselves, as Milvus 2.6 has it (issue 17's remainders).

- ShowCollections / ListDatabases (and REST collections/list, databases/list) list only what the
  caller holds grants on (Milvus rootcoord show_collection_task / list_db_task): root and members
  of admin see everything.
- grant_privilege_v2: a privilege group's level must fit the db_name / collection_name given, with
  rootcoord's texts; the grant is stored under the privilege's object type (GetObjectType).
- proxy.maxUserNum / proxy.maxRoleNum with Milvus's messages.
- BackupRBAC / RestoreRBAC (raw gRPC: pymilvus 2.6 has no client method) and AlterRole.
- Milvus's texts for privilege-group and role errors.

Expected sets are computed from what each test created, never from server output.
"""
from __future__ import annotations

import base64

import grpc
import pytest
import requests
from google.protobuf import message_factory
from pymilvus import MilvusClient, MilvusException
from pymilvus.grpc_gen import milvus_pb2

from e2e_util import unique
from test_auth import ROOT, auth_config, new_user, rest

SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]


@pytest.fixture(scope="module")
def srv(kite_bin, tmp_path_factory):
    from conftest import KiteServer
    base = tmp_path_factory.mktemp("rbac")
    s = KiteServer(kite_bin, data_dir=base / "data", log_dir=base, name="rbac",
                   extra_args=["--config", str(auth_config(base))], token=ROOT)
    s.start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def root(srv):
    c = srv.client()
    yield c
    c.close()


def call(server, method, request, token=ROOT):
    """One raw MilvusService call with `token` in the authorization metadata: (grpc code, response)."""
    m = SERVICE.methods_by_name[method]
    resp_cls = message_factory.GetMessageClass(m.output_type)
    md = [("authorization", base64.b64encode(token.encode()).decode())]
    with grpc.insecure_channel(f"{server.host}:{server.port}") as ch:
        fn = ch.unary_unary(f"/milvus.proto.milvus.MilvusService/{method}",
                            request_serializer=lambda x: x.SerializeToString(),
                            response_deserializer=resp_cls.FromString)
        try:
            return grpc.StatusCode.OK, fn(request, metadata=md, timeout=10)
        except grpc.RpcError as e:
            return e.code(), e.details()


def error_of(fn, *args, **kwargs) -> MilvusException:
    with pytest.raises(MilvusException) as e:
        fn(*args, **kwargs)
    return e.value


def user_client(server, user, pw, **kwargs) -> MilvusClient:
    return MilvusClient(server.uri, token=f"{user}:{pw}", timeout=10, dedicated=True, **kwargs)


# -- listing is filtered by privileges ---------------------------------------------------------

def test_show_collections_and_list_databases_show_only_what_the_caller_holds_grants_on(srv, root):
    db = unique("db")
    root.create_database(db)
    c1, c2, c3 = unique("c"), unique("c"), unique("c")
    for c in (c1, c2, c3):
        root.create_collection(c, dimension=4)
    in_db = unique("c")
    root_db = srv.client(db_name=db)
    root_db.create_collection(in_db, dimension=4)
    root_db.close()
    mine = {c1, c2, c3}

    user, pw = new_user(root)
    role = unique("r")
    root.create_role(role)
    root.grant_role(user, role)
    u = user_client(srv, user, pw)
    token = f"{user}:{pw}"
    try:
        # No grants at all: nothing listed (the implicit public role does not count, as in Milvus).
        assert set(u.list_collections()) & mine == set()
        assert u.list_databases() == []
        assert rest(srv, "collections/list", {}, token=token).json()["data"] == []
        assert rest(srv, "databases/list", {}, token=token).json()["data"] == []

        # A collection-object grant makes that collection (and its database) visible.
        root.grant_privilege(role, "Collection", "Search", c1, db_name="default")
        assert set(u.list_collections()) & mine == {c1}
        assert u.list_databases() == ["default"]
        assert set(rest(srv, "collections/list", {}, token=token).json()["data"]) & mine == {c1}
        assert rest(srv, "databases/list", {}, token=token).json()["data"] == ["default"]

        # A collection-level built-in group granted through v2 counts too.
        root.grant_privilege_v2(role, "CollectionReadOnly", c2, db_name="default")
        assert set(u.list_collections()) & mine == {c1, c2}

        # Grants in another database show that database, and only its own collections there.
        root.grant_privilege_v2(role, "Insert", in_db, db_name=db)
        assert sorted(u.list_databases()) == sorted(["default", db])
        r = rest(srv, "collections/list", {"dbName": db}, token=token).json()
        assert r["data"] == [in_db], r
        u_db = user_client(srv, user, pw, db_name=db)
        assert u_db.list_collections() == [in_db]
        u_db.close()
        assert set(rest(srv, "collections/list", {"dbName": "default"}, token=token).json()["data"]) & mine \
            == {c1, c2}

        # A grant on every collection ("*") shows them all; revoking takes effect at once.
        root.grant_privilege_v2(role, "Query", "*", db_name="default")
        assert set(u.list_collections()) >= mine
        root.revoke_privilege_v2(role, "Query", "*", db_name="default")
        assert set(u.list_collections()) & mine == {c1, c2}
    finally:
        u.close()

    # root and members of admin see everything.
    assert set(root.list_collections()) >= mine
    assert db in root.list_databases() and "default" in root.list_databases()
    admin_user, admin_pw = new_user(root)
    root.grant_role(admin_user, "admin")
    a = user_client(srv, admin_user, admin_pw)
    try:
        assert set(a.list_collections()) >= mine
        assert {"default", db} <= set(a.list_databases())
    finally:
        a.close()


# -- grant v2: the privilege level must fit -----------------------------------------------------

def test_grant_v2_checks_a_groups_level_against_db_and_collection(srv, root):
    role = unique("lv")
    root.create_role(role)
    coll = unique("c")
    root.create_collection(coll, dimension=4)

    e = error_of(root.grant_privilege_v2, role, "ClusterReadOnly", "*", db_name="default")
    assert e.code == 1100
    assert e.message == "dbName and collectionName should be * for the cluster level privilege: ClusterReadOnly: " \
                        "invalid parameter"
    e = error_of(root.grant_privilege_v2, role, "DatabaseAdmin", coll, db_name="default")
    assert e.message == "collectionName should be * for the database level privilege: DatabaseAdmin: invalid parameter"
    e = error_of(root.grant_privilege_v2, role, "CollectionReadWrite", coll, db_name="*")
    assert e.message == "please specify database name for the collection level privilege: CollectionReadWrite: " \
                        "invalid parameter"
    e = error_of(root.revoke_privilege_v2, role, "ClusterAdmin", coll, db_name="*")
    assert "should be * for the cluster level privilege: ClusterAdmin" in e.message
    e = error_of(root.grant_privilege_v2, role, "NoSuchPrivilege", "*", db_name="default")
    assert e.message == "not found the privilege name[NoSuchPrivilege]"

    # A custom group is checked at its members' level.
    group = unique("pg")
    root.create_privilege_group(group)
    root.add_privileges_to_group(group, ["Query", "Search"])
    e = error_of(root.grant_privilege_v2, role, group, coll, db_name="*")
    assert e.message == f"please specify database name for the collection level privilege: {group}: invalid parameter"

    # What fits is granted; single privileges are not level-checked (as Milvus).
    root.grant_privilege_v2(role, "ClusterReadOnly", "*", db_name="*")
    root.grant_privilege_v2(role, "DatabaseReadOnly", "*", db_name="default")
    root.grant_privilege_v2(role, "CollectionReadOnly", coll, db_name="default")
    root.grant_privilege_v2(role, group, coll, db_name="default")
    root.grant_privilege_v2(role, "Insert", "*", db_name="default")
    root.grant_privilege_v2(role, "CreateCollection", "*", db_name="default")
    got = {(g["object_type"], g["object_name"], g["privilege"], g["db_name"])
           for g in root.describe_role(role, db_name="*")["privileges"]}
    # Stored under the privilege's object type, as Milvus's GetObjectType picks it.
    assert got == {("Global", "*", "ClusterReadOnly", "*"), ("Global", "*", "DatabaseReadOnly", "default"),
                   ("Global", coll, "CollectionReadOnly", "default"), ("Global", coll, group, "default"),
                   ("Collection", "*", "Insert", "default"), ("Global", "*", "CreateCollection", "default")}, got

    # REST grant_privilege_v2 answers the same.
    r = rest(srv, "roles/grant_privilege_v2",
             {"roleName": role, "privilege": "ClusterAdmin", "collectionName": "*", "dbName": "default"}, token=ROOT)
    assert r.json()["code"] == 1100 and "should be * for the cluster level privilege: ClusterAdmin" in r.json()["message"]


# -- limits -------------------------------------------------------------------------------------

def test_max_user_and_role_numbers(kite_factory, tmp_path):
    cfg = auth_config(tmp_path, "  maxUserNum: 3\n  maxRoleNum: 4\n")
    s = kite_factory("limits", extra_args=["--config", str(cfg)], token=ROOT).start()
    c = s.client()
    try:
        c.create_user("user_a", "password-1")  # root counts: 2 of 3
        c.create_user("user_b", "password-1")
        e = error_of(c.create_user, "user_c", "password-1")
        assert "unable to add user because the number of users has reached the limit" in e.message, e.message
        assert sorted(c.list_users()) == ["root", "user_a", "user_b"]
        e = error_of(c.create_user, "user_a", "password-1")
        assert "user already exists" in e.message

        c.create_role("role_a")  # admin and public count: 3 of 4
        c.create_role("role_b")
        e = error_of(c.create_role, "role_c")
        assert e.message == "unable to create role because the number of roles has reached the limit"
        assert "role_c" not in c.list_roles()
        c.drop_user("user_b")
        c.create_user("user_c", "password-1")
        c.drop_role("role_b")
        c.create_role("role_c")
    finally:
        c.close()


def test_default_max_role_number_is_ten(kite_factory, tmp_path):
    s = kite_factory("rolelimit", extra_args=["--config", str(auth_config(tmp_path))], token=ROOT).start()
    c = s.client()
    try:
        for i in range(8):  # admin + public + 8 = 10
            c.create_role(f"role_{i}")
        e = error_of(c.create_role, "role_8")
        assert e.message == "unable to create role because the number of roles has reached the limit"
    finally:
        c.close()


# -- BackupRBAC / RestoreRBAC -------------------------------------------------------------------

def test_backup_and_restore_rbac(kite_factory, tmp_path):
    # A fresh source server, so the backup holds exactly what this test made.
    (tmp_path / "a").mkdir()
    src = kite_factory("rbacsrc", extra_args=["--config", str(auth_config(tmp_path / "a"))], token=ROOT).start()
    c = src.client()
    c.create_user("alice", "alice-pw-1")
    c.create_role("readers")
    c.alter_role("readers", "people who read")
    c.grant_role("alice", "readers")
    c.create_privilege_group("searchers")
    c.add_privileges_to_group("searchers", ["Search", "Query"])
    c.grant_privilege_v2("readers", "searchers", "*", db_name="default")
    c.grant_privilege("readers", "Global", "DescribeCollection", "*", db_name="default")
    c.close()

    code, resp = call(src, "BackupRBAC", milvus_pb2.BackupRBACMetaRequest())
    assert code == grpc.StatusCode.OK and resp.status.code == 0, resp
    meta = resp.RBAC_meta
    assert [u.user for u in meta.users] == ["alice"]  # root is not backed up
    assert [r.name for r in meta.users[0].roles] == ["readers"]
    assert b"alice-pw-1" not in meta.SerializeToString()  # a salted hash, never the password
    assert [(r.name, r.description) for r in meta.roles] == [("readers", "people who read")]
    assert [g.group_name for g in meta.privilege_groups] == ["searchers"]
    assert {p.name for p in meta.privilege_groups[0].privileges} == {"Search", "Query"}
    assert {(g.role.name, g.object.name, g.object_name, g.db_name, g.grantor.privilege.name) for g in meta.grants} \
        == {("readers", "Global", "*", "default", "searchers"),
            ("readers", "Global", "*", "default", "DescribeCollection")}

    # A user without BackupRBAC is refused.
    dst_dir = tmp_path / "b"
    dst_dir.mkdir()
    dst = kite_factory("rbacdst", extra_args=["--config", str(auth_config(dst_dir))], token=ROOT).start()
    d = dst.client()
    d.create_user("bob", "bob-pw-123")
    code, detail = call(dst, "BackupRBAC", milvus_pb2.BackupRBACMetaRequest(), token="bob:bob-pw-123")
    assert code == grpc.StatusCode.PERMISSION_DENIED and "PrivilegeBackupRBAC: permission deny" in detail

    # Refusals change nothing.
    code, st = call(dst, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest())
    assert code == grpc.StatusCode.OK and st.code != 0 and st.reason == "rbac meta is empty", st
    bad = milvus_pb2.RBACMeta()
    bad.CopyFrom(meta)
    bad.users[0].roles.add(name="nobody_role")
    code, st = call(dst, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=bad))
    assert st.reason == "role [nobody_role] does not exist", st
    bad = milvus_pb2.RBACMeta()
    bad.CopyFrom(meta)
    bad.grants[0].grantor.privilege.name = "NotAPrivilege"
    code, st = call(dst, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=bad))
    assert st.reason == "privilege [NotAPrivilege] does not exist", st
    assert "readers" not in d.list_roles() and "alice" not in d.list_users()
    assert "searchers" not in {g["privilege_group"] for g in d.list_privilege_groups()}

    code, st = call(dst, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=meta))
    assert code == grpc.StatusCode.OK and st.code == 0, st
    assert "readers" in d.list_roles() and "alice" in d.list_users()
    assert list(d.describe_user("alice")["roles"]) == ["readers"]
    groups = {g["privilege_group"]: set(g["privileges"]) for g in d.list_privilege_groups()}
    assert groups["searchers"] == {"Search", "Query"}
    got = {(g["object_type"], g["object_name"], g["privilege"], g["db_name"])
           for g in d.describe_role("readers")["privileges"]}
    assert got == {("Global", "*", "searchers", "default"), ("Global", "*", "DescribeCollection", "default")}
    # alice logs in with her old password, and her grants work.
    coll = unique("c")
    d.create_collection(coll, dimension=4)
    d.load_collection(coll)
    a = user_client(dst, "alice", "alice-pw-1")
    try:
        assert a.query(coll, filter="id >= 0", limit=5) == []
        with pytest.raises((MilvusException, grpc.RpcError)):
            a.insert(coll, [{"id": 1, "vector": [0.0] * 4}])
    finally:
        a.close()

    # Restoring the same again is refused: the role exists.
    code, st = call(dst, "RestoreRBAC", milvus_pb2.RestoreRBACMetaRequest(RBAC_meta=meta))
    assert st.reason == "role [readers] already exists", st
    d.close()


def test_alter_role_sets_a_description(srv, root):
    role = unique("desc")
    root.create_role(role)
    root.alter_role(role, "reads things")
    code, resp = call(srv, "SelectRole", milvus_pb2.SelectRoleRequest(role=milvus_pb2.RoleEntity(name=role)))
    assert code == grpc.StatusCode.OK and [(r.role.name, r.role.description) for r in resp.results] == \
        [(role, "reads things")]
    e = error_of(root.alter_role, "admin", "x")
    assert e.code == 1401 and e.message == "the role[admin] is a builtin role, which can't be altered: " \
                                           "privilege not permitted"
    e = error_of(root.alter_role, unique("nope"), "x")
    assert e.message == "role not exists"


# -- Milvus's texts --------------------------------------------------------------------------------

def test_role_and_privilege_group_errors_carry_milvus_texts(srv, root):
    e = error_of(root.drop_role, "admin")
    assert e.code == 1401
    assert e.message == "the role[admin] is a default role, which can't be dropped: privilege not permitted"
    e = error_of(root.drop_role, unique("none"))
    assert e.message == "not found the role, maybe the role isn't existed or internal system error"

    group = unique("grp")
    root.create_privilege_group(group)
    e = error_of(root.create_privilege_group, group)
    assert e.code == 1100 and e.message == f"privilege group name [{group}] is defined by users: invalid parameter"
    e = error_of(root.create_privilege_group, "CollectionAdmin")
    assert e.message == "privilege group name [CollectionAdmin] is defined by built in privileges or privilege " \
                        "groups in system: invalid parameter"
    missing = unique("nogrp")
    e = error_of(root.add_privileges_to_group, missing, ["Search"])
    assert e.message == f"there is no privilege group name [{missing}] defined in system to operate: invalid parameter"
    e = error_of(root.add_privileges_to_group, group, ["Nope"])
    assert e.message == "there is no privilege name or privilege group name [Nope] defined in system to operate: " \
                        "invalid parameter"
    root.add_privileges_to_group(group, ["Search"])
    e = error_of(root.add_privileges_to_group, group, ["CreateDatabase"])  # cluster level beside a collection one
    assert e.message == "privileges are not the same privilege level: invalid parameter"

    role = unique("gr")
    root.create_role(role)
    root.grant_privilege_v2(role, group, "*", db_name="default")
    e = error_of(root.drop_privilege_group, group)
    assert e.message == f"privilege group [{group}] is used by role [{role}], Use REVOKE API to revoke it first"
    root.revoke_privilege_v2(role, group, "*", db_name="default")
    root.drop_privilege_group(group)


def test_user_role_and_grant_v1_errors_as_milvus(srv, root):
    # Users: dropping a missing one succeeds, root cannot be dropped (1401), root must give the old
    # password like anyone not listed in superUsers (1400, also for an unknown user).
    root.drop_user(unique("ghost"))
    e = error_of(root.drop_user, "root")
    assert e.code == 1401 and "root user cannot be deleted" in e.message
    user, pw = new_user(root)
    e = error_of(root.update_password, user, "wrong-old-pw", "new-pass-1")
    assert e.code == 1400 and e.message == f"old password not correct for {user}: not authenticated"
    ghost = unique("ghost")
    e = error_of(root.update_password, ghost, "wrong-old-pw", "new-pass-1")
    assert e.code == 1400 and e.message == f"old password not correct for {ghost}: not authenticated"
    root.update_password(user, pw, "new-pass-1")
    user_client(srv, user, "new-pass-1").close()

    # Roles.
    role = unique("r")
    root.create_role(role)
    e = error_of(root.create_role, role)
    assert e.code == 65535 and e.message == f'role [name:"{role}"] already exists'
    e = error_of(root.describe_role, unique("none"))
    assert e.message == "not found the role, maybe the role isn't existed or internal system error"
    e = error_of(root.grant_role, unique("nouser"), unique("norole"))  # the role is checked first
    assert "not found the role" in e.message
    e = error_of(root.grant_role, unique("nouser"), role)
    assert e.message == "not found the user, maybe the user isn't existed or internal system error"

    # v1 grants: the object type, then the privilege against that type's list.
    e = error_of(root.grant_privilege, role, "NoSuchObject", "Search", "*")
    assert e.message == "the object entity in the request is nil or invalid"
    e = error_of(root.grant_privilege, role, "Collection", "CreateCollection", "*")
    assert e.message == "not found the privilege name[CreateCollection] in object[Collection]"
    e = error_of(root.grant_privilege, role, "Global", "NoSuchPrivilege", "*")
    assert "not found the privilege name[NoSuchPrivilege]" in e.message
    e = error_of(root.grant_privilege, role, "Global", "CollectionReadOnly", "*")
    assert e.message == "can not operate the built-in privilege group [CollectionReadOnly]"
    root.grant_privilege(role, "Global", "CreateCollection", "some_name")  # Global grants are for "*"
    got = [(g["object_type"], g["object_name"], g["privilege"]) for g in root.describe_role(role)["privileges"]]
    assert got == [("Global", "*", "CreateCollection")]

    # A grant on every database ("*") is listed with the default database's grants.
    root.grant_privilege_v2(role, "ClusterReadOnly", "*", db_name="*")
    got = {(g["privilege"], g["db_name"]) for g in root.describe_role(role)["privileges"]}
    assert got == {("CreateCollection", "default"), ("ClusterReadOnly", "*")}
    other_db = unique("db")
    got = {g["privilege"] for g in root.describe_role(role, db_name=other_db)["privileges"]}
    assert got == {"ClusterReadOnly"}

    # Dropping a built-in privilege group changes nothing and is not an error.
    root.drop_privilege_group("CollectionAdmin")
    assert "CollectionAdmin" in {g["privilege_group"] for g in root.list_privilege_groups()}


def test_grants_that_name_no_database_use_the_connections(srv, root):
    # Milvus's database interceptor fills OperatePrivilege(V2) / SelectGrant's db from the connection.
    db = unique("db")
    root.create_database(db)
    role = unique("r")
    root.create_role(role)
    c = srv.client(db_name=db)
    try:
        c.grant_privilege(role, "Collection", "Search", "*")
        c.grant_privilege_v2(role, "Insert", "*")
        got = {(g["privilege"], g["db_name"]) for g in c.describe_role(role)["privileges"]}
        assert got == {("Search", db), ("Insert", db)}
        assert root.describe_role(role)["privileges"] == []  # the default database holds none of them
        c.revoke_privilege(role, "Collection", "Search", "*")
        c.revoke_privilege_v2(role, "Insert", "*")
        assert c.describe_role(role)["privileges"] == []
    finally:
        c.close()
