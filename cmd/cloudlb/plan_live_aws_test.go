package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers/aws"
)

// TestPlanLiveAWS plans a Service against `cloudlb fakecloud aws` (the demo's VPC and nodes),
// the SDK pointed at it by AWS_ENDPOINT_URL as a user would: a new Service, the same once
// applied, one more node, an annotation change; the fake sees no write from the CLI. Not
// parallel: the SDK reads the endpoint and credentials from the environment.
func TestPlanLiveAWS(t *testing.T) {
	topo, err := yaml.Marshal(demoAWSTopology())
	if err != nil {
		t.Fatal(err)
	}
	topoFile := writeFile(t, "topology.yaml", topo)
	m := startFake(t, func(ctx context.Context, w io.Writer) error {
		return serveFakeAWS(ctx, fakeAWSOptions{listen: "127.0.0.1:0", topology: topoFile, region: demoAWSRegion, seed: 1, dnsNames: "aws"}, w)
	}, regexp.MustCompile(`(?s)topology: vpc (\S+)\n(.*)export AWS_ENDPOINT_URL=(\S+) `))
	built := &fakeaws.Built{VPC: m[1], Instances: map[string]string{}}
	for _, l := range regexp.MustCompile(`instance (\S+): (\S+)`).FindAllStringSubmatch(m[2], -1) {
		built.Instances[l[1]] = l[2]
	}
	proxied, writes := countWrites(t, m[3])
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": proxied, "AWS_REGION": demoAWSRegion, "AWS_ACCESS_KEY_ID": "fake",
		"AWS_SECRET_ACCESS_KEY": "fake", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	conf := demoAWSCloudConfig(built)
	config := writeFile(t, "aws.ini", []byte(conf))
	ids := demoAWSProviderIDs(built)
	var nodes []*v1.Node
	for _, n := range demoNodes() {
		n.Spec.ProviderID = ids[n.Name]
		nodes = append(nodes, n)
	}
	var cluster fakeNodes
	cluster.set(nodes[:2])
	kubeconfig := cluster.kubeconfig(t)
	svc := liveService(nil)
	args := []string{"--cloud", "aws", "--cloud-config", config, "--cluster-name", demoAWSCluster, "--kubeconfig", kubeconfig, "-f", manifest(t, svc)}

	created := livePlan(t, writes, args...)
	if len(created) == 0 || !strings.Contains(ops(created), "elb.CreateLoadBalancer created") {
		t.Errorf("new Service: %s", ops(created))
	}
	cc, err := aws.ParseCloudConfig(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := aws.NewFromConfig(liveTimeout(t), cc)
	if err != nil {
		t.Fatal(err)
	}
	before := writes.Load()
	if _, err := cloud.EnsureLoadBalancer(liveTimeout(t), demoAWSCluster, svc, nodes[:2]); err != nil {
		t.Fatal(err)
	}
	if writes.Load() == before {
		t.Fatal("the proxy counted none of EnsureLoadBalancer's writes: it would not see the CLI's either")
	}
	if got := livePlan(t, writes, args...); len(got) != 0 {
		t.Errorf("applied Service: %s", ops(got))
	}
	cluster.set(nodes)
	if got := ops(livePlan(t, writes, args...)); !strings.Contains(got, "RegisterInstancesWithLoadBalancer") {
		t.Errorf("a node more: %s", got)
	}
	changed := liveService(map[string]string{"service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout": "120"})
	args[len(args)-1] = manifest(t, changed)
	cluster.set(nodes[:2])
	if got := ops(livePlan(t, writes, args...)); !strings.Contains(got, "elb.ModifyLoadBalancerAttributes") {
		t.Errorf("idle timeout changed: %s", got)
	}
}
