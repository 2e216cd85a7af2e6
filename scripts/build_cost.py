#!/usr/bin/env python3
"""Sums a scripts/time_command.sh log: CPU seconds per target and kind, and the top commands.

usage: build_cost.py LOG [TOP]   (TOP: how many single commands to list, default 25)
"""
import collections
import re
import sys


def target_of(path: str) -> str:
    match = re.search(r"CMakeFiles/([^/]+)\.dir/", path)
    if match:
        return match.group(1)
    return path.rsplit("/", 1)[-1]  # a link's output: the executable's name


def main() -> int:
    log, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
    per_target = collections.defaultdict(lambda: [0.0, 0.0, 0])  # compile s, link s, commands
    commands = []
    failed = False
    for line in open(log, encoding="utf-8"):
        if line.startswith("Command "):  # GNU time: "exited with non-zero status", "terminated by signal"
            failed = True
            continue
        if failed:  # the numbers of a failed or killed command are not part of a build
            failed = False
            continue
        fields = line.split(maxsplit=5)
        if len(fields) != 6 or not re.match(r"^[0-9.]+$", fields[0]):
            continue
        user, system, wall, rss_kib, kind, path = fields
        cpu = float(user) + float(system)
        entry = per_target[target_of(path.strip())]
        entry[0 if kind == "compile" else 1] += cpu
        entry[2] += 1
        commands.append((cpu, int(rss_kib) // 1024, kind, path.strip()))
    compile_total = sum(e[0] for e in per_target.values())
    link_total = sum(e[1] for e in per_target.values())
    print(f"total {compile_total + link_total:.0f} CPU-s: compile {compile_total:.0f}, "
          f"link {link_total:.0f}, {len(commands)} commands")
    print(f"{'target':40} {'compile':>8} {'link':>7} {'cmds':>5}")
    for name, (comp, link, count) in sorted(per_target.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        print(f"{name:40} {comp:8.1f} {link:7.1f} {count:5}")
    print(f"\ntop {top} commands (CPU-s, max RSS MiB):")
    for cpu, rss, kind, path in sorted(commands, reverse=True)[:top]:
        print(f"{cpu:7.1f} {rss:6} {kind:7} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
