// Package slurmtest starts a one-node Slurm cluster on this machine for
// tests, from Debian's packages (slurmctld, slurmd, munge), without systemd:
// a generated slurm.conf for the local host in a temporary directory,
// munged, slurmctld and slurmd as background processes that Stop ends.
// It needs root. Client commands find the cluster through SLURM_CONF.
package slurmtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is a running one-node cluster.
type Cluster struct {
	Dir  string // slurm.conf, state, spool and logs
	Conf string // the slurm.conf path: set SLURM_CONF to it
	Node string
	Log  func(format string, args ...any)

	procs    []proc
	mungePID int
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Ports away from a system Slurm's 6817/6818.
const (
	ctldPort   = 16817
	slurmdPort = 16818
)

// Missing says which programs the cluster needs are not installed ("" when
// all are).
func Missing() string {
	var miss []string
	for _, p := range []string{"slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo"} {
		if _, err := lookPath(p); err != nil {
			miss = append(miss, p)
		}
	}
	return strings.Join(miss, ", ")
}

func lookPath(p string) (string, error) {
	if x, err := exec.LookPath(p); err == nil {
		return x, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if st, err := os.Stat(filepath.Join(d, p)); err == nil && !st.IsDir() {
			return filepath.Join(d, p), nil
		}
	}
	return "", fmt.Errorf("%s not found", p)
}

// Start writes the configuration into dir and starts the daemons; it
// returns once the node is idle, or an error within timeout. Stop the
// cluster whatever Start returns.
func Start(dir string, timeout time.Duration, log func(string, ...any)) (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("slurmtest: needs root (slurmd runs tasks as their user)")
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	host, _, _ = strings.Cut(host, ".")
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Node: host, Log: log}
	for _, d := range []string{"state", "spool", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return c, err
		}
	}
	if err := os.WriteFile(c.Conf, []byte(c.config()), 0o644); err != nil {
		return c, err
	}
	// proctrack/linuxproc and task/none use no cgroups, but slurmd loads
	// the cgroup plugin all the same: v1 on hybrid hierarchies (it refuses
	// hybrid mode with v2), v2 where the hierarchy is unified.
	plugin := "cgroup/v1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		plugin = "cgroup/v2"
	}
	cg := fmt.Sprintf("CgroupPlugin=%s\nCgroupAutomount=no\nConstrainCores=no\nConstrainRAMSpace=no\n", plugin)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.conf"), []byte(cg), 0o644); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.startMunge(ctx); err != nil {
		return c, err
	}
	ctld, _ := lookPath("slurmctld")
	slurmd, _ := lookPath("slurmd")
	if err := c.start(ctld, "-D", "-i", "-f", c.Conf); err != nil {
		return c, err
	}
	if err := c.start(slurmd, "-D", "-f", c.Conf); err != nil {
		return c, err
	}
	for {
		out, err := c.Command(ctx, "sinfo", "-h", "-N", "-o", "%T").Output()
		st := strings.TrimSpace(string(out))
		if err == nil && (st == "idle" || st == "mixed" || st == "allocated") {
			c.logf("slurm: node %s %s (%s)", c.Node, st, c.Dir)
			return c, nil
		}
		for _, p := range c.procs {
			select {
			case <-p.done:
				return c, fmt.Errorf("slurmtest: %s exited: see %s", p.cmd.Path, filepath.Join(dir, "logs"))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("slurmtest: the node is not idle after %s (sinfo: %q %v); logs in %s", timeout, st, err, filepath.Join(dir, "logs"))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (c *Cluster) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

func (c *Cluster) config() string {
	d := c.Dir
	return fmt.Sprintf(`# One-node cluster of drover's tests (sweep/slurmtest).
ClusterName=drovertest
SlurmctldHost=%[2]s(127.0.0.1)
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=%[1]s/state
SlurmdSpoolDir=%[1]s/spool
SlurmctldPidFile=%[1]s/slurmctld.pid
SlurmdPidFile=%[1]s/slurmd.pid
SlurmctldLogFile=%[1]s/logs/slurmctld.log
SlurmdLogFile=%[1]s/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MaxArraySize=100001
MinJobAge=300
NodeName=%[2]s NodeAddr=127.0.0.1 NodeHostname=%[2]s CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=%[2]s Default=YES MaxTime=INFINITE State=UP
`, d, c.Node, ctldPort, slurmdPort)
}

func (c *Cluster) start(path string, args ...string) error {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+c.Conf)
	f, err := os.Create(filepath.Join(c.Dir, "logs", filepath.Base(path)+".out"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("slurmtest: %s: %w", path, err)
	}
	p := proc{cmd, make(chan struct{})}
	c.procs = append(c.procs, p)
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return nil
}

// startMunge makes a munge key if there is none and starts munged unless
// one answers already (then it is left alone, as it was not ours).
func (c *Cluster) startMunge(ctx context.Context) error {
	if exec.CommandContext(ctx, "sh", "-c", "munge -n | unmunge").Run() == nil {
		c.logf("slurm: munged answers already")
		return nil
	}
	u, err := user.Lookup("munge")
	if err != nil {
		return fmt.Errorf("slurmtest: no munge user (apt-get install munge): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	key := "/etc/munge/munge.key"
	if _, err := os.Stat(key); errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 1024)
		rand.Read(b)
		if err := os.MkdirAll("/etc/munge", 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(key, b, 0o400); err != nil {
			return err
		}
		os.Chown("/etc/munge", uid, gid)
		if err := os.Chown(key, uid, gid); err != nil {
			return err
		}
		c.logf("slurm: generated %s", key)
	}
	for _, d := range []string{"/run/munge", "/var/lib/munge", "/var/log/munge"} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, uid, gid)
	}
	munged, _ := lookPath("munged")
	out, err := exec.CommandContext(ctx, "runuser", "-u", "munge", "--", munged).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slurmtest: munged: %v: %s", err, out)
	}
	if b, err := os.ReadFile("/run/munge/munged.pid"); err == nil {
		c.mungePID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	for exec.CommandContext(ctx, "sh", "-c", "munge -n | unmunge").Run() != nil {
		select {
		case <-ctx.Done():
			return errors.New("slurmtest: munged does not answer")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// Command is a Slurm client command for this cluster.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+c.Conf)
	return cmd
}

// Stop cancels every job and ends the daemons it started (munged only if
// it started it).
func (c *Cluster) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Command(ctx, "scancel", "--full", "--user=root").Run()
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		pid := p.cmd.Process.Pid
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	}
	if c.mungePID > 0 {
		syscall.Kill(c.mungePID, syscall.SIGTERM)
	}
}
