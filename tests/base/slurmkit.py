"""A private Slurm cluster of one node on localhost for elm's tests: slurmctld and slurmd from
Debian's slurm-wlm, started in the foreground with their own slurm.conf, state and ports under
a temporary folder (auth/none, so no munge; proctrack/pgid and task/none, so no cgroups;
MpiDefault=pmix, the PMI that Debian's Open MPI speaks). Needs root (slurmd runs the tasks)."""
import os
import shutil
import socket
import subprocess
import time


def missing():
    """Why this machine cannot run the cluster, or None."""
    for tool in ("slurmctld", "slurmd", "srun", "sbatch", "sinfo"):
        if shutil.which(tool) is None:
            return f"no {tool} (Debian: slurm-wlm)"
    if os.geteuid() != 0:
        return "slurmd must run as root"
    return None


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    """with Cluster(folder) as c: c.run(["srun", "-n", "2", ...]) — the daemons go on exit."""

    def __init__(self, folder):
        self.folder = folder
        self.procs = []
        self.host = subprocess.run(["hostname", "-s"], capture_output=True,
                                   text=True).stdout.strip() or "localhost"
        for sub in ("state", "spool", "log"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        ctld_port, d_port = _free_ports(2)
        self.conf = os.path.join(folder, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=elmtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/ctld.pid
SlurmdPidFile={folder}/d.pid
SlurmctldLogFile={folder}/log/ctld.log
SlurmdLogFile={folder}/log/d.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=pmix
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/linear
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=elm Nodes={self.host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        for v in list(self.env):
            if v.startswith(("SLURM_", "PMIX_", "PMI_", "OMPI_")) and v != "SLURM_CONF":
                del self.env[v]

    def __enter__(self):
        for daemon in ("slurmctld", "slurmd"):
            log = open(os.path.join(self.folder, "log", daemon + ".out"), "w")
            self.procs.append(subprocess.Popen([daemon, "-D", "-f", self.conf], env=self.env,
                                               stdout=log, stderr=subprocess.STDOUT))
        deadline = time.time() + 60
        while time.time() < deadline:
            p = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True,
                               text=True)
            if p.returncode == 0 and p.stdout.strip() == "idle":
                return self
            if any(proc.poll() is not None for proc in self.procs):
                break
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError("the test's Slurm did not come up: " + self.logs())

    def logs(self):
        out = []
        for name in ("slurmctld.out", "slurmd.out"):
            path = os.path.join(self.folder, "log", name)
            if os.path.exists(path):
                with open(path) as f:
                    out.append(f"{name}: {f.read()[-1500:]}")
        return "\n".join(out)

    def run(self, cmd, timeout=300, **kw):
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout,
                              **kw)

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
