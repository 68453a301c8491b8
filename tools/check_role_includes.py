#!/usr/bin/env python3
"""Checks the role boundaries in the include graph (ARCHITECTURE.md "Roles and
their APIs"): a file of one role (src/roles/<role>/) may include of another
role only its API headers; run by ctest as role_include_graph.

Usage: check_role_includes.py SRC_DIR   (exit 1 and the offending lines on a violation)
"""
import pathlib
import re
import sys

# Headers of a role that other roles may include: its API.
API_HEADERS = {
    "api": None,  # every header of roles/api is API (role_api.h, role_codec.h, dml_message.h, ...)
    # The segment meta (SegmentRegistry) is reached through roles/api/segment_meta_api.h.
    "coordinator": {"coordinator.h", "catalog_types.h", "catalog_codec.h",
                    # Resource groups and replica records (querycoord's), read by the proxy.
                    "resource_groups.h"},
    "auth": {"access_control.h", "privileges.h", "password_hash.h"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"roles/([a-z_]+)/([^"]+)"')


def violations(src: pathlib.Path):
    roles = src / "roles"
    for path in sorted(roles.rglob("*")):
        if path.suffix not in (".h", ".cc") or path.stem.endswith("_test"):
            continue  # tests wire real roles together, as the server does
        own = path.relative_to(roles).parts[0]
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            role, header = m.group(1), m.group(2)
            if role == own:
                continue
            allowed = API_HEADERS.get(role, set())
            if allowed is None or header in allowed:
                continue
            yield f"{path.relative_to(src)}:{n}: {own} includes {role}'s implementation header roles/{role}/{header}"


def self_test():
    """The check itself must catch a crossing (and pass an API include)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        (root / "roles/proxy").mkdir(parents=True)
        (root / "roles/proxy/p.cc").write_text('#include "roles/api/role_api.h"\n#include "roles/coordinator/coordinator.h"\n')
        assert not list(violations(root)), "API includes must pass"
        (root / "roles/proxy/q.cc").write_text('#include "roles/querynode/query_node.h"\n')
        assert len(list(violations(root))) == 1, "an implementation include must be caught"


def main():
    self_test()
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    found = list(violations(src))
    for v in found:
        print(v)
    if found:
        print(f"{len(found)} include(s) cross a role boundary: use the role's API (src/roles/api/role_api.h)")
        return 1
    print("role include graph: no role includes another role's implementation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
