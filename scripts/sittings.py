#!/usr/bin/env python3
"""Turn a Tianchi-format log into one shaped like a ratings log converted to it at hour
resolution (MovieLens, for instance): each user's rows fall into 1-3 sittings, every row of a
sitting takes the hour of its first row, and the file's rows are shuffled. Rows of one hour keep
file order when lti sorts a history (SPEC 3.2), so a user's long/short split then cuts their
last sitting at a random place, as it does on such real logs.

usage: sittings.py IN.csv OUT.csv SEED
"""
import collections
import csv
import random
import sys


def main(src, dst, seed):
    random.seed(seed)
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], rows[1:]
    time, user = head.index("time"), head.index("user_id")
    by_user = collections.defaultdict(list)
    for r in rows:
        by_user[r[user]].append(r)
    out = []
    for history in by_user.values():
        history.sort(key=lambda r: r[time])  # "YYYY-MM-DD HH" sorts as text
        sittings, n = random.randint(1, 3), len(history)
        for s in range(sittings):
            part = history[s * n // sittings:(s + 1) * n // sittings]
            for r in part:
                r[time] = part[0][time]
            out += part
    random.shuffle(out)
    with open(dst, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(head)
        w.writerows(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
