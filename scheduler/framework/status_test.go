package framework_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/framework"
)

func TestFramework(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "framework")
}

var _ = Describe("Status", func() {
	It("treats nil as Success everywhere", func() {
		var s *framework.Status
		Expect(s.Code()).To(Equal(framework.Success))
		Expect(s.IsSuccess()).To(BeTrue())
		Expect(s.IsRejected()).To(BeFalse())
		Expect(s.Reasons()).To(BeNil())
		Expect(s.String()).To(Equal("Success"))
		Expect(s.WithPlugin("x")).To(BeNil())
	})

	It("says which plugin refused and why", func() {
		no := framework.NewStatus(framework.Unschedulable, "insufficient memory", "insufficient cpu").WithPlugin("capacity")
		Expect(no.IsRejected()).To(BeTrue())
		Expect(no.String()).To(Equal("capacity: Unschedulable: insufficient memory, insufficient cpu"))
		never := framework.NewStatus(framework.UnschedulableAndUnresolvable, "pool").WithPlugin("pool")
		Expect(never.IsRejected()).To(BeTrue())
		Expect(never.Code().String()).To(Equal("UnschedulableAndUnresolvable"))
	})
})
