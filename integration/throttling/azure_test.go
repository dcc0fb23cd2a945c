package throttling_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
	cloudazure "github.com/cloudlb/cloudlb/providers/azure"
)

// BenchmarkThrottlingAzure: 50 public Standard load balancer Services (every Service a frontend
// and rules of the cluster's shared load balancer, a public IP and NSG rules) through the
// azure provider as cloudlb-controller-manager --cloud-provider=azure builds it from an
// azure.json whose resourceManagerEndpoint is the fake (a static test credential), with its
// default rate limits, retries and polling.
func BenchmarkThrottlingAzure(b *testing.B) {
	cloudazure.Register()
	const sub, rg, location = "00000000-0000-0000-0000-0000000000aa", "cluster-rg", "westeurope"
	benchmarkThrottling(b, 50, func(b *testing.B) *env {
		fake := fakeazure.New(fakeazure.Options{SubscriptionID: sub, Location: location})
		hs := httptest.NewServer(fake)
		b.Cleanup(hs.Close)
		createAzureNetwork(b, hs.URL, sub, rg, location)
		conf := filepath.Join(b.TempDir(), "azure.json")
		js := fmt.Sprintf(`{"cloud": "AzurePublicCloud", "tenantId": "t", "subscriptionId": %q, "resourceGroup": %q, "location": %q,
			"vnetName": "vnet", "subnetName": "nodes", "securityGroupName": "cluster-nsg", "loadBalancerSku": "Standard",
			"resourceManagerEndpoint": %q}`, sub, rg, location, hs.URL)
		if err := os.WriteFile(conf, []byte(js), 0o600); err != nil {
			b.Fatal(err)
		}
		p, err := cloudprovider.InitCloudProvider(cloudazure.ProviderName, conf)
		if err != nil {
			b.Fatal(err)
		}
		lb, _ := p.LoadBalancer()
		e := &env{cloud: lb, fake: fake, service: func(i int) *v1.Service { return service(i, nil) }}
		for i := 1; i <= 3; i++ {
			e.nodes = append(e.nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)},
				Status: v1.NodeStatus{Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.240.0.%d", 3+i)}}}})
		}
		return e
	})
}

// createAzureNetwork creates the cluster's virtual network and NSG through armnetwork, as
// they exist in a user's subscription before the controller starts.
func createAzureNetwork(b *testing.B, url, sub, rg, location string) {
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	f, err := armnetwork.NewClientFactory(sub, fakeazure.Credential(), fakeazure.ClientOptions(url))
	if err != nil {
		b.Fatal(err)
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}
	vp, err := f.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, rg, "vnet", armnetwork.VirtualNetwork{
		Location: to.Ptr(location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.240.0.0/12")},
			Subnets: []*armnetwork.Subnet{
				{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.240.0.0/16")}},
			},
		},
	}, nil)
	if err == nil {
		_, err = vp.PollUntilDone(ctx, poll)
	}
	if err != nil {
		b.Fatalf("creating the vnet: %v", err)
	}
	np, err := f.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, rg, "cluster-nsg", armnetwork.SecurityGroup{
		Location: to.Ptr(location), Properties: &armnetwork.SecurityGroupPropertiesFormat{},
	}, nil)
	if err == nil {
		_, err = np.PollUntilDone(ctx, poll)
	}
	if err != nil {
		b.Fatalf("creating the NSG: %v", err)
	}
}
