package annotations

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// benchSvc carries a realistic NLB Service: a dozen keys, one typo, one foreign key.
func benchSvc() *v1.Service {
	p := "service.beta.kubernetes.io/"
	return coreSvc(map[string]string{
		p + "aws-load-balancer-type":                              "nlb",
		p + "aws-load-balancer-internal":                          "true",
		p + "aws-load-balancer-healthcheck-interval":              "10",
		p + "aws-load-balancer-healthcheck-timeout":               "6",
		p + "aws-load-balancer-healthcheck-healthy-threshold":     "3",
		p + "aws-load-balancer-healthcheck-unhealthy-threshold":   "3",
		p + "aws-load-balancer-additional-resource-tags":          "team=web,env=prod",
		p + "aws-load-balancer-target-group-attributes":           "preserve_client_ip.enabled=true",
		p + "aws-load-balancer-ssl-cert":                          "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
		p + "aws-load-balancer-ssl-ports":                         "443",
		p + "load-balancer-source-ranges":                         "10.0.0.0/8",
		p + "aws-load-balancer-cross-zone-load-balancing-enabled": "true",
		p + "aws-load-balancer-healthcheck-intervall":             "10",
		p + "openstack-internal-load-balancer":                    "true",
		"kubectl.kubernetes.io/last-applied-configuration":        "{}",
	})
}

// BenchmarkParse measures one Parse of a typical annotated Service for one cloud; the
// controller runs it once per reconcile.
func BenchmarkParse(b *testing.B) {
	svc := benchSvc()
	b.ReportAllocs()
	for b.Loop() {
		Parse(svc, AWS)
	}
}

// BenchmarkParseClean is the common case: valid keys only, no typo search.
func BenchmarkParseClean(b *testing.B) {
	svc := benchSvc()
	delete(svc.Annotations, "service.beta.kubernetes.io/aws-load-balancer-healthcheck-intervall")
	b.ReportAllocs()
	for b.Loop() {
		Parse(svc, AWS)
	}
}
