"""``xenlab xl``: a domain created by one process is seen, read and destroyed by others."""

from __future__ import annotations

import re

from machine_harness import run_xenlab

from xenlab.toolstack.machine import daemon_alive

WEB = """\
# a guest that reads its name from xenstore, then powers off
name = "web"
kernel = "xshello"
memory = 4
maxmem = 8
on_poweroff = "preserve"   # keep it in the list once it is done
"""


def test_create_list_console_destroy_and_stop_from_separate_processes(where, tmp_path):
    cfg = tmp_path / "web.cfg"
    cfg.write_text(WEB)

    created = run_xenlab(where, "xl", "create", "web.cfg", cwd=tmp_path)  # a relative path
    assert created.returncode == 0, created.stderr
    assert created.stdout == "Created domain web (id 1)\n"
    assert "Parsing config from web.cfg" in created.stderr
    assert "started the machine" in created.stderr  # the first xl command started it

    listing = run_xenlab(where, "xl", "list")
    assert listing.returncode == 0, listing.stderr
    header, dom0, web = listing.stdout.splitlines()
    assert header.split() == ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]
    assert dom0.split()[:2] == ["Domain-0", "0"]
    assert web.split()[:5] == ["web", "1", "4", "1", "---s--"]  # shut down, preserved

    console = run_xenlab(where, "xl", "console", "web", "--no-follow")
    assert console.returncode == 0, console.stderr
    assert console.stdout.startswith("xshello: console ring connected")
    assert "xshello: xenstore 'name' -> 'web'" in console.stdout

    followed = run_xenlab(where, "xl", "console", "1")  # follows until the domain can write no more
    assert followed.returncode == 0
    assert followed.stdout == console.stdout
    assert "domain 1 (web) shut down (poweroff)" in followed.stderr

    dmesg = run_xenlab(where, "xl", "dmesg")
    assert "(XEN) domain 1 (web) shut down: poweroff" in dmesg.stdout
    assert "(xl) domain 1 (web): on_poweroff = preserve" in dmesg.stdout

    destroyed = run_xenlab(where, "xl", "destroy", "web")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "web" not in run_xenlab(where, "xl", "list").stdout
    again = run_xenlab(where, "xl", "destroy", "web")
    assert (again.returncode, again.stderr) == (1, "xenlab: error: no domain 'web'\n")

    stopped = run_xenlab(where, "machine", "stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith("machine stopped")
    assert not daemon_alive(where) and not where.socket.exists()


def test_pause_unpause_and_mem_set(where, tmp_path):
    (tmp_path / "web.cfg").write_text(WEB)
    assert run_xenlab(where, "xl", "create", "-p", str(tmp_path / "web.cfg")).returncode == 0
    assert "--p---" in run_xenlab(where, "xl", "list").stdout
    assert run_xenlab(where, "xl", "console", "web", "--no-follow").stdout == ""  # not started yet

    mem = run_xenlab(where, "xl", "mem-set", "web", "6m")
    assert (mem.returncode, mem.stdout) == (0, "memory/target = 6144 KiB\n")
    too_big = run_xenlab(where, "xl", "mem-set", "web", "1g")
    assert too_big.returncode == 1 and "the target must be 1..8 MiB" in too_big.stderr

    assert run_xenlab(where, "xl", "unpause", "web").returncode == 0
    twice = run_xenlab(where, "xl", "unpause", "web")
    assert twice.returncode == 1 and "is not paused" in twice.stderr
    assert "xshello: read back" in run_xenlab(where, "xl", "console", "web", "--no-follow").stdout


def test_a_config_error_names_file_line_and_key_and_starts_nothing(where, tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text('name = "web"\nkernel = "xshello"\nmemory = "64"\n')
    run = run_xenlab(where, "xl", "create", str(bad))
    assert run.returncode == 1
    assert f"xenlab: error: {bad}:3: memory: expected an integer number of MiB" in run.stderr
    assert "Traceback" not in run.stderr
    assert not where.socket.exists()  # nothing was asked of a machine


def test_sched_bvt_needs_a_machine_started_with_bvt(where, tmp_path):
    (tmp_path / "web.cfg").write_text(WEB)
    assert run_xenlab(where, "xl", "create", str(tmp_path / "web.cfg")).returncode == 0
    refused = run_xenlab(where, "xl", "sched-bvt", "web", "--warp", "5")
    assert refused.returncode == 1
    assert "the machine runs the rr scheduler, not bvt" in refused.stderr
    assert "xenlab machine start --sched bvt" in refused.stderr

    assert run_xenlab(where, "machine", "stop").returncode == 0
    assert run_xenlab(where, "machine", "start", "--sched", "bvt").returncode == 0
    assert run_xenlab(where, "xl", "create", str(tmp_path / "web.cfg")).returncode == 0
    bvt = run_xenlab(where, "xl", "sched-bvt", "web", "--warp", "5", "--mcu-advance", "20")
    assert bvt.returncode == 0, bvt.stderr
    assert bvt.stdout.splitlines()[1].split() == ["web", "1", "20", "5", "0", "0"]


def test_device_specs_are_checked_before_the_machine_is_asked(where):
    bad = run_xenlab(where, "xl", "block-attach", "web", "file:/tmp/disk.img")
    assert bad.returncode == 1
    assert bad.stderr == (
        "xenlab: error: block-attach: 'file:/tmp/disk.img': no vdev: name the guest's device, "
        "e.g. xvda\n"
    )
    vif = run_xenlab(where, "xl", "network-attach", "web", "ip=10.0.0.300")
    assert vif.returncode == 1 and "ip '10.0.0.300' is not an IPv4 address" in vif.stderr
    assert not where.socket.exists()


DISK_WORKLOAD = """\
name = "store"
kernel = "xenolite"
memory = 8
cmdline = "blk=1 ops=40"
on_poweroff = "preserve"
"""


def test_block_attach_gives_a_paused_domain_its_disk_and_vfr_lists_the_rules(where, tmp_path):
    (tmp_path / "store.cfg").write_text(DISK_WORKLOAD)
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(1 << 20))
    assert run_xenlab(where, "xl", "create", "-p", str(tmp_path / "store.cfg")).returncode == 0
    attach = run_xenlab(where, "xl", "block-attach", "store", f"file:{image},xvda,w")
    assert attach.returncode == 0, attach.stderr
    assert run_xenlab(where, "xl", "unpause", "store").returncode == 0
    console = run_xenlab(where, "xl", "console", "store")
    assert "blk: disk of 2048 sectors" in console.stdout, console.stdout + console.stderr
    assert re.search(
        r"blk: final check: \d+ blocks written, \d+ never written, 0 bad", console.stdout
    )
    assert any(image.read_bytes())  # the guest's writes are in the host file
    rules = run_xenlab(where, "xl", "vfr", "list")
    assert rules.returncode == 0, rules.stderr
