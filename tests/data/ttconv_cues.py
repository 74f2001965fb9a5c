#!/usr/bin/env python3
"""Reads IMSC documents with ttconv (the independent reader of tests/suite/subtitles_ttml.rs) and
prints, per file, what ttconv shows when: its ISD sequence (TTML2 §11.3.1 intermediate synchronic
documents) as [{"t": seconds, "shown": [{"region": id, "text": text}]}], as JSON on stdout.

A document ttconv cannot read, or any warning or error ttconv logs while reading it, fails the run
(exit 1) with the file and ttconv's message on stderr.

usage: ttconv_cues.py FILE...
"""
import json
import logging
import sys
import xml.etree.ElementTree as ET

from ttconv import model
from ttconv.isd import ISD
import ttconv.imsc.reader as imsc_reader


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def text_of(element):
    if isinstance(element, model.Text):
        return element.get_text()
    if isinstance(element, model.Br):
        return "\n"
    return "".join(text_of(child) for child in element)


def paragraphs(element, region, out):
    if isinstance(element, model.P):
        out.append({"region": region, "text": text_of(element)})
        return
    for child in element:
        paragraphs(child, region, out)


def main(paths):
    collect = Collect()
    logging.getLogger().addHandler(collect)
    result = []
    for path in paths:
        collect.messages.clear()
        doc = imsc_reader.to_model(ET.parse(path))
        if doc is None or collect.messages:
            sys.stderr.write(f"{path}: ttconv could not read it: {collect.messages}\n")
            return 1
        seq = []
        for t, isd in ISD.generate_isd_sequence(doc):
            shown = []
            for region in isd.iter_regions():
                paragraphs(region, region.get_id(), shown)
            seq.append({"t": float(t), "shown": shown})
        if collect.messages:
            sys.stderr.write(f"{path}: ttconv warned: {collect.messages}\n")
            return 1
        result.append({"file": path, "isd": seq})
    json.dump(result, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
