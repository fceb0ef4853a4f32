"""Reads user vectors back from a Redis Cluster with redis-py's RedisCluster (the reading side
an online service would use) and compares them with the expected ones, float32 for float32.

    read_cluster.py HOST PORT EXPECTED_FILE      (password in REDISCLI_AUTH, if any)

EXPECTED_FILE: one "key<TAB>json array" line per user. Prints "ok N" or the first mismatch and
exits 1.
"""
import json
import os
import struct
import sys

from redis.cluster import ClusterNode, RedisCluster


def main():
    host, port, expected_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cluster = RedisCluster(startup_nodes=[ClusterNode(host, port)],
                           password=os.environ.get("REDISCLI_AUTH") or None,
                           decode_responses=True)
    expected = []
    with open(expected_file) as f:
        for line in f:
            key, values = line.rstrip("\n").split("\t")
            expected.append((key, json.loads(values)))
    for begin in range(0, len(expected), 2000):
        chunk = expected[begin:begin + 2000]
        got = cluster.mget_nonatomic([key for key, _ in chunk])
        for (key, want), text in zip(chunk, got):
            if text is None:
                print(f"missing key {key}")
                return 1
            have = json.loads(text)
            if struct.pack(f"<{len(have)}f", *have) != struct.pack(f"<{len(want)}f", *want):
                print(f"key {key}: {text[:80]} differs from {json.dumps(want)[:80]}")
                return 1
    print(f"ok {len(expected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
