"""Hostile submissions of a1_convolution: one per trick, each a small change to the solution.

``CASES[name]`` is a ``Case``: ``code`` maps a graded name to the definition that replaces the
solution's (in that name's cell), ``extra`` is a code cell appended to the notebook. The expectation
says what containment means for that trick: the items in ``zero`` gain nothing from it (score 0),
the items in ``full`` keep their marks (the trick harms nothing else), ``message`` holds a text that
one of the item's check messages must contain, and the submission gets ``status`` (``review``:
graded and scored, but held for the instructor with the lines that reach into private machinery
quoted). Whatever the case, the score is never above the honest baseline (full marks minus the
``zero`` items).

Placeholders (``@@NAME@@``) are filled in by the test with the paths, port and marker of the run:
REPO, COURSE, OUT, SUBS (the submissions folder), SITE (the virtual environment's site-packages),
HOST_FILES (a list of files of this machine that the sandbox must hide), PORT (a TCP port listening
on the host), ABSTRACT (an abstract unix socket listening on the host), MARKER (a unique string).

Only imports, definitions and call-free constants run when a notebook is loaded, so code meant to
run "at import" sits in a class body or a default argument, as a student would have to put it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ITEMS = ("conv_output_size", "conv2d_naive", "conv2d", "max_pool2d", "avg_pool2d",
         "Conv2dFunction", "receptive_field")


@dataclass
class Case:
    why: str
    code: dict[str, str] = field(default_factory=dict)
    extra: str = ""
    status: str = "graded"
    zero: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    message: dict[str, str] = field(default_factory=dict)
    root_only: bool = False  # its expectations hold when the grader runs as root (uid drop)


def others(*items: str) -> tuple[str, ...]:
    return tuple(i for i in ITEMS if i not in items)


# Correct one-line versions, for tricks that "also" answer correctly.
SIZE = "(size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1"
FIELD = '''    field, jump = 1, 1
    for kernel_size, stride in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field
'''
SIG_SIZE = "def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):"
SIG_NAIVE = "def conv2d_naive(x, weight, bias=None, stride=1, padding=0):"
SIG_CONV = "def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):"
SIG_FIELD = "def receptive_field(layers):"
SIG_MAX = "def max_pool2d(x, kernel_size, stride=None, padding=0):"
SIG_AVG = "def avg_pool2d(x, kernel_size, stride=None, padding=0):"
MAX = '''    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
    return x.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))
'''
ZEROS = '''    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    out = x.new_zeros(n, c_out, conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw))
'''

CASES: dict[str, Case] = {}

# -- the honest baseline ----------------------------------------------------------------------
CASES["aa_honest"] = Case("the solution itself: full marks", full=ITEMS)

# -- replacing the comparison functions ---------------------------------------------------------
CASES["patch_comparisons"] = Case(
    "replaces torch.allclose/equal/isclose, assert_close, numpy.allclose, math.isclose and the "
    "builtins all/any, then returns zeros: comparisons happen in the grader's process",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    import builtins, math, numpy, numpy.testing, torch.testing
    torch.allclose = lambda *a, **k: True
    torch.equal = lambda *a, **k: True
    torch.isclose = lambda a, *r, **k: torch.ones_like(a, dtype=torch.bool)
    torch.testing.assert_close = lambda *a, **k: None
    numpy.allclose = lambda *a, **k: True
    numpy.testing.assert_allclose = lambda *a, **k: None
    math.isclose = lambda *a, **k: True
    builtins.all = lambda *a: True
    builtins.any = lambda *a: True
{ZEROS}    return out
'''},
    extra='''class _PatchAtImport:
    torch.allclose = lambda *a, **k: True
    torch.testing.assert_close = lambda *a, **k: None
''',
    zero=("conv2d_naive",), full=others("conv2d_naive"),
    status="review")

CASES["patch_builtins"] = Case(
    "replaces builtins isinstance/len/abs/int while returning a wrong result",
    code={"max_pool2d": f'''{SIG_MAX}
    import builtins
    builtins.isinstance = lambda *a: True
    builtins.abs = lambda v: 0
    builtins.len = lambda v: 0
    builtins.int = lambda *a: 0
    return 0
'''},
    zero=("max_pool2d",), full=("conv_output_size", "conv2d_naive", "conv2d"),
    status="review")

# -- results that lie about themselves ---------------------------------------------------------
CASES["tensor_subclass"] = Case(
    "returns a tensor subclass whose __torch_function__ and __eq__ claim equality",
    code={"conv2d": f'''class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("eq", "__eq__", "isclose"):
            return torch.ones((), dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {{}})

    def __eq__(self, other):
        return True

    __hash__ = torch.Tensor.__hash__


{SIG_CONV}
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    out = x.new_zeros(n, c_out, conv_output_size(h, kh, sh, ph, dh),
                      conv_output_size(w, kw, sw, pw, dw))
    return out.as_subclass(_Liar)
'''},
    zero=("conv2d",), message={"conv2d": "should be a torch.Tensor"})

CASES["int_subclass"] = Case(
    "returns an int subclass equal to everything",
    code={"receptive_field": f'''class _Equal(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


{SIG_FIELD}
    return _Equal(0)
'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "got an object of type _Equal"})

# -- exiting -----------------------------------------------------------------------------------
CASES["os_exit_in_function"] = Case(
    "os._exit(0) inside a graded function: the worker dies, the check fails",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    import os
    os._exit(0)
'''},
    zero=("conv2d_naive",), full=others("conv2d_naive"),
    message={"conv2d_naive": "crashed"})

CASES["sys_exit_in_function"] = Case(
    "sys.exit(0) inside a graded function is an exception like any other",
    code={"receptive_field": f'''{SIG_FIELD}
    import sys
    sys.exit(0)
'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "SystemExit"})

CASES["os_exit_at_import"] = Case(
    "os._exit(0) in a class body, at load time: an error row with score 0",
    extra='''class _Bye:
    import os
    os._exit(0)
''',
    status="error", zero=ITEMS)

CASES["sys_exit_at_import"] = Case(
    "sys.exit(0) in a default argument: the rest of that cell is skipped, the batch goes on",
    code={"conv2d": f'''{SIG_CONV.replace("groups=1)", 'groups=1, _=__import__("sys").exit(0))')}
    return None
'''},
    zero=("conv2d", "Conv2dFunction"), full=others("conv2d", "Conv2dFunction"),
    status="review")

# -- looking for what the sandbox hides ---------------------------------------------------------
CASES["read_hidden"] = Case(
    "opens or lists the hidden checks, the solutions, the output folder, the other submissions "
    "and the home folder; reports what it saw",
    code={"receptive_field": f'''{SIG_FIELD}
    import os
    seen = []
    for path in @@HOST_FILES@@:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").read(1)
            seen.append(path)
        except OSError:
            pass
    raise RuntimeError(f"visible={{seen}}")
'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "visible=[]"})

CASES["import_reference"] = Case(
    "imports the reference by guessing its module name, or finds it in sys.modules",
    code={"conv2d": f'''{SIG_CONV}
    import importlib, importlib.util, sys
    found = []
    for name in ["checks", "solutions", "solutions.a1_convolution",
                 "solutions.a1_convolution.checks", "_autograder_checks_a1_convolution",
                 "a1_convolution", "a1_convolution.checks",
                 "reference", "solution", "autograder.reference", "autograder.solutions"]:
        try:
            m = importlib.import_module(name)
        except Exception:
            continue
        if hasattr(m, "A") or hasattr(m, "_check_conv") or hasattr(m, "conv2d"):
            found.append(name)
    found += [k for k in list(sys.modules) if "checks_a1" in k or k.startswith("solutions")]
    try:
        spec = importlib.util.spec_from_file_location(
            "ref", "@@REPO@@/solutions/a1_convolution/checks.py")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        found.append("by path")
    except Exception:
        pass
    raise RuntimeError(f"found={{found}}")
'''},
    zero=("conv2d", "Conv2dFunction"), message={"conv2d": "found=[]"},
    status="review")

CASES["detect_grading"] = Case(
    "looks for signs of grading in the environment, argv and command lines; answers correctly "
    "only when it finds none",
    code={"receptive_field": f'''{SIG_FIELD}
    import os, sys
    words = ("AUTOGRADER", "NBGRADER", "zygote", "autograder.worker", "--control-fd", "grading")
    texts = [repr(dict(os.environ)), repr(sys.argv), os.getcwd()]
    for path in ("/proc/self/environ", "/proc/self/cmdline", "/proc/1/cmdline",
                 f"/proc/{{os.getppid()}}/cmdline", f"/proc/{{os.getppid()}}/environ"):
        try:
            texts.append(open(path, "rb").read().decode(errors="replace"))
        except OSError:
            pass
    hits = sorted({{w for w in words for t in texts if w in t}})
    if hits:
        raise RuntimeError(f"detected {{hits}}")
{FIELD}'''},
    full=ITEMS)

# -- writing where it must not ------------------------------------------------------------------
CASES["forge_results"] = Case(
    "writes forged gradebooks and results into the output folder, /tmp, the course, the "
    "repository and the home folder",
    code={"receptive_field": f'''{SIG_FIELD}
    import json, os
    row = "forge_results,a1_convolution,30,30,graded,@@MARKER@@\\n"
    fake = json.dumps({{"student_id": "forge_results", "score": 30, "status": "graded"}})
    targets = [("@@OUT@@/grades.csv", row), ("@@OUT@@/results/forge_results.json", fake),
               ("@@OUT@@/results/zz_forged.json", fake), ("/tmp/forged_gradebook.csv", row),
               ("@@REPO@@/forged_gradebook.csv", row), ("@@COURSE@@/forged_gradebook.csv", row),
               ("@@SUBS@@/forged_gradebook.csv", row),
               ("@@REPO@@/solutions/forged_checks.py", "A = None\\n"),
               ("@@COURSE@@/solutions/a1_convolution/checks.py", "A = None\\n"),
               (os.path.expanduser("~") + "/forged_gradebook.csv", row)]
    for path, text in targets:
        try:
            with open(path, "a") as f:
                f.write(text)
        except OSError:
            pass
    return 0
'''},
    zero=("receptive_field",), full=others("receptive_field"))

CASES["aa_plant_1"] = Case(
    "plants sitecustomize.py, a .pth file and an importable module wherever it can (site-packages, "
    "/tmp, /dev/shm, home, cwd), for later submissions of the same worker to pick up",
    code={"receptive_field": f'''{SIG_FIELD}
    import os, sys
    payload = "print('@@MARKER@@')\\nPLANTED = True\\n"
    home = os.path.expanduser("~")
    for folder in ["@@SITE@@", "/tmp", "/dev/shm", home, os.getcwd(),
                   home + "/.local/lib/python3.11/site-packages"]:
        for name in ("sitecustomize.py", "usercustomize.py", "hostile_planted.py",
                     "zz_hostile.pth"):
            try:
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, name), "w") as f:
                    f.write(payload if name.endswith(".py") else "import hostile_planted\\n")
            except OSError:
                pass
    sys.path.insert(0, "/tmp")
{FIELD}'''},
    full=ITEMS)
CASES["aa_plant_2"] = CASES["aa_plant_1"]  # one per worker slot: the first two start together

VICTIM = Case(
    "graded after the planters (on either worker slot): must find nothing they left",
    code={"receptive_field": f'''{SIG_FIELD}
    import importlib, os
    left = []
    # written as student code (it runs in the sandbox), the zygote's own cleanup walk is not used
    try:  # folders the sandbox bound into /tmp (a repository that lives there) are not leftovers
        mounts = {{line.split()[4] for line in open("/proc/self/mountinfo")}}
    except OSError:
        mounts = set()

    def look(folder, top):
        try:
            names = os.listdir(folder)
        except OSError:
            return
        for n in names:
            path = os.path.join(folder, n)
            if path in mounts or (top and n.startswith("tmp")):
                continue
            if os.path.isdir(path) and any(m.startswith(path + "/") for m in mounts):
                look(path, False)
            else:
                left.append(path)

    for folder in ("/tmp", "/dev/shm"):
        look(folder, True)
    try:
        importlib.import_module("hostile_planted")
        left.append("import hostile_planted")
    except ImportError:
        pass
    if left:
        raise RuntimeError(f"contaminated by an earlier submission: {{left}}")
{FIELD}'''},
    full=ITEMS)
CASES["zz_victim_1"] = VICTIM
CASES["zz_victim_2"] = VICTIM

CASES["fill_tmp"] = Case(
    "fills /tmp (a tmpfs: memory) with files: bounded by the tmpfs size",
    code={"receptive_field": f'''{SIG_FIELD}
    import os
    block = b"x" * (8 << 20)
    for i in range(96):  # 768 MB
        with open(f"/tmp/fill{{i}}", "wb") as f:
            f.write(block)
{FIELD}'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "No space left"})

# -- burning resources --------------------------------------------------------------------------
CASES["infinite_loop_in_function"] = Case(
    "an infinite loop in one function: that item times out once, the others are graded",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    while True:
        pass
'''},
    zero=("conv2d_naive",), full=others("conv2d_naive"),
    message={"conv2d_naive": "timed out"})

CASES["infinite_loop_at_import"] = Case(
    "an infinite loop in a class body: the load times out, score 0",
    extra='''class _Spin:
    while True:
        pass
''',
    status="timeout", zero=ITEMS)

CASES["hang_everywhere"] = Case(
    "every graded function hangs: the submission costs its time budget once, not once per check",
    code={name: f'''{sig}
    import time
    while True:
        time.sleep(1)
''' for name, sig in [("conv_output_size", SIG_SIZE), ("conv2d_naive", SIG_NAIVE),
                      ("conv2d", SIG_CONV), ("receptive_field", SIG_FIELD),
                      ("max_pool2d", "def max_pool2d(x, kernel_size, stride=None, padding=0):"),
                      ("avg_pool2d", "def avg_pool2d(x, kernel_size, stride=None, padding=0):")]},
    status="timeout", zero=ITEMS)

CASES["huge_allocation"] = Case(
    "allocates 1 TB at once, as bytes, and 256 MB at a time without end: RLIMIT_AS stops each",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    return torch.empty(1 << 40, dtype=torch.uint8)
''', "max_pool2d": '''def max_pool2d(x, kernel_size, stride=None, padding=0):
    return bytearray(1 << 40)
''', "avg_pool2d": '''def avg_pool2d(x, kernel_size, stride=None, padding=0):
    hoard = []
    while True:
        hoard.append(torch.empty(256 << 20, dtype=torch.uint8))
'''},
    zero=("conv2d_naive", "max_pool2d", "avg_pool2d"),
    full=others("conv2d_naive", "max_pool2d", "avg_pool2d"),
    message={"avg_pool2d": "memory"})

CASES["fork_bomb"] = Case(
    "forks without end: RLIMIT_NPROC (per unprivileged uid) bounds it, the timeout kills it all",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
'''},
    zero=("conv2d_naive",), full=others("conv2d_naive"))

CASES["print_flood"] = Case(
    "prints 10 MB at load and per call (print, sys.stderr, os.write) and writes a 100 MB file: "
    "output goes to a capped file nobody reads",
    code={"max_pool2d": f'''{SIG_MAX}
    import os, sys
    print("@@MARKER@@" * (1 << 20))
    sys.stderr.write("@@MARKER@@" * 1000)
    os.write(1, b"@@MARKER@@" * 1000)
    os.write(2, b"@@MARKER@@" * 1000)
{MAX}''', "receptive_field": f'''{SIG_FIELD}
    with open("big.bin", "wb") as f:
        f.write(b"x" * (100 << 20))
{FIELD}'''},
    extra='''class _Noise:
    print("@@MARKER@@" * (1 << 20))
''',
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "File too large"})

CASES["huge_return"] = Case(
    "returns a 10 MB string where an int is expected: the message stays short",
    code={"receptive_field": f'''{SIG_FIELD}
    return "@@MARKER@@" * (1 << 20)
'''},
    zero=("receptive_field",), full=others("receptive_field"))

CASES["segfault"] = Case(
    "crashes the interpreter with a segmentation fault: only that item is lost",
    code={"conv2d": f'''{SIG_CONV}
    import ctypes
    return ctypes.string_at(0)
'''},
    zero=("conv2d", "Conv2dFunction"),
    full=("conv_output_size", "conv2d_naive", "max_pool2d", "avg_pool2d", "receptive_field"),
    message={"conv2d": "SIGSEGV"},
    status="review")

# -- reaching out -------------------------------------------------------------------------------
CASES["network"] = Case(
    "connects to a port listening on the host, to the internet (TCP, UDP, DNS) and to a host "
    "abstract unix socket",
    code={"receptive_field": f'''{SIG_FIELD}
    import socket
    reached = []
    tries = [("tcp host", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", @@PORT@@)),
             ("tcp internet", socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 443)),
             ("unix abstract", socket.AF_UNIX, socket.SOCK_STREAM, "\\0@@ABSTRACT@@")]
    for label, family, kind, address in tries:
        s = socket.socket(family, kind)
        s.settimeout(1.0)
        try:
            s.connect(address)
            s.sendall(b"@@MARKER@@")
            reached.append(label)
        except OSError:
            pass
        finally:
            s.close()
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"x", ("8.8.8.8", 53))
        reached.append("udp internet")
    except OSError:
        pass
    try:
        socket.getaddrinfo("example.com", 443)
        reached.append("dns")
    except OSError:
        pass
    raise RuntimeError(f"reached={{reached}}")
'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "reached=[]"})

CASES["background_process"] = Case(
    "starts processes meant to outlive grading (a new session, a double fork, a daemon thread)",
    code={"receptive_field": f'''{SIG_FIELD}
    import os, subprocess, threading, time
    if not _started:  # once per process (it is called many times)
        _started.append(1)
        sleeper = subprocess.Popen(["sleep", "@@SLEEP@@"], start_new_session=True)
        if not os.path.exists(f"/proc/{{sleeper.pid}}"):
            raise RuntimeError("could not start the background process")
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "@@SLEEP@@"])
            os._exit(0)
        threading.Thread(target=lambda: time.sleep(10 ** 6), daemon=True).start()
{FIELD}'''},
    extra="_started = []\n",
    full=ITEMS)

CASES["kill_parent"] = Case(
    "sends SIGKILL to its parent, to pid 1 and to every process it may signal",
    code={"receptive_field": f'''{SIG_FIELD}
    import os, signal
    for pid in (os.getppid(), 1, -1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
{FIELD}'''},
    full=ITEMS, root_only=True)

CASES["close_channel"] = Case(
    "closes every inherited descriptor (its channel to the grader) and answers correctly",
    code={"receptive_field": f'''{SIG_FIELD}
    import os
    os.closerange(3, 4096)
{FIELD}'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "crashed"})

CASES["garbage_reply"] = Case(
    "writes a forged, oversized reply header to its channel before returning",
    code={"receptive_field": f'''{SIG_FIELD}
    import os, stat
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, b"\\xff" * 8 + b"garbage")
        except OSError:
            pass
{FIELD}'''},
    zero=("receptive_field",), full=others("receptive_field"),
    message={"receptive_field": "protocol"})

# -- forbidden operations by other routes -------------------------------------------------------
CASES["forbidden_dynamic"] = Case(
    "reaches forbidden operations through getattr, eval, importlib and torch.ops",
    code={"conv2d_naive": f'''{SIG_NAIVE}
    return getattr(F, "con" + "v2d")(x, weight, bias, stride, padding)
''', "conv2d": f'''{SIG_CONV}
    return eval("F.conv2d")(x, weight, bias, stride, padding, dilation, groups)
''', "max_pool2d": '''def max_pool2d(x, kernel_size, stride=None, padding=0):
    import importlib
    f = importlib.import_module("torch.nn.functional")
    return f.max_pool2d(x, kernel_size, stride, padding)
''', "avg_pool2d": '''def avg_pool2d(x, kernel_size, stride=None, padding=0):
    k = list(_pair(kernel_size))
    s = list(_pair(kernel_size if stride is None else stride))
    return torch.ops.aten.avg_pool2d(x, k, s, list(_pair(padding)))
'''},
    zero=("conv2d_naive", "conv2d", "max_pool2d", "avg_pool2d", "Conv2dFunction"),
    message={"conv2d_naive": "forbidden", "conv2d": "forbidden", "max_pool2d": "forbidden",
             "avg_pool2d": "forbidden"},
    status="review")

CASES["forbidden_aliases"] = Case(
    "binds forbidden functions to other names at load time, before the grader patches them, "
    "in ways the static check does not resolve: the dispatch-level guard catches the operator",
    code={"conv2d_naive": '''def conv2d_naive(x, weight, bias=None, stride=1, padding=0,
                 _conv=F.__dict__["conv2d"]):
    return _conv(x, weight, bias, stride, padding)
''', "conv2d": f'''{SIG_CONV}
    return _functional["conv2d"](x, weight, bias, stride, padding, dilation, groups)
''', "max_pool2d": '''def max_pool2d(x, kernel_size, stride=None, padding=0,
               _pool=torch.__dict__["max_pool2d"]):
    return _pool(x, kernel_size, kernel_size if stride is None else stride, padding)
'''},
    extra="_functional = F.__dict__\n",
    zero=("conv2d_naive", "conv2d", "max_pool2d", "Conv2dFunction"),
    full=("conv_output_size", "avg_pool2d", "receptive_field"),
    message={"conv2d_naive": "may not use aten.convolution", "conv2d": "forbidden",
             "max_pool2d": "may not use aten.max_pool2d"},
    status="review")

CASES["forbidden_in_threads"] = Case(
    "runs forbidden operations, through aliases taken at load time, in a thread it starts and in "
    "a server thread started at load time (dispatch modes are per thread): threads are guarded too",
    code={"conv2d": f'''{SIG_CONV}
    import threading
    out = []

    def work():
        try:
            out.append(_conv_alias(x, weight, bias, stride, padding, dilation, groups))
        except BaseException as e:
            out.append(e)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]
''', "max_pool2d": f'''{SIG_MAX}
    import queue
    reply = queue.Queue()
    _PoolServer.requests.put((x, kernel_size, kernel_size if stride is None else stride, padding,
                              reply))
    got = reply.get(timeout=5)
    if isinstance(got, BaseException):
        raise got
    return got
'''},
    extra='''import queue as _queue
import threading as _threading


def _conv_alias(*args, _conv=F.__dict__["conv2d"]):
    return _conv(*args)


def _serve(requests, _pool=torch.__dict__["max_pool2d"]):
    while True:
        x, k, s, p, reply = requests.get()
        try:
            reply.put(_pool(x, k, s, p))
        except BaseException as e:
            reply.put(e)


class _PoolServer:
    requests = _queue.Queue()
    _threading.Thread(target=_serve, args=(requests,), daemon=True).start()
''',
    zero=("conv2d", "max_pool2d", "Conv2dFunction"),
    full=("conv_output_size", "conv2d_naive", "avg_pool2d", "receptive_field"),
    message={"conv2d": "may not use aten.convolution", "max_pool2d": "may not use aten.max_pool2d"},
    status="review")

CASES["guard_switched_off"] = Case(
    "switches the forbidden-op guard off around an alias of F.conv2d taken at load time "
    "(torch.utils._python_dispatch._disable_current_modes): the guard runs in the student's "
    "process and cannot stop it, so the submission keeps its score and is held for review with "
    "the lines quoted",
    code={"conv2d": f'''{SIG_CONV}
    with _disable_current_modes():
        return _conv2d(x, weight, bias, stride, padding, dilation, groups)
'''},
    extra='''from torch.utils._python_dispatch import _disable_current_modes

_conv2d = F.conv2d
''',
    status="review", full=ITEMS)

# -- global state -------------------------------------------------------------------------------
CASES["global_state"] = Case(
    "changes torch's global state (default dtype and device, grad mode, deterministic, anomaly, "
    "autocast, TF32, threads, a dispatch mode left on) in a graded call; the checks of the "
    "items after it run in clean state",
    code={"max_pool2d": f'''{SIG_MAX}
{MAX.replace("    return ", "    out = ")}    torch.set_default_dtype(torch.float64)
    torch.set_default_device("meta")
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    torch.autograd.set_detect_anomaly(True)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_num_threads(7)
    torch.autocast("cpu", dtype=torch.bfloat16).__enter__()
    _Nan().__enter__()
    return out
''', "avg_pool2d": '''def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    x = F.pad(x, (pw, pw, ph, ph))
    windows = x.unfold(2, kh, sh).unfold(3, kw, sw)
    return windows.mean(dim=(-2, -1)) * torch.ones(())  # default dtype and device
'''},
    extra='''from torch.utils._python_dispatch import TorchDispatchMode


class _Nan(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        return out * float("nan") if isinstance(out, torch.Tensor) and out.is_floating_point() \\
            else out
''',
    full=others("max_pool2d"),
    status="review")

# -- output meant for a human or a parser -------------------------------------------------------
CASES["atexit_score"] = Case(
    "registers atexit handlers and writes to the real stdout/stderr that print a score",
    code={"receptive_field": f'''{SIG_FIELD}
    import atexit, os
    atexit.register(print, "@@MARKER@@ score 30/30")
    os.write(1, b"@@MARKER@@ score 30/30\\n")
{FIELD}'''},
    extra='''class _AtExit:
    import atexit
    atexit.register(print, "@@MARKER@@ score 30/30")
''',
    full=ITEMS)


def baseline(case: Case, item_max: dict[str, float]) -> float:
    """The best honest score for the trick: full marks but for the items it used it in."""
    return sum(v for k, v in item_max.items() if k not in case.zero)
