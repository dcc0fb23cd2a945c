package azure_test

import (
	"fmt"
	"strings"
	"testing"

	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/providers/azure"
)

// TestRegisteredProviderTalksToLoopbackFake builds the provider the way
// cloud-controller-manager does (Register, then the cloud config file) with the fake as
// resourceManagerEndpoint: it must get the static test credential (no Azure login exists
// here) and serve a Service.
func TestRegisteredProviderTalksToLoopbackFake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	// No async polling: the provider's production poll interval would slow the test.
	e.srv.SetAsyncPolls(-1)
	azure.Register()
	azure.Register() // idempotent
	js := fmt.Sprintf(`{"subscriptionId": %q, "resourceGroup": %q, "location": "westeurope", "vnetName": "vnet",
		"subnetName": "nodes", "securityGroupName": %q, "resourceManagerEndpoint": %q}`, sub, rg, nsgName, e.url)
	iface, err := cloudprovider.GetCloudProvider(azure.ProviderName, strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if iface.ProviderName() != "azure" {
		t.Errorf("provider name %q", iface.ProviderName())
	}
	lb, ok := iface.LoadBalancer()
	if !ok {
		t.Fatal("no LoadBalancer")
	}
	svc := service("web", uid(1), nil)
	st, err := lb.EnsureLoadBalancer(testCtx(t), cluster, svc, e.nodes)
	if err != nil {
		t.Fatal(err)
	}
	if p := e.pip(cluster + "-" + svcPrefix(svc)); p == nil || *p.Properties.IPAddress != st.Ingress[0].IP {
		t.Errorf("ingress %v does not match the managed public IP", st.Ingress)
	}
	if _, err := cloudprovider.GetCloudProvider(azure.ProviderName, strings.NewReader(`{"loadBalancerSku": "basic"}`)); err == nil {
		t.Error("a basic SKU config was accepted")
	}
}
