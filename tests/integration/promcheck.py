#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check a Prometheus text exposition (format 0.0.4) the way the tests need
when promtool is not installed: every sample's family has one HELP and one
TYPE line before its samples, families are contiguous, names and label names
are valid, counters end in _total (and only counters), no series twice,
values are numbers, label values are quoted and escaped.

  promcheck.py FILE      exit 0 when it passes, 1 with the problems
"""
import re
import sys

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def check(text):
    errs, help_, type_, seen, done = [], {}, {}, set(), set()
    cur = None
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.match(parts[2]):
                errs.append("%d: malformed %s line" % (n, parts[1]))
                continue
            fam, table = parts[2], help_ if parts[1] == "HELP" else type_
            if fam in table:
                errs.append("%d: second %s for %s" % (n, parts[1], fam))
            if fam in done:
                errs.append("%d: family %s not contiguous" % (n, fam))
            table[fam] = parts[3]
            if parts[1] == "TYPE" and parts[3] not in TYPES:
                errs.append("%d: unknown type %s" % (n, parts[3]))
            if cur is not None and cur != fam:
                done.add(cur)
            cur = fam
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"^([^{ ]+)(\{(.*)\})? (\S+)$", line)
        if m is None:
            errs.append("%d: not a sample: %r" % (n, line))
            continue
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        if not NAME.match(name):
            errs.append("%d: bad metric name %s" % (n, name))
        if name != cur:
            errs.append("%d: sample %s outside its family (HELP/TYPE first)" % (n, name))
        if name not in help_ or name not in type_:
            errs.append("%d: %s without HELP or TYPE" % (n, name))
        t = type_.get(name)
        if t == "counter" and not name.endswith("_total"):
            errs.append("%d: counter %s does not end in _total" % (n, name))
        if t != "counter" and name.endswith("_total"):
            errs.append("%d: %s ends in _total but is a %s" % (n, name, t))
        rest = labels
        keys = []
        while rest:
            lm = LABEL.match(rest)
            if lm is None:
                errs.append("%d: bad labels %r" % (n, labels))
                break
            keys.append(lm.group(1))
            rest = rest[lm.end():]
            if rest.startswith(","):
                rest = rest[1:]
            elif rest:
                errs.append("%d: bad labels %r" % (n, labels))
                break
        if len(set(keys)) != len(keys):
            errs.append("%d: repeated label" % n)
        try:
            v = float(value)
            if t == "counter" and v < 0:
                errs.append("%d: negative counter" % n)
        except ValueError:
            errs.append("%d: value %r is not a number" % (n, value))
        series = (name, labels)
        if series in seen:
            errs.append("%d: series %s{%s} twice" % (n, name, labels))
        seen.add(series)
    if not seen:
        errs.append("no samples")
    return errs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    errs = check(open(sys.argv[1]).read())
    for e in errs[:20]:
        print("promcheck: " + e)
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
