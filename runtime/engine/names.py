"""Random container names in docker's ``adjective_surname`` style."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "agile", "amber", "ardent", "bold", "brave", "bright", "busy", "calm", "careful", "clever", "cosmic",
    "crisp", "curious", "daring", "eager", "early", "exact", "fair", "fluent", "focused", "frank", "gentle",
    "glad", "golden", "happy", "hardy", "honest", "humble", "jolly", "keen", "kind", "lively", "lucid",
    "merry", "modest", "nimble", "noble", "patient", "plucky", "polite", "proud", "quick", "quiet", "rapid",
    "ready", "serene", "sharp", "silent", "smooth", "snappy", "spry", "steady", "stoic", "sunny", "swift",
    "tidy", "tranquil", "trusty", "upbeat", "vivid", "warm", "wise", "witty", "zealous",
)
# People whose work containers stand on: Unix, Linux, file systems, scheduling, networking.
SURNAMES = (
    "allen", "backus", "baran", "bell", "biederman", "bonwick", "cerf", "corbato", "cox", "dijkstra",
    "emelyanov", "engelbart", "hamilton", "hopper", "kahn", "kay", "kernighan", "knuth", "lamport",
    "liskov", "lovelace", "mccarthy", "mcilroy", "menage", "metcalfe", "molnar", "morris", "neumann",
    "ossanna", "perlman", "pike", "pollack", "ritchie", "saltzer", "shannon", "sparck", "stallman",
    "tanenbaum", "thompson", "torvalds", "turing", "vixie", "wirth", "wozniak", "yalow", "zuse",
)


def generate() -> str:
    return f"{secrets.choice(ADJECTIVES)}_{secrets.choice(SURNAMES)}"
