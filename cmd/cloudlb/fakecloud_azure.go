package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudlb/cloudlb/fakecloud/fakeazure"
)

// serveFakeAzure serves the fake ARM network API on listen until ctx ends.
func serveFakeAzure(ctx context.Context, listen string, stdout io.Writer) error {
	srv := fakeazure.New(fakeazure.Options{})
	return serveFake(ctx, "fakeazure", srv, listen, stdout, func(url string) {
		fmt.Fprintf(stdout, "fakeazure: serving the ARM network API (loadBalancers, publicIPAddresses, networkSecurityGroups, virtualNetworks) at %s\n", url)
		fmt.Fprintf(stdout, "subscription %s; point armnetwork clients at it with cloud.Configuration ResourceManager Endpoint=%s and any bearer token over HTTP\n",
			srv.SubscriptionID(), url)
		fmt.Fprintln(stdout, "Ctrl-C stops it.")
	})
}
