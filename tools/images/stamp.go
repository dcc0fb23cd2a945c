package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// versionPkg holds the variables -ldflags -X sets (internal/version); this module cannot
// import it, so the image test checks that the binaries print what was stamped.
const versionPkg = "github.com/cloudlb/cloudlb/internal/version"

// shortCommitLen matches internal/version's v0.0.0-dev+<commit> and the Makefile's.
const shortCommitLen = 12

// stamp is what one build says about itself; the Makefile computes the same from git.
type stamp struct {
	Version   string // git describe --tags, or v0.0.0-dev+<commit>; -dirty with local changes
	Commit    string // full hash
	TreeState string // clean or dirty
	// Created is SOURCE_DATE_EPOCH, by default the commit time: every file's mtime, the
	// image's created time and the binaries' build date, so that a commit builds the same bytes.
	Created time.Time
}

// ldflags stamp internal/version and, as the Makefile's, leave out the symbol table and DWARF
// (-s -w): a third of the size, and stack traces keep their function names and lines.
func (s stamp) ldflags() string {
	return strings.Join([]string{
		"-s -w",
		"-X " + versionPkg + ".gitVersion=" + s.Version,
		"-X " + versionPkg + ".gitCommit=" + s.Commit,
		"-X " + versionPkg + ".gitTreeState=" + s.TreeState,
		"-X " + versionPkg + ".buildDate=" + s.Created.UTC().Format(time.RFC3339),
	}, " ")
}

// gitStamp completes s from the checkout at repo, as the Makefile does; the fields s already
// holds (given as flags by make images, which computed them once) are kept.
func gitStamp(ctx context.Context, repo string, s stamp) (stamp, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = repo
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if s.Commit == "" {
		c, err := git("rev-parse", "HEAD")
		if err != nil {
			return stamp{}, err
		}
		s.Commit = c
	}
	if s.TreeState == "" {
		// Untracked files count: they are built too (as in Go's own vcs.modified).
		status, err := git("status", "--porcelain")
		if err != nil {
			return stamp{}, err
		}
		s.TreeState = "clean"
		if status != "" {
			s.TreeState = "dirty"
		}
	}
	if s.Version == "" {
		describe, err := git("describe", "--tags")
		if err != nil {
			describe = "" // no tag yet: git describe fails
		}
		s.Version = describeVersion(describe, s.Commit, s.TreeState == "dirty")
	}
	if s.Created.IsZero() {
		ct, err := git("log", "-1", "--format=%ct")
		if err != nil {
			return stamp{}, err
		}
		if s.Created, err = parseEpoch(ct); err != nil {
			return stamp{}, fmt.Errorf("commit time: %w", err)
		}
	}
	return s, nil
}

// describeVersion is the version of a commit: git describe's, or v0.0.0-dev+<commit> before
// the first tag; -dirty marks a tree with local changes, as git describe --dirty does.
func describeVersion(describe, commit string, dirty bool) string {
	v := describe
	if v == "" {
		v = "v0.0.0-dev+" + commit[:min(len(commit), shortCommitLen)]
	}
	if dirty {
		v += "-dirty"
	}
	return v
}

// parseEpoch reads SOURCE_DATE_EPOCH: seconds since 1970, UTC.
func parseEpoch(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("%q is not a Unix time in seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
