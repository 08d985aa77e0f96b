"""Reading xl.cfg files: a realistic config, xl's syntax, and an error for every mistake that
names the file, the line (and column) and the key."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from xenlab.toolstack.xlcfg import (
    DEFAULT_MEMORY_MIB,
    DomainConfig,
    SchedParams,
    Vif,
    XlConfigError,
    default_mac,
    load_config,
    parse_config,
)
from xenlab.toolstack.xlcfg import Disk as XlDisk

MINIMAL = 'name = "web"\nkernel = "hello"\n'

REALISTIC = """\
# web.cfg: a small web server domain
name    = "web"
kernel  = "kernels/web.elf"        # relative to this file
memory  = 32
maxmem  = 0x40                     # may balloon up to 64 MiB
vcpus   = 1
cmdline = "console=hvc0 loglevel=7"
on_poweroff = "destroy"; on_reboot = 'restart'
on_crash    = "preserve"

disk = [ 'file:images/root.img,xvda,w',
         'format=raw, vdev=xvdb, access=ro, offset=1M, size=8M, target=/srv/shared,data.img',
       ]
vif  = [ 'mac=00:16:3E:0A:0B:0C, ip=10.0.0.2, bridge=xenbr0',
         '',  # every default: a derived MAC on xenbr0
       ]

cpu_weight  = 512
mcu_advance = 5
warp  = 1000000
warpl = 2000000
warpu = 0
"""


def error_of(text: str, *, source: str = "guest.cfg") -> str:
    with pytest.raises(XlConfigError) as info:
        parse_config(text, source=source, base_dir=Path("/cfg"))
    return str(info.value)


def test_a_realistic_config_file_is_read_into_the_expected_domain_config(tmp_path: Path) -> None:
    path = tmp_path / "web.cfg"
    path.write_text(REALISTIC)
    assert load_config(path) == DomainConfig(
        name="web",
        memory_mib=32,
        maxmem_mib=64,
        kernel=str(tmp_path / "kernels" / "web.elf"),
        kernel_is_path=True,
        cmdline="console=hvc0 loglevel=7",
        vcpus=1,
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="preserve",
        disks=(
            XlDisk(tmp_path / "images" / "root.img", "xvda", readonly=False),
            XlDisk(
                Path("/srv/shared,data.img"), "xvdb", readonly=True, offset=1 << 20, size=8 << 20
            ),
        ),
        vifs=(
            Vif("00:16:3e:0a:0b:0c", "10.0.0.2", "xenbr0"),
            Vif(default_mac("web", 1), None, "xenbr0"),
        ),
        sched=SchedParams(cpu_weight=512, mcu_advance=5, warp=1_000_000, warpl=2_000_000, warpu=0),
        source=str(path),
    )


def test_a_minimal_config_gets_xl_defaults_and_xenlab_boots_memory_size() -> None:
    config = parse_config(MINIMAL)
    assert (config.memory_mib, config.maxmem_mib, config.vcpus) == (DEFAULT_MEMORY_MIB,) * 2 + (1,)
    assert (config.on_poweroff, config.on_reboot, config.on_crash) == (
        "destroy",
        "restart",
        "destroy",
    )
    assert (config.kernel, config.kernel_is_path) == ("hello", False)
    assert (config.cmdline, config.disks, config.vifs, config.warnings) == ("", (), (), ())
    assert config.sched == SchedParams() and config.sched.bvt_params() == {}
    assert config.source == "<string>"


def test_the_default_memory_is_the_one_xenlab_boot_uses() -> None:
    from xenlab.toolstack.control import DEFAULT_MEMORY_MIB as BOOT_DEFAULT

    assert DEFAULT_MEMORY_MIB == BOOT_DEFAULT


def test_comments_semicolons_blank_lines_and_multi_line_lists_are_understood() -> None:
    text = """
        # a comment line

        name = "a"; kernel = "hello";   memory = 8 ;  # two settings and a comment
        ;
        disk = [
            # a comment inside a list
            "file:/a.img,xvda,r"   # after an item
            ,
            'file:/b.img,xvdb,rw',
        ]
        vif = []
    """
    config = parse_config(text, base_dir=Path("/"))
    assert (config.name, config.memory_mib) == ("a", 8)
    assert [(d.target, d.vdev, d.readonly) for d in config.disks] == [
        (Path("/a.img"), "xvda", True),
        (Path("/b.img"), "xvdb", False),
    ]
    assert config.vifs == ()


def test_strings_take_xl_escapes_and_a_hash_inside_quotes_is_not_a_comment() -> None:
    config = parse_config(MINIMAL + r"""cmdline = "say \"hi\" #1\tx\x41\101 \\ 'q'" # note""")
    assert config.cmdline == "say \"hi\" #1\txAA \\ 'q'"


def test_numbers_may_be_decimal_or_hex() -> None:
    config = parse_config(MINIMAL + "memory = 0x10\nmaxmem = 0X20\n")
    assert (config.memory_mib, config.maxmem_mib) == (16, 32)


def test_the_error_carries_file_line_column_and_key() -> None:
    with pytest.raises(XlConfigError) as info:
        parse_config('name = "a"\nmemory = = 3\n', source="guest.cfg")
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.file, error.line, error.column, error.key) == ("guest.cfg", 2, 10, "memory")
    assert str(error) == "guest.cfg:2:10: memory: syntax error: expected a value, found '='"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'name = "a"\nmemory 32\n',
            "guest.cfg:2:8: memory: syntax error: expected '=' after 'memory', found '32'",
            id="missing =",
        ),
        pytest.param(
            'name = "a" "b"\n',
            "guest.cfg:1:12: name: syntax error: expected the end of the line or ';' after "
            "the value, found the string 'b'",
            id="two values",
        ),
        pytest.param(
            'name = "a"\n  = 3\n',
            "guest.cfg:2:3: syntax error: expected a setting 'KEY = VALUE', found '='",
            id="no key",
        ),
        pytest.param(
            'name = "a"\nkernel = "hello\n',
            'guest.cfg:2:10: syntax error: unterminated string: the " opened here is not '
            "closed on this line",
            id="unterminated string",
        ),
        pytest.param(
            "name = 'a\\q'\n",
            "guest.cfg:1:10: syntax error: unknown escape '\\q' in a string (to write a "
            "backslash, double it: '\\\\')",
            id="unknown escape",
        ),
        pytest.param(
            'name = "a"\ndisk = [ "file:/a,xvda,w",\n "file:/b,xvdb,w"\nkernel = "hello"\n',
            "guest.cfg:4:1: disk: syntax error: expected ',' or ']' in the list opened on "
            "line 2, found the word 'kernel'",
            id="list without its ]",
        ),
        pytest.param(
            'name = "a"\ndisk = [ "file:/a,xvda,w",\n "file:/b,xvdb,w"\n',
            "guest.cfg:2:8: disk: syntax error: unterminated list: the [ opened here has no ]",
            id="list cut by the end of the file",
        ),
        pytest.param(
            "disk = [ ['x'] ]\n",
            "guest.cfg:1:10: disk: syntax error: expected a list item (a string or a number), "
            "found '[' (lists cannot be nested)",
            id="nested list",
        ),
        pytest.param(
            "vif = ('mac=00:16:3e:00:00:01',)\n",
            "guest.cfg:1:7: syntax error: unexpected character '(' (xl.cfg is not Python: "
            "lists are [ ], and there are no tuples)",
            id="python tuple",
        ),
        pytest.param(
            'extra += "x"\n',
            "guest.cfg:1:7: extra: syntax error: '+=' is not supported: give the whole value "
            "at once",
            id="+=",
        ),
        pytest.param(
            "memory = 64M\n",
            "guest.cfg:1:10: memory: syntax error: '64M' is not a number: xl takes plain "
            "integers (decimal or 0x hex), without units or a decimal point",
            id="unquoted unit",
        ),
        pytest.param(
            "memory = 010\n",
            "guest.cfg:1:10: memory: syntax error: '010': xl would read a leading 0 as octal; "
            "write it in decimal or 0x hex",
            id="octal",
        ),
    ],
)
def test_syntax_errors_name_the_line_and_column(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            MINIMAL + "memroy = 32\n",
            "guest.cfg:3: memroy: unknown key; did you mean 'memory'?",
            id="unknown key",
        ),
        pytest.param(
            MINIMAL + "on_crahs = 'destroy'\n",
            "guest.cfg:3: on_crahs: unknown key; did you mean 'on_crash'?",
            id="unknown key 2",
        ),
        pytest.param(
            MINIMAL + "ramdisk = 'initrd.img'\n",
            "guest.cfg:3: ramdisk: not supported by xenlab: xenlab boots a kernel without an "
            "initial ramdisk",
            id="xl key xenlab lacks",
        ),
        pytest.param(
            'name = "a"\nmemory = 32\nkernel = "hello"\nmemory = 64\n',
            "guest.cfg:4: memory: set twice: first on line 2, again here",
            id="duplicate",
        ),
        pytest.param(
            MINIMAL + "weight = 256\ncpu_weight = 512\n",
            "guest.cfg:4: cpu_weight: set twice: first on line 3 (as 'weight'), again here",
            id="duplicate under an alias",
        ),
        pytest.param(
            MINIMAL + 'memory = "64M"\n',
            "guest.cfg:3: memory: expected an integer number of MiB, got the string '64M'; "
            "xl takes plain integers, without quotes or units: memory = 64",
            id="memory as a string",
        ),
        pytest.param(
            "name = 42\n",
            "guest.cfg:1: name: expected the domain's name in quotes, got the number 42",
            id="name as a number",
        ),
        pytest.param(
            'name = "my web"\n',
            "guest.cfg:1: name: 'my web': use only letters, digits, '_', '.', '-'",
            id="name with a space",
        ),
        pytest.param(
            MINIMAL + "disk = 'file:/a.img,xvda,w'\n",
            "guest.cfg:3: disk: expected a list of strings like ['file:/path/to/disk.img,xvda,w'], "
            "got the string 'file:/a.img,xvda,w'",
            id="disk not a list",
        ),
        pytest.param(
            MINIMAL + "vif = [\n  'bridge=xenbr0',\n  7,\n]\n",
            "guest.cfg:5: vif: expected a string like 'mac=00:16:3e:00:00:01, bridge=xenbr0', "
            "got the number 7",
            id="list item of the wrong type, on its own line",
        ),
        pytest.param(
            MINIMAL + "on_crash = 'rename-restart'\n",
            "guest.cfg:3: on_crash: expected one of destroy, restart, preserve, "
            "not 'rename-restart'",
            id="bad action",
        ),
        pytest.param(
            MINIMAL + "memory = 2048\n",
            "guest.cfg:3: memory: must be 1..1024, not 2048",
            id="memory too large",
        ),
        pytest.param(
            MINIMAL + "memory = 32\nmaxmem = 16\n",
            "guest.cfg:4: maxmem: 16 MiB is less than memory (32 MiB, line 3): maxmem is the "
            "most the domain may balloon up to, at least its initial memory",
            id="maxmem below memory",
        ),
        pytest.param(
            MINIMAL + "maxmem = 8\n",
            "guest.cfg:3: maxmem: 8 MiB is less than memory (16 MiB, the default): maxmem is "
            "the most the domain may balloon up to, at least its initial memory",
            id="maxmem below the default memory",
        ),
        pytest.param(
            MINIMAL + "vcpus = 2\n",
            "guest.cfg:3: vcpus: xenlab emulates one CPU, so a domain has one vCPU "
            "(vcpus = 1), not 2",
            id="two vcpus",
        ),
        pytest.param(
            MINIMAL + "maxvcpus = 4\n",
            "guest.cfg:3: maxvcpus: not supported by xenlab: xenlab emulates one CPU",
            id="maxvcpus",
        ),
        pytest.param(
            'kernel = "hello"\nmemory = 8\n',
            'guest.cfg: name: required: every domain needs a name (name = "...")',
            id="missing name",
        ),
        pytest.param(
            'name = "a"\n',
            'guest.cfg: kernel: required: the guest kernel (kernel = "hello" or '
            'kernel = "path/to/kernel.elf")',
            id="missing kernel",
        ),
        pytest.param(
            'name = "a"\nkernel = "helo"\n',
            "guest.cfg:2: kernel: 'helo' is neither a file in /cfg nor a built-in guest; "
            "did you mean 'hello'?",
            id="misspelt guest",
        ),
        pytest.param(
            MINIMAL + 'type = "hvm"\n',
            "guest.cfg:3: type: 'hvm': xenlab runs paravirtualized guests only (\"pv\")",
            id="hvm",
        ),
        pytest.param(
            MINIMAL + "cpu_weight = 0\n",
            "guest.cfg:3: cpu_weight: must be 1..65535, not 0",
            id="weight 0",
        ),
        pytest.param(
            MINIMAL + "cap = 150\n",
            "guest.cfg:3: cap: must be 0..100, not 150",
            id="cap above one CPU",
        ),
        pytest.param(
            MINIMAL + "mcu_advance = 0\n",
            "guest.cfg:3: mcu_advance: must be at least 1, not 0",
            id="mcu_advance 0",
        ),
        pytest.param(
            MINIMAL + 'warpl = "2ms"\n',
            "guest.cfg:3: warpl: expected an integer number of ns, got the string '2ms'; "
            "xl takes plain integers, without quotes or units: warpl = 2",
            id="warpl with a unit",
        ),
    ],
)
def test_setting_errors_name_the_file_line_and_key(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            "phy:/dev/sdb,xvda,w",
            "phy: physical devices are not supported: xenlab's disks are image files (file:PATH)",
            id="phy",
        ),
        pytest.param(
            "tap:aio:/a.img,xvda,w",
            "the tap: prefix is not supported: xenlab's disks are raw image files (file:PATH)",
            id="tap",
        ),
        pytest.param(
            "/a.img,xvda,w",
            "format 'xvda' is not supported: xenlab reads raw images ('xvda' is in the format's "
            "place: write 'file:PATH,VDEV,ACCESS' or 'PATH,raw,VDEV,ACCESS')",
            id="positional form without a format",
        ),
        pytest.param(
            "format=qcow2, vdev=xvda, target=/a.img",
            "format 'qcow2' is not supported: xenlab reads raw images",
            id="qcow2",
        ),
        pytest.param(
            "file:/a.img",
            "no vdev: name the guest's device, e.g. xvda",
            id="no vdev",
        ),
        pytest.param(
            "vdev=xvda, access=rw",
            "no target: give the image file (file:PATH,... or target=PATH)",
            id="no target",
        ),
        pytest.param(
            "file:/a.img,eth0,w",
            "vdev 'eth0' is not a virtual disk name like xvda, xvdb, ...",
            id="bad vdev",
        ),
        pytest.param(
            "file:/a.img,xvda,rx",
            "access 'rx': expected r, ro, w or rw",
            id="bad access",
        ),
        pytest.param(
            "file:/a.img,xvda,w,extra",
            "too many positional fields at 'extra' (TARGET,FORMAT,VDEV,ACCESS)",
            id="too many fields",
        ),
        pytest.param(
            "vdev=xvda, acess=ro, target=/a.img",
            "unknown disk parameter 'acess'; did you mean 'access'?",
            id="misspelt parameter",
        ),
        pytest.param(
            "vdev=xvda, offset=1000, target=/a.img",
            "offset=1000 is not a multiple of the 512-byte sector",
            id="offset not whole sectors",
        ),
        pytest.param(
            "vdev=xvda, size=1T, target=/a.img",
            "size='1T': expected a number of bytes, optionally with K, M or G",
            id="size with a bad suffix",
        ),
        pytest.param(
            "file:/a.img,xvda:cdrom,r",
            "CD-ROMs are not supported by xenlab",
            id="cdrom",
        ),
        pytest.param(
            "backend=dom1, vdev=xvda, target=/a.img",
            "'backend' is not supported by xenlab",
            id="backend",
        ),
    ],
)
def test_bad_disk_specs_are_refused_with_the_spec_and_its_line(spec: str, message: str) -> None:
    text = MINIMAL + f"disk = [\n  'file:/ok.img,xvdz,r',\n  '{spec}',\n]\n"
    assert error_of(text) == f"guest.cfg:5: disk: {spec!r}: {message}"


def test_target_takes_the_rest_of_a_disk_spec_commas_and_all() -> None:
    (disk,) = parse_config(MINIMAL + "disk = ['vdev=xvda, target=/a.img, access=ro']").disks
    assert disk.target == Path("/a.img, access=ro") and not disk.readonly


def test_two_disks_on_one_vdev_are_refused() -> None:
    text = MINIMAL + "disk = ['file:/a.img,xvda,w',\n        'file:/b.img,xvda,r']\n"
    assert error_of(text) == (
        "guest.cfg:4: disk: 'file:/b.img,xvda,r': vdev xvda is already used (line 3)"
    )


def test_a_disk_may_be_an_extent_of_its_file() -> None:
    text = MINIMAL + (
        "disk = ['vdev=xvda, access=r, offset=0x100000, size=64K, target=/d.img',\n"
        "        'vdev=xvdb, offset=2M, size=1G, target=/d.img']\n"
    )
    first, second = parse_config(text).disks
    assert (first.offset, first.size, first.readonly) == (1 << 20, 64 << 10, True)
    assert (second.offset, second.size, second.readonly) == (2 << 20, 1 << 30, False)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            "mac=00:16:3e:zz:00:01",
            "mac '00:16:3e:zz:00:01' is not a MAC address like 00:16:3e:12:34:56",
            id="not hex",
        ),
        pytest.param(
            "mac=00:16:3e:00:01",
            "mac '00:16:3e:00:01' is not a MAC address like 00:16:3e:12:34:56",
            id="five octets",
        ),
        pytest.param(
            "mac=01:16:3e:00:00:01",
            "mac 01:16:3e:00:00:01 is a multicast address: a vif needs a unicast one "
            "(even first byte)",
            id="multicast",
        ),
        pytest.param(
            "ip=10.0.0.256", "ip '10.0.0.256' is not an IPv4 address like 10.0.0.2", id="octet"
        ),
        pytest.param(
            "ip=10.0.0.2/24",
            "ip '10.0.0.2/24' is not an IPv4 address like 10.0.0.2",
            id="prefix length",
        ),
        pytest.param("ip=fe80::1", "ip 'fe80::1' is not an IPv4 address like 10.0.0.2", id="ipv6"),
        pytest.param(
            "bridge=xenbr0, brige=x",
            "unknown vif parameter 'brige'; did you mean 'bridge'?",
            id="misspelt",
        ),
        pytest.param("xenbr0", "expected key=value, got 'xenbr0'", id="bare word"),
        pytest.param("model=e1000", "'model' is not supported by xenlab", id="model"),
    ],
)
def test_bad_vif_specs_are_refused_with_the_spec_and_its_line(spec: str, message: str) -> None:
    text = MINIMAL + f"vif = [ '{spec}' ]\n"
    assert error_of(text) == f"guest.cfg:3: vif: {spec!r}: {message}"


def test_a_missing_mac_is_derived_from_the_name_and_index_in_xens_range() -> None:
    text = MINIMAL + "vif = [ 'ip=10.0.0.2', 'bridge=xenbr1' ]\n"
    first, second = parse_config(text).vifs
    assert (first.mac, second.mac) == (default_mac("web", 0), default_mac("web", 1))
    assert default_mac("web", 0) == "00:16:3e:02:22:fc"  # the same on every run, every host
    for mac in (first.mac, second.mac, default_mac("db", 0)):
        octets = [int(part, 16) for part in mac.split(":")]
        assert octets[:3] == [0x00, 0x16, 0x3E] and octets[3] < 0x80  # as libxl's
    assert len({default_mac("web", 0), default_mac("web", 1), default_mac("db", 0)}) == 3
    assert (second.ip, second.bridge) == (None, "xenbr1")


def test_two_vifs_with_one_mac_are_refused() -> None:
    taken = default_mac("web", 1)  # what the second, MAC-less vif would get
    text = MINIMAL + f"vif = [ 'mac={taken}', '' ]\n"
    assert error_of(text) == f"guest.cfg:3: vif: '': MAC {taken} is already used (line 3)"


def test_relative_paths_are_relative_to_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "guest.cfg").write_text(
        MINIMAL.replace('"hello"', '"../kernels/k.elf"')
        + "disk = [ 'file:img/a.img,xvda,w', 'vdev=xvdb, target=b.img' ]\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "domains" / "guest.cfg")
    assert config.kernel == str(tmp_path / "kernels" / "k.elf") and config.kernel_is_path
    assert [disk.target for disk in config.disks] == [folder / "img" / "a.img", folder / "b.img"]
    assert config.source == str(Path("..") / "domains" / "guest.cfg")


def test_a_kernel_is_a_built_in_guest_a_file_beside_the_config_or_a_path(tmp_path: Path) -> None:
    (tmp_path / "mykernel").write_bytes(b"\x7fELF")

    def kernel_of(kernel: str) -> tuple[str, bool]:
        config = parse_config(f'name = "a"\nkernel = "{kernel}"\n', base_dir=tmp_path)
        return config.kernel, config.kernel_is_path

    assert kernel_of("hello") == ("hello", False)
    assert kernel_of("mykernel") == (str(tmp_path / "mykernel"), True)
    assert kernel_of("later.elf") == (str(tmp_path / "later.elf"), True)  # need not exist yet
    assert kernel_of("/boot/k") == ("/boot/k", True)


def test_cmdline_follows_xl_extra_and_root_are_used_only_without_it() -> None:
    assert parse_config(MINIMAL + 'extra = "quiet"\n').cmdline == "quiet"
    both = parse_config(MINIMAL + 'root = "/dev/xvda1 ro"\nextra = "quiet"\n')
    assert both.cmdline == "root=/dev/xvda1 ro quiet"
    config = parse_config(MINIMAL + 'extra = "quiet"\ncmdline = "loud"\n', source="g.cfg")
    assert config.cmdline == "loud"
    assert config.warnings == ("g.cfg:3: extra: ignored in favour of cmdline (line 4), as xl does",)


def test_a_command_line_too_long_for_start_info_is_refused() -> None:
    assert error_of(MINIMAL + f'cmdline = "{"x" * 1024}"\n') == (
        "guest.cfg:3: cmdline: the command line is 1024 bytes; at most 1023"
    )


def test_a_cap_is_recorded_with_a_warning_that_it_has_no_effect_yet() -> None:
    config = parse_config(MINIMAL + "cap = 50\n", source="g.cfg")
    assert config.sched.cap == 50
    assert config.warnings == (
        "g.cfg:3: cap: recorded, but xenlab's credit scheduler does not enforce caps yet",
    )


def test_the_bvt_settings_are_named_as_sched_bvt_expects() -> None:
    from xenlab.xen.domain import Domain
    from xenlab.xen.sched_bvt import BVT

    config = parse_config(MINIMAL + "mcu_advance = 3\nwarp = 500\nwarpl = 7000\n")
    assert config.sched.bvt_params() == {"mcu_advance": 3, "warp": 500, "warpl": 7000}
    params = BVT().set_params(cast(Domain, SimpleNamespace(domid=1)), **config.sched.bvt_params())
    assert (params.mcu_advance, params.warp, params.warpl, params.warpu) == (3, 500, 7000, 0)


def test_a_missing_or_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(XlConfigError, match=r"nope\.cfg: cannot read it: No such file"):
        load_config(tmp_path / "nope.cfg")
    with pytest.raises(XlConfigError, match="cannot read it: Is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "binary.cfg"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(XlConfigError, match=r"binary\.cfg: not a text file \(UTF-8\)"):
        load_config(binary)
