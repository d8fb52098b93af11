package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/libvirt"
)

func gridSpecOf(t *testing.T, args ...string) error {
	t.Helper()
	cfg, err := libvirt.ParseConfig("inv.yaml", []byte("hosts:\n  - {name: a, address: 198.18.0.1, transport: tcp}\n  - {name: b, address: 198.18.0.2, transport: tcp}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var g gridFlags
	c := &cobra.Command{}
	g.register(c)
	if err := c.Flags().Parse(args); err != nil {
		return err
	}
	_, err = g.spec(cfg)
	return err
}

func TestGridFlagsSayEveryProblemAtOnce(t *testing.T) {
	if err := gridSpecOf(t); err != nil {
		t.Fatalf("the default grid: %v", err)
	}
	if err := gridSpecOf(t, "--caps", "32,32,64"); err != nil {
		t.Fatalf("a cap listed twice (a repeatability run): %v", err)
	}
	err := gridSpecOf(t, "--mem", "16", "--caps", "-1", "--conc", "1", "--budget", "0s", "--dirty", "-4MiB/s")
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"memory 16 MiB", "cap -1", "--conc 1", "--budget 0s", "--dirty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := gridSpecOf(t, "--wss", "8MiBs"); err == nil || !strings.Contains(err.Error(), "--wss") {
		t.Errorf("a bad size names its flag: %v", err)
	}
	if err := gridSpecOf(t, "--mem", "256", "--wss", "200MiB", "--conc", "0"); err == nil || !strings.Contains(err.Error(), "no single migration") {
		t.Errorf("a grid with nothing to run: %v", err)
	}
	if err := gridSpecOf(t, "--hosts", "a,c"); err == nil || !strings.Contains(err.Error(), "no host c") {
		t.Errorf("an unknown host: %v", err)
	}
}
