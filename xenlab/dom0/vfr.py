"""The virtual firewall-router (paper §3.3.5): domain 0's rules for every packet.

"Each domain has one or more VIFs attached to a virtual firewall-router (VFR).  A VIF looks
somewhat like a modern network interface card ... The VFR has rules of the form (pattern,
action): if the pattern matches, the action is applied.  Domain 0 is responsible for
inserting and removing rules.  In typical cases, rules will be installed to prevent IP
source address spoofing, and to ensure correct demultiplexing based on destination IP
address and port."

Here the VFR is one ordered list of :class:`Rule` s, read top to bottom for every packet,
whichever VIF (or host bridge) it came in on:

* a **pattern** tests header fields (``packet.Headers``): the ingress interface, source and
  destination MAC, source and destination IPv4 address with a prefix length, protocol, and
  UDP/TCP ports.  A field left out matches anything; a value written ``!value`` matches
  everything else — including a packet that has no such field at all (a non-IPv4 frame has
  no source address, so it is "not from 10.0.0.1").
* an **action**: ``drop`` (stop; the packet is gone), ``accept`` (stop filtering: only the
  delivery rules are read from here on), ``log`` (count, note it in ``xen.log``, go on),
  ``deliver:<interface>`` (stop; hand the packet to that VIF or bridge — the demultiplexing
  step, and a redirect when a user writes it).  A packet no rule delivers is dropped for
  having no route.

Domain 0 installs the paper's two kinds of default rules itself, per VIF
(:meth:`VFR.install_vif`): **anti-spoofing** at the top — drop what a VIF sends with a source
MAC or IP that is not its own — and **demultiplexing** at the bottom — deliver by
destination MAC, then by destination IP, to the VIF that owns it.  A host bridge gets a
delivery rule for its address.  Rules the user adds (``vfr add``) go between the two, so a
firewall rule sees only packets that passed anti-spoofing, and sees them before delivery.
Every rule counts the packets and bytes it matched.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from xenlab.dom0.packet import PROTOCOLS, Headers, ip_str, ip_to_int, mac_str, mac_to_int

_PROTOCOL_NAMES = {number: name for name, number in PROTOCOLS.items()}


class Action(enum.Enum):
    DROP = "drop"
    ACCEPT = "accept"
    LOG = "log"
    DELIVER = "deliver"


class Origin(enum.Enum):
    """Who installed a rule, which decides where it goes in the list."""

    ANTI_SPOOFING = "anti-spoofing"
    FIREWALL = "firewall"  # the user's (vfr add)
    DEMUX = "demux"


class VfrError(ValueError):
    """A rule that cannot be parsed or placed; the message says why."""


@dataclass(frozen=True)
class Pattern:
    """What a rule tests.  None: any value.  ``ip_*`` are (address, prefix length).
    ``negated`` names the fields whose test is inverted (``!value``)."""

    vif: str | None = None
    mac_src: int | None = None
    mac_dst: int | None = None
    ip_src: tuple[int, int] | None = None
    ip_dst: tuple[int, int] | None = None
    protocol: int | None = None
    port_src: int | None = None
    port_dst: int | None = None
    negated: frozenset[str] = frozenset()

    def matches(self, headers: Headers, ingress: str) -> bool:
        for name, want in self._tests():
            have = ingress if name == "vif" else getattr(headers, name)
            if isinstance(want, tuple):
                address, prefix = want
                mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
                hit = have is not None and (have & mask) == (address & mask)
            else:
                hit = have is not None and have == want
            if hit == (name in self.negated):
                return False
        return True

    def _tests(self) -> list[tuple[str, object]]:
        return [
            (f.name, getattr(self, f.name))
            for f in fields(self)
            if f.name != "negated" and getattr(self, f.name) is not None
        ]

    def __str__(self) -> str:
        parts = []
        for name, value in self._tests():
            if name in ("mac_src", "mac_dst"):
                text = mac_str(value)  # type: ignore[arg-type]
            elif name in ("ip_src", "ip_dst"):
                address, prefix = value  # type: ignore[misc]
                text = ip_str(address) + ("" if prefix == 32 else f"/{prefix}")
            elif name == "protocol":
                text = _PROTOCOL_NAMES.get(value, str(value))  # type: ignore[arg-type]
            else:
                text = str(value)
            bang = "!" if name in self.negated else ""
            parts.append(f"{_KEY_OF[name]}={bang}{text}")
        return " ".join(parts) or "(any)"


@dataclass(eq=False)
class Rule:
    """One (pattern, action) pair and its counters."""

    pattern: Pattern
    action: Action
    target: str | None = None  # the interface of a DELIVER
    origin: Origin = Origin.FIREWALL
    packets: int = 0
    bytes: int = 0

    def __str__(self) -> str:
        action = f"deliver:{self.target}" if self.action is Action.DELIVER else self.action.value
        return f"{action} {self.pattern}"


@dataclass(frozen=True)
class Verdict:
    """What the VFR decided for one packet: ``target`` is set when it is delivered;
    ``rule`` is the rule that decided (None: no route)."""

    target: str | None
    rule: Rule | None
    logged: tuple[Rule, ...] = ()

    @property
    def dropped(self) -> bool:
        return self.target is None


@dataclass
class VFR:
    """The ordered rule list, and what it did (``no_route``: packets no rule delivered)."""

    rules: list[Rule] = field(default_factory=list)
    no_route: int = 0
    log: Callable[[str], None] | None = None  # where ``log`` rules write (domain 0's log)

    # ------------------------------------------------------------------ classification
    def classify(self, headers: Headers, ingress: str) -> Verdict:
        """Run one packet (its headers, and the interface it came in on) down the list."""
        accepted = False
        logged: list[Rule] = []
        for rule in self.rules:
            if accepted and rule.action is not Action.DELIVER:
                continue  # accepted: only delivery rules are read from here on
            if not rule.pattern.matches(headers, ingress):
                continue
            rule.packets += 1
            rule.bytes += headers.length
            if rule.action is Action.LOG:
                logged.append(rule)
                if self.log is not None:
                    self.log(f"(dom0) vfr: {ingress}: {headers} matched '{rule}'")
            elif rule.action is Action.ACCEPT:
                accepted = True
            elif rule.action is Action.DROP:
                return Verdict(None, rule, tuple(logged))
            else:
                return Verdict(rule.target, rule, tuple(logged))
        self.no_route += 1
        return Verdict(None, None, tuple(logged))

    # ------------------------------------------------------------------ domain 0's rules
    def install_vif(self, name: str, mac: int, ip: int) -> None:
        """A new VIF's default rules: it may send only from its own MAC and IP address
        (anti-spoofing), and packets for its MAC or IP are delivered to it (demux)."""
        spoof = Origin.ANTI_SPOOFING
        self._insert(
            Rule(Pattern(vif=name, mac_src=mac, negated=frozenset({"mac_src"})), Action.DROP,
                 origin=spoof),
            self._end_of(spoof),
        )  # fmt: skip
        self._insert(
            Rule(Pattern(vif=name, ip_src=(ip, 32), negated=frozenset({"ip_src"})), Action.DROP,
                 origin=spoof),
            self._end_of(spoof),
        )  # fmt: skip
        self.install_route(name, ip, mac=mac)

    def install_route(self, name: str, ip: int, *, mac: int | None = None) -> None:
        """Deliver packets for ``ip`` (and, given, ``mac``) to interface ``name``."""
        if mac is not None:
            self.rules.append(Rule(Pattern(mac_dst=mac), Action.DELIVER, name, Origin.DEMUX))
        self.rules.append(Rule(Pattern(ip_dst=(ip, 32)), Action.DELIVER, name, Origin.DEMUX))

    def remove_interface(self, name: str) -> None:
        """Forget domain 0's rules for an interface that went away (the user's stay)."""
        self.rules = [
            r
            for r in self.rules
            if r.origin is Origin.FIREWALL or (r.pattern.vif != name and r.target != name)
        ]

    # ------------------------------------------------------------------ the user's rules
    def add(self, rule: Rule | str | Sequence[str], position: int | None = None) -> Rule:
        """Insert a rule (a Rule, or ``vfr add`` words) at ``position`` — by default after
        every firewall rule, so before the delivery rules."""
        if not isinstance(rule, Rule):
            words = rule.split() if isinstance(rule, str) else list(rule)
            rule, at = parse_rule(words)
            position = at if position is None else position
        if position is None:
            position = self._end_of(Origin.FIREWALL)
        if not 0 <= position <= len(self.rules):
            raise VfrError(f"position {position} is outside the list (0..{len(self.rules)})")
        self._insert(rule, position)
        return rule

    def delete(self, index: int) -> Rule:
        if not 0 <= index < len(self.rules):
            raise VfrError(f"no rule {index} (the list has {len(self.rules)})")
        return self.rules.pop(index)

    def listing(self) -> list[str]:
        """``vfr list``: one line per rule, in order, with its counters."""
        lines = [f"{'#':>3}  {'origin':<13} {'packets':>8} {'bytes':>10}  rule"]
        for i, rule in enumerate(self.rules):
            lines.append(
                f"{i:>3}  {rule.origin.value:<13} {rule.packets:>8} {rule.bytes:>10}  {rule}"
            )
        lines.append(f"     (no route: {self.no_route} packets dropped)")
        return lines

    def command(self, args: Sequence[str]) -> list[str]:
        """The ``vfr`` command: ``list``, ``add [at=N] action=... field=value...``,
        ``del N``.  Returns the lines to print; VfrError for a bad command."""
        if not args or args[0] == "list":
            return self.listing()
        verb, rest = args[0], list(args[1:])
        if verb == "add":
            rule = self.add(rest)
            return [f"added rule {self.rules.index(rule)}: {rule}"]
        if verb in ("del", "delete"):
            if len(rest) != 1 or not rest[0].isdigit():
                raise VfrError("usage: vfr del <rule number>")
            return [f"deleted rule {rest[0]}: {self.delete(int(rest[0]))}"]
        raise VfrError(f"unknown vfr command {verb!r} (list, add, del)")

    # ------------------------------------------------------------------ placement
    def _end_of(self, origin: Origin) -> int:
        """Where a rule of ``origin`` goes: after every rule of its section and those
        above it (anti-spoofing, then firewall, then demux)."""
        order = list(Origin)
        above = set(order[: order.index(origin) + 1])
        last = -1
        for i, rule in enumerate(self.rules):
            if rule.origin in above:
                last = i
        return last + 1

    def _insert(self, rule: Rule, position: int) -> None:
        self.rules.insert(position, rule)


# ---------------------------------------------------------------------- parsing
_KEY_OF = {
    "vif": "vif",
    "mac_src": "src-mac",
    "mac_dst": "dst-mac",
    "ip_src": "src-ip",
    "ip_dst": "dst-ip",
    "protocol": "proto",
    "port_src": "src-port",
    "port_dst": "dst-port",
}
_FIELD_OF = {key: name for name, key in _KEY_OF.items()}


def _value(name: str, text: str) -> object:
    if name == "vif":
        return text
    if name in ("mac_src", "mac_dst"):
        return mac_to_int(text)
    if name in ("ip_src", "ip_dst"):
        address, _, prefix = text.partition("/")
        bits = int(prefix) if prefix.isdigit() else 32 if not prefix else -1
        if not 0 <= bits <= 32:
            raise ValueError(f"{text!r}: a prefix length is 0..32")
        return (ip_to_int(address), bits)
    if name == "protocol":
        number = PROTOCOLS.get(text.lower(), int(text) if text.isdigit() else -1)
        if not 0 <= number < 256:
            raise ValueError(f"{text!r} is not a protocol (udp, tcp, icmp or 0..255)")
        return number
    if not text.isdigit() or int(text) > 0xFFFF:
        raise ValueError(f"{text!r} is not a port (0..65535)")
    return int(text)


def parse_rule(words: Sequence[str]) -> tuple[Rule, int | None]:
    """``action=drop vif=vif1.0 dst-port=5001 ...`` -> (a firewall rule, its ``at=``)."""
    values: dict[str, object] = {}
    negated: set[str] = set()
    action: Action | None = None
    target = None
    at = None
    for word in words:
        key, sep, text = word.partition("=")
        if not sep or not text:
            raise VfrError(f"{word!r}: rules are written key=value")
        if key == "action":
            kind, _, target = text.partition(":")
            try:
                action = Action(kind)
            except ValueError:
                raise VfrError(f"unknown action {kind!r} (drop, accept, log, deliver:IF)") from None
            if (action is Action.DELIVER) != bool(target):
                raise VfrError("deliver takes an interface (deliver:vif1.0); nothing else does")
            continue
        if key == "at":
            if not text.isdigit():
                raise VfrError(f"at={text!r}: a rule number")
            at = int(text)
            continue
        if key not in _FIELD_OF:
            raise VfrError(f"unknown field {key!r} ({', '.join(_FIELD_OF)})")
        name = _FIELD_OF[key]
        if text.startswith("!"):
            negated.add(name)
            text = text[1:]
        try:
            values[name] = _value(name, text)
        except ValueError as exc:
            raise VfrError(str(exc)) from None
    if action is None:
        raise VfrError("a rule needs an action= (drop, accept, log, deliver:IF)")
    pattern = Pattern(**values, negated=frozenset(negated))  # type: ignore[arg-type]
    return Rule(pattern, action, target or None), at
