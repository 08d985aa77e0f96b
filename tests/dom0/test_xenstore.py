"""xenstored: the wire protocol, permissions, watches, transactions, quotas and the domain
lifecycle, as docs/misc/xenstore.txt and io/xs_wire.h specify them."""

from __future__ import annotations

import random
import struct

import pytest

from xenlab.abi import xenstore as xs
from xenlab.dom0.xenstore import (
    Connection,
    Quota,
    Xenstore,
    XenstoreError,
    decode_messages,
    encode_message,
)

Message = tuple[int, int, int, bytes]


def exchange(conn: Connection, type_: int, payload: bytes = b"", *, tx: int = 0) -> list[Message]:
    """Send one request (req_id 42) and return everything the daemon sent back."""
    conn.handle(encode_message(type_, payload, req_id=42, tx_id=tx))
    return decode_messages(conn.pending_output())


def ask(conn: Connection, type_: int, payload: bytes = b"", *, tx: int = 0) -> bytes:
    """Send one request and return its reply's payload; an XS_ERROR reply raises."""
    (reply, *events) = exchange(conn, type_, payload, tx=tx)
    rtype, req_id, tx_id, body = reply
    assert (req_id, tx_id) == (42, tx)  # replies echo req_id and tx_id
    if rtype == xs.XS_ERROR:
        raise XenstoreError(body.rstrip(b"\0").decode())
    assert rtype == type_
    assert events == [], "no unsolicited events expected here"
    return body


def error(conn: Connection, type_: int, payload: bytes = b"", *, tx: int = 0) -> str:
    with pytest.raises(XenstoreError) as info:
        ask(conn, type_, payload, tx=tx)
    return info.value.errno


def events(conn: Connection) -> list[tuple[str, str]]:
    out = []
    for type_, req_id, tx_id, body in decode_messages(conn.pending_output()):
        assert (type_, req_id, tx_id) == (xs.XS_WATCH_EVENT, 0, 0)
        path, token, rest = body.split(b"\0")
        assert rest == b""
        out.append((path.decode(), token.decode()))
    return out


def watch(conn: Connection, path: str, token: str) -> None:
    """Register a watch and consume its ack and its immediate first event."""
    ack, first = exchange(conn, xs.XS_WATCH, f"{path}\0{token}\0".encode())
    assert ack == (xs.XS_WATCH, 42, 0, b"OK\0")
    assert first[0] == xs.XS_WATCH_EVENT


@pytest.fixture
def store() -> Xenstore:
    s = Xenstore()
    s.introduce_domain(1, "alice", store_mfn=1234, store_evtchn=3)
    s.introduce_domain(2, "bob")
    return s


@pytest.fixture
def dom0(store: Xenstore) -> Connection:
    return store.connection(0)


@pytest.fixture
def dom1(store: Xenstore) -> Connection:
    return store.connection(1)


@pytest.fixture
def dom2(store: Xenstore) -> Connection:
    return store.connection(2)


# --- The ABI ----------------------------------------------------------------------------


def test_the_header_is_four_little_endian_u32s_type_req_id_tx_id_len() -> None:
    raw = encode_message(xs.XS_READ, b"x\0", req_id=0x11223344, tx_id=5)
    assert len(raw) == xs.XSD_SOCKMSG_SIZE + 2
    assert raw[:16] == struct.pack("<IIII", 2, 0x11223344, 5, 2)
    assert struct.unpack_from("<I", raw, xs.XSD_LEN) == (2,)


def test_message_numbers_and_limits_are_xs_wire_h_s() -> None:
    assert [xs.XS_CONTROL, xs.XS_WATCH_EVENT, xs.XS_ERROR, xs.XS_IS_DOMAIN_INTRODUCED] == [
        0,
        15,
        16,
        17,
    ]
    assert (xs.XS_WRITE, xs.XS_MKDIR, xs.XS_RM, xs.XS_SET_PERMS) == (11, 12, 13, 14)
    assert xs.XENSTORE_PAYLOAD_MAX == 4096 and xs.XENSTORE_RING_SIZE == 1024
    assert xs.XSD_ERRORS[0] == "EINVAL"  # xenstored's fallback for an unnamed errno
    assert xs.XS_RING_RSP_PROD == 2 * xs.XENSTORE_RING_SIZE + 12


# --- Every message type round-trips -----------------------------------------------------


def test_write_then_read_round_trips_a_value_with_nuls_and_no_terminator(dom0) -> None:
    assert ask(dom0, xs.XS_WRITE, b"/data/blob\0a\0b") == b"OK\0"
    assert ask(dom0, xs.XS_READ, b"/data/blob\0") == b"a\0b"
    assert ask(dom0, xs.XS_WRITE, b"/data/empty\0") == b"OK\0"
    assert ask(dom0, xs.XS_READ, b"/data/empty\0") == b""


def test_directory_lists_children_sorted_each_nul_terminated(dom0) -> None:
    for name in ("zeta", "alpha", "mid"):
        ask(dom0, xs.XS_WRITE, f"/d/{name}\0v".encode())
    assert ask(dom0, xs.XS_DIRECTORY, b"/d\0") == b"alpha\0mid\0zeta\0"
    ask(dom0, xs.XS_MKDIR, b"/empty\0")
    assert ask(dom0, xs.XS_DIRECTORY, b"/empty\0") == b""


def test_mkdir_creates_and_an_existing_node_is_left_alone(dom0) -> None:
    ask(dom0, xs.XS_WRITE, b"/a/b\0keep")
    assert ask(dom0, xs.XS_MKDIR, b"/a/b\0") == b"OK\0"
    assert ask(dom0, xs.XS_READ, b"/a/b\0") == b"keep"
    assert ask(dom0, xs.XS_MKDIR, b"/x/y/z\0") == b"OK\0"
    assert ask(dom0, xs.XS_READ, b"/x/y\0") == b""


def test_rm_removes_a_subtree_and_a_missing_node_is_ok_only_if_its_parent_exists(dom0) -> None:
    ask(dom0, xs.XS_WRITE, b"/t/a/b/c\0v")
    assert ask(dom0, xs.XS_RM, b"/t/a\0") == b"OK\0"
    assert ask(dom0, xs.XS_DIRECTORY, b"/t\0") == b""
    assert error(dom0, xs.XS_READ, b"/t/a/b/c\0") == "ENOENT"
    # C xenstored's do_rm, as xenstore.txt documents: "Didn't exist already?  Fine, if
    # parent exists."
    assert ask(dom0, xs.XS_RM, b"/t/never\0") == b"OK\0"
    assert error(dom0, xs.XS_RM, b"/t/never/deeper\0") == "ENOENT"
    assert error(dom0, xs.XS_RM, b"/\0") == "EINVAL"


def test_get_and_set_perms_use_nul_separated_perm_strings(dom0, store) -> None:
    ask(dom0, xs.XS_WRITE, b"/p\0v")
    assert ask(dom0, xs.XS_GET_PERMS, b"/p\0") == b"n0\0"
    assert ask(dom0, xs.XS_SET_PERMS, b"/p\0n1\0r2\0") == b"OK\0"
    assert ask(dom0, xs.XS_GET_PERMS, b"/p\0") == b"n1\0r2\0"
    assert store.get_perms("/p") == ["n1", "r2"]
    assert error(dom0, xs.XS_SET_PERMS, b"/p\0x1\0") == "EINVAL"
    assert error(dom0, xs.XS_SET_PERMS, b"/p\0") == "EINVAL"


def test_watch_acks_then_fires_once_at_once_and_unwatch_stops_it(dom0) -> None:
    replies = exchange(dom0, xs.XS_WATCH, b"/w\0tok\0")
    assert replies == [
        (xs.XS_WATCH, 42, 0, b"OK\0"),
        (xs.XS_WATCH_EVENT, 0, 0, b"/w\0tok\0"),
    ]
    dom0.handle(encode_message(xs.XS_WRITE, b"/w/x\0v", req_id=1))
    # The event is queued as the write happens, before the write's own reply.
    assert decode_messages(dom0.pending_output()) == [
        (xs.XS_WATCH_EVENT, 0, 0, b"/w/x\0tok\0"),
        (xs.XS_WRITE, 1, 0, b"OK\0"),
    ]
    assert ask(dom0, xs.XS_UNWATCH, b"/w\0tok\0") == b"OK\0"
    ask(dom0, xs.XS_WRITE, b"/w/y\0v")
    assert error(dom0, xs.XS_UNWATCH, b"/w\0tok\0") == "ENOENT"


def test_transaction_start_and_end_round_trip(dom0) -> None:
    tx = ask(dom0, xs.XS_TRANSACTION_START, b"\0")
    assert tx.endswith(b"\0") and int(tx[:-1]) > 0
    tx_id = int(tx[:-1])
    assert ask(dom0, xs.XS_WRITE, b"/txn\0v", tx=tx_id) == b"OK\0"
    assert ask(dom0, xs.XS_TRANSACTION_END, b"T\0", tx=tx_id) == b"OK\0"
    assert ask(dom0, xs.XS_READ, b"/txn\0") == b"v"


def test_introduce_release_and_is_domain_introduced_round_trip(dom0, store) -> None:
    assert ask(dom0, xs.XS_IS_DOMAIN_INTRODUCED, b"7\0") == b"F\0"
    assert ask(dom0, xs.XS_INTRODUCE, b"7\0" + b"4660\0" + b"5\0") == b"OK\0"
    assert ask(dom0, xs.XS_IS_DOMAIN_INTRODUCED, b"7\0") == b"T\0"
    assert store.introduced_domains()[7].store_mfn == 4660
    assert ask(dom0, xs.XS_RELEASE, b"7\0") == b"OK\0"
    assert ask(dom0, xs.XS_IS_DOMAIN_INTRODUCED, b"7\0") == b"F\0"
    assert error(dom0, xs.XS_RELEASE, b"7\0") == "ENOENT"
    assert error(dom0, xs.XS_INTRODUCE, b"0\0" + b"1\0" + b"1\0") == "EINVAL"


def test_get_domain_path_names_the_home(dom1) -> None:
    assert ask(dom1, xs.XS_GET_DOMAIN_PATH, b"5\0") == b"/local/domain/5\0"
    assert error(dom1, xs.XS_GET_DOMAIN_PATH, b"five\0") == "EINVAL"


def test_control_is_for_domain_0(dom0, dom1, store) -> None:
    assert ask(dom0, xs.XS_CONTROL, b"check\0") == b"OK\0"
    assert ask(dom0, xs.XS_CONTROL, b"print\0hello\0") == b"OK\0"
    assert store.log == ["hello"]
    assert b"check" in ask(dom0, xs.XS_CONTROL, b"help\0")
    assert error(dom1, xs.XS_CONTROL, b"check\0") == "EACCES"


@pytest.mark.parametrize("type_", [xs.XS_WATCH_EVENT, xs.XS_ERROR, xs.XS_RESUME, 999])
def test_reply_only_and_unknown_types_get_enosys(dom0, type_) -> None:
    assert error(dom0, type_, b"x\0") == "ENOSYS"
    assert dom0.broken is None


def test_errors_echo_req_id_and_tx_id(dom1) -> None:
    dom1.handle(encode_message(xs.XS_READ, b"nothing\0", req_id=99, tx_id=0))
    assert decode_messages(dom1.pending_output()) == [(xs.XS_ERROR, 99, 0, b"ENOENT\0")]


# --- Paths ------------------------------------------------------------------------------


def test_relative_paths_are_relative_to_the_callers_home(dom1, store) -> None:
    ask(dom1, xs.XS_WRITE, b"data/greeting\0hi")
    assert store.read("/local/domain/1/data/greeting") == b"hi"
    assert ask(dom1, xs.XS_READ, b"name\0") == b"alice"


@pytest.mark.parametrize("path", [b"/a//b", b"/a/", b"", b"/sp ace", b"/\xff", b"/" + b"a" * 3072])
def test_malformed_paths_are_einval(dom0, path) -> None:
    assert error(dom0, xs.XS_WRITE, path + b"\0v") == "EINVAL"


def test_an_argument_without_its_nul_is_einval(dom0) -> None:
    assert error(dom0, xs.XS_READ, b"/local") == "EINVAL"
    assert error(dom0, xs.XS_WRITE, b"no-nul-at-all") == "EINVAL"
    assert error(dom0, xs.XS_WATCH, b"/only-path\0") == "EINVAL"


# --- Permissions ------------------------------------------------------------------------


def test_a_domu_cannot_read_another_domains_home_but_dom0_can(dom0, dom1, dom2) -> None:
    assert error(dom2, xs.XS_READ, b"/local/domain/1/name\0") == "EACCES"
    assert error(dom2, xs.XS_DIRECTORY, b"/local/domain/1\0") == "EACCES"
    # A missing node behind an unreadable parent is EACCES too: no existence leak.
    assert error(dom2, xs.XS_READ, b"/local/domain/1/nothing\0") == "EACCES"
    assert error(dom2, xs.XS_WRITE, b"/local/domain/1/data/x\0v") == "EACCES"
    assert ask(dom0, xs.XS_READ, b"/local/domain/1/name\0") == b"alice"


def test_set_perms_grants_another_domain_access(dom1, dom2) -> None:
    ask(dom1, xs.XS_WRITE, b"data/shared\0secret")
    assert error(dom2, xs.XS_READ, b"/local/domain/1/data/shared\0") == "EACCES"
    ask(dom1, xs.XS_SET_PERMS, b"data/shared\0n1\0r2\0")
    assert ask(dom2, xs.XS_READ, b"/local/domain/1/data/shared\0") == b"secret"
    assert error(dom2, xs.XS_WRITE, b"/local/domain/1/data/shared\0x") == "EACCES"
    ask(dom1, xs.XS_SET_PERMS, b"data/shared\0n1\0b2\0")
    assert ask(dom2, xs.XS_WRITE, b"/local/domain/1/data/shared\0x") == b"OK\0"


def test_default_access_in_the_first_entry_applies_to_everyone_else(store, dom2) -> None:
    store.write("/pub/motd", "hello")
    store.set_perms("/pub/motd", ["n0"])
    assert error(dom2, xs.XS_READ, b"/pub/motd\0") == "EACCES"
    store.set_perms("/pub/motd", ["r0"])
    assert ask(dom2, xs.XS_READ, b"/pub/motd\0") == b"hello"
    store.set_perms("/pub/motd", ["r0", "n2"])  # a later entry overrides the default
    assert error(dom2, xs.XS_READ, b"/pub/motd\0") == "EACCES"


def test_new_nodes_inherit_permissions_and_a_domu_owns_what_it_creates(store, dom1) -> None:
    store.set_perms("/local/domain/1/data", ["n1", "r2"])
    ask(dom1, xs.XS_WRITE, b"data/a/b\0v")
    assert store.get_perms("/local/domain/1/data/a") == ["n1", "r2"]
    assert store.get_perms("/local/domain/1/data/a/b") == ["n1", "r2"]
    # Domain 0 creating in a guest's directory keeps the parent's owner (construct_node).
    store.write("/local/domain/1/device/vif/0/state", "1")
    assert store.get_perms("/local/domain/1/device/vif/0/state") == ["n1"]
    # A guest allowed to write someone else's directory owns what it creates there.
    store.write("/shared/x", "")
    store.set_perms("/shared", ["n0", "w1"])
    ask(dom1, xs.XS_WRITE, b"/shared/mine\0v")
    assert store.get_perms("/shared/mine") == ["n1", "w1"]


def test_the_toolstacks_keys_are_read_only_to_the_guest(dom1) -> None:
    assert ask(dom1, xs.XS_READ, b"domid\0") == b"1"
    assert error(dom1, xs.XS_WRITE, b"name\0mallory") == "EACCES"
    assert error(dom1, xs.XS_RM, b"name\0") == "EACCES"
    assert error(dom1, xs.XS_SET_PERMS, b"name\0n1\0") == "EACCES"  # not the owner


def test_only_the_owner_sets_permissions_and_a_domu_cannot_give_a_node_away(store, dom1, dom2):
    ask(dom1, xs.XS_WRITE, b"data/x\0v")
    ask(dom1, xs.XS_SET_PERMS, b"data/x\0n1\0b2\0")
    assert error(dom2, xs.XS_SET_PERMS, b"/local/domain/1/data/x\0n1\0b2\0") == "EACCES"
    assert error(dom1, xs.XS_SET_PERMS, b"data/x\0n2\0") == "EPERM"
    store.set_perms("/local/domain/1/data/x", ["n2"])  # domain 0 may
    assert ask(dom2, xs.XS_READ, b"/local/domain/1/data/x\0") == b"v"


def test_domus_may_not_introduce_release_or_control(dom1) -> None:
    assert error(dom1, xs.XS_INTRODUCE, b"9\0" + b"1\0" + b"1\0") == "EACCES"
    assert error(dom1, xs.XS_RELEASE, b"2\0") == "EACCES"


# --- Watches ----------------------------------------------------------------------------


def test_watches_fire_on_create_change_and_rm_of_descendants(store, dom1) -> None:
    watch(dom1, "data", "tok")
    dom1.handle(encode_message(xs.XS_WRITE, b"data/a/b\0v"))
    dom1.handle(encode_message(xs.XS_WRITE, b"data/a/b\0w"))
    dom1.handle(encode_message(xs.XS_RM, b"data/a\0"))
    dom1.handle(encode_message(xs.XS_WRITE, b"device/elsewhere\0v"))  # not below the watch
    # Relative watch, relative event paths (xenstore.txt, WATCH_EVENT).
    assert events(_only_events(dom1)) == [
        ("data/a/b", "tok"),
        ("data/a/b", "tok"),
        ("data/a", "tok"),
    ]


def _only_events(conn: Connection) -> Connection:
    """Drop the replies from a connection's output, keeping the watch events."""
    kept = [m for m in decode_messages(conn.pending_output()) if m[0] == xs.XS_WATCH_EVENT]
    conn._out += b"".join(encode_message(t, p, req_id=r, tx_id=x) for t, r, x, p in kept)
    return conn


def test_an_absolute_watch_gets_absolute_paths_and_removing_a_parent_names_the_watch(
    store, dom0
) -> None:
    store.write("/a/b/c", "1")
    watch(dom0, "/a/b/c", "deep")
    store.rm("/a")
    # "if the event was the recursive removal of a parent of <wpath>, <epath> is just
    # <wpath>"
    assert events(dom0) == [("/a/b/c", "deep")]


def test_events_go_only_to_connections_that_may_read_the_node(store, dom0, dom1, dom2) -> None:
    watch(dom0, "/local/domain", "all")
    watch(dom2, "/local/domain/1/data", "spy")  # cannot read it, may still ask
    watch(dom1, "/local/domain/1/data", "own")
    store.write("/local/domain/1/data/secret", "x", domid=1)
    assert events(dom0) == [("/local/domain/1/data/secret", "all")]
    assert events(dom1) == [("/local/domain/1/data/secret", "own")]
    assert events(dom2) == []
    store.set_perms("/local/domain/1/data/secret", ["n1", "r2"], domid=1)
    store.write("/local/domain/1/data/secret", "y", domid=1)
    assert events(dom2) == [
        ("/local/domain/1/data/secret", "spy"),  # the permission change itself
        ("/local/domain/1/data/secret", "spy"),
    ]


def test_a_watcher_hears_of_the_removal_of_a_node_it_could_read(store, dom1, dom2) -> None:
    store.write("/local/domain/1/data/x", "v", domid=1)
    store.set_perms("/local/domain/1/data/x", ["n1", "r2"], domid=1)
    watch(dom2, "/local/domain/1/data/x", "gone")
    store.rm("/local/domain/1/data/x", domid=1)
    assert events(dom2) == [("/local/domain/1/data/x", "gone")]


def test_duplicate_watches_are_eexist_and_tokens_tell_watches_apart(dom0, store) -> None:
    watch(dom0, "/k", "one")
    watch(dom0, "/k", "two")
    assert error(dom0, xs.XS_WATCH, b"/k\0one\0") == "EEXIST"
    store.write("/k", "v")
    assert events(dom0) == [("/k", "one"), ("/k", "two")]


def test_special_watches_fire_on_introduce_and_release_for_privileged_watchers(
    store, dom0, dom1
) -> None:
    watch(dom0, "@introduceDomain", "in")
    watch(dom0, "@releaseDomain", "out")
    watch(dom1, "@releaseDomain", "nosy")
    store.introduce_domain(3, "carol")
    store.release_domain(3)
    assert [e for e in events(dom0) if e[0].startswith("@")] == [
        ("@introduceDomain", "in"),
        ("@releaseDomain", "out"),
    ]
    assert events(dom1) == []
    # Domain 0 may open the special path to a domain with SET_PERMS (xenstore.txt).
    store.set_perms("@releaseDomain", ["n0", "r1"])
    assert store.get_perms("@releaseDomain") == ["n0", "r1"]
    store.introduce_domain(4, "dave")
    store.release_domain(4)
    assert events(dom1) == [("@releaseDomain", "nosy")]


def test_python_watch_callbacks_run_at_once_then_on_changes_without_recursing(store) -> None:
    seen: list[tuple[str, str]] = []

    def backend(path: str, token: str) -> None:
        seen.append((path, token))
        if path.endswith("/state") and store.read(path) == b"1":
            store.write(path, "2")  # reacting inside a callback: queued, not nested

    store.watch("/local/domain/1/device", "be", backend)
    store.write("/local/domain/1/device/vbd/state", "1", domid=1)
    assert seen == [
        ("/local/domain/1/device", "be"),
        ("/local/domain/1/device/vbd/state", "be"),
        ("/local/domain/1/device/vbd/state", "be"),
    ]
    assert store.read("/local/domain/1/device/vbd/state") == b"2"


def test_a_failing_python_callback_is_recorded_and_does_not_stop_the_daemon(store, dom1):
    def broken(path: str, token: str) -> None:
        raise RuntimeError("backend bug")

    store.watch("/local/domain/1/data", "bad", broken)
    assert ask(dom1, xs.XS_WRITE, b"data/x\0v") == b"OK\0"
    assert [t for t, _ in store.callback_errors] == ["bad", "bad"]


# --- Transactions -----------------------------------------------------------------------


def _start(conn: Connection) -> int:
    return int(ask(conn, xs.XS_TRANSACTION_START, b"\0")[:-1])


def test_a_transaction_works_on_a_private_copy_until_commit(store, dom0, dom1) -> None:
    watch(dom0, "/local/domain/1/data", "w")
    tx = _start(dom1)
    ask(dom1, xs.XS_WRITE, b"data/a\0new", tx=tx)
    ask(dom1, xs.XS_WRITE, b"data/b\0new", tx=tx)
    assert ask(dom1, xs.XS_READ, b"data/a\0", tx=tx) == b"new"
    assert error(dom1, xs.XS_READ, b"data/a\0") == "ENOENT"  # outside: not yet
    assert events(dom0) == []  # events wait for the commit
    assert ask(dom1, xs.XS_TRANSACTION_END, b"T\0", tx=tx) == b"OK\0"
    assert store.read("/local/domain/1/data/a") == b"new"
    assert events(dom0) == [("/local/domain/1/data/a", "w"), ("/local/domain/1/data/b", "w")]
    assert error(dom1, xs.XS_READ, b"data/a\0", tx=tx) == "ENOENT"  # the id is spent


def test_an_aborted_transaction_leaves_no_trace(store, dom1) -> None:
    tx = _start(dom1)
    ask(dom1, xs.XS_WRITE, b"data/a\0v", tx=tx)
    ask(dom1, xs.XS_RM, b"device\0", tx=tx)
    assert ask(dom1, xs.XS_TRANSACTION_END, b"F\0", tx=tx) == b"OK\0"
    assert not store.exists("/local/domain/1/data/a")
    assert store.exists("/local/domain/1/device")


def test_a_conflicting_commit_fails_with_eagain(store, dom1) -> None:
    store.write("/local/domain/1/data/counter", "1")
    tx = _start(dom1)
    value = int(ask(dom1, xs.XS_READ, b"data/counter\0", tx=tx))
    store.write("/local/domain/1/data/counter", "5")  # someone else, meanwhile
    ask(dom1, xs.XS_WRITE, f"data/counter\0{value + 1}".encode(), tx=tx)
    assert error(dom1, xs.XS_TRANSACTION_END, b"T\0", tx=tx) == "EAGAIN"
    assert store.read("/local/domain/1/data/counter") == b"5"


def test_reading_a_missing_node_conflicts_with_its_creation(store, dom1) -> None:
    tx = _start(dom1)
    assert error(dom1, xs.XS_READ, b"data/flag\0", tx=tx) == "ENOENT"
    store.write("/local/domain/1/data/flag", "1")
    ask(dom1, xs.XS_WRITE, b"data/other\0v", tx=tx)
    assert error(dom1, xs.XS_TRANSACTION_END, b"T\0", tx=tx) == "EAGAIN"


def test_unrelated_changes_do_not_conflict(store, dom1) -> None:
    tx = _start(dom1)
    ask(dom1, xs.XS_WRITE, b"data/a\0v", tx=tx)
    store.write("/elsewhere/x", "1")
    assert ask(dom1, xs.XS_TRANSACTION_END, b"T\0", tx=tx) == b"OK\0"


def test_transaction_ids_belong_to_their_connection_and_do_not_nest(store, dom1, dom2) -> None:
    tx = _start(dom1)
    assert error(dom2, xs.XS_READ, b"name\0", tx=tx) == "ENOENT"
    assert error(dom1, xs.XS_TRANSACTION_START, b"\0", tx=tx) == "EBUSY"
    assert error(dom1, xs.XS_TRANSACTION_END, b"X\0", tx=tx) == "EINVAL"
    assert error(dom1, xs.XS_TRANSACTION_END, b"T\0") == "ENOENT"
    assert ask(dom1, xs.XS_TRANSACTION_END, b"T\0", tx=tx) == b"OK\0"


def test_python_transactions_raise_eagain_on_conflict(store) -> None:
    tx = store.transaction_start()
    store.read("/local/domain/1/name", tx=tx)
    store.write("/local/domain/1/name", "renamed")
    store.write("/x", "1", tx=tx)
    with pytest.raises(XenstoreError) as info:
        store.transaction_end(tx)
    assert info.value.errno == "EAGAIN"
    assert not store.exists("/x")


# --- The byte stream --------------------------------------------------------------------


def _conversation() -> bytes:
    parts = [
        encode_message(xs.XS_WRITE, b"data/a\0hello", req_id=1),
        encode_message(xs.XS_WATCH, b"data\0t\0", req_id=2),
        encode_message(xs.XS_READ, b"data/a\0", req_id=3),
        encode_message(xs.XS_DIRECTORY, b"data\0", req_id=4),
        encode_message(xs.XS_RM, b"data/a\0", req_id=5),
        encode_message(xs.XS_TRANSACTION_START, b"\0", req_id=6),
        encode_message(xs.XS_GET_DOMAIN_PATH, b"1\0", req_id=7),
    ]
    return b"".join(parts)


def _replies_when_split(cuts: list[int]) -> bytes:
    store = Xenstore()
    store.introduce_domain(1, "alice")
    conn = store.connection(1)
    data = _conversation()
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        conn.handle(data[start:end])
    return conn.pending_output()


def test_a_stream_split_at_every_byte_boundary_gives_the_same_replies() -> None:
    whole = _replies_when_split([])
    assert len(decode_messages(whole)) == 9  # 7 replies, 2 watch events
    for cut in range(1, len(_conversation())):
        assert _replies_when_split([cut]) == whole, f"split at byte {cut}"


def test_a_stream_fed_one_byte_at_a_time_gives_the_same_replies() -> None:
    assert _replies_when_split(list(range(1, len(_conversation())))) == _replies_when_split([])


def test_an_oversized_header_breaks_the_connection_without_raising(store, dom1) -> None:
    dom1.handle(struct.pack("<IIII", xs.XS_WRITE, 1, 0, xs.XENSTORE_PAYLOAD_MAX + 1))
    assert dom1.broken is not None and "4097-byte payload" in dom1.broken
    assert dom1.pending_output() == b""
    dom1.handle(encode_message(xs.XS_READ, b"name\0"))  # ignored from now on
    assert dom1.pending_output() == b""
    assert not dom1.accepting_input
    assert store.read("/local/domain/1/name") == b"alice"  # the daemon carries on


def test_a_payload_of_exactly_the_maximum_is_accepted(dom0) -> None:
    path = b"/big\0"
    value = b"v" * (xs.XENSTORE_PAYLOAD_MAX - len(path))
    assert ask(dom0, xs.XS_WRITE, path + value) == b"OK\0"
    assert ask(dom0, xs.XS_READ, path) == value


def test_garbage_never_raises_out_of_the_daemon(store) -> None:
    rng = random.Random(2005)
    for _ in range(200):
        conn = store.connection(1)
        conn.handle(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
        conn.pending_output()
    # Plausible headers with random small payloads exercise every handler's parsing.
    for _ in range(2000):
        conn = store.connection(rng.choice([0, 1, 2]))
        type_ = rng.randrange(25)
        payload = bytes(rng.choice(b"/abc\0@T12n") for _ in range(rng.randrange(12)))
        conn.handle(encode_message(type_, payload, req_id=1, tx_id=rng.choice([0, 0, 1, 7])))
        for rtype, *_ in decode_messages(conn.pending_output()):
            assert rtype in (type_, xs.XS_ERROR, xs.XS_WATCH_EVENT)
    assert store.internal_errors == []
    assert store.check() == []


# --- Quotas -----------------------------------------------------------------------------


def test_a_domu_cannot_create_more_nodes_than_its_quota() -> None:
    store = Xenstore(quota=Quota(nodes_per_domain=10))
    store.introduce_domain(1, "alice")
    conn = store.connection(1)
    owned_at_start = 4  # home, device, control, data
    for i in range(10 - owned_at_start):
        ask(conn, xs.XS_WRITE, f"data/n{i}\0v".encode())
    assert error(conn, xs.XS_WRITE, b"data/one-too-many\0v") == "ENOSPC"
    ask(conn, xs.XS_RM, b"data/n0\0")
    assert ask(conn, xs.XS_WRITE, b"data/fits-again\0v") == b"OK\0"
    store.write("/local/domain/1/data/dom0-is-exempt", "v")


def test_values_and_child_lists_are_bounded(store, dom1) -> None:
    small = Xenstore(quota=Quota(entry_size=100))
    small.introduce_domain(1, "alice")
    conn = small.connection(1)
    assert error(conn, xs.XS_WRITE, b"data/big\0" + b"x" * 101) == "ENOSPC"
    assert ask(conn, xs.XS_WRITE, b"data/ok\0" + b"x" * 100) == b"OK\0"
    with pytest.raises(XenstoreError) as info:
        store.write("/too/big", b"x" * (xs.XENSTORE_PAYLOAD_MAX + 1))
    assert info.value.errno == "E2BIG"


def test_watches_and_transactions_per_connection_are_bounded() -> None:
    store = Xenstore(quota=Quota(watches_per_connection=3, transactions_per_connection=2))
    store.introduce_domain(1, "alice")
    conn = store.connection(1)
    for i in range(3):
        watch(conn, f"data/{i}", "t")
    assert error(conn, xs.XS_WATCH, b"data/3\0t\0") == "E2BIG"
    _start(conn)
    _start(conn)
    assert error(conn, xs.XS_TRANSACTION_START, b"\0") == "ENOSPC"


def test_a_guest_that_never_reads_replies_is_paced_and_loses_only_events() -> None:
    store = Xenstore(quota=Quota(output_bytes=200, input_bytes=2000))
    store.introduce_domain(1, "alice")
    conn = store.connection(1)
    watch(conn, "data", "t")
    request = encode_message(xs.XS_READ, b"name\0", req_id=5)
    conn.handle(request * 20)
    assert not conn.accepting_input  # replies wait, so requests wait in the buffer
    store.write("/local/domain/1/data/x", "v")  # its event is dropped, not queued
    assert conn.dropped_events == 1
    replies = []
    while out := conn.pending_output(64):
        replies.append(out)
    messages = decode_messages(b"".join(replies))
    assert [m[0] for m in messages] == [xs.XS_READ] * 20
    conn.handle(request * 200)  # ... but a flood beyond the input bound cuts the client
    assert conn.broken is not None


# --- Domain lifecycle -------------------------------------------------------------------


def test_introduce_writes_the_standard_keys_like_xl(store) -> None:
    home = "/local/domain/1"
    assert store.read(f"{home}/name") == b"alice"
    assert store.read(f"{home}/domid") == b"1"
    assert store.read(f"{home}/store/ring-ref") == b"1234"
    assert store.read(f"{home}/store/port") == b"3"
    vm = store.read(f"{home}/vm").decode()
    assert store.read(f"{vm}/name") == b"alice"
    assert store.get_perms(home) == ["n1"]
    assert store.get_perms(f"{home}/name") == ["n0", "r1"]
    assert store.directory(home) == ["control", "data", "device", "domid", "name", "store", "vm"]
    assert store.is_introduced(1) and store.is_introduced(0)
    with pytest.raises(XenstoreError):
        store.introduce_domain(1, "again")


def test_release_removes_the_home_watches_and_connection(store, dom0, dom1) -> None:
    watch(dom1, "data", "mine")
    watch(dom0, "/local/domain/1", "backend")
    vm = store.read("/local/domain/1/vm").decode()
    store.release_domain(1)
    assert not store.exists("/local/domain/1") and not store.exists(vm)
    assert dom1.broken == "domain 1 released"
    assert events(dom0) == [("/local/domain/1", "backend")]
    assert not store.is_introduced(1)
    with pytest.raises(XenstoreError):
        store.connection(1)
    store.introduce_domain(1, "alice-again")  # the domid may be reused
    store.write("/local/domain/1/data/x", "v")
    assert dom1.pending_output() == b""  # the old connection hears nothing
    assert store.check() == []


def test_a_connection_needs_an_introduced_domain(store) -> None:
    with pytest.raises(XenstoreError) as info:
        store.connection(9)
    assert info.value.errno == "ENOENT"


# --- Dump -------------------------------------------------------------------------------


def test_dump_is_deterministic_and_sorted_like_xenstore_ls() -> None:
    def build(order: list[str]) -> str:
        store = Xenstore()
        for key in order:
            store.write(f"/tool/{key}", f'"{key}"\n')
        return store.dump("/tool", perms=True)

    keys = ["b", "a", "c/d", "c/a"]
    assert build(keys) == build(list(reversed(keys)))
    assert build(keys) == (
        'a = "\\"a\\"\\x0a"  (n0)\n'
        'b = "\\"b\\"\\x0a"  (n0)\n'
        'c = ""  (n0)\n'
        ' a = "\\"c/a\\"\\x0a"  (n0)\n'
        ' d = "\\"c/d\\"\\x0a"  (n0)\n'
    )
    assert Xenstore().dump().startswith('local = ""\n domain = ""\n  0 = ""\n')


def test_dump_copes_with_very_deep_paths(store) -> None:
    deep = "/d" + "/x" * 1500
    store.write(deep, "bottom")
    assert store.dump("/d").count("\n") == 1500
    store.rm("/d")
    assert store.check() == []
