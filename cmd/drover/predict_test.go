package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every field predict prints is documented in its help, rounds' too.
func TestPredictDocumentsEveryField(t *testing.T) {
	documented := map[string]bool{}
	for _, f := range predictFields {
		documented[f.key] = true
	}
	help, err := drover(t, "predict", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"predict", "--memory", "4GiB", "--dirty-rate", "200MiB/s", "--bandwidth", "10Gbit/s", "--auto-converge", "--rounds", "--tls"},
		{"predict", "--memory", "4GiB", "--dirty-rate", "2GiB/s", "--bandwidth", "1Gbit/s", "--max-iterations", "3", "--rounds"},
	} {
		text, err := drover(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, text)
		}
		for k, v := range m {
			if !documented[k] {
				t.Errorf("predict prints %q, which its help does not document", k)
			}
			if rs, ok := v.([]any); ok && k == "rounds" {
				for _, r := range rs {
					for rk := range r.(map[string]any) {
						if !documented["rounds[]."+rk] {
							t.Errorf("predict prints rounds[].%s, which its help does not document", rk)
						}
					}
				}
			}
		}
	}
	for k := range documented {
		if !strings.Contains(help, "  "+k+" ") {
			t.Errorf("predict --help lacks %q", k)
		}
	}
}
