#!/usr/bin/env python3
"""Print the first stsd sample entry (whole box, header included) of the first track of an MP4.

Used only to regenerate the test data in this folder (see make.sh); vodpack has its own reader.
"""
import struct
import sys


def boxes(buf, start, end):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", buf[pos + 8:pos + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        yield kind.decode("latin-1"), pos, pos + hdr, pos + size
        pos += size


def find(buf, start, end, path):
    for kind, _, body, stop in boxes(buf, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return body, stop
            return find(buf, body, stop, path[1:])
    raise SystemExit("box path not found: " + "/".join(path))


data = open(sys.argv[1], "rb").read()
body, stop = find(data, 0, len(data), ["moov", "trak", "mdia", "minf", "stbl", "stsd"])
# stsd: FullBox header (4 bytes) + entry_count (4 bytes), then the entries.
_, start, _, end = next(boxes(data, body + 8, stop))
sys.stdout.buffer.write(data[start:end])
