# SPDX-License-Identifier: MIT
"""Fails when a tracked source file lacks the SPDX line as its first comment.

Usage: check_spdx.py SOURCE_DIR

The line is `SPDX-License-Identifier: MIT` in the file's own comment syntax, on the
first line (the second after a shebang). Data and prose (Markdown, fuzz corpora, expected JSON,
dotfiles) are exempt; a file of any other kind fails until it is listed below, so
that a new language gets a decision rather than a silent pass.
Exits 77 (skipped) when SOURCE_DIR is not a git checkout.
"""
import fnmatch
import os
import subprocess
import sys

TAG = 'SPDX-License-Identifier: MIT'
KINDS = [  # (patterns, the line)
    (['*.c', '*.h', '*.i', '*.map'], '/* %s */' % TAG),
    (['*.cpp', '*.hpp', '*.java', '*.go', 'go.mod'], '// %s' % TAG),
    (['CMakeLists.txt', '*.cmake', '*.cmake.in', '*.sh', '*.py', '*.rb', '*.pc.in', 'Doxyfile*'],
     '# %s' % TAG),
]
SCRIPT = '# %s' % TAG  # an extension-less file with a shebang (.ci/run)
EXEMPT = ['*.md', 'LICENSE', '.gitignore', '.clang-format', 'fuzz/corpus/*',
          'bench/sim/golden/*.json']  # expected output, data


def matches(path, patterns):
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(os.path.basename(path), p)
               for p in patterns)


def problem(root, path):
    """None if path is fine, else what is wrong with it."""
    if matches(path, EXEMPT):
        return None
    with open(os.path.join(root, path), 'rb') as f:
        head = f.read(4096).decode('utf-8', 'replace').splitlines()
    first = head[0] if head else ''
    want = next((line for pats, line in KINDS if matches(path, pats)), None)
    if want is None and first.startswith('#!'):
        want = SCRIPT
    if want is None:
        return 'unknown kind of file: list it in tests/license/check_spdx.py'
    at = 1 if first.startswith('#!') else 0
    if len(head) <= at or head[at] != want:
        return 'line %d is not %r' % (at + 1, want)
    return None


def main():
    root = sys.argv[1]
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files', '-z'], capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print('not a git checkout: skipped')
        return 77
    files = [p for p in out.decode().split('\0') if p]
    bad = [(p, why) for p in files if os.path.isfile(os.path.join(root, p))
           for why in [problem(root, p)] if why]
    for p, why in bad:
        print('%s: %s' % (p, why))
    print('%d tracked files, %d without the SPDX line' % (len(files), len(bad)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
