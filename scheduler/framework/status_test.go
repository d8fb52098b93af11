package framework_test

import (
	"errors"
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
		Expect(s.AsError()).To(Succeed())
		Expect(s.String()).To(Equal("Success"))
		Expect(s.WithPlugin("x")).To(BeNil())
	})

	It("keeps an expected no apart from a fault", func() {
		no := framework.NewStatus(framework.Unschedulable, "insufficient memory", "insufficient cpu").WithPlugin("capacity")
		Expect(no.IsRejected()).To(BeTrue())
		Expect(no.String()).To(Equal("capacity: Unschedulable: insufficient memory, insufficient cpu"))
		Expect(no.AsError()).To(MatchError("insufficient memory, insufficient cpu"))

		boom := errors.New("boom")
		f := framework.AsStatus(boom)
		Expect(f.Code()).To(Equal(framework.Error))
		Expect(f.IsRejected()).To(BeFalse())
		Expect(errors.Is(f.AsError(), boom)).To(BeTrue())
		Expect(framework.AsStatus(nil)).To(BeNil())
		Expect(framework.NewStatus(framework.Skip).AsError()).To(Succeed())
	})
})
