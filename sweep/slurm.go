package sweep

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"
)

// SlurmOptions are the sbatch settings of a submission.
type SlurmOptions struct {
	Partition   string // --partition; "" for the cluster's default
	Time        string // --time, e.g. 10:00; "" for the partition's default
	Mem         string // --mem, e.g. 1G
	MaxParallel int    // the %K of --array: at most K tasks at once; 0 for no bound
	// Drover is the drover binary the tasks run; it must be at this path
	// on every node (default: this one).
	Drover string
	// Extra lines of #SBATCH options, such as "--account=x".
	Extra []string
	// PerTask runs this many consecutive runs in each array task (task i
	// runs runs i*PerTask to (i+1)*PerTask-1), so that runs much shorter
	// than Slurm's own cost of a task (about a second) do not pay it each;
	// 0 or 1: one run per task, whose array index is the run's index.
	PerTask int
}

// tasks maps run indices to array indices: run i is in task i/per.
func tasks(indices []int, per int) []int {
	if per <= 1 {
		return indices
	}
	var out []int
	for _, i := range indices {
		if t := i / per; len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

// ArraySpec writes indices as Slurm's --array list: ranges where they are
// consecutive ("0-19", "3,7-9"), with "%K" when k > 0.
func ArraySpec(indices []int, k int) string {
	idx := append([]int(nil), indices...)
	sort.Ints(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", idx[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", idx[i], idx[j])
		}
		i = j + 1
	}
	if k > 0 {
		fmt.Fprintf(&b, "%%%d", k)
	}
	return b.String()
}

// Script is the sbatch script of a job array over the runs indices of d:
// each task runs `drover sweep task DIR $SLURM_ARRAY_TASK_ID`, whose run
// index is the array index (with PerTask, the runs of that chunk).
func (d *Dir) Script(o SlurmOptions, indices []int) (string, error) {
	slices.Sort(indices)
	indices = tasks(indices, o.PerTask)
	abs, err := filepath.Abs(d.Path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=drover-%s\n", shellSafe(d.Manifest.Name))
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", ArraySpec(indices, o.MaxParallel))
	fmt.Fprintf(&b, "#SBATCH --output=%s/slurm/%%A_%%a.out\n", abs)
	b.WriteString("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n")
	if o.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", o.Partition)
	}
	if o.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	}
	if o.Mem != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", o.Mem)
	}
	for _, x := range o.Extra {
		fmt.Fprintf(&b, "#SBATCH %s\n", x)
	}
	b.WriteString("# One run of the sweep per array task; a run whose report.json is complete is skipped.\n")
	per := ""
	if o.PerTask > 1 {
		per = fmt.Sprintf(" --per-task %d", o.PerTask)
	}
	fmt.Fprintf(&b, "exec %s sweep task %s \"$SLURM_ARRAY_TASK_ID\"%s\n", shellQuote(o.Drover), shellQuote(abs), per)
	return b.String(), nil
}

func shellSafe(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(s, "_")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Submit writes DIR/slurm/array-N.sbatch for indices and submits it with
// sbatch; it returns the job id, also recorded in DIR/slurm/jobs.
func (d *Dir) Submit(ctx context.Context, o SlurmOptions, indices []int) (string, error) {
	if len(indices) == 0 {
		return "", fmt.Errorf("nothing to submit")
	}
	if o.Drover == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		o.Drover = exe
	}
	script, err := d.Script(o, indices)
	if err != nil {
		return "", err
	}
	sd := filepath.Join(d.Path, "slurm")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return "", err
	}
	jobs, _ := d.Jobs()
	path := filepath.Join(sd, fmt.Sprintf("array-%d.sbatch", len(jobs)))
	if err := renameio.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "sbatch", "--parsable", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sbatch %s: %v: %s", path, err, bytes.TrimSpace(out))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch %s: unexpected answer %q", path, out)
	}
	f, err := os.OpenFile(filepath.Join(sd, "jobs"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return id, err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s %s %d\n", id, ArraySpec(tasks(slices.Sorted(slices.Values(indices)), o.PerTask), 0), max(o.PerTask, 1))
	return id, err
}

// perTask is how many runs each task of every job submitted for d runs.
func (d *Dir) perTask() map[string]int {
	data, _ := os.ReadFile(filepath.Join(d.Path, "slurm", "jobs"))
	out := map[string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		out[f[0]] = 1
		if len(f) >= 3 {
			if n, err := strconv.Atoi(f[2]); err == nil && n > 1 {
				out[f[0]] = n
			}
		}
	}
	return out
}

// Jobs lists the job ids submitted for d, oldest first.
func (d *Dir) Jobs() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, "slurm", "jobs"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids, nil
}

// TaskState is what Slurm says of one array task.
type TaskState struct {
	Job   string // the array's job id
	Index int    // the array index (the run index, or with PerTask the chunk's)
	State string // RUNNING, PENDING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
}

var taskRE = regexp.MustCompile(`^(\d+)_(\d+|\[[^\]]*\])$`)

// ParseSqueue reads `squeue -h -r -o '%i %T'` (one line per array task;
// pending ranges such as 12_[3-9%2] are expanded).
func ParseSqueue(out string) []TaskState {
	return parseTasks(out, " ")
}

// ParseSacct reads `sacct -n -P -X -o JobID,State` ("12_3|CANCELLED by 0").
func ParseSacct(out string) []TaskState {
	return parseTasks(out, "|")
}

func parseTasks(out, sep string) []TaskState {
	var ts []TaskState
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		id, state, ok := strings.Cut(line, sep)
		if !ok {
			continue
		}
		state = strings.TrimSpace(state)
		if f := strings.Fields(state); len(f) > 0 {
			state = f[0] // "CANCELLED by 0"
		}
		m := taskRE.FindStringSubmatch(strings.TrimSpace(id))
		if m == nil {
			continue
		}
		if !strings.HasPrefix(m[2], "[") {
			n, _ := strconv.Atoi(m[2])
			ts = append(ts, TaskState{Job: m[1], Index: n, State: state})
			continue
		}
		spec := strings.Trim(m[2], "[]")
		spec, _, _ = strings.Cut(spec, "%")
		for _, part := range strings.Split(spec, ",") {
			a, b, isRange := strings.Cut(part, "-")
			lo, err1 := strconv.Atoi(a)
			hi := lo
			var err2 error
			if isRange {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || hi-lo > MaxRuns {
				continue
			}
			for n := lo; n <= hi; n++ {
				ts = append(ts, TaskState{Job: m[1], Index: n, State: state})
			}
		}
	}
	return ts
}

// Run states of Status.
const (
	Done    = "done"
	Running = "running"
	Failed  = "failed"
	Pending = "pending"
	Missing = "missing" // never submitted, or gone without a trace
)

// RunStatus is one run's state and why.
type RunStatus struct {
	Run   *Run
	State string
	Why   string
}

// Classify decides each run's state from its folder and what Slurm says
// of its latest task (tasks from later jobs win): a complete report is
// done; a task queued or running is pending or running; a task Slurm
// ended without a report (failed, cancelled, timed out, out of memory,
// node failure), or an error.txt, or a run started by a task no longer
// queued, is failed; anything else is missing.
func (d *Dir) Classify(ts []TaskState) []RunStatus {
	per := d.perTask()
	latest := map[int]TaskState{}
	for _, t := range ts {
		n := max(per[t.Job], 1)
		for i := t.Index * n; i < (t.Index+1)*n && i < len(d.Runs); i++ {
			if old, ok := latest[i]; ok && jobLess(t.Job, old.Job) {
				continue
			}
			latest[i] = t
		}
	}
	out := make([]RunStatus, len(d.Runs))
	for i := range d.Runs {
		r := &d.Runs[i]
		st := RunStatus{Run: r}
		t, has := latest[r.Index]
		rd := d.RunDir(r)
		switch {
		case d.Complete(r):
			st.State = Done
		case has && (t.State == "RUNNING" || t.State == "COMPLETING" || t.State == "CONFIGURING"):
			st.State, st.Why = Running, "job "+t.Job
		case has && (t.State == "PENDING" || t.State == "REQUEUED" || t.State == "RESIZING" || t.State == "SUSPENDED"):
			st.State, st.Why = Pending, "job "+t.Job
		case has && t.State != "COMPLETED":
			st.State, st.Why = Failed, fmt.Sprintf("task %s_%d %s", t.Job, t.Index, t.State)
		case exists(filepath.Join(rd, "error.txt")):
			b, _ := os.ReadFile(filepath.Join(rd, "error.txt"))
			st.State, st.Why = Failed, strings.TrimSpace(string(b))
		case exists(filepath.Join(rd, "started")):
			st.State, st.Why = Failed, "started, no report, no task queued"
		default:
			st.State = Missing
		}
		out[i] = st
	}
	return out
}

func jobLess(a, b string) bool {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x < y
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// SlurmTasks asks squeue, and sacct where accounting answers, about the
// jobs submitted for d. sacct's answer is left out when it fails (no
// accounting storage); squeue's wins for tasks both know.
func (d *Dir) SlurmTasks(ctx context.Context) ([]TaskState, error) {
	jobs, err := d.Jobs()
	if err != nil || len(jobs) == 0 {
		return nil, nil
	}
	list := strings.Join(jobs, ",")
	var ts []TaskState
	if out, err := exec.CommandContext(ctx, "sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", list).Output(); err == nil {
		ts = append(ts, ParseSacct(string(out))...)
	}
	out, err := exec.CommandContext(ctx, "squeue", "-h", "-r", "-o", "%i %T", "-j", list).Output()
	if err != nil {
		// squeue refuses ids it no longer knows when every job has ended.
		if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "Invalid job id") {
			return ts, nil
		}
		return ts, fmt.Errorf("squeue: %v", err)
	}
	q := ParseSqueue(string(out))
	// A task squeue lists is still live: its state there is the current one.
	live := map[[2]string]bool{}
	for _, t := range q {
		live[[2]string{t.Job, strconv.Itoa(t.Index)}] = true
	}
	kept := ts[:0]
	for _, t := range ts {
		if !live[[2]string{t.Job, strconv.Itoa(t.Index)}] {
			kept = append(kept, t)
		}
	}
	return append(kept, q...), nil
}
