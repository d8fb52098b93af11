package scenarios_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/droverlab/drover/scenarios"
)

// FuzzParse checks that Parse never panics and that every failure is a
// non-empty *scenarios.Errors with positions in the file. The seed corpus
// in testdata/fuzz/FuzzParse holds the bundled examples and a few broken
// files; run with go test -fuzz=FuzzParse ./scenarios/.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + "vms: [{names: \"v[1-3]\", hosts: h1, vcpus: 2, memory: 1GiB, cpu: {random_walk: {start: 1, step: 0.5}}}]\n"))
	// Depth and size: nesting at and past the bound, in flow and block
	// style, alias chains, many problems at once.
	f.Add([]byte(base + "x: " + strings.Repeat("[", 63) + strings.Repeat("]", 63) + "\n"))
	f.Add([]byte(base + "x: " + strings.Repeat("{a: ", 70) + "\n"))
	f.Add([]byte(base + "x:\n" + strings.Repeat("- ", 80) + "1\n"))
	f.Add([]byte(base + "a: &a [1]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c, *c]\n"))
	f.Add([]byte(base + strings.Repeat("junk: 1\n", 200)))
	f.Add([]byte(base + "sim: {duration: 1000000h, sample_interval: 1ns}\npolicy: {interval: 1ns}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenarios.Parse("fuzz.yaml", data)
		if err == nil {
			if sc == nil {
				t.Fatal("nil scenario without error")
			}
			return
		}
		if sc != nil {
			t.Fatal("scenario returned with an error")
		}
		var errs *scenarios.Errors
		if !errors.As(err, &errs) || err != error(errs) {
			t.Fatalf("error is %T, want *scenarios.Errors", err)
		}
		if len(*errs) == 0 {
			t.Fatal("empty *Errors")
		}
		for _, e := range *errs {
			if e.Msg == "" {
				t.Fatalf("empty message at %v", e.Pos)
			}
			if e.Pos.File == "fuzz.yaml" && (e.Pos.Line < 1 || e.Pos.Column < 1) {
				t.Fatalf("no position for %q", e.Error())
			}
		}
		if !strings.HasPrefix(errs.Error(), (*errs)[0].Error()) {
			t.Fatal("Error() does not start with the first error")
		}
	})
}
