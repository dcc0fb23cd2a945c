package awscontract_test

import (
	"fmt"
	"strings"
	"testing"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/integration/contract"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

// newTenant is a contract.Tenant whose controllers run the aws provider against the suite's
// endpoint (see integration/contract for the Service helpers).
func newTenant(t *testing.T) *contract.Tenant {
	t.Helper()
	return contract.NewTenant(t, contract.Config{
		REST: cp(shared.cp), NamespacePrefix: "aws", ClusterName: clusterName, AnnotationCloud: annotations.AWS,
		NewCloud: func(t *testing.T) cloudprovider.LoadBalancer {
			cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = %sa\nVPC = %s\n", region, shared.net.vpc)))
			if err != nil {
				t.Fatal(err)
			}
			cloud, err := cloudaws.NewFromConfig(t.Context(), cc)
			if err != nil {
				t.Fatal(err)
			}
			return cloud
		},
	})
}

var (
	newService = contract.NewService
	waitFor    = contract.WaitFor
)
