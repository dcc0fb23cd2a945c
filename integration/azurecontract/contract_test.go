package azurecontract_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// quiet is how long the fake must see no call for the controllers to count as settled.
const quiet = time.Second

// waitSettled waits until the fake saw at least minReads reads since its last reset and
// then no call for quiet, and returns the counts.
func waitSettled(t *testing.T, minReads int) counts {
	t.Helper()
	last, changed := shared.fake.Calls(), time.Now()
	waitFor(t, fmt.Sprintf("at least %d reads and then none for %s", minReads, quiet), func() (bool, string) {
		cur := shared.fake.Calls()
		if !maps.Equal(cur, last) {
			last, changed = cur, time.Now()
		}
		return countCalls(cur).reads >= minReads && time.Since(changed) >= quiet, countCalls(cur).summary
	})
	return countCalls(last)
}

func managedPIP(svc *v1.Service) string { return clusterName + "-" + azure.ServicePrefix(svc) }

// TestNoOpResync converges a public and an internal Service, restarts the controller (its
// initial resync) and runs it with a short drift-repair period: nothing may be written, and
// each pass reads at most the load balancer, the public IP and the NSG per Service (the
// first pass after a start also looks once at the other load balancer and the public IPs).
func TestNoOpResync(t *testing.T) {
	tn := newTenant(t)
	pub := tn.Create(newService("web", nil))
	in := tn.Create(newService("api", map[string]string{prefix + "azure-load-balancer-internal": "true"}))
	waitIngress(tn, pub.Name, anyIP)
	waitIngress(tn, in.Name, anyIP)
	waitSettled(t, 0)
	const services = 2

	shared.fake.ResetCalls()
	tn.Restart()
	c := waitSettled(t, services)
	t.Logf("restart resync of %d Services: %d writes, %d reads\n%s", services, c.writes, c.reads, c.summary)
	if c.writes != 0 || c.reads > 5*services {
		t.Errorf("restart resync: %d writes (want 0) and %d reads (want <= %d)\n%s", c.writes, c.reads, 5*services, c.summary)
	}

	const period, passes = 400 * time.Millisecond, 3
	shared.fake.ResetCalls()
	began := time.Now()
	tn.Restart(func(o *servicecontroller.Options) { o.DriftRepairPeriod = period })
	waitFor(t, fmt.Sprintf("%d drift-repair passes", passes), func() (bool, string) { return time.Since(began) >= passes*period, "" })
	tn.Stop()
	elapsed := time.Since(began)
	c = countCalls(shared.fake.Calls())
	maxPasses := int(elapsed/period) + 1
	t.Logf("drift repair every %s for %s: %d writes, %d reads\n%s", period, elapsed.Round(time.Millisecond), c.writes, c.reads, c.summary)
	if c.writes != 0 {
		t.Errorf("drift repair wrote %d times, want 0\n%s", c.writes, c.summary)
	}
	if limit := 5*services + 3*services*maxPasses; c.reads > limit {
		t.Errorf("drift repair: %d reads over at most %d passes, want <= %d\n%s", c.reads, maxPasses, limit, c.summary)
	}
	tn.Restart() // for the cleanup's deletions
}

// TestNodeChurn adds and removes a Node under three Services of one load balancer: the
// shared pool follows, written once per change.
func TestNodeChurn(t *testing.T) {
	tn := newTenant(t)
	for _, n := range []string{"a", "b", "c"} {
		tn.Create(newService(n, nil))
	}
	for _, n := range []string{"a", "b", "c"} {
		waitIngress(tn, n, anyIP)
	}
	waitSettled(t, 0)
	poolIPs := func() []string {
		var lb armnetwork.LoadBalancer
		var out []string
		if read("loadBalancers", clusterName, &lb) {
			for _, p := range lb.Properties.BackendAddressPools {
				for _, a := range p.Properties.LoadBalancerBackendAddresses {
					out = append(out, *a.Properties.IPAddress)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	if got := poolIPs(); !slices.Equal(got, []string{"10.240.0.4", "10.240.0.5", "10.240.0.6"}) {
		t.Fatalf("pool %v", got)
	}
	shared.fake.ResetCalls()
	if err := createReadyNode(t.Context(), tn.CS, "node-4", "10.240.0.20"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node-4 in the pool", func() (bool, string) {
		got := poolIPs()
		return slices.Contains(got, "10.240.0.20"), fmt.Sprint(got)
	})
	c := waitSettled(t, 3)
	if n := shared.fake.Calls()["LoadBalancers.CreateOrUpdate"]; n != 1 || c.writes != 1 {
		t.Errorf("adding a node under 3 Services: %d load balancer writes, %d writes in all, want 1\n%s", n, c.writes, c.summary)
	}
	if err := tn.CS.CoreV1().Nodes().Delete(t.Context(), "node-4", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node-4 out of the pool", func() (bool, string) {
		got := poolIPs()
		return !slices.Contains(got, "10.240.0.20"), fmt.Sprint(got)
	})
}

// TestThrottled creates a Service while ARM answers 30% of calls with 429 and Retry-After:
// the controller gets there, with exactly the resources of an unthrottled creation.
func TestThrottled(t *testing.T) {
	throttled := shared.wire.answers(http.StatusTooManyRequests)
	shared.fake.SetFaults(fakecore.Faults{ThrottleRate: 0.3, RetryAfter: 50 * time.Millisecond})
	t.Cleanup(func() { shared.fake.SetFaults(fakecore.Faults{}) })
	tn := newTenant(t)
	svc := tn.Create(newService("web", nil))
	waitIngress(tn, svc.Name, anyIP)
	waitCheck(tn, svc.Name, "the cloud to converge", all(has(public(1)), internetTo()))
	shared.fake.SetFaults(fakecore.Faults{})
	if n := shared.wire.answers(http.StatusTooManyRequests) - throttled; n == 0 {
		t.Error("ARM never answered 429: the test throttled nothing")
	} else {
		t.Logf("%d calls answered 429", n)
	}
}

// TestLifecycle creates a public Service, changes it, moves it to the internal load
// balancer and deletes it; other tenants run at the same time on the same load balancers.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	svc := tn.Create(newService("web", nil, func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"} }))
	var pip armnetwork.PublicIPAddress
	st := waitIngress(tn, svc.Name, func(ip string) bool {
		return read("publicIPAddresses", managedPIP(svc), &pip) && *pip.Properties.IPAddress == ip
	})
	ip := st.Status.LoadBalancer.Ingress[0].IP
	var nsg armnetwork.SecurityGroup
	waitFor(t, "the NSG rule", func() (bool, string) {
		if !read("networkSecurityGroups", nsgName, &nsg) {
			return false, "no NSG"
		}
		for _, r := range nsg.Properties.SecurityRules {
			p := r.Properties
			if *r.Name == azure.ServicePrefix(svc)+"-TCP-SourceRanges" && *p.SourceAddressPrefix == "203.0.113.0/24" && *p.DestinationAddressPrefix == ip {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d rules", len(nsg.Properties.SecurityRules))
	})

	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-tcp-idle-timeout"] = "15" })
	waitFor(t, "idle timeout 15", func() (bool, string) {
		lb, f := frontendOf(clusterName, svc)
		if f == nil {
			return false, "no frontend"
		}
		r := ruleOf(lb, azure.ServicePrefix(svc)+"-TCP-80")
		return r != nil && *r.IdleTimeoutInMinutes == 15, "rule not updated"
	})

	tn.Update(svc.Name, func(s *v1.Service) { s.Annotations[prefix+"azure-load-balancer-internal"] = "true" })
	waitIngress(tn, svc.Name, func(ip string) bool { return strings.HasPrefix(ip, "10.240.") })
	waitFor(t, "the public frontend and the managed public IP gone", func() (bool, string) {
		_, f := frontendOf(clusterName, svc)
		var p armnetwork.PublicIPAddress
		gone := !read("publicIPAddresses", managedPIP(svc), &p)
		return f == nil && gone, fmt.Sprintf("frontend %v, public IP gone %v", f != nil, gone)
	})
	if _, f := frontendOf(clusterName+"-internal", svc); f == nil {
		t.Error("no internal frontend")
	}
}

// TestUserPublicIP uses the user's public IP: it is reported and never changed or deleted
// (the suite's leftovers check looks at it after every test).
func TestUserPublicIP(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	var p armnetwork.PublicIPAddress
	if !read("publicIPAddresses", userPIP, &p) {
		t.Fatal("no user public IP")
	}
	svc := tn.Create(newService("byo", map[string]string{prefix + "azure-pip-name": userPIP}))
	waitIngress(tn, svc.Name, func(ip string) bool { return ip == *p.Properties.IPAddress })
	var again armnetwork.PublicIPAddress
	if read("publicIPAddresses", managedPIP(svc), &again) {
		t.Error("a managed public IP was created for a Service using the user's")
	}
}
