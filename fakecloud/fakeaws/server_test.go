package fakeaws

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

func post(t *testing.T, endpoint string, form url.Values, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestWireEnvelopes(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tests := []struct {
		name       string
		form       url.Values
		auth       string
		wantStatus int
		wantBody   []string
	}{
		{
			name:       "ec2 error",
			form:       url.Values{"Action": {"DescribeVpcs"}, "Version": {ec2Version}, "VpcId.1": {"vpc-1"}},
			wantStatus: 400,
			wantBody:   []string{"<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>", "<RequestID>"},
		},
		{
			name:       "elb error",
			form:       url.Values{"Action": {"DescribeLoadBalancers"}, "Version": {elbVersion}, "LoadBalancerNames.member.1": {"x"}},
			wantStatus: 400,
			wantBody:   []string{"<ErrorResponse", "<Type>Sender</Type><Code>LoadBalancerNotFound</Code>", "<RequestId>"},
		},
		{
			name:       "elbv2 result",
			form:       url.Values{"Action": {"DescribeLoadBalancers"}, "Version": {elbv2Version}},
			wantStatus: 200,
			wantBody:   []string{"<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeLoadBalancersResult>", "<ResponseMetadata><RequestId>"},
		},
		{
			name:       "ec2 result",
			form:       url.Values{"Action": {"DescribeAvailabilityZones"}, "Version": {ec2Version}},
			auth:       "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
			wantStatus: 200,
			wantBody:   []string{"<DescribeAvailabilityZonesResponse", "<availabilityZoneInfo><item>", "<zoneName>us-east-1a</zoneName>"},
		},
		{
			name:       "unknown action",
			form:       url.Values{"Action": {"LaunchRockets"}, "Version": {ec2Version}},
			wantStatus: 400,
			wantBody:   []string{"<Code>InvalidAction</Code>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, c.url, tc.form, tc.auth)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d\n%s", status, tc.wantStatus, body)
			}
			for _, want := range tc.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		faults   fakecore.Faults
		call     func(c *clients) error
		wantCode string
		status   int
	}{
		{"ec2 throttle", fakecore.Faults{ThrottleRate: 1}, func(c *clients) error {
			_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}, "RequestLimitExceeded", 503},
		{"elb throttle", fakecore.Faults{ThrottleRate: 1}, func(c *clients) error {
			_, err := c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}, "Throttling", 400},
		{"elbv2 throttle", fakecore.Faults{ThrottleRate: 1}, func(c *clients) error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
			return err
		}, "Throttling", 400},
		{"ec2 5xx", fakecore.Faults{ServerErrorRate: 1}, func(c *clients) error {
			_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}, "InternalError", 500},
		{"elbv2 5xx", fakecore.Faults{ServerErrorRate: 1}, func(c *clients) error {
			_, err := c.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
			return err
		}, "ServiceUnavailable", 503},
		{"other operation untouched", fakecore.Faults{ThrottleRate: 1, Operations: []string{"ec2:CreateVpc"}}, func(c *clients) error {
			_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newFake(t)
			c.srv.SetFaults(tc.faults)
			err := tc.call(c)
			wantCode(t, err, tc.wantCode)
			if tc.status != 0 {
				var re *awshttp.ResponseError
				if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
					t.Fatalf("HTTP status of %v is not %d", err, tc.status)
				}
			}
		})
	}
}

// The SDK's standard retryer recognises the fake's throttling as retryable, and a
// faulted call changes nothing.
func TestRetriesUnderThrottling(t *testing.T) {
	t.Parallel()
	srv := New(Options{Seed: 7})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := aws.Config{Region: "us-east-1", Credentials: newFake(t).ec2.Options().Credentials, BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts, o.MaxBackoff = 10, time.Millisecond })
		}}
	client := ec2.NewFromConfig(cfg)
	srv.SetFaults(fakecore.Faults{ThrottleRate: 0.3})
	for i := 0; i < 10; i++ {
		if _, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}); err != nil {
			t.Fatalf("CreateVpc %d: %v", i, err)
		}
	}
	srv.SetFaults(fakecore.Faults{})
	vpcs := must[*ec2.DescribeVpcsOutput](t)(client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}))
	if len(vpcs.Vpcs) != 10 {
		t.Fatalf("vpcs = %d, want 10 (a throttled call must not create)", len(vpcs.Vpcs))
	}
	if n := srv.CallCount(NewCall(ServiceEC2, "CreateVpc")); n <= 10 {
		t.Fatalf("CreateVpc calls = %d, want retries above 10", n)
	}
}

func TestCallsAndLatency(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	buildTopo(t, c)
	calls := c.srv.Calls()
	if calls[NewCall(ServiceEC2, "CreateSubnet")] != 2 || calls[NewCall(ServiceEC2, "RunInstances")] != 1 {
		t.Fatalf("calls = %v", CallsSummary(calls))
	}
	if !NewCall(ServiceELBv2, "DescribeTargetHealth").IsRead() || NewCall(ServiceEC2, "CreateTags").IsRead() {
		t.Fatal("IsRead misclassifies")
	}
	c.srv.ResetCalls()
	c.srv.SetFaults(fakecore.Faults{Latency: 50 * time.Millisecond})
	start := time.Now()
	must[*elb.DescribeLoadBalancersOutput](t)(c.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}))
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("latency not injected: %v", d)
	}
	if got := CallsSummary(c.srv.Calls()); got != "elasticloadbalancing:DescribeLoadBalancers 1\n" {
		t.Fatalf("calls after reset = %q", got)
	}
}

// AWS_ENDPOINT_URL with the SDK's default config chain reaches the fake unchanged.
func TestDefaultConfigWithEndpointEnv(t *testing.T) {
	srv := New(Options{})
	endpoint, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(cfg).DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}); err != nil {
		t.Fatal(err)
	}
	want := map[Call]int{NewCall(ServiceEC2, "DescribeAvailabilityZones"): 1, NewCall(ServiceELB, "DescribeLoadBalancers"): 1, NewCall(ServiceELBv2, "DescribeLoadBalancers"): 1}
	if got := srv.Calls(); CallsSummary(got) != CallsSummary(want) {
		t.Fatalf("calls = %s", CallsSummary(got))
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	c.srv.FailNext(NewCall(ServiceEC2, "CreateSecurityGroup"), 1, &fakecore.APIError{Code: "InvalidGroup.Duplicate"})
	_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), VpcId: aws.String(tp.vpc)})
	wantCode(t, err, "InvalidGroup.Duplicate")
	if len(c.srv.Inventory().SecurityGroups) != 0 {
		t.Fatal("a failed call created a group")
	}
	must[*ec2.CreateSecurityGroupOutput](t)(c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), VpcId: aws.String(tp.vpc)}))
	if n := c.srv.CallCount(NewCall(ServiceEC2, "CreateSecurityGroup")); n != 2 {
		t.Fatalf("calls = %d, want 2", n)
	}
}
