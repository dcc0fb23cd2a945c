package fakeaws

import (
	"fmt"
	"os"
	"strings"
)

// DNSFormat is the shape of the DNS names the fake gives load balancers. The product must
// treat a load balancer's DNS name as opaque; running the suites with a shape unlike AWS's
// proves that nothing parses it (an AWS emulator names load balancers its own way).
type DNSFormat string

const (
	// DNSAWS is AWS's shape: <name>-<id>.<region>.elb.amazonaws.com for Classic load
	// balancers, <name>-<id>.elb.<region>.amazonaws.com for ELBv2, "internal-" in front
	// for internal ones. The zero value means this.
	DNSAWS DNSFormat = "aws"
	// DNSEmulator is an AWS emulator's shape: <name>.<region>.elb.localhost.localstack.cloud,
	// with neither an ID nor an "internal-" prefix.
	DNSEmulator DNSFormat = "emulator"
	// DNSOpaque has nothing of the name in it: lb-<16 hex digits>.elb.example.test.
	DNSOpaque DNSFormat = "opaque"
)

// DNSEnv is the environment variable DNSFormatFromEnv reads: "aws" (or unset), "emulator"
// or "opaque", e.g. CLOUDLB_FAKEAWS_DNS=opaque.
const DNSEnv = "CLOUDLB_FAKEAWS_DNS"

// DNSFormatFromEnv returns the format named by $CLOUDLB_FAKEAWS_DNS, DNSAWS when unset.
func DNSFormatFromEnv() (DNSFormat, error) {
	return ParseDNSFormat(os.Getenv(DNSEnv))
}

// ParseDNSFormat parses a DNSFormat name; "" is DNSAWS.
func ParseDNSFormat(s string) (DNSFormat, error) {
	switch f := DNSFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case "", DNSAWS:
		return DNSAWS, nil
	case DNSEmulator, DNSOpaque:
		return f, nil
	}
	return "", fmt.Errorf("%s=%q: want %q, %q or %q", DNSEnv, s, DNSAWS, DNSEmulator, DNSOpaque)
}

// lbDNSName names a new load balancer; id is the random part AWS puts in its names.
func (s *Server) lbDNSName(classic bool, name, id string, internal bool) string {
	switch s.opts.DNSNames {
	case DNSEmulator:
		return fmt.Sprintf("%s.%s.elb.localhost.localstack.cloud", name, s.opts.Region)
	case DNSOpaque:
		return fmt.Sprintf("lb-%s.elb.example.test", s.hex16())
	}
	dns := fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", name, id, s.opts.Region)
	if classic {
		dns = fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, id, s.opts.Region)
	}
	if internal {
		dns = "internal-" + dns
	}
	return dns
}
