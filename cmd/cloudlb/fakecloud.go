package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/cloudlb/cloudlb/integration/fakeaws"
)

// fakeAWSOptions are the flags of `cloudlb fakecloud aws`.
type fakeAWSOptions struct {
	listen   string
	topology string
	region   string
	seed     uint64
	// dnsNames is the shape of load balancers' DNS names (fakeaws.DNSFormat).
	dnsNames string
}

const fakecloudUsage = `usage: cloudlb fakecloud aws   [--listen 127.0.0.1:4566] [--topology FILE] [--region us-east-1] [--dns-names aws|emulator|opaque]
       cloudlb fakecloud azure [--listen 127.0.0.1:8086]
       cloudlb fakecloud gce   [--listen 127.0.0.1:8085]`

// runFakecloud serves a fake cloud on loopback until SIGINT or SIGTERM.
func runFakecloud(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, fakecloudUsage)
		return exitUsage
	}
	cloud := args[0]
	fs := flag.NewFlagSet("cloudlb fakecloud "+cloud, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o fakeAWSOptions
	var serve func(ctx context.Context) error
	switch cloud {
	case "aws":
		fs.StringVar(&o.listen, "listen", "127.0.0.1:4566", "address to serve EC2, ELB, ELBv2, ACM and IAM on (LocalStack's port by default)")
		fs.StringVar(&o.dnsNames, "dns-names", "aws", "shape of load balancers' DNS names: aws, emulator (<name>.<region>.elb.localhost.localstack.cloud) or opaque")
		fs.StringVar(&o.topology, "topology", "", "YAML file declaring a VPC, subnets, security groups and instances to build at start")
		fs.StringVar(&o.region, "region", "us-east-1", "region used in ARNs, DNS names and zones")
		fs.Uint64Var(&o.seed, "seed", 1, "seed of generated IDs")
		serve = func(ctx context.Context) error { return serveFakeAWS(ctx, o, stdout) }
	case "azure":
		fs.StringVar(&o.listen, "listen", "127.0.0.1:8086", "address to serve the ARM network API (Microsoft.Network) on")
		serve = func(ctx context.Context) error { return serveFakeAzure(ctx, o.listen, stdout) }
	case "gce":
		fs.StringVar(&o.listen, "listen", "127.0.0.1:8085", "address to serve the Compute API (v1) on")
		serve = func(ctx context.Context) error { return serveFakeGCE(ctx, o.listen, stdout) }
	default:
		fmt.Fprintln(stderr, fakecloudUsage)
		return exitUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cloudlb fakecloud %s: unexpected arguments %q\n", cloud, fs.Args())
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx); err != nil {
		fmt.Fprintf(stderr, "cloudlb fakecloud %s: %v\n", cloud, err)
		return exitInvalid
	}
	return exitOK
}

// serveFakeAWS builds the topology, serves until ctx ends, and prints the endpoint first
// so that scripts can wait for that line.
func serveFakeAWS(ctx context.Context, o fakeAWSOptions, stdout io.Writer) error {
	var topo *fakeaws.Topology
	if o.topology != "" {
		t, err := fakeaws.LoadTopology(o.topology)
		if err != nil {
			return err
		}
		topo = &t
	}
	dns, err := fakeaws.ParseDNSFormat(o.dnsNames)
	if err != nil {
		return fmt.Errorf("--dns-names: %w", err)
	}
	srv := fakeaws.New(fakeaws.Options{Region: o.region, Seed: o.seed, DNSNames: dns})
	var built *fakeaws.Built
	if topo != nil {
		if built, err = srv.ApplyTopology(*topo); err != nil {
			return fmt.Errorf("topology %s: %w", o.topology, err)
		}
	}
	url, err := srv.Start(o.listen)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close() }()
	fmt.Fprintf(stdout, "fakeaws: serving EC2 (2016-11-15), ELB (2012-06-01), ELBv2 (2015-12-01), ACM (2015-12-08) and IAM (2010-05-08) at %s, region %s\n", url, o.region)
	if built != nil {
		fmt.Fprintf(stdout, "topology: vpc %s\n", built.VPC)
		printIDs(stdout, "subnet", built.Subnets)
		printIDs(stdout, "security group", built.SecurityGroups)
		printIDs(stdout, "instance", built.Instances)
	}
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake\n", url, o.region)
	fmt.Fprintln(stdout, "Ctrl-C stops it.")
	<-ctx.Done()
	fmt.Fprintf(stdout, "fakeaws: calls served:\n%s", fakeaws.CallsSummary(srv.Calls()))
	return nil
}

func printIDs(w io.Writer, kind string, ids map[string]string) {
	names := make([]string, 0, len(ids))
	for n := range ids {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s %s: %s\n", kind, n, ids[n])
	}
}
