package plreplay

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Reference is one row of cloudsim-reference.csv: CloudSim's figures for a
// day and policy, SLAV, SLATAH and PDM as fractions.
type Reference struct {
	Day, Policy       string
	EnergyKWh         float64
	Migrations        int
	SLAV, SLATAH, PDM float64
	Shutdowns         int
}

// referenceColumns is the CSV's header.
var referenceColumns = []string{"day", "policy", "hosts", "vms", "energy_kwh", "migrations", "slav", "slatah", "pdm", "host_shutdowns"}

// ReadReference reads cloudsim-reference.csv, keyed by "DAY POLICY" with
// the policy in Drover's spelling (thr-mmt-0.8 for thr_mmt_0.8).
func ReadReference(r io.Reader) (map[string]Reference, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("plreplay: reference: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(referenceColumns, ",") {
		return nil, fmt.Errorf("plreplay: reference: want the header %s", strings.Join(referenceColumns, ","))
	}
	out := map[string]Reference{}
	for i, row := range rows[1:] {
		var nums [8]float64
		for j := range nums {
			v, err := strconv.ParseFloat(row[j+2], 64)
			if err != nil {
				return nil, fmt.Errorf("plreplay: reference line %d, %s: %w", i+2, referenceColumns[j+2], err)
			}
			nums[j] = v
		}
		ref := Reference{
			Day: row[0], Policy: strings.ReplaceAll(row[1], "_", "-"),
			EnergyKWh: nums[2], Migrations: int(nums[3]), SLAV: nums[4], SLATAH: nums[5], PDM: nums[6], Shutdowns: int(nums[7]),
		}
		out[ref.Day+" "+ref.Policy] = ref
	}
	return out, nil
}
