package policy_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
)

func TestPolicy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "policy")
}

// input plans over snap with TLS matching and 4x vCPU overcommit.
func input(snap *cluster.Snapshot) *policy.Input {
	return &policy.Input{Snap: snap, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}
