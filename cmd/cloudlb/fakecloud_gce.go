package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
)

// serveFakeGCE serves the fake Compute API on listen until ctx ends; clients use it with
// option.WithEndpoint(url) and option.WithoutAuthentication().
func serveFakeGCE(ctx context.Context, listen string, stdout io.Writer) error {
	srv := fakegce.New(fakegce.Options{})
	return serveFake(ctx, "fakegce", srv, listen, stdout, func(url string) {
		fmt.Fprintf(stdout, "fakegce: serving the Compute API (v1) at %s, project %s, region %s\n", url, srv.Project(), srv.Region())
	})
}
