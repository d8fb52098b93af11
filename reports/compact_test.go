package reports_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/droverlab/drover/reports"
)

// JSON encodes the big arrays element by element into chunks; its bytes
// must stay the Encoder's, with arrays nil, empty, and long enough to
// span many chunks (strings that need escaping included).
func TestJSONMatchesEncoder(t *testing.T) {
	long := full()
	base := long.Migrations
	for i := range 20000 {
		m := base[i%len(base)]
		m.ID = 100 + i
		m.VM = fmt.Sprintf("v<%d>&\"q\\", i)
		long.Migrations = append(long.Migrations, m)
	}
	nils := full()
	nils.Migrations, nils.Plans, nils.Hosts = nil, nil, nil
	empty := full()
	empty.Migrations, empty.Plans, empty.Hosts = []reports.Migration{}, []reports.Plan{}, []reports.HostSeries{}
	for name, r := range map[string]*reports.Report{"full": full(), "long": long, "nil": nils, "empty": empty, "zero": {}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		c := *r
		c.Version = reports.SchemaVersion
		if err := enc.Encode(&c); err != nil {
			t.Fatal(err)
		}
		got, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: JSON differs from the Encoder's (%d bytes, want %d)", name, len(got), want.Len())
		}
		if len(got) != cap(got) {
			t.Errorf("%s: %d bytes in a slice of %d: the size count is off", name, len(got), cap(got))
		}
	}
}
