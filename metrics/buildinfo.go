package metrics

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/cloudlb/cloudlb/internal/version"
)

var (
	// buildInfo is cloudlb's own: kubernetes_build_info, which component-base also serves,
	// describes the Kubernetes libraries (and says v0.0.0-master in every binary not built
	// by Kubernetes' release tooling).
	buildInfo = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Subsystem:      "cloudlb",
		Name:           "build_info",
		Help:           "Always 1, labelled by the cloudlb version, git commit and Go version the binary was built from.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"version", "revision", "goversion"})
	buildInfoOnce sync.Once
)

// RegisterBuildInfo adds cloudlb_build_info to the legacy registry; later calls do nothing.
// Register calls it; a binary without cloud API calls (the node agent) calls it alone.
func RegisterBuildInfo() {
	buildInfoOnce.Do(func() {
		legacyregistry.MustRegister(buildInfo)
		// After registration: before it, component-base's metrics drop every write.
		info := version.Get()
		// revision is "" when unknown, which Prometheus treats as the label being absent.
		buildInfo.WithLabelValues(info.Version, info.GitCommit, info.GoVersion).Set(1)
	})
}
