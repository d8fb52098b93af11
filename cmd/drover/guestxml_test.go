package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/droverlab/drover/backend/libvirt"
)

// drover guest-xml prints libvirt.Workload's XML, sizes and rates read as
// everywhere else.
func TestGuestXML(t *testing.T) {
	run := func(args ...string) (string, error) {
		c := guestXMLCmd()
		var out bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&out)
		c.SetArgs(args)
		err := c.Execute()
		return out.String(), err
	}
	got, err := run("--name", "drsmoke", "--memory", "160", "--wss", "64MiB", "--dirty", "16MiB/s", "--guest-dir", "/var/tmp/g",
		"--serial-file", "/var/log/libvirt/qemu/drsmoke-serial.log", "--no-balloon", "--mac", "52:54:00:dd:00:01")
	if err != nil {
		t.Fatal(err)
	}
	want, err := libvirt.Workload{Name: "drsmoke", MemoryMiB: 160, WSS: 64 << 20, Dirty: 16 << 20, GuestDir: "/var/tmp/g",
		SerialFile: "/var/log/libvirt/qemu/drsmoke-serial.log", NoBalloon: true, MAC: "52:54:00:dd:00:01"}.XML()
	if err != nil {
		t.Fatal(err)
	}
	if got != want+"\n" {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got, err = run("--name", "a", "--memory", "128", "--wss", "16777216", "--dirty", "0", "--guest-dir", "/g", "--kvm")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `<domain type="kvm">`) || !strings.Contains(got, "drover.wss=16777216 drover.dirty=0<") {
		t.Errorf("got\n%s", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "a", "--memory", "128", "--wss", "16M", "--dirty", "0", "--guest-dir", "/g"}, "--wss"},
		{[]string{"--name", "a", "--memory", "128", "--wss", "16MiB", "--dirty", "fast", "--guest-dir", "/g"}, "--dirty"},
		{[]string{"--name", "a", "--memory", "128", "--wss", "16MiB", "--dirty", "0"}, "guest-dir"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error about %s", c.args, err, c.want)
		}
	}
}
