package sweep

import (
	"context"
	"sync"
)

// PoolResult is what RunLocal did.
type PoolResult struct {
	Skipped int     // complete before it started
	Done    int     // run now
	Failed  []error // one per failed run, in the order they failed
}

// RunLocal runs the runs of d that are not complete on a pool of jobs
// goroutines, each run on its own, in index order. progress, if not nil,
// is called (from one goroutine at a time) after each run with how many
// of the runs to do have finished. When ctx is done no new run starts and
// RunLocal returns without waiting for the ones under way (their reports
// are never half written); running it again continues where it stopped.
func (d *Dir) RunLocal(ctx context.Context, jobs int, run Runner, progress func(finished, todo int)) (PoolResult, error) {
	var res PoolResult
	var todo []int
	for i := range d.Runs {
		if d.Complete(&d.Runs[i]) {
			res.Skipped++
			continue
		}
		todo = append(todo, i)
	}
	if progress != nil {
		progress(0, len(todo))
	}
	jobs = max(1, min(jobs, len(todo)))
	work := make(chan int)
	type outcome struct{ err error }
	results := make(chan outcome, jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- outcome{d.RunOne(&d.Runs[i], run)}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, i := range todo {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	finished := 0
	for {
		select {
		case o, ok := <-results:
			if !ok {
				return res, ctx.Err()
			}
			finished++
			if o.err != nil {
				res.Failed = append(res.Failed, o.err)
			} else {
				res.Done++
			}
			if progress != nil {
				progress(finished, len(todo))
			}
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
}
