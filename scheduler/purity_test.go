package scheduler_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Everything under scheduler/ must stay pure (DESIGN.md, determinism rules;
// STYLE.md habit 1): the simulator and the real driver replay it byte for
// byte. This generalises scheduler/precopy's own check to every package
// below this one, the harness included.

// impure lists imports that reach the clock's side, the OS, the network or
// a global random source.
var impureImports = map[string]string{
	"math/rand": "global random source (math/rand v1)",
	"os":        "I/O",
	"net":       "I/O",
	"io/ioutil": "I/O",
	"syscall":   "I/O",
}

// impureTime are the time functions that read or wait on the wall clock.
var impureTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true,
}

// pureRand are the math/rand/v2 names that build a seeded generator; every
// other package-level function draws from the global source.
var pureRand = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
	"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true,
}

// impurities parses one file and lists what breaks the rules.
func impurities(fset *token.FileSet, path string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	bad := func(n ast.Node, format string, args ...any) {
		out = append(out, fset.Position(n.Pos()).String()+": "+fmt.Sprintf(format, args...))
	}
	// The local names of the time and math/rand/v2 imports.
	names := map[string]string{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if why, ok := impureImports[p]; ok || strings.HasPrefix(p, "os/") || strings.HasPrefix(p, "net/") {
			if !ok {
				why = "I/O"
			}
			bad(imp, "imports %s (%s)", p, why)
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if p == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if p == "time" || p == "math/rand/v2" {
			names[name] = p
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			bad(n, "go statement")
		case *ast.ChanType:
			bad(n, "channel type")
		case *ast.SendStmt:
			bad(n, "channel send")
		case *ast.SelectStmt:
			bad(n, "select statement")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				bad(n, "channel receive")
			}
		case *ast.SelectorExpr:
			x, ok := n.X.(*ast.Ident)
			if !ok {
				break
			}
			switch names[x.Name] {
			case "time":
				if impureTime[n.Sel.Name] {
					bad(n, "time.%s reads the wall clock", n.Sel.Name)
				}
			case "math/rand/v2":
				if !pureRand[n.Sel.Name] {
					bad(n, "rand.%s draws from the global source", n.Sel.Name)
				}
			}
		}
		return true
	})
	return out, nil
}

var _ = Describe("The scheduler source tree", func() {
	It("reads no clock, starts no goroutine, uses no channel, global randomness or I/O", func() {
		fset := token.NewFileSet()
		var problems []string
		checked := map[string]int{}
		err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			p, err := impurities(fset, path, nil)
			if err != nil {
				return err
			}
			problems = append(problems, p...)
			checked[filepath.Dir(path)]++
			return nil
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(problems).To(BeEmpty())
		// The walk really covered the tree.
		Expect(checked).To(HaveKey("."))
		Expect(checked).To(HaveKey("precopy"))
		Expect(checked).To(HaveKey("schedtest"))
		Expect(checked).To(HaveKey(filepath.Join("policy", "evacuate")))
		Expect(len(checked)).To(BeNumerically(">=", 10))
	})

	DescribeTable("the check itself catches",
		func(src, want string) {
			p, err := impurities(token.NewFileSet(), "x.go", "package x\n"+src)
			Expect(err).NotTo(HaveOccurred())
			Expect(p).To(ContainElement(ContainSubstring(want)))
		},
		Entry("time.Now", `import "time"; var _ = time.Now()`, "time.Now"),
		Entry("time.Since under another name", `import t "time"; func f() { _ = t.Since(t.Time{}) }`, "time.Since"),
		Entry("time.Sleep", `import "time"; func f() { time.Sleep(1) }`, "time.Sleep"),
		Entry("a go statement", `func f() { go f() }`, "go statement"),
		Entry("a channel type", `var c chan int`, "channel type"),
		Entry("a send", `func f(c chan<- int) { c <- 1 }`, "channel send"),
		Entry("a receive", `func f(c <-chan int) { <-c }`, "channel receive"),
		Entry("math/rand v1", `import "math/rand"; var _ = rand.Int()`, "math/rand"),
		Entry("the global math/rand/v2 source", `import "math/rand/v2"; var _ = rand.IntN(3)`, "rand.IntN"),
		Entry("os", `import "os"; var _ = os.Args`, "imports os"),
		Entry("os/exec", `import "os/exec"; var _ = exec.Command`, "imports os/exec"),
		Entry("net", `import "net"; var _ net.Conn`, "imports net"),
		Entry("io/ioutil", `import "io/ioutil"; var _ = ioutil.Discard`, "imports io/ioutil"),
	)

	It("lets a seeded math/rand/v2 generator and plain durations through", func() {
		p, err := impurities(token.NewFileSet(), "x.go", `package x
import (
	"math/rand/v2"
	"time"
)
var r = rand.New(rand.NewPCG(1, 2))
var _ = r.IntN(3)
var d time.Duration = 3 * time.Second
`)
		Expect(err).NotTo(HaveOccurred())
		Expect(p).To(BeEmpty())
	})
})
