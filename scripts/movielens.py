#!/usr/bin/env python3
"""Convert a real ratings log, MovieLens, to the Tianchi format, at hour resolution, so that
lti can train and be scored on real data (the Tianchi set itself cannot be downloaded here).
Two layouts are read, both with Unix times:
  - RecBole's atomic files (ml-100k.inter, ml-100k.item), as its PyPI wheel bundles MovieLens
    100K (recbole/dataset_example/ml-100k: 943 users, 1,682 films, 100,000 ratings);
  - GroupLens's CSV files (ratings.csv, movies.csv), as LensKit's PyPI source archive bundles
    the 2016 ml-latest-small (data/ml-latest-small: 671 users, 9,125 films, 100,004 ratings
    in half stars).

Each rating becomes one row:
  user_id, item_id  the MovieLens ids
  behavior_type     1 (a ratings log has no behaviours; --behavior rating maps up to 2 stars
                    to 1, up to 3 to 2, up to 4 to 3 and 5 to 4 instead; half stars round up)
  user_geohash      empty
  item_category     the film's combination of genres (216 distinct in 100K, 902 in
                    ml-latest-small), numbered from 1
  time              the rating's UTC hour, "YYYY-MM-DD HH"
--user_offset N adds N to every user id: the same log with other users in the validation
and test roles (lti picks a user's role by a hash of the id), for more than one draw of test
users from one real log.
--users N keeps N of the log's users, drawn at random with --user_seed S (all their ratings):
a small real ratings log, of the size the smallest logs lti is meant for.
A user's rows are written in time order, so that rows of one hour keep their order in seconds
when lti sorts the history (SPEC 3.2).

usage: movielens.py MOVIELENS-DIR OUT.csv [--behavior none|rating] [--user_offset N]
                     [--users N --user_seed S]
"""
import argparse
import csv
import datetime
import math
import os
import random
import sys

STARS_TO_BEHAVIOR = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4}  # --behavior rating, stars rounded up


def numbered(combination_of):
    """film id -> category number: one per distinct combination of genres, numbered from 1."""
    numbers = {c: i + 1 for i, c in enumerate(sorted(set(combination_of.values())))}
    return {film: numbers[c] for film, c in combination_of.items()}


def read_recbole(folder):
    """(films' categories, ratings as (user, unix time, film, stars, file:line)) of ml-100k."""
    combination_of = {}
    with open(os.path.join(folder, "ml-100k.item"), encoding="latin-1") as f:
        head = f.readline().rstrip("\n").split("\t")
        film, genres = head.index("item_id:token"), head.index("class:token_seq")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            combination_of[fields[film]] = " ".join(sorted(fields[genres].split()))
    ratings = []
    path = os.path.join(folder, "ml-100k.inter")
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        user, film = head.index("user_id:token"), head.index("item_id:token")
        rating, stamp = head.index("rating:float"), head.index("timestamp:float")
        for number, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            ratings.append((int(fields[user]), int(float(fields[stamp])), fields[film],
                            float(fields[rating]), f"{path}:{number}"))
    return numbered(combination_of), ratings


def read_grouplens(folder):
    """The same from GroupLens's ratings.csv and movies.csv (genres separated by '|')."""
    with open(os.path.join(folder, "movies.csv"), newline="", encoding="utf-8") as f:
        combination_of = {r["movieId"]: " ".join(sorted(r["genres"].split("|")))
                          for r in csv.DictReader(f)}
    path = os.path.join(folder, "ratings.csv")
    with open(path, newline="") as f:
        ratings = [(int(r["userId"]), int(r["timestamp"]), r["movieId"], float(r["rating"]),
                    f"{path}:{number}") for number, r in enumerate(csv.DictReader(f), start=2)]
    return numbered(combination_of), ratings


def options(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", metavar="MOVIELENS-DIR")
    parser.add_argument("out", metavar="OUT.csv")
    parser.add_argument("--behavior", choices=("none", "rating"), default="none")
    parser.add_argument("--user_offset", type=int, default=0)
    parser.add_argument("--users", type=int, default=0, help="keep this many users (0: all)")
    parser.add_argument("--user_seed", type=int, default=0)
    return parser.parse_args(argv[1:])


def main(argv):
    args = options(argv)
    folder, out, user_offset = args.folder, args.out, args.user_offset
    if os.path.exists(os.path.join(folder, "ml-100k.inter")):
        category, ratings = read_recbole(folder)
    elif os.path.exists(os.path.join(folder, "ratings.csv")):
        category, ratings = read_grouplens(folder)
    else:
        sys.exit(f"{folder}: neither ml-100k.inter (RecBole) nor ratings.csv (GroupLens)")
    if args.users > 0:
        everyone = sorted({r[0] for r in ratings})
        if args.users > len(everyone):
            sys.exit(f"--users {args.users}: the log has {len(everyone)} users")
        kept = set(random.Random(args.user_seed).sample(everyone, args.users))
        ratings = [r for r in ratings if r[0] in kept]
    rows = []
    for user, stamp, film, stars, where in ratings:
        if film not in category:
            sys.exit(f"{where}: film {film} has no genres")
        rows.append((user + user_offset, stamp, film, stars))
    rows.sort(key=lambda r: (r[0], r[1]))
    behavior = (lambda stars: STARS_TO_BEHAVIOR[max(1, math.ceil(stars))]) if (
        args.behavior == "rating") else (lambda stars: 1)
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
