#!/usr/bin/env python3
"""Convert a real ratings log, MovieLens 100K, to the Tianchi format, at hour resolution, so
that lti can train and be scored on real data (the Tianchi set itself cannot be downloaded
here). The copy read is the one RecBole bundles in its PyPI wheel
(recbole/dataset_example/ml-100k: 943 users, 1,682 films, 100,000 ratings with Unix times).

Each rating becomes one row:
  user_id, item_id  the MovieLens ids
  behavior_type     1 (a ratings log has no behaviours; --behavior rating maps 1-2 stars to 1,
                    3 to 2, 4 to 3 and 5 to 4 instead)
  user_geohash      empty
  item_category     the film's combination of genres (216 distinct), numbered from 1
  time              the rating's UTC hour, "YYYY-MM-DD HH"
--user_offset N adds N to every user id: the same log with other users in the validation
and test roles (lti picks a user's role by a hash of the id), for more than one draw of test
users from one real log.
A user's rows are written in time order, so that rows of one hour keep their order in seconds
when lti sorts the history (SPEC 3.2).

usage: movielens.py ML-100K-DIR OUT.csv [--behavior none|rating] [--user_offset N]
"""
import argparse
import csv
import datetime
import os
import sys

STARS_TO_BEHAVIOR = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4}  # --behavior rating


def genre_combinations(path):
    """film id -> category number: one per distinct combination of genres."""
    combination_of = {}
    with open(path, encoding="latin-1") as f:
        head = f.readline().rstrip("\n").split("\t")
        film, genres = head.index("item_id:token"), head.index("class:token_seq")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            combination_of[fields[film]] = " ".join(sorted(fields[genres].split()))
    numbers = {c: i + 1 for i, c in enumerate(sorted(set(combination_of.values())))}
    return {film: numbers[c] for film, c in combination_of.items()}


def options(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", metavar="ML-100K-DIR")
    parser.add_argument("out", metavar="OUT.csv")
    parser.add_argument("--behavior", choices=("none", "rating"), default="none")
    parser.add_argument("--user_offset", type=int, default=0)
    return parser.parse_args(argv[1:])


def main(argv):
    args = options(argv)
    folder, out, user_offset = args.folder, args.out, args.user_offset
    category = genre_combinations(os.path.join(folder, "ml-100k.item"))
    rows = []
    with open(os.path.join(folder, "ml-100k.inter")) as f:
        head = f.readline().rstrip("\n").split("\t")
        user, film = head.index("user_id:token"), head.index("item_id:token")
        rating, stamp = head.index("rating:float"), head.index("timestamp:float")
        for number, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            if fields[film] not in category:
                sys.exit(f"{folder}/ml-100k.inter:{number}: film {fields[film]} has no genres")
            rows.append((int(fields[user]) + user_offset, int(float(fields[stamp])), fields[film],
                         int(float(fields[rating]))))
    rows.sort(key=lambda r: (r[0], r[1]))
    behavior = (lambda stars: STARS_TO_BEHAVIOR[stars]) if args.behavior == "rating" else (
        lambda stars: 1)
    hour = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H")
    with open(out + ".tmp", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "item_id", "behavior_type", "user_geohash", "item_category",
                    "time"])
        for u, t, film, stars in rows:
            w.writerow([u, film, behavior(stars), "", category[film], hour(t)])
    os.replace(out + ".tmp", out)
    print(f"{out}: {len(rows)} ratings, {len({r[0] for r in rows})} users, "
          f"{len(category)} films, {len(set(category.values()))} genre combinations")


if __name__ == "__main__":
    main(sys.argv)
