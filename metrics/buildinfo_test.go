package metrics

import (
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/cloudlb/cloudlb/internal/version"
)

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	Register()
	RegisterBuildInfo() // a second registration would panic with a duplicate collector
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	info := version.Get()
	want := map[string]string{"version": info.Version, "revision": info.GitCommit, "goversion": info.GoVersion}
	for _, f := range families {
		if f.GetName() != "cloudlb_build_info" {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("cloudlb_build_info has %d series, want 1", len(f.GetMetric()))
		}
		m := f.GetMetric()[0]
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("cloudlb_build_info = %v, want 1", v)
		}
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for name, v := range want {
			// An empty label value is not exported: Prometheus treats it as absent.
			if got[name] != v {
				t.Errorf("label %s = %q, want %q", name, got[name], v)
			}
		}
		if len(got) > len(want) {
			t.Errorf("labels %v, want only %v", got, want)
		}
		return
	}
	t.Fatal("cloudlb_build_info is not registered")
}
