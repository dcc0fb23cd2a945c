package fakeaws

import (
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestDNSNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format             DNSFormat
		classic, nlb, intl *regexp.Regexp
	}{
		{DNSAWS,
			regexp.MustCompile(`^web-\d{10}\.us-east-1\.elb\.amazonaws\.com$`),
			regexp.MustCompile(`^web-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com$`),
			regexp.MustCompile(`^internal-in-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com$`)},
		{DNSEmulator,
			regexp.MustCompile(`^web\.us-east-1\.elb\.localhost\.localstack\.cloud$`),
			regexp.MustCompile(`^web\.us-east-1\.elb\.localhost\.localstack\.cloud$`),
			regexp.MustCompile(`^in\.us-east-1\.elb\.localhost\.localstack\.cloud$`)},
		{DNSOpaque,
			regexp.MustCompile(`^lb-[0-9a-f]{16}\.elb\.example\.test$`),
			regexp.MustCompile(`^lb-[0-9a-f]{16}\.elb\.example\.test$`),
			regexp.MustCompile(`^lb-[0-9a-f]{16}\.elb\.example\.test$`)},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			t.Parallel()
			c := newFakeWith(t, Options{DNSNames: tc.format})
			tp := buildTopo(t, c)
			clb := must[*elb.CreateLoadBalancerOutput](t)(c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
				LoadBalancerName: aws.String("web"), Subnets: []string{tp.public},
				Listeners: []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 80, InstancePort: aws.Int32(30080)}},
			}))
			nlb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
				Name: aws.String("web"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}}))
			internal := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
				Name: aws.String("in"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternal, Subnets: []string{tp.private}}))
			for _, x := range []struct {
				got string
				re  *regexp.Regexp
			}{{*clb.DNSName, tc.classic}, {*nlb.LoadBalancers[0].DNSName, tc.nlb}, {*internal.LoadBalancers[0].DNSName, tc.intl}} {
				if !x.re.MatchString(x.got) {
					t.Errorf("DNS name %q does not match %s", x.got, x.re)
				}
			}
		})
	}
}

func TestDNSFormatFromEnv(t *testing.T) {
	tests := []struct {
		env     string
		want    DNSFormat
		wantErr bool
	}{
		{"", DNSAWS, false},
		{"aws", DNSAWS, false},
		{"Emulator", DNSEmulator, false},
		{"opaque", DNSOpaque, false},
		{"localstack", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(DNSEnv, tc.env)
			got, err := DNSFormatFromEnv()
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("DNSFormatFromEnv() = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// newFakeWith is newFake with options.
func newFakeWith(t *testing.T, opts Options) *clients {
	t.Helper()
	srv := New(opts)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		BaseEndpoint:     aws.String(hs.URL),
		RetryMaxAttempts: 1,
	}
	return &clients{srv: srv, url: hs.URL, ec2: ec2.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), elbv2: elbv2.NewFromConfig(cfg)}
}
