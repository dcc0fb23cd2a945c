package awscontract_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// seedDir holds the manifests of the Kubernetes docs' AWS sections.
const seedDir = "../../examples/aws"

// exampleCert is the placeholder ACM ARN of the examples; loadSeed swaps in cert1, which
// exists, because load balancers refuse certificates the account does not hold.
const exampleCert = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

// seeds are the examples/aws manifests, their placeholder IDs replaced by the network's;
// the certificate placeholder by cert1, which exists, because load balancers refuse
// certificates the account does not hold.
func seeds(*testing.T) contract.Seeds {
	net := shared.net
	return contract.Seeds{Dir: seedDir, Cases: seedCases, Replace: []string{
		"subnet-0123456789abcdef0", net.public[0], "subnet-0123456789abcdef1", net.public[1],
		"sg-53fae93f", net.extraGroups[0], "sg-42efd82e", net.extraGroups[1], exampleCert, cert1,
	}}
}

// seedCases check each example's load balancer; its DNS name is the Service's hostname.
var seedCases = map[string]contract.Check{
	"clb-logs-draining.yaml": func(t *testing.T, svc *v1.Service) error {
		host := svc.Status.LoadBalancer.Ingress[0].Hostname
		return classicIs(func(lb *classicLB) error {
			hc, a := lb.desc.HealthCheck, lb.attrs
			return contract.FirstErr(
				contract.Want("DNSName", aws.ToString(lb.desc.DNSName), host),
				contract.Want("listeners", listeners(lb), fmt.Sprintf("TCP:80->TCP:%d", svc.Spec.Ports[0].NodePort)),
				contract.Want("health check", fmt.Sprintf("%d/%d/%d/%d", aws.ToInt32(hc.Interval), aws.ToInt32(hc.Timeout), aws.ToInt32(hc.HealthyThreshold), aws.ToInt32(hc.UnhealthyThreshold)), "20/5/2/3"),
				contract.Want("health check target", aws.ToString(hc.Target), fmt.Sprintf("TCP:%d", svc.Spec.Ports[0].NodePort)),
				contract.Want("access log", fmt.Sprintf("%v/%d/%s/%s", a.AccessLog.Enabled, aws.ToInt32(a.AccessLog.EmitInterval), aws.ToString(a.AccessLog.S3BucketName), aws.ToString(a.AccessLog.S3BucketPrefix)), "true/5/my-elb-logs/prod/api"),
				contract.Want("connection draining", fmt.Sprintf("%v/%d", a.ConnectionDraining.Enabled, aws.ToInt32(a.ConnectionDraining.Timeout)), "true/60"),
				contract.Want("idle timeout", aws.ToInt32(a.ConnectionSettings.IdleTimeout), int32(120)),
				contract.Want("cross-zone", a.CrossZoneLoadBalancing.Enabled, true),
				contract.Want("tags", lb.tags["environment"]+","+lb.tags["owner"], "prod,devops"),
				contract.Want("proxy protocol on the backend", backendPolicies(lb.desc) != "", true),
				contract.Want("extra security groups", containsAll(lb.desc.SecurityGroups, shared.net.extraGroups), true),
				contract.Want("instances", fmt.Sprint(lb.registered()), fmt.Sprint(instanceIDs("node-a", "node-b", "node-c"))),
			)
		})(t, svc)
	},
	"clb-tls.yaml": func(t *testing.T, svc *v1.Service) error {
		host := svc.Status.LoadBalancer.Ingress[0].Hostname
		np := map[int32]int32{}
		for _, p := range svc.Spec.Ports {
			np[p.Port] = p.NodePort
		}
		return classicIs(func(lb *classicLB) error {
			return contract.FirstErr(
				contract.Want("DNSName", aws.ToString(lb.desc.DNSName), host),
				contract.Want("listeners", listeners(lb), fmt.Sprintf("HTTP:80->HTTP:%d HTTPS:443->HTTP:%d %s HTTPS:8443->HTTP:%d %s", np[80], np[443], cert1, np[8443], cert1)),
				contract.Want("scheme", aws.ToString(lb.desc.Scheme), "internet-facing"),
				contract.Want("subnets", fmt.Sprint(sorted(lb.desc.Subnets)), fmt.Sprint(sorted(shared.net.public))),
			)
		})(t, svc)
	},
	"nlb-eip-local.yaml": func(t *testing.T, svc *v1.Service) error {
		host := svc.Status.LoadBalancer.Ingress[0].Hostname
		return nlbIs(func(lb *networkLB) error {
			if len(lb.groups) != 2 || len(lb.listeners) != 2 {
				return fmt.Errorf("%d listeners and %d target groups, want 2 and 2", len(lb.listeners), len(lb.groups))
			}
			tg := lb.groups[0].tg
			return contract.FirstErr(
				contract.Want("DNSName", aws.ToString(lb.lb.DNSName), host),
				contract.Want("scheme", string(lb.lb.Scheme), "internet-facing"),
				contract.Want("type", string(lb.lb.Type), "network"),
				contract.Want("listener ports", fmt.Sprintf("%d/%s %d/%s", aws.ToInt32(lb.listeners[0].Port), lb.listeners[0].Protocol, aws.ToInt32(lb.listeners[1].Port), lb.listeners[1].Protocol), "80/TCP 443/TCP"),
				contract.Want("health check", fmt.Sprintf("%s:%s%s", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath)), fmt.Sprintf("HTTP:%d/healthz", svc.Spec.HealthCheckNodePort)),
				contract.Want("cross-zone", lb.attrs["load_balancing.cross_zone.enabled"], "true"),
				contract.Want("tag team", lb.tags["team"], "edge"),
				contract.Want("EIPs", eips(lb), "eipalloc-0123456789abcdef0 eipalloc-0123456789abcdef1"),
				contract.Want("targets", fmt.Sprint(lb.groups[0].targets), fmt.Sprint(instanceIDs("node-a", "node-b", "node-c"))),
			)
		})(t, svc)
	},
	"nlb-internal.yaml": func(t *testing.T, svc *v1.Service) error {
		host := svc.Status.LoadBalancer.Ingress[0].Hostname
		return nlbIs(func(lb *networkLB) error {
			if len(lb.groups) != 1 || len(lb.listeners) != 1 {
				return fmt.Errorf("%d listeners and %d target groups, want 1 and 1", len(lb.listeners), len(lb.groups))
			}
			g := lb.groups[0]
			tg := g.tg
			return contract.FirstErr(
				contract.Want("DNSName", aws.ToString(lb.lb.DNSName), host),
				contract.Want("scheme", string(lb.lb.Scheme), "internal"),
				contract.Want("listener", fmt.Sprintf("%d/%s", aws.ToInt32(lb.listeners[0].Port), lb.listeners[0].Protocol), "53/TCP"),
				contract.Want("health check", fmt.Sprintf("%s:%s%s every %ds timeout %ds", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds)), "HTTP:8081/ready every 10s timeout 6s"),
				contract.Want("preserve_client_ip", g.attrs["preserve_client_ip.enabled"], "true"),
				contract.Want("deregistration delay", g.attrs["deregistration_delay.timeout_seconds"], "30"),
				// Only the nodes labelled node.kubernetes.io/role=edge.
				contract.Want("targets", fmt.Sprint(g.targets), fmt.Sprint(instanceIDs("node-a", "node-b"))),
			)
		})(t, svc)
	},
}

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
