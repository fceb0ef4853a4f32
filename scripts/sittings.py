#!/usr/bin/env python3
"""Turn a Tianchi-format log into one shaped like a ratings log converted to it at hour
resolution (MovieLens, for instance): each user's rows fall into 1-3 sittings, every row of a
sitting takes the hour of its first row, and the file's rows are shuffled. Rows of one hour keep
file order when lti sorts a history (SPEC 3.2), so a user's long/short split then cuts their
last sitting at a random place, as it does on such real logs.

usage: sittings.py IN.csv OUT.csv SEED
       sittings.py --report DATA.csv   # how many users' short part begins in the hour their
                                       # long part ends, and how many users share that hour
"""
import collections
import csv
import random
import sys


def read_histories(path):
    """The header, the index of the time column, and each user's rows sorted by time, stably
    ("YYYY-MM-DD HH" sorts as text; rows of one hour keep file order, as in lti)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], rows[1:]
    time, user = head.index("time"), head.index("user_id")
    by_user = collections.defaultdict(list)
    for r in rows:
        by_user[r[user]].append(r)
    for history in by_user.values():
        history.sort(key=lambda r: r[time])
    return head, time, list(by_user.values())


def report(path):
    """What the time features can tell apart on a data set (SPEC 3.3's 90/10 split)."""
    _, time, histories = read_histories(path)
    pairs = []
    for history in histories:
        times = [r[time] for r in history]
        cut = int(0.9 * len(times))
        if 0 < cut < len(times):
            pairs.append((times[cut - 1], times[cut]))
    starts = collections.Counter(short for _, short in pairs)
    same = [short for last, short in pairs if last == short]
    print(f"{len(pairs)} users: the short part begins in the long part's last hour for "
          f"{len(same) / len(pairs):.1%}; users whose short part begins in that hour: "
          f"{sum(starts[h] for h in same) / max(1, len(same)):.2f} on average")


def main(src, dst, seed):
    random.seed(seed)
    head, time, histories = read_histories(src)
    out = []
    for history in histories:
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
    if sys.argv[1] == "--report":
        report(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
