package reports_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// probe is added to the page under test only: it records script errors
// and each chart's drawn size into the DOM, which --dump-dom prints.
const probe = `<script>
window.onerror = function (m) { document.body.setAttribute("data-error", m); };
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("svg.chart").forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.push(s.closest("section").id + ":" + Math.round(r.width) + "x" + Math.round(r.height));
  });
  document.body.setAttribute("data-charts", out.join(" "));
});
</script>`

// chromium opens file in headless Chromium with args and returns what it
// printed on stdout and on stderr.
func chromium(bin, file string, args ...string) (string, string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--window-size=1400,2400"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+file)...)
	cmd.Dir = filepath.Dir(file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	Expect(cmd.Run()).To(Succeed(), errb.String())
	return out.String(), errb.String()
}

// consoleLines are the page's console messages in Chromium's log.
var consoleLines = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

var _ = Describe("report.html in a browser", Ordered, func() {
	var bin, dir string
	BeforeAll(func() {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			Skip("chromium is not on PATH (apt-get install chromium): the page is not opened in a browser")
		}
		dir = GinkgoT().TempDir()
	})

	It("catches a broken page (the check itself works)", func() {
		bad := filepath.Join(dir, "bad.html")
		Expect(os.WriteFile(bad, []byte("<!DOCTYPE html><body>"+probe+"<script>nosuch();</script></body>"), 0o644)).To(Succeed())
		dom, log := chromium(bin, bad, "--dump-dom")
		Expect(consoleLines.FindAllString(log, -1)).NotTo(BeEmpty())
		Expect(dom).To(ContainSubstring(`data-error="Uncaught ReferenceError: nosuch is not defined"`))
	})

	It("opens with no console error, draws every chart, and leaves a screenshot", func() {
		var page bytes.Buffer
		Expect(full().WriteHTML(&page)).To(Succeed())
		html := strings.Replace(page.String(), "</body>", probe+"</body>", 1)
		file := filepath.Join(dir, "report.html")
		Expect(os.WriteFile(file, []byte(html), 0o644)).To(Succeed())

		// One launch prints the DOM and takes the screenshot: Chromium
		// starts in seconds at best.
		shot := filepath.Join(dir, "report.png")
		if d := os.Getenv("DROVER_SCREENSHOTS"); d != "" {
			shot = filepath.Join(d, "report-fixture.png")
		}
		dom, log := chromium(bin, file, "--dump-dom", "--screenshot="+shot)
		Expect(consoleLines.FindAllString(log, -1)).To(BeEmpty())
		Expect(dom).NotTo(ContainSubstring("data-error="))
		charts := regexp.MustCompile(`data-charts="([^"]*)"`).FindStringSubmatch(dom)
		Expect(charts).To(HaveLen(2), "the probe did not run")
		drawn := map[string]bool{}
		for _, c := range strings.Fields(charts[1]) {
			id, size, _ := strings.Cut(c, ":")
			var w, h int
			_, err := fmtSscanf(size, &w, &h)
			Expect(err).NotTo(HaveOccurred())
			Expect(w).To(BeNumerically(">", 400), c)
			Expect(h).To(BeNumerically(">", 150), c)
			drawn[id] = true
		}
		Expect(drawn).To(HaveLen(7))
		for _, id := range []string{"heatmap", "imbalance", "gantt", "gantt-plan", "evacuation", "links", "predicted"} {
			Expect(drawn).To(HaveKey(id))
		}

		st, err := os.Stat(shot)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Size()).To(BeNumerically(">", 50_000))
		GinkgoWriter.Printf("screenshot: %s\n", shot)
	})
})

// fmtSscanf reads a chart's "WxH" size.
func fmtSscanf(s string, w, h *int) (int, error) { return fmt.Sscanf(s, "%dx%d", w, h) }
