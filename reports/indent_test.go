package reports

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestIndentMatchesEncoder(t *testing.T) {
	// Deeper than pad reaches: the slow path.
	var deep any = []any{1, "x"}
	for range 40 {
		deep = map[string]any{"k": deep, "n": []any{}}
	}
	for _, v := range []any{
		deep,
		map[string]any{},
		[]any{},
		map[string]any{"a": []any{}, "b": map[string]any{}, "c": nil},
		map[string]any{"s": `q"u{o}[t],e:\ <&>`, "n": []any{1.5, -2, 3e21, true, false}},
		[]any{[]any{[]any{map[string]any{"x": []int{1, 2}}}}, "", 0},
		"just a string ending in a backslash \\",
		42,
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		compact, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got := indent(compact)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("indent(%s):\ngot  %q\nwant %q", compact, got, want.Bytes())
		}
		if len(got) != cap(got) {
			t.Errorf("indent(%s): %d bytes in a slice of %d: the size count is off", compact, len(got), cap(got))
		}
	}
}

// indent is indentChunks of one chunk.
func indent(src []byte) []byte { return indentChunks([][]byte{src}) }
