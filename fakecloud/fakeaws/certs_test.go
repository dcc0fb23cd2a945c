package fakeaws

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// unknownCert is a well-formed ACM ARN no test imports.
const unknownCert = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

// TestListenersNeedCertificates: every call that sets a TLS listener's certificate answers
// CertificateNotFound for an ARN neither ACM nor IAM holds, and accepts one that either does.
func TestListenersNeedCertificates(t *testing.T) {
	t.Parallel()
	c := newFake(t)
	tp := buildTopo(t, c)
	acmARN := importCert(t, c)
	iamARN := aws.ToString(uploadCert(t, c, "web").Arn)

	https := func(port int32, cert string) elbtypes.Listener {
		return elbtypes.Listener{Protocol: aws.String("HTTPS"), LoadBalancerPort: port, InstancePort: aws.Int32(30443), SSLCertificateId: aws.String(cert)}
	}
	lb := must[*elbv2.CreateLoadBalancerOutput](t)(c.elbv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("nlb"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{tp.public}})).LoadBalancers[0]
	tg := must[*elbv2.CreateTargetGroupOutput](t)(c.elbv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("tg"), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(30443), VpcId: aws.String(tp.vpc)})).TargetGroups[0]
	fwd := []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}
	var listenerARN *string // of the TLS listener, once created
	tls := func(port int32, cert string) error {
		out, err := c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTls, Port: aws.Int32(port),
			Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(cert)}}, DefaultActions: fwd})
		if err == nil {
			listenerARN = out.Listeners[0].ListenerArn
		}
		return err
	}

	cases := []struct {
		name, cert, wantCode string
		call                 func(cert string) error
	}{
		{"CLB CreateLoadBalancer", unknownCert, "CertificateNotFound", func(cert string) error {
			_, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("clb"), Subnets: []string{tp.public}, Listeners: []elbtypes.Listener{https(443, cert)}})
			return err
		}},
		{"CLB CreateLoadBalancer", acmARN, "", func(cert string) error {
			_, err := c.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{LoadBalancerName: aws.String("clb"), Subnets: []string{tp.public}, Listeners: []elbtypes.Listener{https(443, cert)}})
			return err
		}},
		{"CLB CreateLoadBalancerListeners", unknownCert, "CertificateNotFound", func(cert string) error {
			_, err := c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("clb"), Listeners: []elbtypes.Listener{https(8443, cert)}})
			return err
		}},
		{"CLB CreateLoadBalancerListeners", iamARN, "", func(cert string) error {
			_, err := c.elb.CreateLoadBalancerListeners(ctx, &elb.CreateLoadBalancerListenersInput{LoadBalancerName: aws.String("clb"), Listeners: []elbtypes.Listener{https(8443, cert)}})
			return err
		}},
		{"NLB CreateListener", unknownCert, "CertificateNotFound", func(cert string) error { return tls(443, cert) }},
		{"NLB CreateListener", "arn:aws:iam::123456789012:server-certificate/nope", "CertificateNotFound", func(cert string) error { return tls(443, cert) }},
		{"NLB CreateListener", acmARN, "", func(cert string) error { return tls(443, cert) }},
		{"NLB ModifyListener", unknownCert, "CertificateNotFound", func(cert string) error {
			_, err := c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: listenerARN,
				Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(cert)}}})
			return err
		}},
		{"NLB ModifyListener", iamARN, "", func(cert string) error {
			_, err := c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: listenerARN,
				Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(cert)}}})
			return err
		}},
	}
	// In order, not in parallel: each accepted call builds on what the previous ones created.
	for _, tc := range cases {
		t.Run(tc.name+" "+tc.cert, func(t *testing.T) { wantCode(t, tc.call(tc.cert), tc.wantCode) })
	}

	// Both stores refuse to delete a certificate a listener uses and report who uses it.
	clbARN := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/clb"
	d := must[*acm.DescribeCertificateOutput](t)(acmClient(c).DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(acmARN)})).Certificate
	if !slices.Equal(d.InUseBy, []string{clbARN}) {
		t.Fatalf("InUseBy = %v, want [%s]", d.InUseBy, clbARN)
	}
	_, err := acmClient(c).DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(acmARN)})
	wantCode(t, err, "ResourceInUseException")
	_, err = iamClient(c).DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("web")})
	wantCode(t, err, "DeleteConflict")

	must[*elb.DeleteLoadBalancerOutput](t)(c.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String("clb")}))
	must[*acm.DeleteCertificateOutput](t)(acmClient(c).DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(acmARN)}))
	_, err = iamClient(c).DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("web")})
	wantCode(t, err, "DeleteConflict") // the NLB listener still uses it
	must[*elbv2.DeleteListenerOutput](t)(c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: listenerARN}))
	must[*iam.DeleteServerCertificateOutput](t)(iamClient(c).DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("web")}))
	_, err = acmClient(c).DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(acmARN)})
	wantCode(t, err, "ResourceNotFoundException")
	wantCode(t, tls(443, iamARN), "CertificateNotFound")
}
