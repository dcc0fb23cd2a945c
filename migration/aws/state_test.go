package aws

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v1 "k8s.io/api/core/v1"
)

// lbState is what a takeover must keep of a load balancer, read through the AWS API.
type lbState struct {
	DNSName, Scheme string
	// SecurityGroups are the load balancer's groups, sorted.
	SecurityGroups []string
	// Subnets are "subnet-id" or "subnet-id=allocation/private IP" for pinned NLB addresses,
	// in the load balancer's order.
	Subnets []string
	// Backends maps each listener ("TCP:80"; "*" for a Classic ELB, whose instances all
	// listeners share) to its registered instance IDs, sorted.
	Backends map[string][]string
	// TargetGroups maps each NLB listener to the names of the groups it forwards to, "NAME
	// (weight 0)" for one attached without traffic.
	TargetGroups map[string][]string
}

// lbName is upstream's name of the Service's load balancer (cloudprovider's
// DefaultLoadBalancerName): "a" + the UID without dashes, cut to 32 characters.
func lbName(svc *v1.Service) string {
	n := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	return n[:min(len(n), 32)]
}

// state reads the Service's load balancer; nlb picks the API.
func (e *env) state(ctx context.Context, svc *v1.Service, nlb bool) (lbState, error) {
	if nlb {
		return e.nlbState(ctx, lbName(svc))
	}
	out, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{lbName(svc)}})
	if err != nil {
		return lbState{}, err
	}
	if len(out.LoadBalancerDescriptions) != 1 {
		return lbState{}, fmt.Errorf("classic load balancer %s: %d descriptions", lbName(svc), len(out.LoadBalancerDescriptions))
	}
	d := out.LoadBalancerDescriptions[0]
	s := lbState{DNSName: aws.ToString(d.DNSName), Scheme: aws.ToString(d.Scheme), SecurityGroups: sorted(d.SecurityGroups),
		Subnets: d.Subnets, Backends: map[string][]string{"*": {}}}
	for _, i := range d.Instances {
		s.Backends["*"] = append(s.Backends["*"], aws.ToString(i.InstanceId))
	}
	slices.Sort(s.Backends["*"])
	return s, nil
}

func (e *env) nlbState(ctx context.Context, name string) (lbState, error) {
	out, err := e.elbv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil {
		return lbState{}, err
	}
	if len(out.LoadBalancers) != 1 {
		return lbState{}, fmt.Errorf("load balancer %s: %d found", name, len(out.LoadBalancers))
	}
	lb := out.LoadBalancers[0]
	s := lbState{DNSName: aws.ToString(lb.DNSName), Scheme: string(lb.Scheme), SecurityGroups: sorted(lb.SecurityGroups),
		Backends: map[string][]string{}, TargetGroups: map[string][]string{}}
	for _, az := range lb.AvailabilityZones {
		sub := aws.ToString(az.SubnetId)
		for _, a := range az.LoadBalancerAddresses {
			if pin := aws.ToString(a.AllocationId) + aws.ToString(a.PrivateIPv4Address); pin != "" {
				sub += "=" + pin
			}
		}
		s.Subnets = append(s.Subnets, sub)
	}
	ls, err := e.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return lbState{}, err
	}
	for _, l := range ls.Listeners {
		key := fmt.Sprintf("%s:%d", l.Protocol, aws.ToInt32(l.Port))
		s.Backends[key] = []string{}
		for _, a := range l.DefaultActions {
			// A group weighted 0 is attached (health-checked) but gets no traffic: named with its
			// weight, its targets are not backends.
			weights := map[string]int32{}
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				for _, tg := range a.ForwardConfig.TargetGroups {
					weights[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
					if tg.Weight == nil {
						weights[aws.ToString(tg.TargetGroupArn)] = 1
					}
				}
			} else if a.TargetGroupArn != nil {
				weights[*a.TargetGroupArn] = 1
			}
			for _, arn := range slices.Sorted(maps.Keys(weights)) {
				tgs, err := e.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
				if err != nil {
					return lbState{}, err
				}
				name := aws.ToString(tgs.TargetGroups[0].TargetGroupName)
				if weights[arn] == 0 {
					s.TargetGroups[key] = append(s.TargetGroups[key], name+" (weight 0)")
					continue
				}
				s.TargetGroups[key] = append(s.TargetGroups[key], name)
				health, err := e.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
				if err != nil {
					return lbState{}, err
				}
				for _, h := range health.TargetHealthDescriptions {
					s.Backends[key] = append(s.Backends[key], aws.ToString(h.Target.Id))
				}
			}
		}
		slices.Sort(s.Backends[key])
	}
	return s, nil
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// testCert is one self-signed RSA 2048 certificate and its key, in PEM, made once per binary.
func testCert(t *testing.T) [2]string {
	t.Helper()
	pems, err := makeCert()
	if err != nil {
		t.Fatal(err)
	}
	return pems
}

var makeCert = sync.OnceValues(func() ([2]string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return [2]string{}, err
	}
	host := "shop.example.test"
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return [2]string{}, err
	}
	return [2]string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))}, nil
})
