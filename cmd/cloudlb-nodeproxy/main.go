// Command cloudlb-nodeproxy is the node agent, run as a DaemonSet: it answers the load
// balancers' health probes for externalTrafficPolicy: Local Services on each
// healthCheckNodePort, and the node health probe on 10256, exactly as kube-proxy does.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // kubernetes_build_info

	"github.com/cloudlb/cloudlb/nodeproxy"
)

func main() {
	nodeproxy.RegisterMetrics()
	os.Exit(cli.Run(newCommand()))
}
