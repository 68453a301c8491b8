#!/usr/bin/env python3
"""Writes a protobuf FileDescriptorSet holding etcd's v3 API (kv, auth, rpc).

The definitions are read out of the pinned PyPI package etcd3 (requirements.txt): each
etcd3/etcdrpc/*_pb2.py passes its serialized FileDescriptorProto to
_descriptor.FileDescriptor(serialized_pb=_b('...')), a str literal of latin-1 bytes. We read the
literal with the ast module (the module is never imported: its generated code predates the
protobuf runtime in .venv) and wrap each file as field 1 of a FileDescriptorSet, dependencies
first. protoc --descriptor_set_in then generates C++ from it. No .proto file is committed.

usage: extract_etcd_descriptors.py ETCDRPC_DIR OUT.pb
"""
import ast
import pathlib
import sys

FILES = ["kv", "auth", "rpc"]  # rpc imports kv.proto and auth.proto


def serialized_descriptor(path: pathlib.Path) -> bytes:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "FileDescriptor"):
            continue
        for kw in node.keywords:
            if kw.arg != "serialized_pb":
                continue
            value = kw.value
            if isinstance(value, ast.Call) and value.args:  # _b('...')
                value = value.args[0]
            literal = ast.literal_eval(value)
            return literal if isinstance(literal, bytes) else literal.encode("latin1")
    raise SystemExit(f"{path}: no FileDescriptor(serialized_pb=...) found")


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src = pathlib.Path(sys.argv[1])
    out = bytearray()
    for name in FILES:
        data = serialized_descriptor(src / f"{name}_pb2.py")
        out += b"\x0a" + varint(len(data)) + data  # FileDescriptorSet.file = 1
    pathlib.Path(sys.argv[2]).write_bytes(bytes(out))


if __name__ == "__main__":
    main()
