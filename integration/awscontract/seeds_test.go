package awscontract_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// seedDir holds the manifests of the Kubernetes docs' AWS sections.
const seedDir = "../../examples/aws"

// exampleCert is the placeholder ACM ARN of the examples; loadSeed swaps in cert1, which
// exists, because load balancers refuse certificates the account does not hold.
const exampleCert = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

// loadSeed reads one example Service and replaces its placeholder IDs by the network's.
func loadSeed(t *testing.T, file string) *v1.Service {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, file))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"subnet-0123456789abcdef0", shared.net.public[0],
		"subnet-0123456789abcdef1", shared.net.public[1],
		"sg-53fae93f", shared.net.extraGroups[0],
		"sg-42efd82e", shared.net.extraGroups[1],
		exampleCert, cert1,
	).Replace(string(data))
	var svc v1.Service
	if err := yaml.UnmarshalStrict([]byte(text), &svc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &svc
}

// TestSeedExamples applies every examples/aws manifest and checks the Service's status and
// the load balancer the cloud holds. Every file must have a case, so a new example cannot
// go untested.
func TestSeedExamples(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, svc *v1.Service, host string){
		"clb-logs-draining.yaml": func(t *testing.T, svc *v1.Service, host string) {
			waitClassic(t, key(svc), func(lb *classicLB) error {
				hc, a := lb.desc.HealthCheck, lb.attrs
				return firstErr(
					want("DNSName", aws.ToString(lb.desc.DNSName), host),
					want("listeners", listeners(lb), fmt.Sprintf("TCP:80->TCP:%d", svc.Spec.Ports[0].NodePort)),
					want("health check", fmt.Sprintf("%d/%d/%d/%d", aws.ToInt32(hc.Interval), aws.ToInt32(hc.Timeout), aws.ToInt32(hc.HealthyThreshold), aws.ToInt32(hc.UnhealthyThreshold)), "20/5/2/3"),
					want("health check target", aws.ToString(hc.Target), fmt.Sprintf("TCP:%d", svc.Spec.Ports[0].NodePort)),
					want("access log", fmt.Sprintf("%v/%d/%s/%s", a.AccessLog.Enabled, aws.ToInt32(a.AccessLog.EmitInterval), aws.ToString(a.AccessLog.S3BucketName), aws.ToString(a.AccessLog.S3BucketPrefix)), "true/5/my-elb-logs/prod/api"),
					want("connection draining", fmt.Sprintf("%v/%d", a.ConnectionDraining.Enabled, aws.ToInt32(a.ConnectionDraining.Timeout)), "true/60"),
					want("idle timeout", aws.ToInt32(a.ConnectionSettings.IdleTimeout), int32(120)),
					want("cross-zone", a.CrossZoneLoadBalancing.Enabled, true),
					want("tags", lb.tags["environment"]+","+lb.tags["owner"], "prod,devops"),
					want("proxy protocol on the backend", backendPolicies(lb.desc) != "", true),
					want("extra security groups", containsAll(lb.desc.SecurityGroups, shared.net.extraGroups), true),
					want("instances", fmt.Sprint(lb.registered()), fmt.Sprint(instanceIDs("node-a", "node-b", "node-c"))),
				)
			})
		},
		"clb-tls.yaml": func(t *testing.T, svc *v1.Service, host string) {
			np := map[int32]int32{}
			for _, p := range svc.Spec.Ports {
				np[p.Port] = p.NodePort
			}
			waitClassic(t, key(svc), func(lb *classicLB) error {
				return firstErr(
					want("DNSName", aws.ToString(lb.desc.DNSName), host),
					want("listeners", listeners(lb), fmt.Sprintf("HTTP:80->HTTP:%d HTTPS:443->HTTP:%d %s HTTPS:8443->HTTP:%d %s", np[80], np[443], cert1, np[8443], cert1)),
					want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing"),
					want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(shared.net.public))),
				)
			})
		},
		"nlb-eip-local.yaml": func(t *testing.T, svc *v1.Service, host string) {
			waitNLB(t, key(svc), func(lb *networkLB) error {
				if len(lb.groups) != 2 || len(lb.listeners) != 2 {
					return fmt.Errorf("%d listeners and %d target groups, want 2 and 2", len(lb.listeners), len(lb.groups))
				}
				tg := lb.groups[0].tg
				return firstErr(
					want("DNSName", aws.ToString(lb.lb.DNSName), host),
					want("scheme", string(lb.lb.Scheme), "internet-facing"),
					want("type", string(lb.lb.Type), "network"),
					want("listener ports", fmt.Sprintf("%d/%s %d/%s", aws.ToInt32(lb.listeners[0].Port), lb.listeners[0].Protocol, aws.ToInt32(lb.listeners[1].Port), lb.listeners[1].Protocol), "80/TCP 443/TCP"),
					want("health check", fmt.Sprintf("%s:%s%s", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath)), fmt.Sprintf("HTTP:%d/healthz", svc.Spec.HealthCheckNodePort)),
					want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "true"),
					want("tag team", lb.tags["team"], "edge"),
					want("EIPs", eips(lb), "eipalloc-0123456789abcdef0 eipalloc-0123456789abcdef1"),
					want("targets", fmt.Sprint(lb.groups[0].targets), fmt.Sprint(instanceIDs("node-a", "node-b", "node-c"))),
				)
			})
		},
		"nlb-internal.yaml": func(t *testing.T, svc *v1.Service, host string) {
			waitNLB(t, key(svc), func(lb *networkLB) error {
				if len(lb.groups) != 1 || len(lb.listeners) != 1 {
					return fmt.Errorf("%d listeners and %d target groups, want 1 and 1", len(lb.listeners), len(lb.groups))
				}
				g := lb.groups[0]
				tg := g.tg
				return firstErr(
					want("DNSName", aws.ToString(lb.lb.DNSName), host),
					want("scheme", string(lb.lb.Scheme), "internal"),
					want("listener", fmt.Sprintf("%d/%s", aws.ToInt32(lb.listeners[0].Port), lb.listeners[0].Protocol), "53/TCP"),
					want("health check", fmt.Sprintf("%s:%s%s every %ds timeout %ds", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds)), "HTTP:8081/ready every 10s timeout 6s"),
					want("preserve_client_ip", g.attrs["preserve_client_ip.enabled"], "true"),
					want("deregistration delay", g.attrs["deregistration_delay.timeout_seconds"], "30"),
					// Only the nodes labelled node.kubernetes.io/role=edge.
					want("targets", fmt.Sprint(g.targets), fmt.Sprint(instanceIDs("node-a", "node-b"))),
				)
			})
		},
	}
	files, err := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples in %s: %v", seedDir, err)
	}
	tn := newTenant(t)
	for _, f := range files {
		check, ok := cases[filepath.Base(f)]
		if !ok {
			t.Errorf("%s has no expectations in TestSeedExamples", f)
			continue
		}
		svc := tn.Create(loadSeed(t, filepath.Base(f)))
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := tn.WaitIngress(svc.Name, nil)
			check(t, got, got.Status.LoadBalancer.Ingress[0].Hostname)
		})
	}
}

func key(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }

// listeners renders a Classic ELB's listeners sorted by port: "PROTO:port->PROTO:port [cert]".
func listeners(lb *classicLB) string {
	var out []string
	for _, d := range lb.desc.ListenerDescriptions {
		l := d.Listener
		s := fmt.Sprintf("%s:%d->%s:%d", aws.ToString(l.Protocol), l.LoadBalancerPort, aws.ToString(l.InstanceProtocol), aws.ToInt32(l.InstancePort))
		if c := aws.ToString(l.SSLCertificateId); c != "" {
			s += " " + c
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int { return portOf(a) - portOf(b) })
	return strings.Join(out, " ")
}

func portOf(listener string) int {
	var p int
	_, after, _ := strings.Cut(listener, ":")
	fmt.Sscanf(after, "%d", &p)
	return p
}

func backendPolicies(d elbtypes.LoadBalancerDescription) string {
	var out []string
	for _, b := range d.BackendServerDescriptions {
		out = append(out, b.PolicyNames...)
	}
	return strings.Join(out, ",")
}

func eips(lb *networkLB) string {
	var out []string
	for _, z := range lb.lb.AvailabilityZones {
		for _, a := range z.LoadBalancerAddresses {
			if id := aws.ToString(a.AllocationId); id != "" {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
