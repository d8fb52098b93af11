package precopy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The package must stay pure (DESIGN.md, determinism rules): the planner and
// the simulator replay it byte for byte.
var _ = Describe("The package source", func() {
	It("reads no clock, starts no goroutine, uses no global randomness or I/O", func() {
		entries, err := os.ReadDir(".")
		Expect(err).NotTo(HaveOccurred())
		fset := token.NewFileSet()
		checked := 0
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			Expect(err).NotTo(HaveOccurred())
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				Expect(path).NotTo(BeElementOf("math/rand", "math/rand/v2", "os", "net", "io", "sync", "unsafe"), name)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					Fail(fset.Position(n.Pos()).String() + ": go statement")
				case *ast.ChanType:
					Fail(fset.Position(n.Pos()).String() + ": channel")
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "time" {
						Expect(n.Sel.Name).NotTo(BeElementOf("Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker"),
							fset.Position(n.Pos()).String())
					}
				}
				return true
			})
			checked++
		}
		Expect(checked).To(BeNumerically(">=", 4))
	})
})
