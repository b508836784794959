"""Protobuf wire format and failoverd frames by hand, for tests that must send what
no real client sends (forged verdicts, bad frames): encoding of varint and
length-delimited fields, decoding of one message into {field: [values]}, and the
common/frame.h header ("FO", version, type, 4-byte big-endian length)."""

import struct


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((field << 3) | 2) + varint(len(data)) + data


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def parse(data):
    """Decodes one message into {field: [values]} (varints as int, length-delimited as
    bytes). Other wire types raise ValueError."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError(f"unexpected wire type {wt}")
        out.setdefault(field, []).append(v)
    return out


def frame(payload, version=1, ftype=1, length=None):
    """A frame as common/frame.h writes it; length overrides the real one (bad frames)."""
    n = len(payload) if length is None else length
    return b"FO" + bytes([version, ftype]) + struct.pack(">I", n) + payload
