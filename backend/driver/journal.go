package driver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/droverlab/drover/scheduler"
	"github.com/gofrs/flock"
)

// ReadJournal reads a journal Run wrote (Options.Journal): one
// scheduler.Record per line, blank lines skipped.
//
// A crash in the middle of a write leaves a last line cut short: no
// newline at its end, and not valid JSON. ReadJournal drops such a line,
// logs a warning with slog and returns the records before it: none of the
// dropped records' commands ran, since commands run only after their
// records were written whole. A bad line anywhere else is corruption and
// an error that names the line.
func ReadJournal(r io.Reader) ([]scheduler.Record, error) {
	j, err := readJournal(r)
	if err != nil {
		return nil, err
	}
	if j.dropped > 0 {
		slog.Warn("journal: dropped a last line cut short by a crash", "line", j.lines, "bytes", j.dropped)
	}
	return j.records, nil
}

// OpenJournal opens (or creates) the journal file at path for a run that
// resumes it: it returns the records already there, and the file open for
// appending after them. A last line cut short by a crash is cut off the
// file (and logged), so the new records start on a line of their own.
func OpenJournal(path string) (*os.File, []scheduler.Record, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	j, err := readJournal(f)
	if err == nil && j.dropped > 0 {
		slog.Warn("journal: cut off a last line cut short by a crash", "path", path, "line", j.lines, "bytes", j.dropped)
		err = f.Truncate(j.valid)
	}
	if err == nil && j.valid > 0 && !j.newline {
		_, err = f.Write([]byte{'\n'})
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, j.records, nil
}

type journalRead struct {
	records []scheduler.Record
	// valid is the length of the whole lines read; newline whether the
	// text up to valid ends with one; dropped the length of a cut last
	// line, lines the count of lines.
	valid   int64
	newline bool
	dropped int
	lines   int
}

func readJournal(r io.Reader) (journalRead, error) {
	var j journalRead
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return j, fmt.Errorf("journal: %w", err)
		}
		if len(line) == 0 {
			return j, nil
		}
		j.lines++
		last := line[len(line)-1] != '\n'
		text := bytes.TrimSpace(line)
		if len(text) > 0 {
			var rec scheduler.Record
			if uerr := json.Unmarshal(text, &rec); uerr != nil {
				if last {
					j.dropped = len(line)
					return j, nil
				}
				return j, fmt.Errorf("journal line %d: %w", j.lines, uerr)
			}
			j.records = append(j.records, rec)
		}
		j.valid += int64(len(line))
		j.newline = !last
		if last {
			return j, nil
		}
	}
}

// ErrJournalLocked is returned by LockJournal when another process holds
// the journal: two runs appending to one journal would interleave records
// and each resume the other's moves.
var ErrJournalLocked = errors.New("journal is in use by another run")

// LockJournal takes an exclusive lock on the journal at path (an advisory
// lock on path+".lock", which the kernel releases if the process dies) and
// returns its release. It does not wait: a journal in use is an error
// wrapping ErrJournalLocked.
func LockJournal(path string) (unlock func() error, err error) {
	l := flock.New(path + ".lock")
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("journal %s: lock: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w (another drover apply or run; it holds %s.lock)", path, ErrJournalLocked, path)
	}
	return l.Unlock, nil
}
