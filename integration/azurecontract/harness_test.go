package azurecontract_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	"github.com/cloudlb/cloudlb/integration/contract"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// newTenant is a contract.Tenant whose controllers run the azure provider against the
// suite's fakeazure (see integration/contract for the Service helpers).
func newTenant(t *testing.T) *contract.Tenant {
	t.Helper()
	return contract.NewTenant(t, contract.Config{
		REST: restConfig(), NamespacePrefix: "azure", ClusterName: clusterName, AnnotationCloud: annotations.Azure,
		NewCloud: func(t *testing.T) cloudprovider.LoadBalancer {
			cc, err := azure.ParseCloudConfig(strings.NewReader(fmt.Sprintf(`{"subscriptionId": %q, "resourceGroup": %q, "location": %q,
		"vnetName": "vnet", "subnetName": "nodes", "securityGroupName": %q, "resourceManagerEndpoint": %q}`, sub, rg, location, nsgName, shared.url)))
			if err != nil {
				t.Fatal(err)
			}
			cloud, err := azure.NewWithCredential(cc, fakeazure.Credential(), fakeazure.ClientOptions(shared.url),
				// Above the default 10 QPS: the rate limiter is not what the suite measures, and it
				// would pace every test of the shared fake.
				azure.Limits{QPS: 200, Burst: 200, RetryDelay: 20 * time.Millisecond, Poll: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return cloud
		},
	})
}

var waitFor = contract.WaitFor

// newService is a LoadBalancer Service with TCP ports 80 and 443 (nil annotations become an
// empty map, which the suite's cases write into).
func newService(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service {
	if ann == nil {
		ann = map[string]string{}
	}
	return contract.NewService(name, ann, append([]func(*v1.Service){func(s *v1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8443)})
	}}, opts...)...)
}

// waitIngress waits until the Service's first ingress IP satisfies ok.
func waitIngress(tn *contract.Tenant, name string, ok func(ip string) bool) *v1.Service {
	tn.T.Helper()
	return tn.WaitIngress(name, func(i v1.LoadBalancerIngress) bool { return i.IP != "" && ok(i.IP) })
}

func anyIP(string) bool { return true }

func resourceID(typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s", sub, rg, typ, name)
}

// read decodes a resource from the fake's state; false when it does not exist.
func read[T any](typ, name string, out *T) bool {
	raw, ok := shared.fake.Get(resourceID(typ, name))
	return ok && json.Unmarshal(raw, out) == nil
}

// frontendOf is the Service's frontend on load balancer lbName, or nil.
func frontendOf(lbName string, svc *v1.Service) (*armnetwork.LoadBalancer, *armnetwork.FrontendIPConfiguration) {
	var lb armnetwork.LoadBalancer
	if !read("loadBalancers", lbName, &lb) {
		return nil, nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if strings.EqualFold(*f.Name, azure.ServicePrefix(svc)) {
			return &lb, f
		}
	}
	return &lb, nil
}

func ruleOf(lb *armnetwork.LoadBalancer, name string) *armnetwork.LoadBalancingRulePropertiesFormat {
	for _, r := range lb.Properties.LoadBalancingRules {
		if strings.EqualFold(*r.Name, name) {
			return r.Properties
		}
	}
	return nil
}

// counts are the fake's calls since its last reset: writes and reads (async polls excluded).
type counts struct {
	writes, reads int
	summary       string
}

func countCalls(calls map[string]int) counts {
	var c counts
	var parts []string
	for k, n := range calls {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		if strings.HasPrefix(k, "AsyncOperation") {
			continue
		}
		if strings.HasSuffix(k, ".Get") || strings.HasSuffix(k, ".List") {
			c.reads += n
		} else {
			c.writes += n
		}
	}
	c.summary = strings.Join(parts, " ")
	return c
}
