"""The rules that keep a replica's read cache from outliving the truth (read_cache.py)."""

from __future__ import annotations

import time

from cway_remote.read_cache import ReadCache


def live_cache(**kwargs: float) -> ReadCache[object]:
    cache: ReadCache[object] = ReadCache(**kwargs)  # type: ignore[arg-type]
    cache.live = True
    return cache


def test_nothing_is_kept_or_served_while_the_listener_is_down() -> None:
    cache: ReadCache[object] = ReadCache()
    cache.put("t:a", "row", cache.generation)
    assert cache.get("t:a") is None and len(cache) == 0
    cache.live = True
    cache.put("t:a", "row", cache.generation)
    assert cache.get("t:a") == "row"
    cache.live = False
    assert cache.get("t:a") is None


def test_a_read_that_raced_a_change_is_not_kept() -> None:
    cache = live_cache()
    generation = cache.generation  # a read starts...
    cache.invalidate("t:other")  # ...a notification arrives meanwhile (for any key)...
    cache.put("t:a", "maybe stale", generation)  # ...so its answer is not trusted
    assert cache.get("t:a") is None


def test_an_invalidated_entry_is_gone_and_others_stay() -> None:
    cache = live_cache()
    cache.put("t:a", 1, cache.generation)
    cache.put("a:b", 2, cache.generation)
    cache.invalidate("t:a")
    assert cache.get("t:a") is None and cache.get("a:b") == 2


def test_entries_age_out_and_the_oldest_go_first_when_full() -> None:
    cache = live_cache(max_entries=2, max_age=0.05)
    for key in ("k1", "k2", "k3"):
        cache.put(key, key, cache.generation)
    assert cache.get("k1") is None and cache.get("k3") == "k3"
    time.sleep(0.06)
    assert cache.get("k3") is None
