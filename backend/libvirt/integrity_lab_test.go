package libvirt

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The memory check every migration spec relies on (expectAlive: bad=0)
// must be able to fail: one byte of the guest's working set is changed
// from outside, through QEMU's gdbstub, and the guest has to say so.
var _ = Describe("the guest's memory check", func() {
	It("catches one byte changed under the guest, and counts the page once", func() {
		// Idle (no rewrites), so that only the verifier looks at the page.
		g := guest{name: "drbad1", mac: "52:54:00:dd:0d:01", dirty: "0", wss: "16MiB"}
		startGuest(g, lab1, lab1)
		Eventually(func() uint64 { return lastBeat(tcpName, g.name).PFN }).WithTimeout(10 * time.Second).ShouldNot(BeZero())
		was := lastBeat(tcpName, g.name)
		Expect(was.Bad).To(BeZero())

		const port = 4567
		out, err := virsh(lab1, "qemu-monitor-command", g.name, "--hmp", "gdbserver tcp::"+strconv.Itoa(port))
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { _, _ = virsh(lab1, "qemu-monitor-command", g.name, "--hmp", "gdbserver none") })
		// Word 12 of the first page; the pattern's low bit is always set,
		// so flipping bit 1 of its first byte changes it.
		addr := was.PFN*4096 + 12*8
		old, now, err := gdbFlip(fmt.Sprintf("%s:%d", tcpIP, port), addr, 0x02)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("guest-physical %#x: %#02x -> %#02x\n", addr, old, now)

		Eventually(func() int64 { return lastBeat(tcpName, g.name).Bad }).WithTimeout(20*time.Second).WithPolling(300*time.Millisecond).
			Should(Equal(int64(1)), "the guest did not notice its memory changed")
		b := lastBeat(tcpName, g.name)
		Expect(b.trouble).To(ContainSubstring("GUEST CORRUPT page=0 word=12 "))
		Expect(b.Boot).To(Equal(was.Boot))
		// It wrote the page again: the next sweeps find it good.
		seq := b.Seq
		Eventually(func() int64 { return lastBeat(tcpName, g.name).Seq }).WithTimeout(10 * time.Second).Should(BeNumerically(">=", seq+4))
		Expect(lastBeat(tcpName, g.name).Bad).To(Equal(int64(1)))
		removeGuest(lab1, g.name)
	})
})

// gdbFlip XORs one byte of guest-physical memory at addr with mask through
// QEMU's gdbstub (GDB's remote protocol, physical-memory mode), and
// detaches, which resumes the guest. It returns the byte before and after.
func gdbFlip(hostport string, addr uint64, mask byte) (old, now byte, err error) {
	c, err := net.DialTimeout("tcp", hostport, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	call := func(pkt string) (string, error) {
		sum := 0
		for _, ch := range []byte(pkt) {
			sum += int(ch)
		}
		if _, err := fmt.Fprintf(c, "$%s#%02x", pkt, sum&0xff); err != nil {
			return "", err
		}
		// The stub acks with '+', then answers "$reply#cs", which we ack.
		for {
			ch, err := r.ReadByte()
			if err != nil {
				return "", err
			}
			if ch == '$' {
				break
			}
		}
		reply, err := r.ReadString('#')
		if err != nil {
			return "", err
		}
		if _, err := r.Discard(2); err != nil {
			return "", err
		}
		_, err = c.Write([]byte("+"))
		return strings.TrimSuffix(reply, "#"), err
	}
	readByte := func() (byte, error) {
		rep, err := call(fmt.Sprintf("m%x,1", addr))
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseUint(rep, 16, 8)
		if err != nil {
			return 0, fmt.Errorf("gdbstub: read %#x: %q", addr, rep)
		}
		return byte(v), nil
	}
	if rep, err := call("Qqemu.PhyMemMode:1"); err != nil || rep != "OK" {
		return 0, 0, fmt.Errorf("gdbstub: physical memory mode: %q %v", rep, err)
	}
	if old, err = readByte(); err != nil {
		return 0, 0, err
	}
	if rep, err := call(fmt.Sprintf("M%x,1:%02x", addr, old^mask)); err != nil || rep != "OK" {
		return old, 0, fmt.Errorf("gdbstub: write %#x: %q %v", addr, rep, err)
	}
	if now, err = readByte(); err != nil {
		return old, 0, err
	}
	if rep, err := call("D"); err != nil || rep != "OK" {
		return old, now, fmt.Errorf("gdbstub: detach: %q %v", rep, err)
	}
	return old, now, nil
}
