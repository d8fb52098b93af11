package main

import (
	"os"
	"testing"
)

// A progress bar redraws only on a terminal: /dev/null is a character
// device but no terminal.
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("%s is a terminal", os.DevNull)
	}
}
