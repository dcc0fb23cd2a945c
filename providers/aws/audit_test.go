package aws

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
	"github.com/cloudlb/cloudlb/providers"
)

func TestObjectOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{&elbv2.CreateTargetGroupInput{Name: aws.String("k8s-tg")}, "k8s-tg"},
		{&elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("arn:lb")}, "arn:lb"},
		{&elbv2.AddTagsInput{ResourceArns: []string{"arn:a", "arn:b"}}, "arn:a,arn:b"},
		{&elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("a1")}, "a1"},
		{&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-1")}, "sg-1"},
		{&ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-elb-a1")}, "k8s-elb-a1"},
		{(*ec2.CreateSecurityGroupInput)(nil), ""},
		{"not a struct", ""},
	}
	for _, tt := range tests {
		if got := objectOf(tt.in); got != tt.want {
			t.Errorf("objectOf(%T) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestAuditEveryWriteOnce creates and deletes an NLB through clients configured as
// NewFromConfig configures them, with one answer lost (so the SDK retries that call): every
// write reaches the auditor exactly once, reads never, and the load balancer and target
// groups are reported as created and deleted.
func TestAuditEveryWriteOnce(t *testing.T) {
	t.Parallel()
	c, srv, nodes := fakeEnv(t, fakeaws.Options{}, 1)
	const cluster = fakeCluster
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: types.UID("9a1b2c3d-8b7d-4e6f-9a1b-2c3d4e5f6a7b"),
			Annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080}}},
	}
	var mu sync.Mutex
	var writes []providers.Write
	ctx := providers.WithAuditor(context.Background(), func(_ context.Context, w providers.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			writes = append(writes, w)
		}
	})
	srv.FailNext(fakeaws.NewCall(fakeaws.ServiceELBv2, "CreateTargetGroup"), 1, fakecore.ErrLost)
	if _, err := c.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureLoadBalancerDeleted(ctx, cluster, svc); err != nil {
		t.Fatal(err)
	}
	served := 0
	for call, n := range srv.Calls() {
		if !call.IsRead() {
			served += n
		}
	}
	// The lost answer made the SDK send CreateTargetGroup twice: one call, two requests.
	if len(writes) != served-1 {
		t.Errorf("%d writes audited, the fake served %d write requests (one of them a retry)", len(writes), served)
	}
	changes := map[string]bool{}
	for _, w := range writes {
		if w.Object == "" || !strings.Contains(w.Operation, ".") || w.Reason == "" {
			t.Errorf("write without an object, API or reason: %+v", w)
		}
		if w.Change != providers.ChangeNone {
			changes[string(w.Change)+" "+w.Operation+": "+w.Reason] = true
		}
	}
	for _, want := range []string{"Created elbv2.CreateLoadBalancer: the Service has no NLB yet", "Created elbv2.CreateTargetGroup: the Service has no NLB yet",
		"Deleted elbv2.DeleteLoadBalancer: the Service no longer wants a load balancer", "Deleted elbv2.DeleteTargetGroup: the Service no longer wants a load balancer"} {
		if !changes[want] {
			t.Errorf("no %q reported among %v", want, changes)
		}
	}
}
