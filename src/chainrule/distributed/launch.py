"""Start an MPI job of N processes on this machine, over shared memory only, and watch its ranks.

    python -m chainrule.distributed.launch --nproc 2 train.py --epochs 3
    python -m chainrule.distributed.launch --nproc 2 -m chainrule.cli train --dataset wine

The job runs under MPICH's mpiexec.gforker (it forks the ranks: no daemons, no TCP listener),
with UCX restricted to shared memory and loopback (UCX_TLS=self,sm, UCX_NET_DEVICES=lo) and
BLAS threads shared out between the ranks (OMP_NUM_THREADS etc., unless set). Each rank writes
its pid into a temporary directory when it calls init_process_group, and marks its normal exit
there. gforker exits 0 when a rank is killed by a signal, so the launcher watches the ranks
itself: a rank that vanishes without exiting stops the others and the job ends with status 1
and a one-line error naming the rank.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from chainrule.distributed.group import LAUNCH_DIR_VAR

MPIEXEC = "mpiexec.gforker"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
POLL_SECONDS = 0.1
STOP_SECONDS = 5.0  # how long stopped ranks get to exit on SIGTERM before SIGKILL


class LaunchError(RuntimeError):
    """The job could not be started (no MPI installed, a bad process count)."""


def find_mpiexec():
    """The path of mpiexec.gforker: beside this Python (the mpich wheel), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), MPIEXEC)
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which(MPIEXEC)
    if found is None:
        raise LaunchError(f"{MPIEXEC} was not found beside {sys.executable} or on PATH; "
                          "pip install 'chainrule[mpi]' (mpi4py, mpich)")
    return found


def mpi_available():
    """Whether a job can be launched: mpi4py imports and mpiexec.gforker exists."""
    try:
        import mpi4py  # noqa: F401

        find_mpiexec()
    except (ImportError, LaunchError):
        return False
    return True


def environment(nproc, directory, base=None):
    """The ranks' environment: shared memory/loopback only, BLAS threads per rank, the pid dir."""
    env = dict(os.environ if base is None else base)
    env.setdefault("UCX_TLS", "self,sm")
    env.setdefault("UCX_NET_DEVICES", "lo")
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    for var in THREAD_VARS:
        env.setdefault(var, threads)
    env[LAUNCH_DIR_VAR] = directory
    return env


def launch(nproc, args, prog="chainrule.distributed.launch"):
    """Run `python *args` as an MPI job of nproc ranks; returns the job's exit status."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise LaunchError("the number of processes must be a positive integer; "
                          f"got {nproc!r}")
    mpiexec = find_mpiexec()
    with tempfile.TemporaryDirectory(prefix="chainrule-launch-") as directory:
        command = [mpiexec, "-n", str(nproc), sys.executable, *args]
        job = subprocess.Popen(command, env=environment(nproc, directory))
        try:
            return _watch(job, nproc, directory, prog)
        except KeyboardInterrupt:
            _stop(job, directory)
            print(f"{prog}: interrupted; stopped the ranks", file=sys.stderr)
            return 130


def _watch(job, nproc, directory, prog):
    while True:
        status = job.poll()
        dead = _vanished(directory)
        if dead:
            if status is None:
                _stop(job, directory)
            rank, pid = dead[0]
            print(f"{prog}: error: rank {rank} (pid {pid}) of {nproc} died without exiting "
                  "(killed by a signal: SIGKILL, the out-of-memory killer, ...); stopped the "
                  "other ranks", file=sys.stderr, flush=True)
            return 1
        if status is not None:
            break
        time.sleep(POLL_SECONDS)
    registered = _registered(directory)
    if status == 0 and registered and len(registered) < nproc:
        missing = sorted(set(range(nproc)) - set(registered))
        print(f"{prog}: error: ranks {missing} of {nproc} ended before joining the process "
              "group (init_process_group)", file=sys.stderr)
        return 1
    if status != 0:
        print(f"{prog}: error: the job failed (exit status {status})", file=sys.stderr)
    return status


def _registered(directory):
    """{rank: pid} of the ranks that joined the process group."""
    out = {}
    for name in os.listdir(directory):
        if name.startswith("rank-") and name.endswith(".pid"):
            try:
                with open(os.path.join(directory, name)) as f:
                    out[int(name[5:-4])] = int(f.read())
            except (OSError, ValueError):  # being written: read it at the next poll
                continue
    return out


def _vanished(directory):
    """[(rank, pid)] of joined ranks that are gone without having exited normally."""
    return [(rank, pid) for rank, pid in sorted(_registered(directory).items())
            if not _alive(pid) and not os.path.exists(os.path.join(directory,
                                                                   f"rank-{rank}.exit"))]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped by mpiexec) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _stop(job, directory):
    """SIGTERM the ranks and mpiexec; SIGKILL whatever is left after STOP_SECONDS."""
    pids = list(_registered(directory).values())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if _alive(pid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        if job.poll() is None:
            job.send_signal(sig)
        try:
            job.wait(STOP_SECONDS)
            if not any(_alive(pid) for pid in pids):
                return
        except subprocess.TimeoutExpired:
            continue


def main(argv=None):
    """`python -m chainrule.distributed.launch --nproc N (script.py | -m module) [args]`."""
    prog = "chainrule.distributed.launch"
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = f"usage: python -m {prog} --nproc N (script.py | -m module) [args ...]"
    nproc = None
    if argv and argv[0].startswith("--nproc="):
        nproc, argv = argv[0].split("=", 1)[1], argv[1:]
    elif len(argv) >= 2 and argv[0] in ("--nproc", "-n"):
        nproc, argv = argv[1], argv[2:]
    try:
        nproc = int(nproc)
    except (TypeError, ValueError):
        print(f"{usage}\n{prog}: error: --nproc N must come first, N a positive integer; "
              f"got {nproc!r}", file=sys.stderr)
        return 2
    if not argv:
        print(f"{usage}\n{prog}: error: a script or -m module is required", file=sys.stderr)
        return 2
    try:
        return launch(nproc, argv, prog=prog)
    except LaunchError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
