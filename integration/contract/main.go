package contract

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/cloudlb/cloudlb/integration/controlplane"
)

// Main is a contract suite's TestMain: it starts the control plane, hands its admin REST
// config to setUp (which builds the suite's cloud and Nodes), runs the tests and, when they
// passed, requires every one of after to report nothing: what the cloud still holds (every
// test deletes its Services), the permissions the provider needed against the permission
// file. It returns the exit code.
func Main(m *testing.M, setUp func(context.Context, *rest.Config) error, after ...func(context.Context) error) int {
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start control plane: %v\n", err)
		return 1
	}
	code := 1
	// Without client-side rate limits: the suites' tenants share the config.
	cfg := cp.RESTConfig()
	cfg.QPS, cfg.Burst = -1, 0
	if err := setUp(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: set up: %v\n", err)
	} else if code = m.Run(); code == 0 {
		for _, check := range after {
			if err := check(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: after the tests: %v\n", err)
				code = 1
			}
		}
	}
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		code = 1
	}
	return code
}
