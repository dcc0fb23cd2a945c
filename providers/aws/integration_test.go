package aws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"

	awsprovider "github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
	cloudaws "github.com/cloudlb/cloudlb/providers/aws"
)

const (
	cluster = "demo"
	prefix  = "service.beta.kubernetes.io/aws-load-balancer-"
	cert    = "arn:aws:iam::123456789012:server-certificate/" + certName
)

// env is a fakeaws with a VPC, two public subnets in two zones and three instances, the
// real SDK clients pointed at it, and the provider built on them.
type env struct {
	srv   *awsprovider.Server
	built *awsprovider.Built
	elb   *elb.Client
	ec2   *ec2.Client
	elbv2 *elbv2.Client
	cloud *cloudaws.Cloud
	nodes []*v1.Node
}

func newEnv(t testing.TB, opts ...func(*aws.Config)) *env {
	t.Helper()
	// $CLOUDLB_FAKEAWS_DNS (make test sets it on a second run) names load balancers unlike
	// AWS, so that nothing in the provider can come to depend on the shape of a DNS name.
	dns, err := awsprovider.DNSFormatFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	srv := awsprovider.New(awsprovider.Options{DNSNames: dns})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	owned := map[string]string{"kubernetes.io/cluster/" + cluster: "owned"}
	built, err := srv.ApplyTopology(awsprovider.Topology{
		VPC: awsprovider.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []awsprovider.TopologySubnet{
			{Name: "public-a", CIDR: "10.0.1.0/24", Zone: "us-east-1a", Public: true, Tags: map[string]string{"kubernetes.io/cluster/" + cluster: "shared", "kubernetes.io/role/elb": "1"}},
			{Name: "public-b", CIDR: "10.0.2.0/24", Zone: "us-east-1b", Public: true, Tags: map[string]string{"kubernetes.io/cluster/" + cluster: "shared", "kubernetes.io/role/elb": "1"}},
			{Name: "private-a", CIDR: "10.0.3.0/24", Zone: "us-east-1a", Tags: map[string]string{"kubernetes.io/role/internal-elb": "1"}},
		},
		SecurityGroups: []awsprovider.TopologySecurityGroup{{Name: "nodes", Tags: owned}},
		Instances: []awsprovider.TopologyInstance{
			{Name: "node-a", Subnet: "public-a", Count: 2, Tags: owned, SecurityGroups: []string{"nodes"}},
			{Name: "node-b", Subnet: "public-b", Tags: owned, SecurityGroups: []string{"nodes"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		BaseEndpoint:     aws.String(hs.URL),
		RetryMaxAttempts: 1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cc, err := cloudaws.ParseCloudConfig(strings.NewReader(fmt.Sprintf("[Global]\nZone = us-east-1a\nVPC = %s\n", built.VPC)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, built: built, elb: elb.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), elbv2: elbv2.NewFromConfig(cfg)}
	e.uploadCert(t, cfg)
	e.cloud = cloudaws.New(cloudaws.Options{Config: cc, ELB: e.elb, EC2: e.ec2, ELBv2: e.elbv2})
	for _, n := range []struct{ name, zone string }{{"node-a-1", "us-east-1a"}, {"node-a-2", "us-east-1a"}} {
		e.nodes = append(e.nodes, e.node(n.name, n.zone))
	}
	return e
}

func (e *env) node(name, zone string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": "web"}},
		Spec: v1.NodeSpec{ProviderID: "aws:///" + zone + "/" + e.built.Instances[name]}}
}

// writes and reads split the fake's call counts since the last reset.
func (e *env) counts() (writes, reads int, summary string) {
	calls := e.srv.Calls()
	for c, n := range calls {
		if c.IsRead() {
			reads += n
		} else {
			writes += n
		}
	}
	return writes, reads, awsprovider.CallsSummary(calls)
}

func service() *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("5f3e1c2a-8b7d-4e6f-9a1b-2c3d4e5f6a7b"),
			Annotations: map[string]string{
				prefix + "ssl-cert":                    cert,
				prefix + "ssl-ports":                   "443",
				prefix + "backend-protocol":            "http",
				prefix + "access-log-enabled":          "true",
				prefix + "access-log-s3-bucket-name":   "logs",
				prefix + "access-log-s3-bucket-prefix": "shop/web",
				prefix + "access-log-emit-interval":    "5",
			}},
		Spec: v1.ServiceSpec{
			Type:                     v1.ServiceTypeLoadBalancer,
			LoadBalancerSourceRanges: []string{"10.0.0.0/8", "192.168.0.0/16"},
			Ports: []v1.ServicePort{
				{Name: "https", Protocol: v1.ProtocolTCP, Port: 443, NodePort: 30443},
				{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080},
			},
		},
	}
}

var ctx = context.Background()

func (e *env) describe(t *testing.T, name string) (elbtypes.LoadBalancerDescription, *elbtypes.LoadBalancerAttributes, map[string]string) {
	t.Helper()
	d, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{LoadBalancerNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tag := range tg.TagDescriptions[0].Tags {
		tags[*tag.Key] = *tag.Value
	}
	return d.LoadBalancerDescriptions[0], a.LoadBalancerAttributes, tags
}

func (e *env) group(t *testing.T, name string) *awsprovider.InventoryGroup {
	t.Helper()
	for _, g := range e.srv.Inventory().SecurityGroups {
		if g.Name == name {
			return &g
		}
	}
	return nil
}

func TestClassicLifecycle(t *testing.T) {
	e := newEnv(t)
	svc := service()
	name := cloudaws.LoadBalancerName(svc)
	if name != "a5f3e1c2a8b7d4e6f9a1b2c3d4e5f6a7" {
		t.Fatalf("name = %s", name)
	}

	// Create.
	st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	if err != nil {
		t.Fatal(err)
	}
	w, r, sum := e.counts()
	t.Logf("create: %d writes, %d reads: %s", w, r, sum)
	if len(st.Ingress) != 1 || st.Ingress[0].Hostname != e.dnsName(t, "classic", name) {
		t.Fatalf("status = %+v", st)
	}
	d, attrs, tags := e.describe(t, name)
	var ls []string
	for _, l := range d.ListenerDescriptions {
		ls = append(ls, fmt.Sprintf("%s:%d->%s:%d %s", *l.Listener.Protocol, l.Listener.LoadBalancerPort, *l.Listener.InstanceProtocol, *l.Listener.InstancePort, aws.ToString(l.Listener.SSLCertificateId)))
	}
	slices.Sort(ls)
	want := []string{"HTTP:80->HTTP:30080 ", "HTTPS:443->HTTP:30443 " + cert}
	if !slices.Equal(ls, want) {
		t.Errorf("listeners = %q, want %q", ls, want)
	}
	if hc := d.HealthCheck; *hc.Target != "TCP:30443" || *hc.Interval != 10 || *hc.Timeout != 5 {
		t.Errorf("health check = %s %d %d", *hc.Target, *hc.Interval, *hc.Timeout)
	}
	if al := attrs.AccessLog; !al.Enabled || *al.S3BucketName != "logs" || *al.S3BucketPrefix != "shop/web" || *al.EmitInterval != 5 {
		t.Errorf("access log = %+v", al)
	}
	if len(d.Instances) != 2 || len(d.Subnets) != 2 {
		t.Errorf("instances %v subnets %v", d.Instances, d.Subnets)
	}
	if tags["kubernetes.io/cluster/"+cluster] != "owned" || tags["kubernetes.io/service-name"] != "shop/web" {
		t.Errorf("tags = %v", tags)
	}
	g := e.group(t, "k8s-elb-"+name)
	if g == nil {
		t.Fatal("no managed security group")
	}
	if len(d.SecurityGroups) != 1 || d.SecurityGroups[0] != g.ID {
		t.Errorf("LB groups %v, managed %s", d.SecurityGroups, g.ID)
	}
	wantRules := []string{
		"icmp 3-4 10.0.0.0/8 cloudlb shop/web: path MTU discovery",
		"icmp 3-4 192.168.0.0/16 cloudlb shop/web: path MTU discovery",
		"tcp 443-443 10.0.0.0/8 cloudlb shop/web: listener 443",
		"tcp 443-443 192.168.0.0/16 cloudlb shop/web: listener 443",
		"tcp 80-80 10.0.0.0/8 cloudlb shop/web: listener 80",
		"tcp 80-80 192.168.0.0/16 cloudlb shop/web: listener 80",
	}
	rules := slices.Sorted(slices.Values(g.Ingress))
	if !slices.Equal(rules, wantRules) {
		t.Errorf("rules =\n%s\nwant\n%s", strings.Join(rules, "\n"), strings.Join(wantRules, "\n"))
	}

	// The nodes' group lets the load balancer's group in.
	var nodeRule bool
	for _, grp := range e.srv.Inventory().SecurityGroups {
		for _, rule := range grp.Ingress {
			if strings.Contains(rule, g.ID) && strings.Contains(rule, "cloudlb: traffic from load balancer "+name) {
				nodeRule = true
			}
		}
	}
	if !nodeRule {
		t.Errorf("no node rule from %s: %+v", g.ID, e.srv.Inventory().SecurityGroups)
	}

	// No-op: zero writes, at most two reads.
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("no-op: %d writes, %d reads: %s", w, r, sum)
	if w != 0 || r > 2 {
		t.Errorf("no-op reconcile made %d writes and %d reads (%s), want 0 and <= 2", w, r, sum)
	}

	// Change the health check interval, the idle timeout and a port.
	e.srv.ResetCalls()
	svc.Annotations[prefix+"healthcheck-interval"] = "30"
	svc.Annotations[prefix+"connection-idle-timeout"] = "120"
	svc.Spec.Ports[1].Port = 8080
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("update: %d writes, %d reads: %s", w, r, sum)
	calls := e.srv.Calls()
	for _, op := range []string{"ConfigureHealthCheck", "ModifyLoadBalancerAttributes", "CreateLoadBalancerListeners", "DeleteLoadBalancerListeners"} {
		if calls[awsprovider.NewCall(awsprovider.ServiceELB, op)] != 1 {
			t.Errorf("%s calls = %d, want 1 (%s)", op, calls[awsprovider.NewCall(awsprovider.ServiceELB, op)], sum)
		}
	}
	for _, op := range []string{"RegisterInstancesWithLoadBalancer", "CreateLoadBalancer", "ApplySecurityGroupsToLoadBalancer", "CreateSecurityGroup"} {
		if n := calls[awsprovider.NewCall(awsprovider.ServiceELB, op)] + calls[awsprovider.NewCall(awsprovider.ServiceEC2, op)]; n != 0 {
			t.Errorf("unneeded %s: %d (%s)", op, n, sum)
		}
	}
	d, attrs, _ = e.describe(t, name)
	if *d.HealthCheck.Interval != 30 || *attrs.ConnectionSettings.IdleTimeout != 120 {
		t.Errorf("interval %d idle %d", *d.HealthCheck.Interval, *attrs.ConnectionSettings.IdleTimeout)
	}
	rules = e.group(t, "k8s-elb-"+name).Ingress
	if !slices.Contains(rules, "tcp 8080-8080 10.0.0.0/8 cloudlb shop/web: listener 8080") || slices.Contains(rules, "tcp 80-80 10.0.0.0/8 cloudlb shop/web: listener 80") {
		t.Errorf("rules after port change = %q", rules)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op after update: %d writes %d reads (%s)", w, r, sum)
	}

	// A node added.
	e.srv.ResetCalls()
	nodes := append(slices.Clone(e.nodes), e.node("node-b", "us-east-1b"))
	if err := e.cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("node added: %d writes, %d reads: %s", w, r, sum)
	// Register only: the load balancer's state is cached from the last sync, node-b's
	// instance was in the VPC listing made then, and its group is the other nodes' group,
	// so the node-rules tag still holds.
	if w != 1 || r != 0 || e.srv.CallCount(awsprovider.NewCall(awsprovider.ServiceELB, "RegisterInstancesWithLoadBalancer")) != 1 {
		t.Errorf("node added: %d writes %d reads (%s)", w, r, sum)
	}
	d, _, _ = e.describe(t, name)
	if len(d.Instances) != 3 {
		t.Errorf("instances = %v", d.Instances)
	}

	// Delete.
	e.srv.ResetCalls()
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	w, r, sum = e.counts()
	t.Logf("delete: %d writes, %d reads: %s", w, r, sum)
	inv := e.srv.Inventory()
	if len(inv.ClassicLoadBalancers) != 0 {
		t.Errorf("load balancers left: %v", inv.ClassicLoadBalancers)
	}
	for _, g := range inv.SecurityGroups {
		if strings.HasPrefix(g.Name, "k8s-elb-") {
			t.Errorf("security group left: %+v", g)
		}
	}
	if g := e.group(t, "nodes"); len(g.Ingress) != 0 {
		t.Errorf("node rules left: %v", g.Ingress)
	}
	if _, exists, err := e.cloud.GetLoadBalancer(ctx, cluster, svc); err != nil || exists {
		t.Errorf("GetLoadBalancer after delete: %v %v", exists, err)
	}
	// Deleting again is a no-op.
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
}

func TestForeignLoadBalancerIsLeftAlone(t *testing.T) {
	e := newEnv(t)
	svc := service()
	name := cloudaws.LoadBalancerName(svc)
	_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String(name),
		Listeners:        []elbtypes.Listener{{Protocol: aws.String("TCP"), LoadBalancerPort: 81, InstanceProtocol: aws.String("TCP"), InstancePort: aws.Int32(31000)}},
		Subnets:          []string{e.built.Subnets["public-a"]},
		Tags:             []elbtypes.Tag{{Key: aws.String("team"), Value: aws.String("other")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	_, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	var ue *providers.UserError
	if !errors.As(err, &ue) {
		t.Fatalf("EnsureLoadBalancer error = %v, want a UserError", err)
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); !errors.As(err, &ue) {
		t.Fatalf("EnsureLoadBalancerDeleted error = %v, want a UserError", err)
	}
	if w, _, sum := e.counts(); w != 0 {
		t.Errorf("writes to a foreign load balancer: %s", sum)
	}
	d, _, tags := e.describe(t, name)
	if len(d.ListenerDescriptions) != 1 || len(tags) != 1 {
		t.Errorf("foreign load balancer changed: %+v %v", d.ListenerDescriptions, tags)
	}
}

func TestTypesServedElsewhere(t *testing.T) {
	e := newEnv(t)
	for typ, want := range map[string]error{"external": cloudprovider.ImplementedElsewhere, "nlb-ip": cloudprovider.ImplementedElsewhere} {
		svc := service()
		svc.Annotations[prefix+"type"] = typ
		if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); !errors.Is(err, want) {
			t.Errorf("type %s: err = %v, want %v", typ, err, want)
		}
	}
}

// TestPoliciesTagsAndRecovery covers proxy protocol, the SSL negotiation policy and user
// tags through the real SDK, a crash between writes, and removal of a dropped tag.
func TestPoliciesTagsAndRecovery(t *testing.T) {
	e := newEnv(t)
	svc := service()
	name := cloudaws.LoadBalancerName(svc)
	svc.Annotations[prefix+"proxy-protocol"] = "*"
	svc.Annotations[prefix+"ssl-negotiation-policy"] = "ELBSecurityPolicy-TLS-1-2-2017-01"
	svc.Annotations[prefix+"additional-resource-tags"] = "team=shop,env=prod"
	// The create fails half-way: the next Ensure must finish it.
	e.srv.FailNext(awsprovider.NewCall(awsprovider.ServiceELB, "ConfigureHealthCheck"), 1, &fakecore.APIError{Code: "ServiceUnavailable", Status: 503})
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err == nil {
		t.Fatal("injected failure not returned")
	}
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	d, _, tags := e.describe(t, name)
	if *d.HealthCheck.Target != "TCP:30443" {
		t.Errorf("health check after recovery = %s", *d.HealthCheck.Target)
	}
	for _, b := range d.BackendServerDescriptions {
		if !slices.Equal(b.PolicyNames, []string{"k8s-proxyprotocol-enabled"}) {
			t.Errorf("backend %d policies = %v", *b.InstancePort, b.PolicyNames)
		}
	}
	if len(d.BackendServerDescriptions) != 2 {
		t.Errorf("backends = %+v", d.BackendServerDescriptions)
	}
	for _, l := range d.ListenerDescriptions {
		want := []string{}
		if l.Listener.LoadBalancerPort == 443 {
			want = []string{"k8s-SSLNegotiationPolicy-ELBSecurityPolicy-TLS-1-2-2017-01"}
		}
		if !slices.Equal(l.PolicyNames, want) {
			t.Errorf("listener %d policies = %v, want %v", l.Listener.LoadBalancerPort, l.PolicyNames, want)
		}
	}
	if tags["team"] != "shop" || tags["env"] != "prod" {
		t.Errorf("tags = %v", tags)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op with policies: %d writes %d reads (%s)", w, r, sum)
	}

	// Drop a tag and proxy protocol.
	svc.Annotations[prefix+"additional-resource-tags"] = "team=shop"
	delete(svc.Annotations, prefix+"proxy-protocol")
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	_, _, sum := e.counts()
	t.Logf("tag and proxy protocol dropped: %s", sum)
	d, _, tags = e.describe(t, name)
	if _, ok := tags["env"]; ok {
		t.Errorf("dropped tag still there: %v", tags)
	}
	for _, b := range d.BackendServerDescriptions {
		if len(b.PolicyNames) != 0 {
			t.Errorf("backend %d still has %v", *b.InstancePort, b.PolicyNames)
		}
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op after changes: %d writes %d reads (%s)", w, r, sum)
	}
}

// TestUserSecurityGroupsReplaceManaged checks that naming groups drops the managed one.
func TestUserSecurityGroupsReplaceManaged(t *testing.T) {
	e := newEnv(t)
	svc := service()
	name := cloudaws.LoadBalancerName(svc)
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	out, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("mine"), Description: aws.String("mine"), VpcId: aws.String(e.built.VPC)})
	if err != nil {
		t.Fatal(err)
	}
	svc.Annotations[prefix+"security-groups"] = *out.GroupId
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	d, _, _ := e.describe(t, name)
	if !slices.Equal(d.SecurityGroups, []string{*out.GroupId}) {
		t.Errorf("groups = %v", d.SecurityGroups)
	}
	if g := e.group(t, "k8s-elb-"+name); g != nil {
		t.Errorf("managed group left: %+v", g)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op: %d writes %d reads (%s)", w, r, sum)
	}
	if err := e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	if e.group(t, "mine") == nil {
		t.Error("the user's group was deleted")
	}
}

// TestSchemeChangeReplaces checks that internet-facing -> internal replaces the load balancer.
func TestSchemeChangeReplaces(t *testing.T) {
	e := newEnv(t)
	svc := service()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	svc.Annotations[prefix+"internal"] = "true"
	e.srv.ResetCalls()
	st, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes)
	if err != nil {
		t.Fatal(err)
	}
	_, _, sum := e.counts()
	t.Logf("scheme change: %s", sum)
	d, _, _ := e.describe(t, cloudaws.LoadBalancerName(svc))
	if *d.Scheme != "internal" || st.Ingress[0].Hostname != aws.ToString(d.DNSName) {
		t.Errorf("scheme %s, status %+v", *d.Scheme, st)
	}
	if len(e.srv.Inventory().ClassicLoadBalancers) != 1 {
		t.Errorf("load balancers: %v", e.srv.Inventory().ClassicLoadBalancers)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op: %d writes %d reads (%s)", w, r, sum)
	}
}

// TestNodeRulesPickTheClusterGroup checks that an instance with several groups gets the
// rule in the one tagged for the cluster only.
func TestNodeRulesPickTheClusterGroup(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(e.built.Subnets["public-a"]), SecurityGroupIds: []string{e.built.SecurityGroups["nodes"], e.otherGroup(t)}})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.Instances[0].InstanceId
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "multi"}, Spec: v1.NodeSpec{ProviderID: "aws:///us-east-1a/" + id}}
	svc := service()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, []*v1.Node{node}); err != nil {
		t.Fatal(err)
	}
	if g := e.group(t, "nodes"); len(g.Ingress) != 1 {
		t.Errorf("nodes group rules = %v", g.Ingress)
	}
	if g := e.group(t, "other"); len(g.Ingress) != 0 {
		t.Errorf("untagged group modified: %v", g.Ingress)
	}
}

func (e *env) otherGroup(t *testing.T) string {
	t.Helper()
	out, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("other"), Description: aws.String("other"), VpcId: aws.String(e.built.VPC)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.GroupId
}

// TestConvergesUnderThrottling reconciles with 30% of calls throttled until Ensure succeeds,
// then checks the result is complete and the next reconcile is a no-op.
func TestConvergesUnderThrottling(t *testing.T) {
	// The SDK's standard retryer retries Throttling and RequestLimitExceeded, as in
	// production, without its backoff sleeps or retry quota so the test stays fast.
	e := newEnv(t, func(c *aws.Config) {
		c.RetryMaxAttempts = 0
		c.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 4
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		}
	})
	svc := service()
	svc.Annotations[prefix+"proxy-protocol"] = "*"
	e.srv.SetFaults(fakecore.Faults{ThrottleRate: 0.3})
	var err error
	for range 10 {
		if _, err = e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no convergence: %v", err)
	}
	e.srv.SetFaults(fakecore.Faults{})
	d, attrs, _ := e.describe(t, cloudaws.LoadBalancerName(svc))
	if len(d.ListenerDescriptions) != 2 || len(d.Instances) != 2 || len(d.BackendServerDescriptions) != 2 || !attrs.AccessLog.Enabled {
		t.Errorf("incomplete after throttling: %+v", d)
	}
	if g := e.group(t, "k8s-elb-"+cloudaws.LoadBalancerName(svc)); g == nil || len(g.Ingress) != 6 {
		t.Errorf("managed group after throttling: %+v", g)
	}
	e.srv.ResetCalls()
	if _, err := e.cloud.EnsureLoadBalancer(ctx, cluster, svc, e.nodes); err != nil {
		t.Fatal(err)
	}
	if w, r, sum := e.counts(); w != 0 || r > 2 {
		t.Errorf("no-op after throttling: %d writes %d reads (%s)", w, r, sum)
	}
	// Deletion also converges and leaves nothing.
	e.srv.SetFaults(fakecore.Faults{ThrottleRate: 0.3})
	for range 10 {
		if err = e.cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("delete did not converge: %v", err)
	}
	inv := e.srv.Inventory()
	if len(inv.ClassicLoadBalancers) != 0 || len(inv.SecurityGroups) != 1 {
		t.Errorf("left behind: %+v", inv)
	}
}
