package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
)

// serveFakeGCE serves the fake Compute API on listen until ctx ends. It prints the
// endpoint first so that scripts can wait for that line; clients use it with
// option.WithEndpoint(url) and option.WithoutAuthentication().
func serveFakeGCE(ctx context.Context, listen string, stdout io.Writer) error {
	srv := fakegce.New(fakegce.Options{})
	url, err := srv.Start(listen)
	if err != nil {
		return fmt.Errorf("fakegce: %w", err)
	}
	fmt.Fprintf(stdout, "fakegce: serving the Compute API (v1) at %s, project %s, region %s\n", url, srv.Project(), srv.Region())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return fmt.Errorf("fakegce: %w", err)
	}
	return nil
}
