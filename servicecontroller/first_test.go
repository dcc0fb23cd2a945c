package servicecontroller

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// The provider is told an ensure is the Service's first (providers.WithFirstEnsure) only when
// this sync added the finalizer and the Service shows no address: a retry, a Service another
// controller provisioned (finalizer or ingress present) and every later sync are not.
func TestFirstEnsureMark(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		svc       *v1.Service
		ensureErr error
		syncs     int
		want      []bool
	}{
		{"new Service", lbService("web"), nil, 2, []bool{true, false}},
		{"first ensure fails: the retry is not first", lbService("web"), errors.New("throttled"), 2, []bool{true, false}},
		{"finalizer present", lbService("web", withFinalizer), nil, 1, []bool{false}},
		{"no finalizer but an address", lbService("web", withIngress("203.0.113.10")), nil, 1, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			key := f.add(tt.svc)
			if tt.ensureErr != nil {
				f.cloud.fail(callEnsure, tt.ensureErr)
			}
			for range tt.syncs {
				_ = f.sync(key)
			}
			if got := f.cloud.firstsOf(key); !slices.Equal(got, tt.want) {
				t.Errorf("FirstEnsure of each Ensure: got %v, want %v", got, tt.want)
			}
		})
	}
}
