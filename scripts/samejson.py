#!/usr/bin/env python3
"""Check that two evalnll binaries give byte-identical outputs over a golden corpus.

    python3 scripts/samejson.py OLD_BINARY NEW_BINARY [CASES_DIR]

CASES_DIR defaults to testdata/golden. For every case folder (one holding
case.json, as check.py reads it) it runs both binaries from inside the folder,
three ways: `eval ARGS --json OUT INPUTS`, `eval ARGS -o OUT.md INPUTS` and
`eval ARGS INPUTS` (the text summary), and requires the same exit status, the
same stderr and the same bytes in every output. It prints one line per
difference and ends with "N cases, M differ"; the exit status is 1 if any
differ.

A refactoring that must not change what the CLI writes (the library branch)
builds OLD_BINARY at its starting commit, e.g.

    git archive 2346b18 | tar -x -C /tmp/old && (cd /tmp/old && go build -o /tmp/evalnll-old ./cmd/evalnll)
    go build -o /tmp/evalnll-new ./cmd/evalnll
    python3 scripts/samejson.py /tmp/evalnll-old /tmp/evalnll-new
"""
import json
import os
import subprocess
import sys
import tempfile


def cases(root):
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(('.', '_')))
        if 'case.json' in files:
            dirs[:] = []
            yield dirpath


def run(binary, d, case, extra, out):
    cmd = [binary, 'eval'] + list(case.get('args', [])) + extra + list(case.get('inputs', []))
    stdin = open(os.path.join(d, case['stdin']), 'rb') if case.get('stdin') else subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, cwd=d, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    data = None
    if out and os.path.exists(out):
        with open(out, 'rb') as f:
            data = f.read()
        os.remove(out)
    return p.returncode, p.stdout, p.stderr.replace(binary.encode(), b'BINARY'), data


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    old, new = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    root = sys.argv[3] if len(sys.argv) == 4 else 'testdata/golden'
    n = bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for d in cases(root):
            with open(os.path.join(d, 'case.json')) as f:
                case = json.load(f)
            n += 1
            differs = []
            for how, extra, out in (
                ('json', ['--json', os.path.join(tmp, 'out.json')], os.path.join(tmp, 'out.json')),
                ('md', ['-o', os.path.join(tmp, 'out.md')], os.path.join(tmp, 'out.md')),
                ('text', [], None),
            ):
                a = run(old, d, case, extra, out)
                b = run(new, d, case, extra, out)
                for what, x, y in zip(('exit status', 'stdout', 'stderr', 'output'), a, b):
                    if x != y:
                        differs.append(f'{how}: {what} differs: {x!r:.200} vs {y!r:.200}')
            if differs:
                bad += 1
                for line in differs:
                    print(f'{os.path.relpath(d, root)}: {line}')
    print(f'{n} cases, {bad} differ')
    sys.exit(1 if bad or n == 0 else 0)


if __name__ == '__main__':
    main()
