"""Friendly generated learner names ("curious-heron"): an adjective and an animal."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "agile", "bold", "brave", "bright", "calm", "clever", "cosmic", "curious", "daring",
    "eager", "fancy", "fearless", "gentle", "glad", "golden", "happy", "jolly", "keen",
    "kind", "lively", "lucky", "merry", "mighty", "nimble", "noble", "patient", "plucky",
    "proud", "quick", "quiet", "rapid", "shiny", "silent", "sleepy", "smart", "snappy",
    "speedy", "steady", "sunny", "swift", "tidy", "vivid", "wise", "witty", "zesty",
)  # fmt: skip
ANIMALS = (
    "badger", "beaver", "bison", "crane", "dolphin", "eagle", "falcon", "ferret", "finch",
    "fox", "gecko", "gibbon", "heron", "ibis", "jaguar", "koala", "lemur", "lynx", "marten",
    "meerkat", "narwhal", "newt", "ocelot", "otter", "owl", "panda", "pelican", "penguin",
    "puffin", "quokka", "raven", "robin", "salmon", "seal", "sparrow", "stork", "swan",
    "tapir", "tiger", "toucan", "turtle", "walrus", "weasel", "wombat", "yak", "zebra",
)  # fmt: skip


def friendly_name() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}"
