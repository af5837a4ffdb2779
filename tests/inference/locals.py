#!/usr/bin/env python3
"""locals.py FILE.c: the local arrays of every function in generated C,
counted independently of the emitter. Prints one line per function with
local arrays, "BYTES NAME LARGEST_ARRAY", largest frame first; the first
line's BYTES is what NAME_STACK_BYTES must say.

A function starts at a line in column 0 ending in '{' that is not a table
(no '='); its body is every line up to the '}' in column 0. Static tables
inside a function are not on the stack and are skipped."""
import re
import sys

SIZES = {"float": 4, "double": 8, "int": 4, "long": 8, "size_t": 8, "char": 1, "unsigned char": 1,
         "uint8_t": 1, "uint32_t": 4, "uint64_t": 8, "unsigned long long": 8}
DECL = re.compile(r"^\s+(?:const\s+)?(" + "|".join(sorted(SIZES, key=len, reverse=True)) +
                  r")\s+(\*\s*(?:const\s+)?)?(\w+)((?:\[\d+\])+)(.*)$")
MORE = re.compile(r",\s*(\*?)\s*(\w+)((?:\[\d+\])+)")


def dims(s):
    return [int(d) for d in re.findall(r"\[(\d+)\]", s)]


def prod(v):
    r = 1
    for d in v:
        r *= d
    return r


frames = []
func, total, largest, static = None, 0, "", False
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if func is None:
        if re.match(r"^[A-Za-z].*\)\s*\{$", line) and "=" not in line:
            func, total, largest, static = re.search(r"(\w+)\(", line).group(1), 0, "", False
        continue
    if line.startswith("}"):
        if total:
            frames.append((total, func, largest))
        func = None
        continue
    body = line.strip()
    if static or body.startswith("static "):
        static = not (body.startswith("}") and body.endswith(";")) and (static or body.endswith("{"))
        continue
    m = DECL.match(line)
    if not m:
        continue
    elem = 8 if m.group(2) else SIZES[m.group(1)]
    decls = [(m.group(3), m.group(4), elem)]
    rest = re.sub(r"=\s*\{[^}]*\}", "", m.group(5))
    decls += [(n, d, 8 if p else SIZES[m.group(1)]) for p, n, d in MORE.findall(rest)]
    for name, d, size in decls:
        b = prod(dims(d)) * size
        total += b
        if not largest or b > int(largest.split()[0]):
            largest = f"{b} {name}{d}"

frames.sort(reverse=True)
for total, func, largest in frames:
    print(total, func, largest.split()[1])
if not frames:
    print(0, "-", "-")
