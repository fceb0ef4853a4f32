#!/usr/bin/env python3
"""Turn a Tianchi-format log into one shaped like a ratings log converted to it at hour
resolution (MovieLens, for instance): each user's rows fall into sittings (thirds: 1-3 of one
hour each; visits: 1-30 of 1-3 hours, below), every row of a sitting takes the hour of its
first row or the hours after it, and the file's rows are shuffled. Rows of one hour keep
file order when lti sorts a history (SPEC 3.2), so a user's long/short split then cuts their
last sitting at a random place, as it does on such real logs.

usage: sittings.py IN.csv OUT.csv SEED [thirds|visits]
       sittings.py --report DATA.csv   # how many users' short part begins in the hour their
                                       # long part ends, and how many users share that hour
"""
import collections
import csv
import datetime
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


def hour_after(text, hours):
    """"YYYY-MM-DD HH" plus some hours."""
    t = datetime.datetime.strptime(text, "%Y-%m-%d %H") + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%d %H")


def thirds(history):
    """Each user's rows in 1-3 sittings of equal size, each in one hour (regimes a6, a7)."""
    sittings, n = random.randint(1, 3), len(history)
    for s in range(sittings):
        part = history[s * n // sittings:(s + 1) * n // sittings]
        yield part, [0] * len(part)


def visits(history):
    """Visits as a ratings or browsing log has them at hour resolution (regimes a8, a9): 40% of
    users rate everything in one visit, the others in 2-30 (2 + a geometric number) of random
    sizes. A visit lasts 1-3 consecutive hours, and a third of them have a pause of 2-3 hours
    in the middle (a meal), which a --min_gap_hours of 2 or 3 takes for a new visit."""
    n = len(history)
    k = 1 if random.random() < 0.4 else min(30, 2 + int(random.expovariate(0.25)))
    k = min(k, n)
    weights = [random.expovariate(1.0) for _ in range(k)]
    sizes = [1] * k
    for _ in range(n - k):  # the rest of the rows in proportion to the weights
        sizes[random.choices(range(k), weights)[0]] += 1
    begin = 0
    for size in sizes:
        part = history[begin:begin + size]
        begin += size
        span = random.randint(1, 3)
        offsets = [j * span // size for j in range(size)]
        if size >= 4 and random.random() < 1 / 3:
            pause = random.randint(2, 3)
            offsets = [o + (pause if j >= size // 2 else 0) for j, o in enumerate(offsets)]
        yield part, offsets


def main(src, dst, seed, shape="thirds"):
    random.seed(seed)
    head, time, histories = read_histories(src)
    out = []
    for history in histories:
        for part, offsets in (visits if shape == "visits" else thirds)(history):
            start = part[0][time]
            for r, offset in zip(part, offsets):
                r[time] = hour_after(start, offset) if offset else start
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
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
