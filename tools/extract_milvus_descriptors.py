#!/usr/bin/env python3
"""Writes a protobuf FileDescriptorSet holding the Milvus protocol definitions.

The definitions are read out of the pinned pymilvus package: each
pymilvus/grpc_gen/*_pb2.py passes its serialized FileDescriptorProto as a bytes
literal to AddSerializedFile(). We read that literal with the ast module (the
module is never imported, so the protobuf runtime version does not matter) and
wrap every file as field 1 of a FileDescriptorSet. protoc --descriptor_set_in
then generates C++ from it. Nothing of the .proto sources is committed.

usage: extract_milvus_descriptors.py GRPC_GEN_DIR OUT.pb [PREFIX.pb]

PREFIX.pb, if given, is an existing FileDescriptorSet (e.g. descriptor.proto from
protoc) copied in front, so that one set holds every dependency.
"""
import ast
import pathlib
import sys

FILES = ["common", "schema", "rg", "feder", "msg", "milvus"]


def serialized_descriptor(path: pathlib.Path) -> bytes:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "AddSerializedFile" and node.args):
            value = ast.literal_eval(node.args[0])
            if isinstance(value, bytes):
                return value
    raise SystemExit(f"{path}: no AddSerializedFile(b'...') call found")


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
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    gen_dir = pathlib.Path(sys.argv[1])
    out = bytearray()
    if len(sys.argv) == 4:
        out += pathlib.Path(sys.argv[3]).read_bytes()
    for name in FILES:
        data = serialized_descriptor(gen_dir / f"{name}_pb2.py")
        out += b"\x0a" + varint(len(data)) + data  # FileDescriptorSet.file = 1
    pathlib.Path(sys.argv[2]).write_bytes(bytes(out))


if __name__ == "__main__":
    main()
