// Command cloudlb-controller-manager is a cloud-controller-manager built on
// k8s.io/cloud-provider/app: it has the standard flags, Lease leader election and
// secure serving on 10258 (/healthz, /metrics), and runs cloudlb's service
// controller under the upstream name "service-lb-controller" (alias "service").
// The upstream cloud-node, cloud-node-lifecycle and route controllers stay
// available through --controllers.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go, workqueue and leader election metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // kubernetes_build_info
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/metrics"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

func main() {
	// Registered before the command runs so that /metrics serves them from the first scrape.
	servicecontroller.RegisterMetrics()
	metrics.Register()

	sd := newShutdown()
	sd.onSignals()
	cmd, err := newCommand(sd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloudlb-controller-manager: %v\n", err)
		os.Exit(1)
	}
	code := cli.Run(cmd)
	// The command returns on a signal (or a start-up error); our controllers may still be
	// finishing a sync.
	if !sd.finish(controllerStopTimeout) {
		klog.InfoS("Controllers did not stop in time, exiting anyway", "timeout", controllerStopTimeout)
	}
	klog.Flush()
	os.Exit(code)
}
