package contract

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// Cloud is one cloud's side of the shared tests: how a provider reaches the suite's cloud,
// what the cloud holds for a Service, and the fake's counters and faults.
type Cloud interface {
	// Tenants are what a test's tenant is made of: its controllers run the cloud's provider.
	Tenants() Config
	// GatedTenant is a tenant whose providers' writes pass through gate.
	GatedTenant(t *testing.T) (*Tenant, *WriteGate)
	// Fake is the in-process fake; nil against an external endpoint (the AWS suite against
	// LocalStack), where the tests that count calls, inject faults or gate writes skip.
	Fake() Fake
	// Owned lists what the cloud holds for the Service, by the cloud's ownership marks.
	Owned(t *testing.T, svc *v1.Service) ([]Resource, error)
}

// Fake is what the shared tests use of a fake: fakecore's counters and faults, which every
// fake embeds.
type Fake interface {
	Tally() fakecore.Tally
	ResetCalls()
	SetFaults(fakecore.Faults)
}

// Resource is one object the cloud holds for a Service.
type Resource struct{ Kind, Name string }

// String is "kind name".
func (r Resource) String() string { return r.Kind + " " + r.Name }

// Contract is what a cloud's suite runs the shared tests with: its Services and what the
// cloud must hold for them. Each part is built per test, as its checks may keep state.
type Contract struct {
	NoOpResync  func(t *testing.T) NoOpResync
	NodeChurn   func(t *testing.T) NodeChurn
	Throttling  func(t *testing.T) Throttling
	Crash       func(t *testing.T) Crash
	Deletion    func(t *testing.T) []Expect
	Lifecycle   func(t *testing.T) []Scenario
	Annotations func(t *testing.T) Annotations
	Seeds       func(t *testing.T) Seeds
}

// RunSerial runs the shared tests that change Nodes, count the fake's calls, inject faults
// or gate writes through a gate every tenant shares: call it from a test that does not
// call t.Parallel, so Go runs it before the parallel ones.
func RunSerial(t *testing.T, c Cloud, k Contract) {
	t.Run("NoOpResync", func(t *testing.T) { NoOpResyncTest(t, c, k.NoOpResync(t)) })
	t.Run("NodeChurn", func(t *testing.T) { NodeChurnTest(t, c, k.NodeChurn(t)) })
	t.Run("Throttling", func(t *testing.T) { ThrottlingTest(t, c, k.Throttling(t)) })
	if cr := k.Crash(t); !cr.PrivateGates {
		t.Run("KilledBetweenWrites", func(t *testing.T) { CrashTest(t, c, cr) })
	}
}

// RunParallel runs the other shared tests in parallel with each other and with the suite's
// other parallel tests.
func RunParallel(t *testing.T, c Cloud, k Contract) {
	t.Parallel()
	if cr := k.Crash(t); cr.PrivateGates {
		t.Run("KilledBetweenWrites", func(t *testing.T) { t.Parallel(); CrashTest(t, c, cr) })
	}
	t.Run("Deletion", func(t *testing.T) { t.Parallel(); DeletionTest(t, c, k.Deletion(t)) })
	t.Run("Lifecycle", func(t *testing.T) { t.Parallel(); LifecycleTest(t, c, k.Lifecycle(t)) })
	t.Run("EveryAnnotationChanged", func(t *testing.T) { t.Parallel(); AnnotationsTest(t, c, k.Annotations(t)) })
	t.Run("AnnotationCasesCoverTheRegistry", func(t *testing.T) { t.Parallel(); CoverageTest(t, k.Annotations(t)) })
	t.Run("SeedExamples", func(t *testing.T) { t.Parallel(); SeedsTest(t, c, k.Seeds(t)) })
}

// requireFake skips a test whose assertions only an in-process fake can make.
func requireFake(t *testing.T, c Cloud, why string) Fake {
	t.Helper()
	f := c.Fake()
	if f == nil {
		t.Skipf("needs the in-process fake (%s)", why)
	}
	return f
}
