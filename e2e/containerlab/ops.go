package containerlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

// Inventory is the lab as drover's inventory file: every host with its
// address, transport, zone and rack, and drover's client certificates.
// The foreign-CA host is left out, as an operator would leave out a host
// drover cannot trust; HostLine gives its line for a refusal test.
func (l *Lab) Inventory() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# drover-lab %s: hosts in containers\npki: %s\nhosts:\n", l.Name, l.Dir+"/"+ClientDir)
	for _, h := range l.Hosts {
		if h.CertFault == "" {
			b.WriteString(h.Line())
		}
	}
	return b.Bytes()
}

// Line is the host's entry in an inventory's hosts list.
func (h Host) Line() string {
	tr := "tcp"
	if h.TLS {
		tr = "tls"
	}
	return fmt.Sprintf("  - {name: %s, address: %s, transport: %s, zone: %s, rack: %s}\n", h.Name, h.Address, tr, h.Zone, h.Rack)
}

// Host returns the named host, or nil.
func (l *Lab) Host(name string) *Host {
	i := slices.IndexFunc(l.Hosts, func(h Host) bool { return h.Name == name })
	if i < 0 {
		return nil
	}
	return &l.Hosts[i]
}

func (l *Lab) ctr(name string) (testcontainers.Container, error) {
	c, ok := l.ctrs[name]
	if !ok {
		return nil, fmt.Errorf("containerlab: no host %q", name)
	}
	return c, nil
}

// id is a host's container ID, for the Docker calls testcontainers does not wrap.
func (l *Lab) id(name string) (string, error) {
	c, err := l.ctr(name)
	if err != nil {
		return "", err
	}
	return c.GetContainerID(), nil
}

// Exec runs cmd in a host and returns its combined output; a non-zero exit
// is an error that carries the output.
func (l *Lab) Exec(ctx context.Context, host string, cmd ...string) (string, error) {
	c, err := l.ctr(host)
	if err != nil {
		return "", err
	}
	code, r, err := c.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("containerlab: %s: %v: %w", host, cmd, err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("containerlab: %s: %v: exit %d: %s", host, cmd, code, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ReadFile reads a file inside a host.
func (l *Lab) ReadFile(ctx context.Context, host, path string) ([]byte, error) {
	c, err := l.ctr(host)
	if err != nil {
		return nil, err
	}
	r, err := c.CopyFileFromContainer(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Kill stops a host at once (SIGKILL to every process in it): a crash.
func (l *Lab) Kill(ctx context.Context, host string) error {
	id, err := l.id(host)
	if err != nil {
		return err
	}
	_, err = l.docker.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"})
	return err
}

// Restart starts a stopped (killed) host again and waits until its
// libvirtd answers.
func (l *Lab) Restart(ctx context.Context, host string) error {
	c, err := l.ctr(host)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("containerlab: restart %s: %w", host, err)
	}
	return nil
}

// Pause freezes every process of a host (the cgroup freezer); Resume thaws it.
func (l *Lab) Pause(ctx context.Context, host string) error {
	id, err := l.id(host)
	if err != nil {
		return err
	}
	_, err = l.docker.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	return err
}

func (l *Lab) Resume(ctx context.Context, host string) error {
	id, err := l.id(host)
	if err != nil {
		return err
	}
	_, err = l.docker.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	return err
}

// Disconnect cuts a host off the lab network (a partition); Reconnect puts
// it back at its address.
func (l *Lab) Disconnect(ctx context.Context, host string) error {
	id, err := l.id(host)
	if err != nil {
		return err
	}
	_, err = l.docker.NetworkDisconnect(ctx, l.net.ID, client.NetworkDisconnectOptions{Container: id, Force: true})
	return err
}

func (l *Lab) Reconnect(ctx context.Context, host string) error {
	id, err := l.id(host)
	if err != nil {
		return err
	}
	h := l.Host(host)
	_, err = l.docker.NetworkConnect(ctx, l.net.ID, client.NetworkConnectOptions{Container: id,
		EndpointConfig: endpoint(h.Name, h.Address)})
	return err
}

// Shape limits a host's egress to rate bytes/s with an added one-way delay
// (tc: a tbf, under a netem when delay is set); rate 0 and delay "" lift it.
func (l *Lab) Shape(ctx context.Context, host string, rate int64, delay string) error {
	_, _ = l.Exec(ctx, host, "tc", "qdisc", "del", "dev", "eth0", "root")
	if rate <= 0 && delay == "" {
		return nil
	}
	parent := []string{"root", "handle", "1:"}
	if delay != "" {
		if _, err := l.Exec(ctx, host, "tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "netem", "delay", delay); err != nil {
			return err
		}
		parent = []string{"parent", "1:1", "handle", "10:"}
	}
	if rate > 0 {
		args := append([]string{"tc", "qdisc", "add", "dev", "eth0"}, parent...)
		args = append(args, "tbf", "rate", fmt.Sprintf("%dbit", rate*8), "burst", "64kb", "latency", "100ms")
		if _, err := l.Exec(ctx, host, args...); err != nil {
			return err
		}
	}
	return nil
}

// Down removes the lab's containers and network.
func (l *Lab) Down(ctx context.Context) error {
	// A lab is disposable: no grace period for its daemons and guests
	// (docker stop's 10 s each, one after the other, was most of a
	// suite's teardown), and every host at once.
	ch := make(chan error, len(l.ctrs))
	for _, c := range l.ctrs {
		go func() { ch <- testcontainers.TerminateContainer(c, testcontainers.StopTimeout(0)) }()
	}
	var errs []error
	for range l.ctrs {
		if err := <-ch; err != nil {
			errs = append(errs, err)
		}
	}
	l.ctrs = map[string]testcontainers.Container{}
	if l.net != nil {
		if err := l.net.Remove(ctx); err != nil {
			errs = append(errs, err)
		}
		l.net = nil
	}
	return errors.Join(errs...)
}

// Status is one host of a lab as Docker lists it.
type Status struct {
	Host, Address, Transport, Zone, Rack, State string
}

// List finds a lab's hosts by label, from any process.
func List(ctx context.Context, name string) ([]Status, error) {
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	res, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelLab+"="+name)})
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, c := range res.Items {
		out = append(out, Status{Host: c.Labels[LabelHost], Address: c.Labels[LabelAddress], Transport: c.Labels[LabelTransport],
			Zone: c.Labels[LabelZone], Rack: c.Labels[LabelRack], State: string(c.State)})
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Host, b.Host) })
	return out, nil
}

// Remove removes a lab's containers and network by label, from any
// process: what a lab left behind (a killed test, drover-lab down).
func Remove(ctx context.Context, name string) error {
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	f := client.Filters{}.Add("label", LabelLab+"="+name)
	res, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range res.Items {
		if _, err := dc.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	nets, err := dc.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, n := range nets.Items {
		if _, err := dc.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
