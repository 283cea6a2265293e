"""The rebalance engine: which device holds each replica of each partition.

Goals, in order:

1. every replica of a partition on a different device, spread over regions,
   then zones, then hosts (ips) as widely as the layout allows;
2. each device holds partitions in proportion to its weight;
3. as few replica moves as possible, each partition moving at most one replica
   per rebalance and none within ``min_part_hours`` of its last move (data that
   is being moved must not be moved again before replication has caught up).

Removed devices and never-assigned slots are the exception to 3: their replicas
have to go somewhere now.

Where 1 and 2 disagree, the rule is per tier (a region, zone or host):

* a tier whose weight share is more than one replica of every partition (say one
  zone with half the weight and 3 replicas) is capped at what spread allows, and
  the rest of its weight goes to the other tiers (``desired_parts``);
* a tier lighter than its spread share (say a new zone added at a low weight so
  that data trickles in) gets only its weight's share, and the partitions it
  does not take keep more replicas in the other tiers.

So each tier should hold, of every partition, between floor and ceil of its
desired replicas; the placement walks down the tier tree (region -> zone ->
host -> device) taking the child that is below its floor, else has room under
its ceiling and still wants partitions, else holds the fewest replicas of this
partition.  Each tier's "want" (desired minus assigned, summed over its devices)
is kept up to date incrementally, so a placement costs a few dozen comparisons
and a 2^14 x 3 ring builds in a fraction of a second.
"""
from __future__ import annotations

import math
import random
from array import array
from typing import Optional

from objstore.ring.devices import NO_DEVICE, RingBuilderError

# Rounds of "move replicas off overweight devices"; each round only helps when
# the previous one left something to do.
MAX_BALANCE_ROUNDS = 4
MAX_BALANCE = 999.99


def _waterfill(amount: float, weights: dict, cap: float) -> dict:
    """Share ``amount`` by weight, no share above ``cap``; capped excess goes to the rest."""
    shares = {key: 0.0 for key in weights}
    active = {key: w for key, w in weights.items() if w > 0}
    while active and amount > 1e-9:
        total = sum(active.values())
        capped = [k for k, w in active.items() if amount * w / total > cap]
        if not capped:
            for key, weight in active.items():
                shares[key] = amount * weight / total
            break
        for key in capped:
            shares[key] = cap
            amount -= cap
            del active[key]
    return shares


def desired_parts(devs: dict[int, dict], parts: int, replicas: int) -> dict[int, float]:
    """Partitions each device should hold: its weight's share, within what dispersion allows.

    A region, zone or host can hold at most ceil(replicas / number of such tiers)
    replicas of one partition when replicas are spread as widely as possible, and a
    device at most one; shares are filled down the tier tree with those caps, so a
    zone heavier than its share of the replicas does not make every device look
    unbalanced.
    """
    tree: dict = {}
    for dev_id, dev in devs.items():
        if dev["weight"] > 0:
            tree.setdefault(dev["region"], {}).setdefault(dev["zone"], {}).setdefault(
                dev["ip"], {})[dev_id] = dev["weight"]
    zones = [z for r in tree.values() for z in r.values()]
    hosts = [h for z in zones for h in z.values()]
    sizes = [len(tree), len(zones), len(hosts)]
    caps = [parts * math.ceil(replicas / max(size, 1)) for size in sizes] + [parts]
    desired = {dev_id: 0.0 for dev_id in devs}

    def weight_of(node) -> float:
        return sum(weight_of(v) for v in node.values()) if isinstance(node, dict) else node

    def fill(node: dict, amount: float, level: int) -> None:
        shares = _waterfill(amount, {k: weight_of(v) for k, v in node.items()}, caps[level])
        for key, share in shares.items():
            if level == 3:
                desired[key] = share
            else:
                fill(node[key], share, level + 1)

    fill(tree, float(parts * replicas), 0)
    return desired


class Placement:
    """One rebalance pass over a replica -> part -> device table (changed in place)."""

    def __init__(self, devs: dict[int, dict], removed: set[int], table: list[array],
                 last_moved: array, now: int, min_part_hours: int,
                 seed: Optional[int]) -> None:
        self.devs = devs                  # live devices by id (removed ones excluded)
        self.table = table
        self.replicas = len(table)
        self.parts = len(table[0]) if table else 0
        self.last_moved = last_moved
        self.now = now
        self.min_part_seconds = min_part_hours * 3600
        self.rng = random.Random(seed)
        self.removed = removed
        self.original = [array("H", row) for row in table]
        self.locked = bytearray(self.parts)  # 1: a replica holding data moved this pass
        self.placeable = sorted(d for d, dev in devs.items() if dev["weight"] > 0)
        if len(self.placeable) < self.replicas:
            raise RingBuilderError(
                "%d replicas need at least %d devices with weight > 0, the ring has %d" % (
                    self.replicas, self.replicas, len(self.placeable)))
        self._build_tiers()

    # -- failure-domain tree ------------------------------------------------
    def _build_tiers(self) -> None:
        tier_index: dict[tuple, int] = {}

        def tier_id(key: tuple) -> int:
            if key not in tier_index:
                tier_index[key] = len(tier_index)
            return tier_index[key]

        self.dev_tiers: dict[int, tuple[int, int, int, int]] = {}
        for dev_id, dev in self.devs.items():
            region = ("r", dev["region"])
            zone = region + ("z", dev["zone"])
            host = zone + ("h", dev["ip"])
            self.dev_tiers[dev_id] = (tier_id(region), tier_id(zone), tier_id(host),
                                      tier_id(("d", dev_id)))
        count = len(tier_index)
        self.tier_dev: list[int] = [-1] * count      # device id of a device tier
        self.tier_level = [0] * count
        for path in self.dev_tiers.values():
            for level, tier in enumerate(path):
                self.tier_level[tier] = level
        self.children: list[list[int]] = [[] for _ in range(count)]
        self.tier_devs = [0] * count                  # placeable devices under a tier
        self.roots: list[int] = []
        for dev_id in self.placeable:
            path = self.dev_tiers[dev_id]
            self.tier_dev[path[3]] = dev_id
            for level, tier in enumerate(path):
                if self.tier_devs[tier] == 0:
                    siblings = self.roots if level == 0 else self.children[path[level - 1]]
                    siblings.append(tier)
                self.tier_devs[tier] += 1
        self.desired = desired_parts(self.devs, self.parts, self.replicas)
        self.assigned = {dev_id: 0 for dev_id in self.devs}
        for row in self.table:
            for dev_id in row:
                if dev_id in self.assigned:
                    self.assigned[dev_id] += 1
        self.wanted = [0.0] * count
        tier_desired = [0.0] * count
        for dev_id in self.devs:
            want = self.desired[dev_id] - self.assigned[dev_id]
            for tier in self.dev_tiers[dev_id]:
                self.wanted[tier] += want
                tier_desired[tier] += self.desired[dev_id]
        # Replicas of one partition a tier should hold: its desired share of all
        # replicas, per partition.  Each partition gets floor..ceil of that.
        parts = max(self.parts, 1)
        self.floor_replicas = [math.floor(d / parts + 1e-9) for d in tier_desired]
        self.ceil_replicas = [math.ceil(d / parts - 1e-9) for d in tier_desired]
        self.upper_tiers = [t for t in range(count) if self.tier_dev[t] < 0]
        self.required_tiers = [t for t in self.upper_tiers if self.floor_replicas[t] > 0]

    # -- bookkeeping ----------------------------------------------------------
    def _take(self, replica: int, part: int) -> int:
        """Empty one slot and return the device it held."""
        dev_id = self.table[replica][part]
        self.table[replica][part] = NO_DEVICE
        self.assigned[dev_id] -= 1
        for tier in self.dev_tiers[dev_id]:
            self.wanted[tier] += 1
        return dev_id

    def _put(self, replica: int, part: int, dev_id: int) -> None:
        self.table[replica][part] = dev_id
        self.assigned[dev_id] += 1
        for tier in self.dev_tiers[dev_id]:
            self.wanted[tier] -= 1
        old = self.original[replica][part]
        if old != NO_DEVICE and old != dev_id:
            self.locked[part] = 1
            self.last_moved[part] = self.now
        elif old == NO_DEVICE:
            self.last_moved[part] = self.now

    def _counts(self, part: int, skip: int = -1) -> tuple[dict[int, int], dict[int, int]]:
        """Replicas of ``part`` per tier: all of them, and those on placeable devices."""
        spread: dict[int, int] = {}
        held: dict[int, int] = {}
        for replica in range(self.replicas):
            if replica == skip:
                continue
            dev_id = self.table[replica][part]
            if dev_id == NO_DEVICE:
                continue
            placeable = self.devs[dev_id]["weight"] > 0
            for tier in self.dev_tiers[dev_id]:
                spread[tier] = spread.get(tier, 0) + 1
                if placeable:
                    held[tier] = held.get(tier, 0) + 1
        return spread, held

    def _choose(self, part: int, spread: dict[int, int], held: dict[int, int]) -> int:
        """Walk the tier tree to the best device for one more replica of ``part``."""
        wanted = self.wanted
        tier_devs = self.tier_devs
        floors = self.floor_replicas
        ceils = self.ceil_replicas
        options = self.roots
        rotate = self.rng.getrandbits(20)  # random tie-break: no pattern across parts
        for _level in range(4):
            best = -1
            best_key = (4, 0, 0.0)
            size = len(options)
            for i in range(size):
                tier = options[(i + rotate) % size]
                if held.get(tier, 0) >= tier_devs[tier]:
                    continue  # every device below already holds this partition
                count = spread.get(tier, 0)
                # 0: below its share, must take one; 1/2: room within its share
                # (1 while it still wants partitions); 3: already at its ceiling
                if count < floors[tier]:
                    rank = 0
                elif count < ceils[tier]:
                    rank = 1 if wanted[tier] > 0 else 2
                else:
                    rank = 3
                key = (rank, count, -wanted[tier])
                if key < best_key:
                    best, best_key = tier, key
            if best < 0:
                raise RingBuilderError("cannot place %d replicas on distinct devices"
                                       % self.replicas)
            options = self.children[best]
        return self.tier_dev[best]

    def _place(self, replica: int, part: int) -> int:
        spread, held = self._counts(part, skip=replica)
        dev_id = self._choose(part, spread, held)
        self._put(replica, part, dev_id)
        return dev_id

    def _may_move(self, replica: int, part: int) -> bool:
        if self.original[replica][part] == NO_DEVICE:
            return True  # placed during this pass: it holds no data yet
        if self.locked[part]:
            return False
        return self.now - self.last_moved[part] >= self.min_part_seconds

    # -- the phases -------------------------------------------------------------
    def run(self) -> int:
        """Rebalance; return the number of replica slots whose device changed."""
        self._drop_removed()
        self._fill_empty()
        if any(dev_id != NO_DEVICE for row in self.original for dev_id in row):
            self._improve_dispersion()
        for _round in range(MAX_BALANCE_ROUNDS):
            if not self._balance_round():
                break
        return sum(1 for old, new in zip(self.original, self.table)
                   for a, b in zip(old, new) if a != b)

    def _drop_removed(self) -> None:
        if not self.removed:
            return
        for replica, row in enumerate(self.table):
            for part, dev_id in enumerate(row):
                if dev_id in self.removed:
                    row[part] = NO_DEVICE
                    self.locked[part] = 1
                    self.last_moved[part] = self.now

    def _fill_empty(self) -> None:
        for part in range(self.parts):
            for replica in range(self.replicas):
                if self.table[replica][part] == NO_DEVICE:
                    self._place(replica, part)

    def _misplaced(self, part: int) -> tuple[int, ...]:
        """How far a partition's replicas stray from each tier's share, per level.

        Compared as a tuple, so a better spread over regions outweighs any change
        in zones, and zones outweigh hosts.
        """
        counts: dict[int, int] = {}
        for row in self.table:
            for tier in self.dev_tiers[row[part]][:3]:
                counts[tier] = counts.get(tier, 0) + 1
        score = [0, 0, 0]
        for tier, count in counts.items():
            ceiling = self.ceil_replicas[tier]
            if count > ceiling:
                score[self.tier_level[tier]] += count - ceiling
        for tier in self.required_tiers:
            short = self.floor_replicas[tier] - counts.get(tier, 0)
            if short > 0:
                score[self.tier_level[tier]] += short
        return tuple(score)

    def _improve_dispersion(self) -> None:
        """Move one replica of each partition whose tiers hold more (or fewer) than their share."""
        for part in range(self.parts):
            current = self._misplaced(part)
            if not any(current):
                continue
            level = next(i for i in range(3) if current[i])
            tiers = [self.dev_tiers[row[part]][level] for row in self.table]
            crowded = sorted(
                (r for r in range(self.replicas) if self._may_move(r, part)),
                key=lambda r: (self.ceil_replicas[tiers[r]] - tiers.count(tiers[r]),
                               self.wanted[self.dev_tiers[self.table[r][part]][3]]))
            for replica in crowded:
                was_locked, was_moved = self.locked[part], self.last_moved[part]
                old_dev = self._take(replica, part)
                self._place(replica, part)
                if self._misplaced(part) < current:
                    break
                self._take(replica, part)
                self._put(replica, part, old_dev)
                self.locked[part], self.last_moved[part] = was_locked, was_moved

    def _targets(self) -> list[tuple[int, tuple[int, int, int, int]]]:
        return [(d, self.dev_tiers[d]) for d in self.placeable
                if self.desired[d] - self.assigned[d] >= 1]

    def _can_improve(self, replica: int, part: int, dev_id: int,
                     targets: list[tuple[int, tuple[int, int, int, int]]]) -> bool:
        """Is there a device wanting parts that takes this replica with no loss of spread?"""
        spread, _held = self._counts(part, skip=replica)
        here = self.dev_tiers[dev_id]
        ceils = self.ceil_replicas
        for _target, path in targets:
            if spread.get(path[3]):
                continue
            if all(spread.get(path[lv], 0) < ceils[path[lv]]
                   or spread.get(path[lv], 0) <= spread.get(here[lv], 0) for lv in range(3)):
                return True
        return False

    def _balance_round(self) -> bool:
        """Take replicas off overweight devices and place them again; True if any moved.

        First every device above the ceiling of its share gives its excess.  If the
        devices wanting partitions still want more than that (the rounding slack of
        many devices adds up), devices above their exact share give one each.
        """
        targets = self._targets()
        heavy = {d: self.assigned[d] - self.desired[d] for d in self.devs}
        heavy = {d: excess for d, excess in heavy.items() if excess > 1e-9}
        if not targets or not heavy:
            return False
        need = sum(int(self.desired[d] - self.assigned[d]) for d, _path in targets)
        slots_by_dev: dict[int, list[int]] = {d: [] for d in heavy}
        for replica, row in enumerate(self.table):
            for part, dev_id in enumerate(row):
                if dev_id in slots_by_dev:
                    slots_by_dev[dev_id].append(part * self.replicas + replica)
        cursors = {}
        for dev_id, slots in sorted(slots_by_dev.items()):
            self.rng.shuffle(slots)
            cursors[dev_id] = 0
        over_ceiling = {d: math.floor(excess + 1e-9) for d, excess in heavy.items()}
        gathered: list[tuple[int, int, int]] = []
        self._gather(over_ceiling, slots_by_dev, cursors, targets, gathered, budget=None)
        if len(gathered) < need:
            above_share = {d: 1 for d in heavy if self.assigned[d] > self.desired[d] + 1e-9}
            self._gather(above_share, slots_by_dev, cursors, targets, gathered,
                         budget=need - len(gathered), patience=64)
        self.rng.shuffle(gathered)
        moved = False
        wanted = self.wanted
        for part, replica, old_dev in gathered:
            spread, held = self._counts(part, skip=replica)
            new_dev = self._choose(part, spread, held)
            # Only a move that brings the two devices closer to their shares is
            # worth its data transfer; this also makes repeated rebalances settle.
            if new_dev != old_dev and (wanted[self.dev_tiers[new_dev][3]]
                                       > wanted[self.dev_tiers[old_dev][3]]):
                self._put(replica, part, new_dev)
                moved = True
            else:
                self._put(replica, part, old_dev)
                if self.original[replica][part] == old_dev:
                    self.locked[part] = 0
        return moved

    def _gather(self, quota: dict[int, int], slots_by_dev: dict[int, list[int]],
                cursors: dict[int, int], targets: list, gathered: list,
                budget: Optional[int], patience: Optional[int] = None) -> None:
        """Empty up to ``quota[dev]`` movable slots per device, one device at a time in turn,
        so no device's turn comes after the others have locked every partition it could give.

        With ``patience``, a device whose next that many slots cannot go anywhere
        useful stops giving: only a nicety is at stake, not worth scanning it all.
        """
        active = [d for d in sorted(quota) if quota[d] > 0]
        while active and (budget is None or budget > 0):
            still_active = []
            for dev_id in active:
                if budget is not None and budget <= 0:
                    break
                slots = slots_by_dev[dev_id]
                index = cursors[dev_id]
                give_up = len(slots) if patience is None else min(len(slots), index + patience)
                while index < give_up:
                    part, replica = divmod(slots[index], self.replicas)
                    index += 1
                    if self.table[replica][part] == dev_id and self._may_move(
                            replica, part) and self._can_improve(replica, part, dev_id,
                                                                 targets):
                        self._take(replica, part)
                        if self.original[replica][part] != NO_DEVICE:
                            self.locked[part] = 1
                        gathered.append((part, replica, dev_id))
                        quota[dev_id] -= 1
                        if budget is not None:
                            budget -= 1
                        break
                cursors[dev_id] = index
                if index < give_up and quota[dev_id] > 0:
                    still_active.append(dev_id)
            active = still_active

    def balance(self) -> float:
        """Worst percentage by which a device's partition count misses its weight's share."""
        return compute_balance(self.devs, self.assigned, self.desired)


def compute_balance(devs: dict[int, dict], assigned: dict[int, int],
                    desired: dict[int, float]) -> float:
    worst = 0.0
    for dev_id in devs:
        want = desired.get(dev_id, 0.0)
        have = assigned.get(dev_id, 0)
        if want <= 0:
            if have:
                return MAX_BALANCE
            continue
        worst = max(worst, abs(have - want) * 100.0 / want)
    return min(worst, MAX_BALANCE)
