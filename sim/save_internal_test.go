package sim

import (
	"bytes"
	"testing"
)

// TestChunksJoinWhatWasWritten writes pieces that end short of, on and
// across chunk boundaries and checks the join against a bytes.Buffer's.
func TestChunksJoinWhatWasWritten(t *testing.T) {
	var c chunks
	var want bytes.Buffer
	if got := c.join(); len(got) != 0 {
		t.Fatalf("empty: %d bytes", len(got))
	}
	for i, n := range []int{1, chunkSize - 1, chunkSize, 7, 3 * chunkSize, 0, 12345} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		if k, err := c.Write(p); k != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
		want.Write(p)
	}
	if got := c.join(); !bytes.Equal(got, want.Bytes()) || cap(got) != len(got) {
		t.Fatalf("joined %d bytes (cap %d), want %d", len(got), cap(got), want.Len())
	}
}
