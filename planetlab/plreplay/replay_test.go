package plreplay

import (
	"testing"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

func runDay(t testing.TB, path, policy string) *Result {
	t.Helper()
	day, err := planetlab.ReadDay(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := poweraware.ParseName(policy)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := poweraware.NewPolicy(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(day, pol, n.String(), planetlab.Hosts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSmoke(t *testing.T) {
	res := runDay(t, "../testdata/20110303.tar.gz", "thr-mmt-0.8")
	t.Logf("%+v", *res)
}
