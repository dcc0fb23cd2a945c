package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestFakecloudUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no cloud", []string{"fakecloud"}, "Usage: cloudlb fakecloud aws"},
		{"other cloud", []string{"fakecloud", "openstack"}, "Usage: cloudlb fakecloud aws"},
		{"extra args azure", []string{"fakecloud", "azure", "x"}, "unexpected arguments"},
		{"extra args", []string{"fakecloud", "aws", "x"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(tc.args, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tc.wantErr)
			}
		})
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"fakecloud", "aws", "--topology", "testdata/nope.yaml", "--listen", "127.0.0.1:0"}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "no such file") {
		t.Fatalf("missing topology: exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"fakecloud", "aws", "--dns-names", "pretty", "--listen", "127.0.0.1:0"}, nil, &stdout, &stderr); code != exitInvalid || !strings.Contains(stderr.String(), "emulator") {
		t.Fatalf("unknown --dns-names: exit %d, stderr %q; want the allowed values", code, stderr.String())
	}
}

// The standalone server builds its topology and answers the real SDK until cancelled.
func TestServeFakeAWSWithTopology(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := serveFakeAWS(ctx, fakeAWSOptions{listen: "127.0.0.1:0", topology: "../../fakecloud/fakeaws/testdata/topology.yaml", region: "us-east-1", seed: 1}, pw)
		_ = pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	var out []string
	endpoint := ""
	for lines.Scan() {
		out = append(out, lines.Text())
		if m := regexp.MustCompile(`^export AWS_ENDPOINT_URL=(\S+) `).FindStringSubmatch(lines.Text()); m != nil {
			endpoint = m[1]
			break
		}
	}
	if endpoint == "" {
		t.Fatalf("no export line in:\n%s", strings.Join(out, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if text := strings.Join(out, "\n"); !strings.Contains(text, "instance node-1: i-") || !strings.Contains(text, "subnet private-a: subnet-") {
		t.Errorf("output lacks the built IDs:\n%s", text)
	}

	client := ec2.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", "")})
	res, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"node-*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Reservations); n != 3 {
		t.Fatalf("reservations = %d, want 3", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
