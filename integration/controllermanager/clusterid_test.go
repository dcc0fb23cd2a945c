package controllermanager_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
)

// TestRefusesToStartWithoutClusterIdentity runs the binary with --cloud-provider=gce, no
// --cluster-name, no cluster-id in gce.conf and no ConfigMap kube-system/ingress-uid: it must
// exit, saying what it looked for and how to name the cluster, instead of owning every object
// named after the default "kubernetes".
func TestRefusesToStartWithoutClusterIdentity(t *testing.T) {
	t.Parallel()
	cp := controlplane.StartForTest(t)
	// Nothing listens on the API endpoint: the controller must stop before any Compute call.
	gceConf := "[global]\nproject-id = p\nlocal-zone = us-central1-a\nnode-tags = n\ntoken-url = nil\napi-endpoint = http://127.0.0.1:1\n"
	p, err := controllermanager.Start(t.Context(), controllermanager.Options{
		Kubeconfig:     cp.KubeconfigPath(),
		CloudProvider:  "gce",
		RawCloudConfig: gceConf,
		StartTimeout:   time.Minute,
	})
	var out string
	if err != nil {
		// It exited before /healthz answered: the error carries the log's tail.
		out = err.Error()
	} else {
		defer p.Stop()
		select {
		case <-p.Done():
		case <-time.After(time.Minute):
			t.Fatalf("still running a minute after start; log:\n%s", p.Tail(40))
		}
		out = p.Tail(40)
	}
	for _, want := range []string{"no cluster identity for --cloud-provider=gce", "kube-system/ingress-uid does not exist", "set --cluster-name=<name>"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}
