package calibrate

import (
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Report is held-out accuracy as a report of kind reports.KindCalibration:
// each measured migration with its job time, downtime and bytes, beside
// the time a profile fitted without it predicted and that prediction's 80%
// interval, so the report's page draws predicted against measured. The
// migrations ran one after another in the grid; the report lays them end
// to end on its clock.
func Report(rows []Row, name string) *reports.Report {
	r := &reports.Report{Kind: reports.KindCalibration, Scenario: name, Lost: []reports.LostVM{}, Events: []reports.EventRecord{},
		Disasters: []reports.Disaster{}, Plans: []reports.Plan{}}
	var at float64
	for i, row := range rows {
		tr := "tcp"
		if row.TLS {
			tr = "tls"
		}
		r.Migrations = append(r.Migrations, reports.Migration{ID: i + 1, VM: row.ID, Cause: "calibration", StartMS: at,
			EndMS: at + row.TimeMS, DurationMS: row.TimeMS, DowntimeMS: row.DowntimeMS, Bytes: int64(row.Bytes),
			Rounds: row.Iterations, Transport: tr, Outcome: cluster.OutcomeCompleted,
			PredictedMS: float64(row.Predicted.TotalTime) / float64(time.Millisecond), PredictedLowMS: row.LoMS, PredictedHighMS: row.HiMS})
		at += row.TimeMS
	}
	r.DurationMS = at
	r.SummarizeMigrations()
	r.Summary.MaxConcurrent = 1
	r.Summary.OverCapacityMS = []reports.HostTime{}
	return r
}
