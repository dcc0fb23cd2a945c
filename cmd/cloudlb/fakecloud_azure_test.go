package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
)

func TestServeFakeAzure(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := serveFakeAzure(ctx, "127.0.0.1:0", pw)
		_ = pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	endpoint := ""
	for lines.Scan() {
		if m := regexp.MustCompile(`at (http://\S+)$`).FindStringSubmatch(lines.Text()); m != nil {
			endpoint = m[1]
			break
		}
	}
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(pr); rest <- string(b) }()
	f, err := armnetwork.NewClientFactory("00000000-0000-0000-0000-000000000000", fakeazure.Credential(), fakeazure.ClientOptions(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.NewLoadBalancersClient().Get(ctx, "rg", "x", nil)
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("Get: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out := <-rest; !strings.Contains(out, "LoadBalancers.Get 1") {
		t.Fatalf("summary: %q", out)
	}
}
