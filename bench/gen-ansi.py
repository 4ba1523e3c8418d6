#!/usr/bin/python3
"""bench/gen-ansi.py: deterministic mixed-ANSI text for the flood benchmark.

Writes about SIZE bytes (default 50 MiB) of CRLF-terminated lines of varied
length (0 to ~160 columns, so some wrap at 120) mixing plain words, 16-colour,
256-colour and truecolour SGR, bold/underline/reset, UTF-8 (accents, box
drawing) and wide CJK text.  The output depends only on --seed and --size.
It never contains '@', so the benchmark's end marker cannot appear in it, and
it ends with an SGR reset.

    bench/gen-ansi.py [--seed N] [--size BYTES] [-o FILE]
"""
import argparse
import random
import sys

WORDS = [
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
    "error:", "warning:", "src/main.c:42:", "0x7ffd1234", "café", "naïve",
    "OK", "[done]", "compiling", "linking", "=>", "{", "}", "12345",
    "-rw-r--r--", "root", "/usr/lib/x86_64-linux-gnu", "GET", "200",
    "Ünïcödé", "ß", "€", "→", "✓", "✗", "λ", "π", "Ω",
]
BOX = ["─" * 8, "│", "┌──┐", "└──┘", "═══", "▒▒▒", "█▌"]
CJK = ["中文", "日本語", "한국어", "漢字テスト", "東京都", "服务器", "终端复用器"]


def sgr(rnd):
    k = rnd.randrange(10)
    if k < 3:
        return "\x1b[%dm" % rnd.choice(
            list(range(30, 38)) + list(range(90, 98)))
    if k < 4:
        return "\x1b[%d;%dm" % (rnd.randrange(30, 38), rnd.randrange(40, 48))
    if k < 6:
        return "\x1b[%d;5;%dm" % (rnd.choice((38, 48)), rnd.randrange(256))
    if k < 8:
        return "\x1b[%d;2;%d;%d;%dm" % (rnd.choice((38, 48)),
                                        rnd.randrange(256), rnd.randrange(256),
                                        rnd.randrange(256))
    if k < 9:
        return rnd.choice(("\x1b[1m", "\x1b[4m", "\x1b[7m", "\x1b[3m"))
    return "\x1b[0m"


def line(rnd):
    width = rnd.choice((0, 8, 30, 60, 60, 80, 80, 100, 119, 120, 140, 160))
    width = max(0, width + rnd.randrange(-8, 9))
    out, col = [], 0
    while col < width:
        k = rnd.randrange(20)
        if k < 11:
            w = rnd.choice(WORDS)
            col += len(w)
        elif k < 15:
            out.append(sgr(rnd))
            continue
        elif k < 17:
            w = rnd.choice(CJK)
            col += 2 * len(w)
        elif k < 18:
            w = rnd.choice(BOX)
            col += len(w)
        else:
            w = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                        for _ in range(rnd.randrange(1, 12)))
            col += len(w)
        out.append(w)
        out.append(" ")
        col += 1
    if rnd.randrange(3) == 0:
        out.append("\x1b[0m")
    out.append("\r\n")
    return "".join(out)


def generate(seed, size, f):
    rnd = random.Random(seed)
    # Blocks of lines are built then reused with fresh colours so that a
    # 50 MiB file takes a few seconds, not a minute, while staying varied.
    total = 0
    while total < size:
        block = "".join(line(rnd) for _ in range(
            max(20, min(2000, size // 50000)))).encode()
        f.write(block)
        total += len(block)
        for _ in range(rnd.randrange(2, 5)):
            if total >= size:
                break
            # Re-emit the block shifted: rotate its lines by a random offset.
            cut = block.find(b"\r\n", rnd.randrange(len(block) - 1)) + 2
            if cut <= 1:
                cut = 0
            re = block[cut:] + block[:cut]
            f.write(re)
            total += len(re)
    f.write(b"\x1b[0m\r\n")
    return total + 6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", type=int, default=50 * 1024 * 1024)
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    if a.output == "-":
        n = generate(a.seed, a.size, sys.stdout.buffer)
    else:
        with open(a.output, "wb") as f:
            n = generate(a.seed, a.size, f)
    print("%d bytes" % n, file=sys.stderr)


if __name__ == "__main__":
    main()
