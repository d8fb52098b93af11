package plan_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/plan"
)

func TestPlan(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "plan")
}

// mv is a move with id from src to dst for a VM named after the id,
// waiting for the moves in after.
func mv(id int, src, dst string, after ...int) plan.Move {
	return plan.Move{ID: id, VM: fmt.Sprintf("v%d", id), Source: src, Destination: dst, After: after}
}

// finishAll ends the running moves listed, all with the same result.
func finishAll(d *plan.Dispatcher, ok bool, idx ...int) {
	for _, i := range idx {
		d.Finish(i, ok)
	}
}
